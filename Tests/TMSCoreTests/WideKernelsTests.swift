import Testing
@testable import TMSCore

// The 16-lane products (TMSCoreAVX512) against TMSCore's 8-lane ones, bit for bit, on every tile remainder,
// several depth blocks and strides wider than the data. They run only where the processor has AVX-512
// (`Kernels.usesWideVectors`); elsewhere the wide code must never run, and these tests are skipped.

private func randomArray(_ count: Int, _ rng: inout RandomStream) -> [Float] {
    (0..<count).map { _ in Float(rng.nextNormal()) }
}

/// `project` on the 8-lane kernels alone and on the wide ones: every written and unwritten element.
private func projectBothWays(outputs A: Int, depth C: Int, rows R: Int, bias withBias: Bool,
                             _ rng: inout RandomStream) -> (narrow: [UInt32], wide: [UInt32]) {
    let ws = A + 5, xs = R + 16, os = R + 8
    let w = randomArray(C * ws, &rng), x = randomArray(C * xs, &rng), bias = randomArray(A, &rng)
    func run(wide: Bool) -> [UInt32] {
        var out = [Float](repeating: .nan, count: A * os)
        w.withUnsafeBufferPointer { wp in x.withUnsafeBufferPointer { xp in bias.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                Kernels.project(outputs: A, depth: C, rows: R, weights: wp.baseAddress!, weightStride: ws,
                                input: xp.baseAddress!, inputStride: xs, bias: withBias ? bp.baseAddress! : nil,
                                output: op.baseAddress!, outputStride: os, wide: wide)
            }
        }}}
        return out.map(\.bitPattern)
    }
    return (run(wide: false), run(wide: true))
}

@Test(.enabled(if: Kernels.usesWideVectors, "the processor has no AVX-512"),
      arguments: [1, 2, 3, 4, 5, 6, 7, 11, 13, 30, 100], [1, 2, 40, 129, 300])
func wideProjectGivesTheBitsOfTheEightLaneKernels(outputs A: Int, depth C: Int) {
    var rng = RandomStream(seed: UInt64(A * 1000 + C))
    for (R, withBias) in [(16, true), (48, false), (128, true)] {
        let (narrow, wide) = projectBothWays(outputs: A, depth: C, rows: R, bias: withBias, &rng)
        #expect(narrow == wide, "outputs \(A), depth \(C), rows \(R)")
    }
}

@Test func projectTakesSingleChainsForAllButASplitTailOfOneOrTwo() {
    #expect([1, 2, 3, 4, 5, 6, 7, 8, 30, 400].map(Kernels.projectSingleChainOutputs) == [0, 0, 3, 4, 4, 4, 7, 8, 28, 400])
}

@Test(.enabled(if: Kernels.usesWideVectors, "the processor has no AVX-512"),
      arguments: [1, 2, 3, 5, 6, 7, 13], [1, 2, 3, 4, 5, 6])
func wideOuterProductsGiveTheBitsOfTheEightLaneKernels(outputs A: Int, vectors V: Int) {
    var rng = RandomStream(seed: UInt64(A * 100 + V))
    for (R, fused) in [(16, false), (48, true), (128, false), (128, true)] {
        let us = R + 16, vs = 8 * V + 8, gs = 8 * V + 16
        let u = randomArray(A * us, &rng), v = randomArray(R * vs, &rng)
        let u2 = randomArray(A * us, &rng), v2 = randomArray(R * vs, &rng), start = randomArray(A * gs, &rng)
        func run(wide: Bool) -> [UInt32] {
            var g = start
            u.withUnsafeBufferPointer { up in v.withUnsafeBufferPointer { vp in
            u2.withUnsafeBufferPointer { u2p in v2.withUnsafeBufferPointer { v2p in
                g.withUnsafeMutableBufferPointer { gp in
                    Kernels.accumulateOuterProducts(outputs: A, vectors: V, length: R, u: up.baseAddress!, uStride: us,
                                                    v: vp.baseAddress!, vStride: vs,
                                                    u2: fused ? u2p.baseAddress! : nil, u2Stride: us,
                                                    v2: fused ? v2p.baseAddress! : nil,
                                                    into: gp.baseAddress!, gradStride: gs, wide: wide)
                }
            }}}}
            return g.map(\.bitPattern)
        }
        let narrow = run(wide: false), wide = run(wide: true)
        #expect(narrow == wide, "outputs \(A), vectors \(V), rows \(R), fused \(fused)")
        // The gradient moved: the products were added, not skipped.
        #expect(narrow != start.map(\.bitPattern))
    }
}

