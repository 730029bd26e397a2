/// Eight xoshiro128+ generators, one per lane (the state of TMSCore's `LaneRandomStream`), and the lane
/// draws of dense feature batches (TMSModels' `FeatureSampler`, docs/models.md#feature-distributions),
/// written once and compiled twice like `GramKernels`: TMSCore inlines these bodies, built for AVX2, and
/// `WideKernels.drawLaneRows` (`@inline(never)`, this module) compiles them for AVX-512, where the rotation
/// is one `vprold` instead of two shifts and an or, and presence is a mask register that the multiply zeroes
/// by instead of a blend (docs/performance.md#lane-draws-on-avx-512). Both stay 8 lanes wide: integer
/// steps, an exact conversion and one multiply give the same bits either way. `@_transparent`, not
/// `@inlinable`: always inlined, so the AVX2 path never calls a copy compiled here (a specialisation or an
/// outlined body of the same name in both modules is kept once by the linker, from either module; seen with
/// a generic `rows`).
public enum LaneDraws {
    /// The 8 × 128-bit xoshiro128+ state, lane ℓ in lane ℓ of each word.
    @frozen public struct State {
        public var s0, s1, s2, s3: SIMD8<UInt32>
        @_transparent public init(s0: SIMD8<UInt32>, s1: SIMD8<UInt32>, s2: SIMD8<UInt32>, s3: SIMD8<UInt32>) {
            self.s0 = s0; self.s1 = s1; self.s2 = s2; self.s3 = s3
        }
    }

    /// The next 32-bit value of every lane (xoshiro128+: s0 + s3, then the xoshiro state update).
    @_transparent
    public static func next(_ s: inout State) -> SIMD8<UInt32> {
        let result = s.s0 &+ s.s3
        let t = s.s1 &<< 9
        s.s2 ^= s.s0; s.s3 ^= s.s1; s.s1 ^= s.s2; s.s0 ^= s.s3; s.s2 ^= t
        s.s3 = (s.s3 &<< 11) | (s.s3 &>> 21)
        return result
    }

    /// The top 24 bits of the next value of every lane, as integers in [0, 2^24).
    @_transparent
    public static func nextTopBits(_ s: inout State) -> SIMD8<Int32> {
        SIMD8<Int32>(truncatingIfNeeded: next(&s) &>> 8)
    }

    /// `SIMD8<Float>(u)`, exactly (one `vcvtdq2ps`), written lane by lane: the generic conversion was left as
    /// a call (with a `vzeroupper`) inside the lane-drawing loops, ~2.5 % of a dense 400→30 run.
    @_transparent
    public static func float(_ u: SIMD8<Int32>) -> SIMD8<Float> {
        SIMD8<Float>(Float(u[0]), Float(u[1]), Float(u[2]), Float(u[3]), Float(u[4]), Float(u[5]), Float(u[6]), Float(u[7]))
    }

    /// One group of 8 rows (lane ℓ is a row): for every feature i < `n` in order, one draw u per lane,
    /// present iff u < T_i (`thresholds`), magnitude u · (1/T_i) (`inverseThresholds`), or 2 · that − 1 when
    /// `signed`; calls `body(i, values, present)` with the values zero where absent.
    @_transparent
    public static func group(_ s: inout State, features n: Int, thresholds: UnsafePointer<Int32>,
                             inverseThresholds: UnsafePointer<Float>, signed: Bool,
                             _ body: (Int, SIMD8<Float>, SIMDMask<SIMD8<Int32>>) -> Void) {
        for i in 0..<n {
            let u = nextTopBits(&s)
            let present = u .< SIMD8<Int32>(repeating: thresholds[i])
            var v = float(u) * inverseThresholds[i]
            if signed { v = v * 2 - 1 }
            body(i, SIMD8<Float>.zero.replacing(with: v, where: present), present)
        }
    }

    /// `rows` rows in groups of 8 (row 8g + ℓ from lane ℓ of group g), into x [n][stride] (row r of feature i
    /// at x[i·stride + r], `stride` at least `rows` rounded up to a multiple of 8) from row 0; rows
    /// `rows ..< zeroedUpTo` are zero (`zeroedUpTo` at most `stride`). Compiled once for each `signed`:
    /// tested per feature, it was one of the ~28 instructions of a 5-feature draw.
    @_transparent
    public static func rows(_ rows: Int, features n: Int, thresholds: UnsafePointer<Int32>, inverseThresholds: UnsafePointer<Float>,
                            signed: Bool, into x: UnsafeMutablePointer<Float>, stride: Int, zeroedUpTo padded: Int,
                            state: inout State) {
        if signed {
            fill(rows, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: true, into: x,
                 stride: stride, zeroedUpTo: padded, state: &state)
        } else {
            fill(rows, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: false, into: x,
                 stride: stride, zeroedUpTo: padded, state: &state)
        }
    }

    /// `rows` with `signed` a constant at each call.
    @usableFromInline @_transparent
    static func fill(_ rows: Int, features n: Int, thresholds: UnsafePointer<Int32>, inverseThresholds: UnsafePointer<Float>,
                     signed: Bool, into x: UnsafeMutablePointer<Float>, stride: Int, zeroedUpTo padded: Int,
                     state: inout State) {
        // A local copy of the state: through `inout` it went to memory and back between groups, a store-to-load
        // round trip on the draws' dependency chain (docs/performance.md#whole-job-third-pass).
        var s = state
        defer { state = s }
        // Whole groups get a loop of their own, without the mask of the last, partial one.
        for g in 0..<(rows / 8) {
            let column = x + 8 &* g
            group(&s, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: signed) { i, v, _ in
                UnsafeMutableRawPointer(column + i &* stride).storeBytes(of: v, as: SIMD8<Float>.self)
            }
        }
        let groups = (rows &+ 7) / 8
        if rows % 8 != 0 {
            let column = x + 8 &* (rows / 8)
            let valid = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .< SIMD8<Int32>(repeating: Int32(rows % 8))
            group(&s, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: signed) { i, v, _ in
                UnsafeMutableRawPointer(column + i &* stride).storeBytes(of: SIMD8<Float>.zero.replacing(with: v, where: valid),
                                                                        as: SIMD8<Float>.self)
            }
        }
        if 8 &* groups < padded {
            for i in 0..<n { (x + i &* stride + 8 &* groups).update(repeating: 0, count: padded &- 8 &* groups) }
        }
    }
}

extension WideKernels {
    /// `LaneDraws.rows` compiled for AVX-512 (still 8 lanes: the same draws and bits).
    @inline(never)
    public static func drawLaneRows(_ rows: Int, features n: Int, thresholds: UnsafePointer<Int32>,
                                    inverseThresholds: UnsafePointer<Float>, signed: Bool, into x: UnsafeMutablePointer<Float>,
                                    stride: Int, zeroedUpTo padded: Int, state: inout LaneDraws.State) {
        LaneDraws.rows(rows, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: signed,
                       into: x, stride: stride, zeroedUpTo: padded, state: &state)
    }
}
