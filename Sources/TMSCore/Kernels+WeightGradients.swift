import TMSCoreAVX512

// The weight-gradient products of the batch-lane kernels (Kernels.swift): dot products along the batch
// for long chunks, sums of outer products with a row-major operand for short ones.

extension Kernels {
    /// g[a][c] += Σ_r u[a][r]·v[c][r] (+ u2[a][r]·v2[c][r]) for a < `outputs`, c < `columns`, r < `length`:
    /// weight gradients as dot products along the batch (both operands batch-lane).
    ///
    /// - `u`: [outputs][uStride], `u2`: [outputs][u2Stride]; `v`: [columns][vStride], `v2`: [columns][v2Stride];
    ///   `g`: [outputs][gradStride]; `length` a multiple of 8.
    /// Tiles of 3 × 4 dot products (12 accumulators; 2 × 4 and narrower at the edges), each reduced across
    /// lanes once at the end, so use it when `length` is long (≥ ~512) or `columns` is small.
    public static func accumulateDots(outputs A: Int, columns Cn: Int, length R: Int,
                                      u: UnsafePointer<Float>, uStride us: Int,
                                      v: UnsafePointer<Float>, vStride vs: Int,
                                      u2: UnsafePointer<Float>? = nil, u2Stride u2s: Int = 0,
                                      v2: UnsafePointer<Float>? = nil, v2Stride v2s: Int = 0,
                                      into g: UnsafeMutablePointer<Float>, gradStride gs: Int) {
        precondition(R % 8 == 0, "length must be a multiple of 8")
        if let u2, let v2 {
            dots(true, A, Cn, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
        } else {
            dots(false, A, Cn, R, u, us, v, vs, u, us, v, vs, g, gs)
        }
    }

    @inline(__always)
    static func dots(_ fused: Bool, _ A: Int, _ Cn: Int, _ R: Int,
                     _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                     _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>, _ v2s: Int,
                     _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        var a = 0
        // 3 × 4 tiles first: 12 accumulators keep both FMA pipes busy where the 2 × 4 tile's 8 chains, two
        // dependent FMAs each per step in the fused case, leave no slack (+12 % on 100 × 20 × 512, one thread).
        // Every dot product is the same lane-wise chain in either tile, so results are bit-identical.
        while a + 3 <= A {
            var c = 0
            while c + 4 <= Cn { dotTile34(fused, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs); c += 4 }
            if c < Cn {
                switch Cn - c {
                case 3: dotTile(fused, 2, 3, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                        dotTile(fused, 1, 3, a + 2, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                case 2: dotTile(fused, 2, 2, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                        dotTile(fused, 1, 2, a + 2, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                default: dotTile(fused, 2, 1, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                         dotTile(fused, 1, 1, a + 2, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                }
            }
            a += 3
        }
        while a < A {
            let ta = min(2, A - a)
            var c = 0
            while c < Cn {
                switch (ta, min(4, Cn - c)) {
                case (2, 4): dotTile(fused, 2, 4, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                case (2, 3): dotTile(fused, 2, 3, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                case (2, 2): dotTile(fused, 2, 2, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                case (2, 1): dotTile(fused, 2, 1, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                case (1, 4): dotTile(fused, 1, 4, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                case (1, 3): dotTile(fused, 1, 3, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                case (1, 2): dotTile(fused, 1, 2, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                default: dotTile(fused, 1, 1, a, c, R, u, us, v, vs, u2, u2s, v2, v2s, g, gs)
                }
                c += 4
            }
            a += 2
        }
    }

    @inline(__always)
    static func dotTile(_ fused: Bool, _ ta: Int, _ tc: Int, _ a: Int, _ c: Int, _ R: Int,
                        _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                        _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>, _ v2s: Int,
                        _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        let zero = SIMD8<Float>.zero
        var s00 = zero, s01 = zero, s02 = zero, s03 = zero, s10 = zero, s11 = zero, s12 = zero, s13 = zero
        let ua = u + a * us, va = v + c * vs, ub = u2 + a * u2s, vb = v2 + c * v2s
        var r = 0
        while r < R {
            let x0 = load8(ua, r), x1 = ta > 1 ? load8(ua, us + r) : zero
            let y0 = load8(va, r)
            s00 = s00.addingProduct(x0, y0); if ta > 1 { s10 = s10.addingProduct(x1, y0) }
            if tc > 1 { let y1 = load8(va, vs + r); s01 = s01.addingProduct(x0, y1); if ta > 1 { s11 = s11.addingProduct(x1, y1) } }
            if tc > 2 { let y2 = load8(va, 2 * vs + r); s02 = s02.addingProduct(x0, y2); if ta > 1 { s12 = s12.addingProduct(x1, y2) } }
            if tc > 3 { let y3 = load8(va, 3 * vs + r); s03 = s03.addingProduct(x0, y3); if ta > 1 { s13 = s13.addingProduct(x1, y3) } }
            if fused {
                let z0 = load8(ub, r), z1 = ta > 1 ? load8(ub, u2s + r) : zero
                let w0 = load8(vb, r)
                s00 = s00.addingProduct(z0, w0); if ta > 1 { s10 = s10.addingProduct(z1, w0) }
                if tc > 1 { let w1 = load8(vb, v2s + r); s01 = s01.addingProduct(z0, w1); if ta > 1 { s11 = s11.addingProduct(z1, w1) } }
                if tc > 2 { let w2 = load8(vb, 2 * v2s + r); s02 = s02.addingProduct(z0, w2); if ta > 1 { s12 = s12.addingProduct(z1, w2) } }
                if tc > 3 { let w3 = load8(vb, 3 * v2s + r); s03 = s03.addingProduct(z0, w3); if ta > 1 { s13 = s13.addingProduct(z1, w3) } }
            }
            r += 8
        }
        let g0 = g + a * gs + c
        g0[0] += s00.sum()
        if tc > 1 { g0[1] += s01.sum() }
        if tc > 2 { g0[2] += s02.sum() }
        if tc > 3 { g0[3] += s03.sum() }
        if ta > 1 {
            let g1 = g0 + gs
            g1[0] += s10.sum()
            if tc > 1 { g1[1] += s11.sum() }
            if tc > 2 { g1[2] += s12.sum() }
            if tc > 3 { g1[3] += s13.sum() }
        }
    }

    /// A tile of 3 outputs × 4 columns of `dots` (12 accumulators; each x reused by 4 columns, each y by 3).
    @inline(__always)
    static func dotTile34(_ fused: Bool, _ a: Int, _ c: Int, _ R: Int,
                          _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                          _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>, _ v2s: Int,
                          _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        let zero = SIMD8<Float>.zero
        var s00 = zero, s01 = zero, s02 = zero, s03 = zero, s10 = zero, s11 = zero, s12 = zero, s13 = zero
        var s20 = zero, s21 = zero, s22 = zero, s23 = zero
        let ua = u + a * us, va = v + c * vs, ub = u2 + a * u2s, vb = v2 + c * v2s
        var r = 0
        while r < R {
            let x0 = load8(ua, r), x1 = load8(ua, us + r), x2 = load8(ua, 2 * us + r)
            var y = load8(va, r)
            s00 = s00.addingProduct(x0, y); s10 = s10.addingProduct(x1, y); s20 = s20.addingProduct(x2, y)
            y = load8(va, vs + r)
            s01 = s01.addingProduct(x0, y); s11 = s11.addingProduct(x1, y); s21 = s21.addingProduct(x2, y)
            y = load8(va, 2 * vs + r)
            s02 = s02.addingProduct(x0, y); s12 = s12.addingProduct(x1, y); s22 = s22.addingProduct(x2, y)
            y = load8(va, 3 * vs + r)
            s03 = s03.addingProduct(x0, y); s13 = s13.addingProduct(x1, y); s23 = s23.addingProduct(x2, y)
            if fused {
                let z0 = load8(ub, r), z1 = load8(ub, u2s + r), z2 = load8(ub, 2 * u2s + r)
                var w = load8(vb, r)
                s00 = s00.addingProduct(z0, w); s10 = s10.addingProduct(z1, w); s20 = s20.addingProduct(z2, w)
                w = load8(vb, v2s + r)
                s01 = s01.addingProduct(z0, w); s11 = s11.addingProduct(z1, w); s21 = s21.addingProduct(z2, w)
                w = load8(vb, 2 * v2s + r)
                s02 = s02.addingProduct(z0, w); s12 = s12.addingProduct(z1, w); s22 = s22.addingProduct(z2, w)
                w = load8(vb, 3 * v2s + r)
                s03 = s03.addingProduct(z0, w); s13 = s13.addingProduct(z1, w); s23 = s23.addingProduct(z2, w)
            }
            r += 8
        }
        let g0 = g + a * gs + c, g1 = g0 + gs, g2 = g1 + gs
        g0[0] += s00.sum(); g0[1] += s01.sum(); g0[2] += s02.sum(); g0[3] += s03.sum()
        g1[0] += s10.sum(); g1[1] += s11.sum(); g1[2] += s12.sum(); g1[3] += s13.sum()
        g2[0] += s20.sum(); g2[1] += s21.sum(); g2[2] += s22.sum(); g2[3] += s23.sum()
    }

    /// g[a][k] += Σ_r u[a][r]·v[r][k] (+ u2[a][r]·v2[r][k]) for a < `outputs`, k < 8·`vectors`, r < `length`:
    /// weight gradients as sums of outer products, with the gradient tile held in registers and the second
    /// operand row-major (v: [length][vStride], 8·`vectors` ≤ vStride, a multiple of 8). No lane reductions,
    /// so it suits short batch chunks; the padding lanes of v must be zero (they land in g's padding).
    ///
    /// - `u`: [outputs][uStride], `u2`: [outputs][u2Stride] batch-lane; `v`, `v2`: row-major with stride
    ///   `vStride`; `g`: [outputs][gradStride].
    /// Tiles of 2 outputs × 4 vectors (8 accumulators); a broadcast of u per 4 loads of v. Where
    /// `usesWideVectors`, pairs of vectors go to `WideKernels.accumulateOuterProducts` (the same chains).
    public static func accumulateOuterProducts(outputs A: Int, vectors V: Int, length R: Int,
                                               u: UnsafePointer<Float>, uStride us: Int,
                                               v: UnsafePointer<Float>, vStride vs: Int,
                                               u2: UnsafePointer<Float>? = nil, u2Stride u2s: Int = 0,
                                               v2: UnsafePointer<Float>? = nil,
                                               into g: UnsafeMutablePointer<Float>, gradStride gs: Int) {
        accumulateOuterProducts(outputs: A, vectors: V, length: R, u: u, uStride: us, v: v, vStride: vs, u2: u2, u2Stride: u2s,
                                v2: v2, into: g, gradStride: gs, wide: usesWideVectors)
    }

    /// `accumulateOuterProducts` with pairs of vectors on `WideKernels` (`wide`, only where
    /// `usesWideVectors`; every element keeps its chain) or with these kernels alone.
    static func accumulateOuterProducts(outputs A: Int, vectors V: Int, length R: Int,
                                        u: UnsafePointer<Float>, uStride us: Int,
                                        v: UnsafePointer<Float>, vStride vs: Int,
                                        u2: UnsafePointer<Float>? = nil, u2Stride u2s: Int = 0,
                                        v2: UnsafePointer<Float>? = nil,
                                        into g: UnsafeMutablePointer<Float>, gradStride gs: Int, wide: Bool) {
        var kv0 = 0
        if wide && V >= 2 {
            WideKernels.accumulateOuterProducts(outputs: A, wideVectors: V / 2, length: R, u: u, uStride: us, v: v, vStride: vs,
                                                u2: u2, u2Stride: u2s, v2: v2, into: g, gradStride: gs)
            kv0 = V / 2 * 2
            if kv0 == V { return }
        }
        if let u2, let v2 {
            outers(true, A, kv0, V, R, u, us, v, vs, u2, u2s, v2, g, gs)
        } else {
            outers(false, A, kv0, V, R, u, us, v, vs, u, us, v, g, gs)
        }
    }

    /// Vectors kv0 ..< V of `accumulateOuterProducts`.
    @inline(__always)
    static func outers(_ fused: Bool, _ A: Int, _ kv0: Int, _ V: Int, _ R: Int,
                       _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                       _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>,
                       _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        var kv = kv0
        while kv < V {
            let tv = min(4, V - kv)
            var a = 0
            while a < A {
                switch (min(2, A - a), tv) {
                case (2, 4): outerTile(fused, 2, 4, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                case (2, 3): outerTile(fused, 2, 3, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                case (2, 2): outerTile(fused, 2, 2, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                case (2, 1): outerTile(fused, 2, 1, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                case (1, 4): outerTile(fused, 1, 4, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                case (1, 3): outerTile(fused, 1, 3, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                case (1, 2): outerTile(fused, 1, 2, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                default: outerTile(fused, 1, 1, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                }
                a += 2
            }
            kv += 4
        }
    }

    @inline(__always)
    static func outerTile(_ fused: Bool, _ ta: Int, _ tv: Int, _ a: Int, _ kv: Int, _ R: Int,
                          _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                          _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>,
                          _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        let zero = SIMD8<Float>.zero
        let g0 = g + a * gs + 8 * kv, g1 = g0 + gs
        var s00 = load8(g0, 0), s01 = tv > 1 ? load8(g0, 8) : zero
        var s02 = tv > 2 ? load8(g0, 16) : zero, s03 = tv > 3 ? load8(g0, 24) : zero
        var s10 = zero, s11 = zero, s12 = zero, s13 = zero
        if ta > 1 {
            s10 = load8(g1, 0); if tv > 1 { s11 = load8(g1, 8) }
            if tv > 2 { s12 = load8(g1, 16) }; if tv > 3 { s13 = load8(g1, 24) }
        }
        let ua = u + a * us, ub = u2 + a * u2s
        var vp = v + 8 * kv, wp = v2 + 8 * kv
        for r in 0..<R {
            let x0 = SIMD8<Float>(repeating: ua[r]), x1 = ta > 1 ? SIMD8<Float>(repeating: ua[us + r]) : zero
            let y0 = load8(vp, 0)
            s00 = s00.addingProduct(x0, y0); if ta > 1 { s10 = s10.addingProduct(x1, y0) }
            if tv > 1 { let y1 = load8(vp, 8); s01 = s01.addingProduct(x0, y1); if ta > 1 { s11 = s11.addingProduct(x1, y1) } }
            if tv > 2 { let y2 = load8(vp, 16); s02 = s02.addingProduct(x0, y2); if ta > 1 { s12 = s12.addingProduct(x1, y2) } }
            if tv > 3 { let y3 = load8(vp, 24); s03 = s03.addingProduct(x0, y3); if ta > 1 { s13 = s13.addingProduct(x1, y3) } }
            if fused {
                let z0 = SIMD8<Float>(repeating: ub[r]), z1 = ta > 1 ? SIMD8<Float>(repeating: ub[u2s + r]) : zero
                let w0 = load8(wp, 0)
                s00 = s00.addingProduct(z0, w0); if ta > 1 { s10 = s10.addingProduct(z1, w0) }
                if tv > 1 { let w1 = load8(wp, 8); s01 = s01.addingProduct(z0, w1); if ta > 1 { s11 = s11.addingProduct(z1, w1) } }
                if tv > 2 { let w2 = load8(wp, 16); s02 = s02.addingProduct(z0, w2); if ta > 1 { s12 = s12.addingProduct(z1, w2) } }
                if tv > 3 { let w3 = load8(wp, 24); s03 = s03.addingProduct(z0, w3); if ta > 1 { s13 = s13.addingProduct(z1, w3) } }
                wp += vs
            }
            vp += vs
        }
        store8(s00, g0, 0); if tv > 1 { store8(s01, g0, 8) }
        if tv > 2 { store8(s02, g0, 16) }; if tv > 3 { store8(s03, g0, 24) }
        if ta > 1 {
            store8(s10, g1, 0); if tv > 1 { store8(s11, g1, 8) }
            if tv > 2 { store8(s12, g1, 16) }; if tv > 3 { store8(s13, g1, 24) }
        }
    }
}
