// The output backward of a model whose output gradients δ are mostly zero, from lists of the non-zero ones.

import TMSCoreAVX512

extension Kernels {
    /// For each feature j < `features` and each row r in its list (`listRows[listStart[j] ..< listStart[j + 1]]`,
    /// increasing rows), with d = δ[j][r]:
    ///
    ///     g[j][c] += d · h[r][c]   (one chain per element, in row order, held in registers across j's rows)
    ///     dh[r][c] += d · w[j][c]  (one chain per element, in feature order, from 0)
    ///
    /// for every column c < `columns`. `dh` is zeroed first.
    ///
    /// - `h`, `dh`: [rows][columns] row-major; `w`, `g`: [features][columns]; `deltas`: [features][deltaStride]
    ///   batch-lane; `columns` a multiple of 8. `listRows` must be readable one entry past the last list (its
    ///   value unused). `cursor` ([features]) is scratch.
    /// - `blockRows`: the rows go in blocks of this many, every feature's rows in a block before the next block
    ///   (a cursor per feature marks where its list stands), so that the block's h and dh stay in L1 while
    ///   each feature passes over them (docs/performance.md#whole-job-fourth-pass). The columns go in groups
    ///   of up to 6 vectors, each group over every block. Neither changes a chain, so no grouping changes a
    ///   bit, and neither do the 16-lane kernels where `usesWideVectors` (docs/performance.md#whole-job-sixth-pass).
    public static func sparseOutputBackward(features n: Int, rows R: Int, columns C: Int, blockRows: Int,
                                            hidden h: UnsafePointer<Float>, hiddenGrad dh: UnsafeMutablePointer<Float>,
                                            deltas: UnsafePointer<Float>, deltaStride ds: Int,
                                            listStart: UnsafePointer<Int32>, listRows: UnsafePointer<Int32>,
                                            cursor: UnsafeMutablePointer<Int32>,
                                            weights w: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>) {
        sparseOutputBackward(features: n, rows: R, columns: C, blockRows: blockRows, hidden: h, hiddenGrad: dh,
                             deltas: deltas, deltaStride: ds, listStart: listStart, listRows: listRows, cursor: cursor,
                             weights: w, gradient: g, wide: usesWideVectors)
    }

    /// `sparseOutputBackward` on the 16-lane kernels (`wide`, only where `usesWideVectors`) or on these alone.
    static func sparseOutputBackward(features n: Int, rows R: Int, columns C: Int, blockRows: Int,
                                     hidden h: UnsafePointer<Float>, hiddenGrad dh: UnsafeMutablePointer<Float>,
                                     deltas: UnsafePointer<Float>, deltaStride ds: Int,
                                     listStart: UnsafePointer<Int32>, listRows: UnsafePointer<Int32>,
                                     cursor: UnsafeMutablePointer<Int32>,
                                     weights w: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>, wide: Bool) {
        precondition(C % 8 == 0 && blockRows > 0, "columns must be a multiple of 8 and blocks non-empty")
        dh.update(repeating: 0, count: R * C)
        // 6 vectors per group: 2 × 6 registers for g[j] and w[j] (of 16 ymm or 32 zmm).
        let groupColumns = wide ? 96 : 48
        var c0 = 0
        while c0 < C {
            let count = min(groupColumns, C - c0)
            cursor.update(from: listStart, count: n)
            var b0 = 0
            while b0 < R {
                let b1 = min(R, b0 + blockRows)
                if wide {
                    WideKernels.sparseOutputGroup(features: n, columns: c0, count: count, stride: C, end: b1, hidden: h,
                                                  hiddenGrad: dh, deltas: deltas, deltaStride: ds, listStart: listStart,
                                                  listRows: listRows, cursor: cursor, weights: w, gradient: g)
                } else {
                    let args = WideKernels.SparseOutputArguments(n: n, c0: c0, stride: C, end: b1, h: h, dh: dh,
                                                                 deltas: deltas, ds: ds, listStart: listStart,
                                                                 listRows: listRows, cursor: cursor, w: w, g: g)
                    switch count / 8 {
                    case 6: sparseOutputGroup(6, args)
                    case 5: sparseOutputGroup(5, args)
                    case 4: sparseOutputGroup(4, args)
                    case 3: sparseOutputGroup(3, args)
                    case 2: sparseOutputGroup(2, args)
                    default: sparseOutputGroup(1, args)
                    }
                }
                b0 = b1
            }
            c0 += count
        }
    }

    /// Columns c0 ..< c0 + 8·tv (tv ≤ 6) of `sparseOutputBackward`, for each feature its listed rows from its
    /// cursor up to (not including) row `end`. `@_transparent`, so that each case of the caller's switch is
    /// compiled with `tv` a constant (`@inline(__always)` once left one copy testing `tv` in the inner loop).
    @_transparent
    static func sparseOutputGroup(_ tv: Int, _ x: WideKernels.SparseOutputArguments) {
        let zero = SIMD8<Float>.zero
        let h = x.h, dh = x.dh, listStart = x.listStart, listRows = x.listRows, cursor = x.cursor
        let stride = x.stride, c0 = x.c0, end = x.end
        for j in 0..<x.n {
            var e = Int(cursor[j])
            let e1 = Int(listStart[j &+ 1])
            if e == e1 || Int(listRows[e]) >= end { continue }
            let deltas = x.deltas + j &* x.ds
            let g = x.g + (j &* stride &+ c0), w = x.w + (j &* stride &+ c0)
            var a0 = load8(g, 0), a1 = tv > 1 ? load8(g, 8) : zero, a2 = tv > 2 ? load8(g, 16) : zero
            var a3 = tv > 3 ? load8(g, 24) : zero, a4 = tv > 4 ? load8(g, 32) : zero, a5 = tv > 5 ? load8(g, 40) : zero
            let w0 = load8(w, 0), w1 = tv > 1 ? load8(w, 8) : zero, w2 = tv > 2 ? load8(w, 16) : zero
            let w3 = tv > 3 ? load8(w, 24) : zero, w4 = tv > 4 ? load8(w, 32) : zero, w5 = tv > 5 ? load8(w, 40) : zero
            var r = Int(listRows[e])
            repeat {
                let d = SIMD8<Float>(repeating: deltas[r])
                let hp = h + (r &* stride &+ c0), gp = dh + (r &* stride &+ c0)
                a0 = a0.addingProduct(d, load8(hp, 0)); store8(load8(gp, 0).addingProduct(d, w0), gp, 0)
                if tv > 1 { a1 = a1.addingProduct(d, load8(hp, 8)); store8(load8(gp, 8).addingProduct(d, w1), gp, 8) }
                if tv > 2 { a2 = a2.addingProduct(d, load8(hp, 16)); store8(load8(gp, 16).addingProduct(d, w2), gp, 16) }
                if tv > 3 { a3 = a3.addingProduct(d, load8(hp, 24)); store8(load8(gp, 24).addingProduct(d, w3), gp, 24) }
                if tv > 4 { a4 = a4.addingProduct(d, load8(hp, 32)); store8(load8(gp, 32).addingProduct(d, w4), gp, 32) }
                if tv > 5 { a5 = a5.addingProduct(d, load8(hp, 40)); store8(load8(gp, 40).addingProduct(d, w5), gp, 40) }
                e &+= 1
                // listRows is readable one past the last list, so the row after a feature's last is readable.
                r = Int(listRows[e])
            } while e < e1 && r < end
            cursor[j] = Int32(truncatingIfNeeded: e)
            store8(a0, g, 0)
            if tv > 1 { store8(a1, g, 8) }
            if tv > 2 { store8(a2, g, 16) }
            if tv > 3 { store8(a3, g, 24) }
            if tv > 4 { store8(a4, g, 32) }
            if tv > 5 { store8(a5, g, 40) }
        }
    }
}
