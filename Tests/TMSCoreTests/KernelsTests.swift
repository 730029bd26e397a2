import Testing
import TMSCore

// Kernels.swift against plain loops on padded buffers of awkward sizes.

private func values(_ count: Int, seed: UInt64) -> [Float] {
    var rng = RandomStream(seed: seed)
    return (0..<count).map { _ in rng.nextUnitFloat() * 2 - 1 }
}

@Test(arguments: [8, 16, 24, 64, 136])
func axpyMatchesAPlainLoop(count: Int) {
    let x = values(count, seed: 1)
    var y = values(count, seed: 2)
    let expected = zip(x, y).map { 0.75 * $0 + $1 }
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in Kernels.axpy(count, 0.75, xp.baseAddress!, yp.baseAddress!) }
    }
    #expect(zip(y, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
}

@Test func reluAndMaskInactiveMatchPlainLoops() {
    let count = 24
    let h = values(count, seed: 3)
    var relu = h, masked = values(count, seed: 4)
    let g = masked
    relu.withUnsafeMutableBufferPointer { Kernels.relu($0.baseAddress!, count: count) }
    #expect(relu == h.map { $0 < 0 ? 0 : $0 })
    relu.withUnsafeBufferPointer { hp in
        masked.withUnsafeMutableBufferPointer { Kernels.maskInactive($0.baseAddress!, by: hp.baseAddress!, count: count) }
    }
    #expect(masked == zip(g, relu).map { $1 <= 0 ? 0 : $0 })
    var sum = h
    g.withUnsafeBufferPointer { gp in sum.withUnsafeMutableBufferPointer { Kernels.add(count, gp.baseAddress!, into: $0.baseAddress!) } }
    #expect(sum == zip(h, g).map { $0 + $1 })
}
