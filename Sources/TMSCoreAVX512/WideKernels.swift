/// The two dense products that dominate the large models' training, `Kernels.project` and
/// `Kernels.accumulateOuterProducts` of TMSCore, again with 16 lanes.
///
/// This module alone is compiled for AVX-512 (Package.swift), so `SIMD16<Float>` is one zmm register and a
/// tile can hold 12 of them among 32. TMSCore calls these functions only on processors that report
/// AVX-512F (`Kernels.usesWideVectors`); a processor without it never runs this module's code. On
/// processors with two 512-bit FMA pipes (seen: Intel Xeon, Emerald Rapids) that doubles the FP32 peak;
/// Zen 4 splits each 512-bit FMA in two. Every output element is the same chain of multiply-adds, in the
/// same order, as in TMSCore's 8-lane kernels, so the results are the same bits on either path
/// (docs/performance.md#avx-512-kernels).
///
/// Pointers as in TMSCore: Float32 buffers, rows padded to a multiple of 16, padding zero. The entry points
/// are `@inline(never)` so that their bodies are only ever compiled here, for AVX-512.
public enum WideKernels {
    @inline(__always) static func load16(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) static func load16(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// out[a][r] = bias[a] + Σ_c w[c][a] · x[c][r] for a < `outputs`, c < `depth`, r < `rows`, as
    /// `Kernels.project` sums it: the first `singleChainOutputs` outputs (those it takes in 3-, 4- and 6-wide
    /// tiles) one chain of FMAs in depth order from the bias (or 0); the rest (1 or 2, its 1- and 2-wide
    /// tiles) in two chains per depth block, even and odd depths, added at the block's end.
    ///
    /// - `w`: [depth][weightStride]; `x`: [depth][inputStride]; `out`: [outputs][outputStride]; `rows` a
    ///   multiple of 16; `bias` optional.
    /// Tiles of up to 6 outputs × 32 rows (12 accumulators, a broadcast weight per 2 loads of x); the depth in
    /// blocks of `depthBlock`, partial sums kept in `out`, so a block's inputs stay in L1 across the tiles.
    @inline(never)
    public static func project(outputs A: Int, singleChainOutputs single: Int, depth C: Int, rows R: Int,
                               weights w: UnsafePointer<Float>, weightStride ws: Int,
                               input x: UnsafePointer<Float>, inputStride xs: Int,
                               bias: UnsafePointer<Float>?,
                               output out: UnsafeMutablePointer<Float>, outputStride os: Int, depthBlock: Int) {
        precondition(R % 16 == 0, "rows must be a multiple of 16")
        precondition(A - single <= 2, "at most 2 outputs take split chains")
        var c0 = 0
        repeat {
            let depth = min(depthBlock, C - c0)
            let wb = w + c0 * ws, xb = x + c0 * xs
            let first = c0 == 0
            var r = 0
            while r < R {
                let tr = R - r >= 32 ? 2 : 1
                if tr == 2 {
                    projectRowTile(2, single, r, depth, wb, ws, xb, xs, bias, first, out, os)
                } else {
                    projectRowTile(1, single, r, depth, wb, ws, xb, xs, bias, first, out, os)
                }
                switch (A - single, tr) {
                case (2, 2): projectSplitTile(2, 2, single, r, depth, wb, ws, xb, xs, bias, first, out, os)
                case (2, 1): projectSplitTile(2, 1, single, r, depth, wb, ws, xb, xs, bias, first, out, os)
                case (1, 2): projectSplitTile(1, 2, single, r, depth, wb, ws, xb, xs, bias, first, out, os)
                case (1, 1): projectSplitTile(1, 1, single, r, depth, wb, ws, xb, xs, bias, first, out, os)
                default: break
                }
                r += 16 * tr
            }
            c0 += depth
        } while c0 < C
    }

    /// Every output of `project` for `tr` vectors of 16 rows from row r.
    @_transparent
    static func projectRowTile(_ tr: Int, _ A: Int, _ r: Int, _ C: Int,
                               _ w: UnsafePointer<Float>, _ ws: Int, _ x: UnsafePointer<Float>, _ xs: Int,
                               _ bias: UnsafePointer<Float>?, _ first: Bool, _ out: UnsafeMutablePointer<Float>, _ os: Int) {
        var a = 0
        while a + 6 <= A { projectTile(6, tr, a, r, C, w, ws, x, xs, bias, first, out, os); a += 6 }
        switch A - a {
        case 5: projectTile(5, tr, a, r, C, w, ws, x, xs, bias, first, out, os)
        case 4: projectTile(4, tr, a, r, C, w, ws, x, xs, bias, first, out, os)
        case 3: projectTile(3, tr, a, r, C, w, ws, x, xs, bias, first, out, os)
        case 2: projectTile(2, tr, a, r, C, w, ws, x, xs, bias, first, out, os)
        case 1: projectTile(1, tr, a, r, C, w, ws, x, xs, bias, first, out, os)
        default: break
        }
    }

    /// Outputs a ..< a + `ta` (1 or 2) of `project` × `tr` (1 or 2) vectors of 16 rows over one depth block,
    /// as TMSCore's narrow tiles sum them: p over the even depths from the start, q over the odd ones from
    /// 0, then p + q.
    @_transparent
    static func projectSplitTile(_ ta: Int, _ tr: Int, _ a: Int, _ r: Int, _ C: Int,
                                 _ w: UnsafePointer<Float>, _ ws: Int, _ x: UnsafePointer<Float>, _ xs: Int,
                                 _ bias: UnsafePointer<Float>?, _ first: Bool, _ out: UnsafeMutablePointer<Float>, _ os: Int) {
        let zero = SIMD16<Float>.zero
        var p00 = zero, p01 = zero, p10 = zero, p11 = zero
        var q00 = zero, q01 = zero, q10 = zero, q11 = zero
        let o = out + a * os + r
        if !first {
            p00 = load16(o, 0); if tr > 1 { p01 = load16(o, 16) }
            if ta > 1 { p10 = load16(o, os); if tr > 1 { p11 = load16(o, os + 16) } }
        } else if let bias {
            p00 = SIMD16(repeating: bias[a]); p01 = p00
            if ta > 1 { p10 = SIMD16(repeating: bias[a + 1]); p11 = p10 }
        }
        var wp = w + a
        var xp = x + r
        var c = 0
        while c + 2 <= C {
            let x0 = load16(xp, 0), x1 = tr > 1 ? load16(xp, 16) : zero
            let x2 = load16(xp, xs), x3 = tr > 1 ? load16(xp, xs + 16) : zero
            let s0 = SIMD16<Float>(repeating: wp[0]), t0 = SIMD16<Float>(repeating: wp[ws])
            p00 = p00.addingProduct(s0, x0); if tr > 1 { p01 = p01.addingProduct(s0, x1) }
            q00 = q00.addingProduct(t0, x2); if tr > 1 { q01 = q01.addingProduct(t0, x3) }
            if ta > 1 {
                let s1 = SIMD16<Float>(repeating: wp[1]), t1 = SIMD16<Float>(repeating: wp[ws + 1])
                p10 = p10.addingProduct(s1, x0); if tr > 1 { p11 = p11.addingProduct(s1, x1) }
                q10 = q10.addingProduct(t1, x2); if tr > 1 { q11 = q11.addingProduct(t1, x3) }
            }
            wp += 2 * ws; xp += 2 * xs; c += 2
        }
        if c < C {
            let x0 = load16(xp, 0), x1 = tr > 1 ? load16(xp, 16) : zero
            let s0 = SIMD16<Float>(repeating: wp[0])
            p00 = p00.addingProduct(s0, x0); if tr > 1 { p01 = p01.addingProduct(s0, x1) }
            if ta > 1 {
                let s1 = SIMD16<Float>(repeating: wp[1])
                p10 = p10.addingProduct(s1, x0); if tr > 1 { p11 = p11.addingProduct(s1, x1) }
            }
        }
        store16(p00 + q00, o, 0); if tr > 1 { store16(p01 + q01, o, 16) }
        if ta > 1 { store16(p10 + q10, o, os); if tr > 1 { store16(p11 + q11, o, os + 16) } }
    }

    /// One tile of `project`: `ta` (1…6) outputs × `tr` (1 or 2) vectors of 16 rows over one depth block.
    /// One function on purpose: the accumulators of every tile shape must stay in registers across the depth
    /// loop (the constant `ta` and `tr` fold every `if` away; `@_transparent` because `@inline(__always)`
    /// left some shapes as calls with `ta` and `tr` as run-time values).
    @_transparent
    static func projectTile(_ ta: Int, _ tr: Int, _ a: Int, _ r: Int, _ C: Int,
                            _ w: UnsafePointer<Float>, _ ws: Int, _ x: UnsafePointer<Float>, _ xs: Int,
                            _ bias: UnsafePointer<Float>?, _ first: Bool, _ out: UnsafeMutablePointer<Float>, _ os: Int) {
        let zero = SIMD16<Float>.zero
        var p00 = zero, p01 = zero, p10 = zero, p11 = zero, p20 = zero, p21 = zero
        var p30 = zero, p31 = zero, p40 = zero, p41 = zero, p50 = zero, p51 = zero
        let o = out + a * os + r
        if !first {
            p00 = load16(o, 0); if tr > 1 { p01 = load16(o, 16) }
            if ta > 1 { p10 = load16(o, os); if tr > 1 { p11 = load16(o, os + 16) } }
            if ta > 2 { p20 = load16(o, 2 * os); if tr > 1 { p21 = load16(o, 2 * os + 16) } }
            if ta > 3 { p30 = load16(o, 3 * os); if tr > 1 { p31 = load16(o, 3 * os + 16) } }
            if ta > 4 { p40 = load16(o, 4 * os); if tr > 1 { p41 = load16(o, 4 * os + 16) } }
            if ta > 5 { p50 = load16(o, 5 * os); if tr > 1 { p51 = load16(o, 5 * os + 16) } }
        } else if let bias {
            p00 = SIMD16(repeating: bias[a]); p01 = p00
            if ta > 1 { p10 = SIMD16(repeating: bias[a + 1]); p11 = p10 }
            if ta > 2 { p20 = SIMD16(repeating: bias[a + 2]); p21 = p20 }
            if ta > 3 { p30 = SIMD16(repeating: bias[a + 3]); p31 = p30 }
            if ta > 4 { p40 = SIMD16(repeating: bias[a + 4]); p41 = p40 }
            if ta > 5 { p50 = SIMD16(repeating: bias[a + 5]); p51 = p50 }
        }
        var wp = w + a
        var xp = x + r
        for _ in 0..<C {
            let x0 = load16(xp, 0), x1 = tr > 1 ? load16(xp, 16) : zero
            let s0 = SIMD16<Float>(repeating: wp[0])
            p00 = p00.addingProduct(s0, x0); if tr > 1 { p01 = p01.addingProduct(s0, x1) }
            if ta > 1 {
                let s1 = SIMD16<Float>(repeating: wp[1])
                p10 = p10.addingProduct(s1, x0); if tr > 1 { p11 = p11.addingProduct(s1, x1) }
            }
            if ta > 2 {
                let s2 = SIMD16<Float>(repeating: wp[2])
                p20 = p20.addingProduct(s2, x0); if tr > 1 { p21 = p21.addingProduct(s2, x1) }
            }
            if ta > 3 {
                let s3 = SIMD16<Float>(repeating: wp[3])
                p30 = p30.addingProduct(s3, x0); if tr > 1 { p31 = p31.addingProduct(s3, x1) }
            }
            if ta > 4 {
                let s4 = SIMD16<Float>(repeating: wp[4])
                p40 = p40.addingProduct(s4, x0); if tr > 1 { p41 = p41.addingProduct(s4, x1) }
            }
            if ta > 5 {
                let s5 = SIMD16<Float>(repeating: wp[5])
                p50 = p50.addingProduct(s5, x0); if tr > 1 { p51 = p51.addingProduct(s5, x1) }
            }
            wp += ws; xp += xs
        }
        store16(p00, o, 0); if tr > 1 { store16(p01, o, 16) }
        if ta > 1 { store16(p10, o, os); if tr > 1 { store16(p11, o, os + 16) } }
        if ta > 2 { store16(p20, o, 2 * os); if tr > 1 { store16(p21, o, 2 * os + 16) } }
        if ta > 3 { store16(p30, o, 3 * os); if tr > 1 { store16(p31, o, 3 * os + 16) } }
        if ta > 4 { store16(p40, o, 4 * os); if tr > 1 { store16(p41, o, 4 * os + 16) } }
        if ta > 5 { store16(p50, o, 5 * os); if tr > 1 { store16(p51, o, 5 * os + 16) } }
    }

    /// g[a][k] += Σ_r u[a][r]·v[r][k] (+ u2[a][r]·v2[r][k]) for a < `outputs`, k < 16·`wideVectors`,
    /// r < `length`: each element one chain in row order from g, the u2 term right after the u term of the
    /// same row, as in `Kernels.accumulateOuterProducts`.
    ///
    /// - `u`, `u2`: [outputs][stride] batch-lane; `v`, `v2`: row-major [length][vStride]; `g`: [outputs][gradStride].
    /// Tiles of up to 6 outputs (4 with u2) × 2 vectors (12 accumulators); a broadcast of u per 2 loads of v.
    @inline(never)
    public static func accumulateOuterProducts(outputs A: Int, wideVectors V: Int, length R: Int,
                                               u: UnsafePointer<Float>, uStride us: Int,
                                               v: UnsafePointer<Float>, vStride vs: Int,
                                               u2: UnsafePointer<Float>?, u2Stride u2s: Int,
                                               v2: UnsafePointer<Float>?,
                                               into g: UnsafeMutablePointer<Float>, gradStride gs: Int) {
        if let u2, let v2 {
            outers(true, A, V, R, u, us, v, vs, u2, u2s, v2, g, gs)
        } else {
            outers(false, A, V, R, u, us, v, vs, u, us, v, g, gs)
        }
    }

    @_transparent
    static func outers(_ fused: Bool, _ A: Int, _ V: Int, _ R: Int,
                       _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                       _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>,
                       _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        var kv = 0
        while kv < V {
            if V - kv >= 2 {
                outerColumnTile(fused, 2, A, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                kv += 2
            } else {
                outerColumnTile(fused, 1, A, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
                kv += 1
            }
        }
    }

    /// Every output of `accumulateOuterProducts` for `tv` wide vectors of columns from vector kv.
    @_transparent
    static func outerColumnTile(_ fused: Bool, _ tv: Int, _ A: Int, _ kv: Int, _ R: Int,
                                _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                                _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>,
                                _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        var a = 0
        // With u2, 4 outputs: 6 would need 12 row pointers for the broadcasts, more than x86_64's free
        // general registers (the loop reloaded them from the stack).
        if fused {
            while a + 4 <= A { outerTile(true, 4, tv, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs); a += 4 }
        } else {
            while a + 6 <= A { outerTile(false, 6, tv, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs); a += 6 }
        }
        switch A - a {
        case 5: outerTile(fused, 5, tv, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
        case 4: outerTile(fused, 4, tv, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
        case 3: outerTile(fused, 3, tv, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
        case 2: outerTile(fused, 2, tv, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
        case 1: outerTile(fused, 1, tv, a, kv, R, u, us, v, vs, u2, u2s, v2, g, gs)
        default: break
        }
    }

    /// One tile of `accumulateOuterProducts`: `ta` (1…6) outputs × `tv` (1 or 2) wide vectors
    /// (`@_transparent` as `projectTile`).
    @_transparent
    static func outerTile(_ fused: Bool, _ ta: Int, _ tv: Int, _ a: Int, _ kv: Int, _ R: Int,
                          _ u: UnsafePointer<Float>, _ us: Int, _ v: UnsafePointer<Float>, _ vs: Int,
                          _ u2: UnsafePointer<Float>, _ u2s: Int, _ v2: UnsafePointer<Float>,
                          _ g: UnsafeMutablePointer<Float>, _ gs: Int) {
        let zero = SIMD16<Float>.zero
        let g0 = g + a * gs + 16 * kv
        var s00 = load16(g0, 0), s01 = tv > 1 ? load16(g0, 16) : zero
        var s10 = zero, s11 = zero, s20 = zero, s21 = zero, s30 = zero, s31 = zero
        var s40 = zero, s41 = zero, s50 = zero, s51 = zero
        if ta > 1 { s10 = load16(g0, gs); if tv > 1 { s11 = load16(g0, gs + 16) } }
        if ta > 2 { s20 = load16(g0, 2 * gs); if tv > 1 { s21 = load16(g0, 2 * gs + 16) } }
        if ta > 3 { s30 = load16(g0, 3 * gs); if tv > 1 { s31 = load16(g0, 3 * gs + 16) } }
        if ta > 4 { s40 = load16(g0, 4 * gs); if tv > 1 { s41 = load16(g0, 4 * gs + 16) } }
        if ta > 5 { s50 = load16(g0, 5 * gs); if tv > 1 { s51 = load16(g0, 5 * gs + 16) } }
        let ua = u + a * us, ub = u2 + a * u2s
        var vp = v + 16 * kv, wp = v2 + 16 * kv
        for r in 0..<R {
            let y0 = load16(vp, 0), y1 = tv > 1 ? load16(vp, 16) : zero
            let x0 = SIMD16<Float>(repeating: ua[r])
            s00 = s00.addingProduct(x0, y0); if tv > 1 { s01 = s01.addingProduct(x0, y1) }
            if ta > 1 { let x1 = SIMD16<Float>(repeating: ua[us + r]); s10 = s10.addingProduct(x1, y0); if tv > 1 { s11 = s11.addingProduct(x1, y1) } }
            if ta > 2 { let x2 = SIMD16<Float>(repeating: ua[2 * us + r]); s20 = s20.addingProduct(x2, y0); if tv > 1 { s21 = s21.addingProduct(x2, y1) } }
            if ta > 3 { let x3 = SIMD16<Float>(repeating: ua[3 * us + r]); s30 = s30.addingProduct(x3, y0); if tv > 1 { s31 = s31.addingProduct(x3, y1) } }
            if ta > 4 { let x4 = SIMD16<Float>(repeating: ua[4 * us + r]); s40 = s40.addingProduct(x4, y0); if tv > 1 { s41 = s41.addingProduct(x4, y1) } }
            if ta > 5 { let x5 = SIMD16<Float>(repeating: ua[5 * us + r]); s50 = s50.addingProduct(x5, y0); if tv > 1 { s51 = s51.addingProduct(x5, y1) } }
            if fused {
                let z0 = load16(wp, 0), z1 = tv > 1 ? load16(wp, 16) : zero
                let t0 = SIMD16<Float>(repeating: ub[r])
                s00 = s00.addingProduct(t0, z0); if tv > 1 { s01 = s01.addingProduct(t0, z1) }
                if ta > 1 { let t1 = SIMD16<Float>(repeating: ub[u2s + r]); s10 = s10.addingProduct(t1, z0); if tv > 1 { s11 = s11.addingProduct(t1, z1) } }
                if ta > 2 { let t2 = SIMD16<Float>(repeating: ub[2 * u2s + r]); s20 = s20.addingProduct(t2, z0); if tv > 1 { s21 = s21.addingProduct(t2, z1) } }
                if ta > 3 { let t3 = SIMD16<Float>(repeating: ub[3 * u2s + r]); s30 = s30.addingProduct(t3, z0); if tv > 1 { s31 = s31.addingProduct(t3, z1) } }
                if ta > 4 { let t4 = SIMD16<Float>(repeating: ub[4 * u2s + r]); s40 = s40.addingProduct(t4, z0); if tv > 1 { s41 = s41.addingProduct(t4, z1) } }
                if ta > 5 { let t5 = SIMD16<Float>(repeating: ub[5 * u2s + r]); s50 = s50.addingProduct(t5, z0); if tv > 1 { s51 = s51.addingProduct(t5, z1) } }
                wp += vs
            }
            vp += vs
        }
        store16(s00, g0, 0); if tv > 1 { store16(s01, g0, 16) }
        if ta > 1 { store16(s10, g0, gs); if tv > 1 { store16(s11, g0, gs + 16) } }
        if ta > 2 { store16(s20, g0, 2 * gs); if tv > 1 { store16(s21, g0, 2 * gs + 16) } }
        if ta > 3 { store16(s30, g0, 3 * gs); if tv > 1 { store16(s31, g0, 3 * gs + 16) } }
        if ta > 4 { store16(s40, g0, 4 * gs); if tv > 1 { store16(s41, g0, 4 * gs + 16) } }
        if ta > 5 { store16(s50, g0, 5 * gs); if tv > 1 { store16(s51, g0, 5 * gs + 16) } }
    }

    /// The FP32 peak loop of `tms bench` with 16 lanes: 12 independent chains a ← a·x + y of `iterations`
    /// FMAs each (2 · 16 · 12 FLOPs per iteration); returns their lane sum so the loop is kept.
    @inline(never)
    public static func fmaLoop(_ iterations: Int, seed: Float) -> Float {
        let x = SIMD16<Float>(repeating: 0.999_999), y = SIMD16<Float>(repeating: 1e-7)
        var a0 = SIMD16<Float>(repeating: seed), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5
        var a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
        for _ in 0..<iterations {
            a0 = y.addingProduct(a0, x); a1 = y.addingProduct(a1, x); a2 = y.addingProduct(a2, x)
            a3 = y.addingProduct(a3, x); a4 = y.addingProduct(a4, x); a5 = y.addingProduct(a5, x)
            a6 = y.addingProduct(a6, x); a7 = y.addingProduct(a7, x); a8 = y.addingProduct(a8, x)
            a9 = y.addingProduct(a9, x); a10 = y.addingProduct(a10, x); a11 = y.addingProduct(a11, x)
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).sum()
    }
}
