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

    /// The environment variable that chooses the kernels (`TMS_KERNELS`), and its one value,
    /// `eightLaneKernels` (`avx2`): the 8-lane kernels only. Unset or empty: the widest the processor has.
    public static let kernelChoiceVariable = "TMS_KERNELS"
    public static let eightLaneKernels = "avx2"

    /// Whether `project` and `accumulateOuterProducts` run 16 lanes wide, on `WideKernels` (module
    /// TMSCoreAVX512, compiled for AVX-512): on x86_64 Linux when /proc/cpuinfo lists `avx512f`, unless the
    /// environment sets `TMS_KERNELS=avx2`. The results are the same bits either way
    /// (docs/performance.md#avx-512-kernels).
    public static let usesWideVectors: Bool = {
        #if arch(x86_64) && os(Linux)
        if ProcessInfo.processInfo.environment[kernelChoiceVariable] == eightLaneKernels { return false }
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

    /// dst[c][r] = src[r][c] for r < `rows`, c < `columns` (strides in elements); other entries untouched.
    ///
    /// Eight source rows at a time: each destination row gets one 8-wide store, gathered from the eight
    /// rows' column c (LLVM builds it with inserts from L1). The element-by-element loop it replaces stored
    /// each float to another destination row and took ~5 cycles per element, 10 % of bench D
    /// (docs/performance.md#whole-job-fourth-pass). Only copies, so the result is the same whatever the path.
    public static func transpose(rows: Int, columns: Int, _ src: UnsafePointer<Float>, sourceStride ss: Int,
                                 into dst: UnsafeMutablePointer<Float>, destinationStride ds: Int) {
        var r = 0
        while r &+ 8 <= rows {
            let s0 = src + r &* ss, s1 = s0 + ss, s2 = s1 + ss, s3 = s2 + ss
            let s4 = s3 + ss, s5 = s4 + ss, s6 = s5 + ss, s7 = s6 + ss
            var d = dst + r
            for c in 0..<columns {
                store8(SIMD8(s0[c], s1[c], s2[c], s3[c], s4[c], s5[c], s6[c], s7[c]), d, 0)
                d += ds
            }
            r &+= 8
        }
        while r < rows {
            let s = src + r &* ss
            var d = dst + r
            for c in 0..<columns { d.pointee = s[c]; d += ds }
            r &+= 1
        }
    }
}

/// Rounds `value` up to a multiple of `multiple`.
@inlinable public func roundUp(_ value: Int, toMultipleOf multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
