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

@Test(arguments: [8, 16, 24, 64, 136])
func dotMatchesAPlainLoop(count: Int) {
    let x = values(count, seed: 3), y = values(count, seed: 4)
    let expected = zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    let got = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in Kernels.dot(count, xp.baseAddress!, yp.baseAddress!) } }
    #expect(Swift.abs(Double(got) - expected) <= 1e-5)
}

@Test(arguments: [1, 2, 3, 4], [(depth: 1, width: 16), (depth: 3, width: 32), (depth: 17, width: 48), (depth: 8, width: 16)])
func decodeRowsMatchesAPlainLoop(rows: Int, shape: (depth: Int, width: Int)) {
    let (depth, width) = shape
    let hStride = roundUp(depth, toMultipleOf: 8)
    let h = values(rows * hStride, seed: 5)
    let d = values(depth * width, seed: 6)
    let bias = values(width, seed: 7)
    var out = [Float](repeating: .nan, count: 4 * width)
    h.withUnsafeBufferPointer { hp in d.withUnsafeBufferPointer { dp in bias.withUnsafeBufferPointer { bp in
        out.withUnsafeMutableBufferPointer { op in
            Kernels.decodeRows(rows: rows, depth: depth, width: width, h: hp.baseAddress!, hStride: hStride,
                               d: dp.baseAddress!, bias: bp.baseAddress!, out: op.baseAddress!)
        }
    }}}
    for r in 0..<rows {
        for j in 0..<width {
            var expected = Double(bias[j])
            for k in 0..<depth { expected += Double(h[r * hStride + k]) * Double(d[k * width + j]) }
            #expect(Swift.abs(Double(out[r * width + j]) - expected) <= 1e-5, "row \(r) column \(j)")
        }
    }
    // Rows beyond `rows` are not written.
    #expect(out[(rows * width)...].allSatisfy { $0.isNaN })
}
