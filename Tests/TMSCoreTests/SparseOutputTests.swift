import Testing
@testable import TMSCore

// `Kernels.sparseOutputBackward` against its definition, one scalar fused multiply-add at a time in the
// documented order, bit for bit: in blocks of any size, in column groups, and on the 16-lane kernels.

/// A random problem: n features, R rows, C columns; feature lists with empty features, a feature listing
/// every row, and rows at block edges.
private struct SparseOutputProblem {
    let n = 7, R: Int, C: Int, ds: Int
    let h, w, g0, deltas: [Float]
    let listStart: [Int32], listRows: [Int32]

    init(rows R: Int, columns C: Int, seed: UInt64) {
        self.R = R; self.C = C; ds = R + 16
        var rng = RandomStream(seed: seed)
        func randoms(_ count: Int) -> [Float] { (0..<count).map { _ in Float(rng.nextNormal()) } }
        h = randoms(R * C); w = randoms(n * C); g0 = randoms(n * C); deltas = randoms(n * ds)
        var start: [Int32] = [0], rows: [Int32] = []
        for j in 0..<n {
            switch j {
            case 1, 4: break                                       // no rows
            case 2: rows += (0..<R).map { Int32($0) }              // every row
            case 5: rows += [0, 15, 16, Int32(R - 1)].filter { $0 < R }  // block edges
            default: rows += (0..<R).filter { _ in rng.next() % 4 == 0 }.map { Int32($0) }
            }
            start.append(Int32(rows.count))
        }
        listStart = start
        listRows = rows + [0]  // readable one past the last list
    }

    /// (g, dh) as the definition sums them.
    func expected() -> (g: [Float], dh: [Float]) {
        var g = g0, dh = [Float](repeating: 0, count: R * C)
        for j in 0..<n {
            for e in Int(listStart[j])..<Int(listStart[j + 1]) {
                let r = Int(listRows[e]), d = deltas[j * ds + r]
                for c in 0..<C {
                    g[j * C + c] = g[j * C + c].addingProduct(d, h[r * C + c])
                    dh[r * C + c] = dh[r * C + c].addingProduct(d, w[j * C + c])
                }
            }
        }
        return (g, dh)
    }

    /// (g, dh) from the kernel.
    func run(blockRows: Int, wide: Bool) -> (g: [Float], dh: [Float]) {
        var g = g0, dh = [Float](repeating: .nan, count: R * C), cursor = [Int32](repeating: -1, count: n)
        h.withUnsafeBufferPointer { hp in w.withUnsafeBufferPointer { wp in deltas.withUnsafeBufferPointer { dp in
        listStart.withUnsafeBufferPointer { sp in listRows.withUnsafeBufferPointer { rp in
        g.withUnsafeMutableBufferPointer { gp in dh.withUnsafeMutableBufferPointer { dhp in
        cursor.withUnsafeMutableBufferPointer { cp in
            Kernels.sparseOutputBackward(features: n, rows: R, columns: C, blockRows: blockRows,
                                         hidden: hp.baseAddress!, hiddenGrad: dhp.baseAddress!,
                                         deltas: dp.baseAddress!, deltaStride: ds, listStart: sp.baseAddress!,
                                         listRows: rp.baseAddress!, cursor: cp.baseAddress!,
                                         weights: wp.baseAddress!, gradient: gp.baseAddress!, wide: wide)
        }}}}}}}}
        return (g, dh)
    }
}

@Test(arguments: [8, 16, 40, 48, 56, 104])
func sparseOutputBackwardSumsTheDefinitionsChainsInBlocksOfAnySize(columns C: Int) {
    let p = SparseOutputProblem(rows: 80, columns: C, seed: UInt64(C))
    let expected = p.expected()
    for blockRows in [16, 48, 80, 1000] {
        let (g, dh) = p.run(blockRows: blockRows, wide: false)
        #expect(g.map(\.bitPattern) == expected.g.map(\.bitPattern), "columns \(C), blocks of \(blockRows)")
        #expect(dh.map(\.bitPattern) == expected.dh.map(\.bitPattern), "columns \(C), blocks of \(blockRows)")
    }
    // The products were added: g moved and dh is not all zero.
    #expect(expected.g != p.g0 && expected.dh.contains { $0 != 0 })
}

@Test(.enabled(if: Kernels.usesWideVectors, "the processor has no AVX-512"),
      arguments: [8, 16, 24, 32, 40, 88, 96, 104, 200])
func wideSparseOutputBackwardGivesTheBitsOfTheEightLaneKernels(columns C: Int) {
    let p = SparseOutputProblem(rows: 64, columns: C, seed: UInt64(100 + C))
    for blockRows in [16, 64] {
        let narrow = p.run(blockRows: blockRows, wide: false), wide = p.run(blockRows: blockRows, wide: true)
        #expect(narrow.g.map(\.bitPattern) == wide.g.map(\.bitPattern), "columns \(C), blocks of \(blockRows)")
        #expect(narrow.dh.map(\.bitPattern) == wide.dh.map(\.bitPattern), "columns \(C), blocks of \(blockRows)")
    }
}
