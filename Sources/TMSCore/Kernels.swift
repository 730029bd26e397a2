import Foundation
import TMSCoreAVX512

/// SIMD kernels for the shapes of toy models (m from 1 to a few hundred, n up to tens of thousands).
///
/// All take raw pointers to Float32 buffers whose lengths are padded to a multiple of 8 (or 16 where stated),
/// with zero padding, so the loops need no scalar tails. Compiled with AVX2 + FMA on x86_64 (Package.swift);
/// the two dense products also have 16-lane versions for AVX-512 (`usesWideVectors`).
public enum Kernels {
    // Element access and the element-wise kernels are `@inlinable`: the training pass calls them per vector,
    // from another module.
    @inlinable @inline(__always) public static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inlinable @inline(__always) public static func load8(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inlinable @inline(__always) public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// y[0..<count] += a · x[0..<count]; `count` a multiple of 8.
    @inlinable @inline(__always)
    public static func axpy(_ count: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let av = SIMD8<Float>(repeating: a)
        var i = 0
        while i < count {
            store8(load8(y, i).addingProduct(av, load8(x, i)), y, i)
            i += 8
        }
    }

    /// y[0..<count] += x[0..<count]; `count` a multiple of 8.
    @inlinable @inline(__always)
    public static func add(_ count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        var i = 0
        while i < count { store8(load8(y, i) + load8(x, i), y, i); i += 8 }
    }

    /// p[0..<count] = max(p, 0) (ReLU); `count` a multiple of 8.
    @inlinable @inline(__always)
    public static func relu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i < count { let v = load8(p, i); store8(v.replacing(with: 0, where: v .< 0), p, i); i += 8 }
    }

    /// g[i] = 0 where h[i] ≤ 0: the gradient through a ReLU with output h, taking ReLU′(0) = 0; `count` a
    /// multiple of 8.
    @inlinable @inline(__always)
    public static func maskInactive(_ g: UnsafeMutablePointer<Float>, by h: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i < count { store8(load8(g, i).replacing(with: 0, where: load8(h, i) .<= 0), g, i); i += 8 }
    }
}

// MARK: - Batch-lane kernels
//
// The dense training pass keeps activations feature-major, "batch-lane": a [features][rows] buffer holds one
// feature's values for consecutive batch rows contiguously, so the SIMD lanes run along the batch. Products
// then need no padding of n or m (only of the row count, to 16) and no horizontal sums except in the weight
// gradients. `rows` is always a multiple of 16 and padded rows hold zeros (or finite values multiplied by
// zeros), so no loop has a scalar tail.

extension Kernels {
    /// out[a][r] = bias[a] + Σ_c w[c][a] · x[c][r] for a < `outputs`, c < `depth`, r < `rows`.
    ///
    /// - `w`: [depth][weightStride] (row c holds the weights from input c to every output a);
    /// - `x`: [depth][inputStride], `out`: [outputs][outputStride]; `rows` a multiple of 16; `bias` optional.
    /// Tiles of 4 outputs × 16 rows (8 accumulators, each weight broadcast once per 2 loads of x); narrow
    /// tiles (1 or 2 outputs) split the depth into even and odd halves to keep 4–8 FMA chains in flight.
    /// The depth is taken in blocks of 128 (partial sums kept in `out`), so that a block's inputs for one
    /// tile of rows and its weights for all outputs stay in L1 while every output tile uses them.
    ///
    /// Where `usesWideVectors`, `WideKernels.project` computes it with 16 lanes and the same chains.
    public static func project(outputs A: Int, depth C: Int, rows R: Int,
                               weights w: UnsafePointer<Float>, weightStride ws: Int,
                               input x: UnsafePointer<Float>, inputStride xs: Int,
                               bias: UnsafePointer<Float>?,
                               output out: UnsafeMutablePointer<Float>, outputStride os: Int) {
        project(outputs: A, depth: C, rows: R, weights: w, weightStride: ws, input: x, inputStride: xs, bias: bias,
                output: out, outputStride: os, wide: usesWideVectors)
    }

    /// `project` on the 16-lane kernels (`wide`, only where `usesWideVectors`) or on these alone.
    static func project(outputs A: Int, depth C: Int, rows R: Int,
                        weights w: UnsafePointer<Float>, weightStride ws: Int,
                        input x: UnsafePointer<Float>, inputStride xs: Int,
                        bias: UnsafePointer<Float>?,
                        output out: UnsafeMutablePointer<Float>, outputStride os: Int, wide: Bool) {
        precondition(R % 16 == 0, "rows must be a multiple of 16")
        if wide {
            WideKernels.project(outputs: A, singleChainOutputs: projectSingleChainOutputs(A), depth: C, rows: R,
                                weights: w, weightStride: ws, input: x, inputStride: xs, bias: bias, output: out,
                                outputStride: os, depthBlock: projectDepthBlock)
            return
        }
        let sixWide = projectSixWideOutputs(A)
        var c0 = 0
        repeat {
            let depth = min(projectDepthBlock, C - c0)
            let wb = w + c0 * ws, xb = x + c0 * xs
            let first = c0 == 0
            var r = 0
            while r < R {
                var a = 0
                while a < sixWide { projectTile6(a, r, depth, wb, ws, xb, xs, bias, first, out, os); a += 6 }
                while a + 4 <= A { projectTile(4, a, r, depth, wb, ws, xb, xs, bias, first, out, os); a += 4 }
                switch A - a {
                case 3: projectTile(3, a, r, depth, wb, ws, xb, xs, bias, first, out, os)
                case 2: projectTile(2, a, r, depth, wb, ws, xb, xs, bias, first, out, os)
                case 1: projectTile(1, a, r, depth, wb, ws, xb, xs, bias, first, out, os)
                default: break
                }
                r += 16
            }
            c0 += depth
        } while c0 < C
    }

    /// Depth block of `project`.
    static let projectDepthBlock = 128

    /// How many of `A` outputs `project` sums as one chain each, in depth order: all but a tail of 1 or 2
    /// (A mod 4 = 1 or 2), whose 1- and 2-wide tiles split the depth into even and odd chains.
    static func projectSingleChainOutputs(_ A: Int) -> Int { A % 4 == 1 || A % 4 == 2 ? A - A % 4 : A }

    /// Whether `project` and `accumulateOuterProducts` run 16 lanes wide, on `WideKernels` (module
    /// TMSCoreAVX512, compiled for AVX-512): on x86_64 Linux when /proc/cpuinfo lists `avx512f`, unless the
    /// environment sets `TMS_KERNELS=avx2`. The results are the same bits either way
    /// (docs/performance.md#avx-512-kernels).
    public static let usesWideVectors: Bool = {
        #if arch(x86_64) && os(Linux)
        if ProcessInfo.processInfo.environment["TMS_KERNELS"] == "avx2" { return false }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        guard let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        return flags.split(separator: " ").contains("avx512f")
        #else
        return false
        #endif
    }()

    /// How many of `A` outputs `project` takes in 6-wide tiles: a multiple of 6 within the first A − A % 4
    /// outputs that leaves a multiple of 4 of them, so every output that a 4-wide tile summed before still
    /// gets a single chain in depth order (bit-identical) and the narrow 1- and 2-wide tiles (two chains,
    /// even and odd depths) keep the same outputs (docs/performance.md#dense-path-and-thread-scaling).
    static func projectSixWideOutputs(_ A: Int) -> Int {
        let wide = A - A % 4
        var six = wide / 6 * 6
        if (wide - six) % 4 != 0 { six -= 6 }
        return max(0, six)
    }

    /// A tile of 6 outputs × 16 rows of `project` over one depth block: 12 accumulators (the 4-wide tile's 8
    /// keep only 8 FMAs in flight, one per chain, the bare minimum for two FMA pipes of latency 4), each
    /// weight broadcast once per 2 loads of x. Each output's sum is the same single chain in depth order as
    /// in `projectTile`, so results are bit-identical to it.
    @inline(__always)
    static func projectTile6(_ a: Int, _ r: Int, _ C: Int,
                             _ w: UnsafePointer<Float>, _ ws: Int, _ x: UnsafePointer<Float>, _ xs: Int,
                             _ bias: UnsafePointer<Float>?, _ first: Bool, _ out: UnsafeMutablePointer<Float>, _ os: Int) {
        let zero = SIMD8<Float>.zero
        var p00 = zero, p01 = zero, p10 = zero, p11 = zero, p20 = zero, p21 = zero
        var p30 = zero, p31 = zero, p40 = zero, p41 = zero, p50 = zero, p51 = zero
        let o = out + a * os + r
        if !first {
            p00 = load8(o, 0); p01 = load8(o, 8); p10 = load8(o, os); p11 = load8(o, os + 8)
            p20 = load8(o, 2 * os); p21 = load8(o, 2 * os + 8); p30 = load8(o, 3 * os); p31 = load8(o, 3 * os + 8)
            p40 = load8(o, 4 * os); p41 = load8(o, 4 * os + 8); p50 = load8(o, 5 * os); p51 = load8(o, 5 * os + 8)
        } else if let bias {
            p00 = SIMD8(repeating: bias[a]); p01 = p00; p10 = SIMD8(repeating: bias[a + 1]); p11 = p10
            p20 = SIMD8(repeating: bias[a + 2]); p21 = p20; p30 = SIMD8(repeating: bias[a + 3]); p31 = p30
            p40 = SIMD8(repeating: bias[a + 4]); p41 = p40; p50 = SIMD8(repeating: bias[a + 5]); p51 = p50
        }
        var wp = w + a
        var xp = x + r
        for _ in 0..<C {
            let x0 = load8(xp, 0), x1 = load8(xp, 8)
            let s0 = SIMD8<Float>(repeating: wp[0]); p00 = p00.addingProduct(s0, x0); p01 = p01.addingProduct(s0, x1)
            let s1 = SIMD8<Float>(repeating: wp[1]); p10 = p10.addingProduct(s1, x0); p11 = p11.addingProduct(s1, x1)
            let s2 = SIMD8<Float>(repeating: wp[2]); p20 = p20.addingProduct(s2, x0); p21 = p21.addingProduct(s2, x1)
            let s3 = SIMD8<Float>(repeating: wp[3]); p30 = p30.addingProduct(s3, x0); p31 = p31.addingProduct(s3, x1)
            let s4 = SIMD8<Float>(repeating: wp[4]); p40 = p40.addingProduct(s4, x0); p41 = p41.addingProduct(s4, x1)
            let s5 = SIMD8<Float>(repeating: wp[5]); p50 = p50.addingProduct(s5, x0); p51 = p51.addingProduct(s5, x1)
            wp += ws; xp += xs
        }
        store8(p00, o, 0); store8(p01, o, 8); store8(p10, o, os); store8(p11, o, os + 8)
        store8(p20, o, 2 * os); store8(p21, o, 2 * os + 8); store8(p30, o, 3 * os); store8(p31, o, 3 * os + 8)
        store8(p40, o, 4 * os); store8(p41, o, 4 * os + 8); store8(p50, o, 5 * os); store8(p51, o, 5 * os + 8)
    }

    /// One tile of `project`: `ta` (1, 2 or 4) outputs × 16 rows over one depth block. One function of ~60
    /// lines on purpose: the accumulators of every tile width must stay in registers across the depth loop.
    @inline(__always)
    static func projectTile(_ ta: Int, _ a: Int, _ r: Int, _ C: Int,
                            _ w: UnsafePointer<Float>, _ ws: Int, _ x: UnsafePointer<Float>, _ xs: Int,
                            _ bias: UnsafePointer<Float>?, _ first: Bool, _ out: UnsafeMutablePointer<Float>, _ os: Int) {
        let zero = SIMD8<Float>.zero
        var p00 = zero, p01 = zero, p10 = zero, p11 = zero, p20 = zero, p21 = zero, p30 = zero, p31 = zero
        let o = out + a * os + r
        if !first {
            p00 = load8(o, 0); p01 = load8(o, 8)
            if ta > 1 { p10 = load8(o, os); p11 = load8(o, os + 8) }
            if ta > 2 { p20 = load8(o, 2 * os); p21 = load8(o, 2 * os + 8) }
            if ta > 3 { p30 = load8(o, 3 * os); p31 = load8(o, 3 * os + 8) }
        } else if let bias {
            p00 = SIMD8(repeating: bias[a]); p01 = p00
            if ta > 1 { p10 = SIMD8(repeating: bias[a + 1]); p11 = p10 }
            if ta > 2 { p20 = SIMD8(repeating: bias[a + 2]); p21 = p20 }
            if ta > 3 { p30 = SIMD8(repeating: bias[a + 3]); p31 = p30 }
        }
        var wp = w + a
        var xp = x + r
        var c = 0
        if ta <= 2 {
            var q00 = zero, q01 = zero, q10 = zero, q11 = zero
            while c + 2 <= C {
                let x0 = load8(xp, 0), x1 = load8(xp, 8), x2 = load8(xp, xs), x3 = load8(xp, xs + 8)
                let s0 = SIMD8<Float>(repeating: wp[0]), t0 = SIMD8<Float>(repeating: wp[ws])
                p00 = p00.addingProduct(s0, x0); p01 = p01.addingProduct(s0, x1)
                q00 = q00.addingProduct(t0, x2); q01 = q01.addingProduct(t0, x3)
                if ta > 1 {
                    let s1 = SIMD8<Float>(repeating: wp[1]), t1 = SIMD8<Float>(repeating: wp[ws + 1])
                    p10 = p10.addingProduct(s1, x0); p11 = p11.addingProduct(s1, x1)
                    q10 = q10.addingProduct(t1, x2); q11 = q11.addingProduct(t1, x3)
                }
                wp += 2 * ws; xp += 2 * xs; c += 2
            }
            if c < C {
                let x0 = load8(xp, 0), x1 = load8(xp, 8)
                let s0 = SIMD8<Float>(repeating: wp[0])
                p00 = p00.addingProduct(s0, x0); p01 = p01.addingProduct(s0, x1)
                if ta > 1 {
                    let s1 = SIMD8<Float>(repeating: wp[1])
                    p10 = p10.addingProduct(s1, x0); p11 = p11.addingProduct(s1, x1)
                }
            }
            p00 += q00; p01 += q01; p10 += q10; p11 += q11
        } else {
            while c < C {
                let x0 = load8(xp, 0), x1 = load8(xp, 8)
                let s0 = SIMD8<Float>(repeating: wp[0]), s1 = SIMD8<Float>(repeating: wp[1])
                let s2 = SIMD8<Float>(repeating: wp[2])
                p00 = p00.addingProduct(s0, x0); p01 = p01.addingProduct(s0, x1)
                p10 = p10.addingProduct(s1, x0); p11 = p11.addingProduct(s1, x1)
                p20 = p20.addingProduct(s2, x0); p21 = p21.addingProduct(s2, x1)
                if ta > 3 {
                    let s3 = SIMD8<Float>(repeating: wp[3])
                    p30 = p30.addingProduct(s3, x0); p31 = p31.addingProduct(s3, x1)
                }
                wp += ws; xp += xs; c += 1
            }
        }
        store8(p00, o, 0); store8(p01, o, 8)
        if ta > 1 { store8(p10, o, os); store8(p11, o, os + 8) }
        if ta > 2 { store8(p20, o, 2 * os); store8(p21, o, 2 * os + 8) }
        if ta > 3 { store8(p30, o, 3 * os); store8(p31, o, 3 * os + 8) }
    }

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

    /// dst[c][r] = src[r][c] for r < `rows`, c < `columns` (strides in elements); other entries untouched.
    public static func transpose(rows: Int, columns: Int, _ src: UnsafePointer<Float>, sourceStride ss: Int,
                                 into dst: UnsafeMutablePointer<Float>, destinationStride ds: Int) {
        for r in 0..<rows {
            let s = src + r * ss
            for c in 0..<columns { dst[c * ds + r] = s[c] }
        }
    }
}

/// Rounds `value` up to a multiple of `multiple`.
@inlinable public func roundUp(_ value: Int, toMultipleOf multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
