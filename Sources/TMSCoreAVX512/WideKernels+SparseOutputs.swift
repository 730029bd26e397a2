// The sparse output backward of TMSCore (`Kernels.sparseOutputBackward`) with 16 lanes.

extension WideKernels {
    @inline(__always) static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func load8(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Columns c0 ..< c0 + `count` (a multiple of 8, at most 96) of `Kernels.sparseOutputBackward`: for each
    /// feature j < `features`, its listed rows from `cursor[j]` up to (not including) row `end`, then
    /// `cursor[j]` past them. g[j][c] += δ[j][r]·h[r][c] in row order, dh[r][c] += δ[j][r]·w[j][c]: every
    /// element the same chain as with 8 lanes, in 16-lane vectors and one 8-lane one where `count` needs it.
    /// `stride` is the row length of h, dh, w and g.
    @inline(never)
    public static func sparseOutputGroup(features n: Int, columns c0: Int, count: Int, stride: Int, end: Int,
                                         hidden h: UnsafePointer<Float>, hiddenGrad dh: UnsafeMutablePointer<Float>,
                                         deltas: UnsafePointer<Float>, deltaStride ds: Int,
                                         listStart: UnsafePointer<Int32>, listRows: UnsafePointer<Int32>,
                                         cursor: UnsafeMutablePointer<Int32>,
                                         weights w: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>) {
        precondition(count % 8 == 0 && count > 0 && count <= 96, "a group has 8 to 96 columns, a multiple of 8")
        let x = SparseOutputArguments(n: n, c0: c0, stride: stride, end: end, h: h, dh: dh, deltas: deltas, ds: ds,
                                      listStart: listStart, listRows: listRows, cursor: cursor, w: w, g: g)
        switch (count / 16, count % 16 != 0) {
        case (6, _): sparseOutputTile(6, false, x)
        case (5, true): sparseOutputTile(5, true, x)
        case (5, false): sparseOutputTile(5, false, x)
        case (4, true): sparseOutputTile(4, true, x)
        case (4, false): sparseOutputTile(4, false, x)
        case (3, true): sparseOutputTile(3, true, x)
        case (3, false): sparseOutputTile(3, false, x)
        case (2, true): sparseOutputTile(2, true, x)
        case (2, false): sparseOutputTile(2, false, x)
        case (1, true): sparseOutputTile(1, true, x)
        case (1, false): sparseOutputTile(1, false, x)
        default: sparseOutputTile(0, true, x)
        }
    }

    /// The arguments of one column group and row block of the sparse output backward, for the tiles of
    /// `sparseOutputGroup` and of TMSCore's 8-lane `Kernels.sparseOutputGroup`.
    public struct SparseOutputArguments {
        public let n, c0, stride, end: Int
        public let h: UnsafePointer<Float>, dh: UnsafeMutablePointer<Float>
        public let deltas: UnsafePointer<Float>, ds: Int
        public let listStart, listRows: UnsafePointer<Int32>, cursor: UnsafeMutablePointer<Int32>
        public let w: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>

        public init(n: Int, c0: Int, stride: Int, end: Int, h: UnsafePointer<Float>, dh: UnsafeMutablePointer<Float>,
                    deltas: UnsafePointer<Float>, ds: Int, listStart: UnsafePointer<Int32>, listRows: UnsafePointer<Int32>,
                    cursor: UnsafeMutablePointer<Int32>, w: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>) {
            self.n = n; self.c0 = c0; self.stride = stride; self.end = end; self.h = h; self.dh = dh
            self.deltas = deltas; self.ds = ds; self.listStart = listStart; self.listRows = listRows
            self.cursor = cursor; self.w = w; self.g = g
        }
    }

    /// `tw` (0…6) vectors of 16 columns, then one of 8 if `half`. `@_transparent` as `projectTile`.
    @_transparent
    static func sparseOutputTile(_ tw: Int, _ half: Bool, _ x: SparseOutputArguments) {
        let zero = SIMD16<Float>.zero, zero8 = SIMD8<Float>.zero
        let h = x.h, dh = x.dh, listStart = x.listStart, listRows = x.listRows, cursor = x.cursor
        let stride = x.stride, c0 = x.c0, end = x.end
        let t = 16 * tw  // the 8-lane vector's offset
        for j in 0..<x.n {
            var e = Int(cursor[j])
            let e1 = Int(listStart[j &+ 1])
            if e == e1 || Int(listRows[e]) >= end { continue }
            let deltas = x.deltas + j &* x.ds
            let g = x.g + (j &* stride &+ c0), w = x.w + (j &* stride &+ c0)
            var a0 = tw > 0 ? load16(g, 0) : zero, a1 = tw > 1 ? load16(g, 16) : zero
            var a2 = tw > 2 ? load16(g, 32) : zero, a3 = tw > 3 ? load16(g, 48) : zero
            var a4 = tw > 4 ? load16(g, 64) : zero, a5 = tw > 5 ? load16(g, 80) : zero
            var ah = half ? load8(g, t) : zero8
            let w0 = tw > 0 ? load16(w, 0) : zero, w1 = tw > 1 ? load16(w, 16) : zero
            let w2 = tw > 2 ? load16(w, 32) : zero, w3 = tw > 3 ? load16(w, 48) : zero
            let w4 = tw > 4 ? load16(w, 64) : zero, w5 = tw > 5 ? load16(w, 80) : zero
            let wh = half ? load8(w, t) : zero8
            var r = Int(listRows[e])
            repeat {
                let dv = deltas[r]
                let d = SIMD16<Float>(repeating: dv)
                let hp = h + (r &* stride &+ c0), gp = dh + (r &* stride &+ c0)
                if tw > 0 { a0 = a0.addingProduct(d, load16(hp, 0)); store16(load16(gp, 0).addingProduct(d, w0), gp, 0) }
                if tw > 1 { a1 = a1.addingProduct(d, load16(hp, 16)); store16(load16(gp, 16).addingProduct(d, w1), gp, 16) }
                if tw > 2 { a2 = a2.addingProduct(d, load16(hp, 32)); store16(load16(gp, 32).addingProduct(d, w2), gp, 32) }
                if tw > 3 { a3 = a3.addingProduct(d, load16(hp, 48)); store16(load16(gp, 48).addingProduct(d, w3), gp, 48) }
                if tw > 4 { a4 = a4.addingProduct(d, load16(hp, 64)); store16(load16(gp, 64).addingProduct(d, w4), gp, 64) }
                if tw > 5 { a5 = a5.addingProduct(d, load16(hp, 80)); store16(load16(gp, 80).addingProduct(d, w5), gp, 80) }
                if half {
                    let d8 = SIMD8<Float>(repeating: dv)
                    ah = ah.addingProduct(d8, load8(hp, t)); store8(load8(gp, t).addingProduct(d8, wh), gp, t)
                }
                e &+= 1
                // listRows is readable one past the last list, so the row after a feature's last is readable.
                r = Int(listRows[e])
            } while e < e1 && r < end
            cursor[j] = Int32(truncatingIfNeeded: e)
            if tw > 0 { store16(a0, g, 0) }
            if tw > 1 { store16(a1, g, 16) }
            if tw > 2 { store16(a2, g, 32) }
            if tw > 3 { store16(a3, g, 48) }
            if tw > 4 { store16(a4, g, 64) }
            if tw > 5 { store16(a5, g, 80) }
            if half { store8(ah, g, t) }
        }
    }
}
