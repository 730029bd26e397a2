import TMSCoreAVX512

/// Eight xoshiro128+ generators (Blackman & Vigna 2019), one per lane of a `SIMD8<UInt32>`: eight uniform
/// 32-bit values per call for a handful of vector instructions (~0.1 ns per value with AVX2), for filling dense
/// batches. The arithmetic lives in TMSCoreAVX512's `LaneDraws`, so that `drawRows` can run it compiled for
/// AVX-512 where the processor has it (the same bits).
///
/// A lane stream is short-lived and derived, never seeded directly: `init(seededBy:)` takes 16 values from a
/// `RandomStream` (one batch's worth of state), so everything stays a function of that stream's key and
/// position. xoshiro128+'s low bits are weak; only the top 24 bits are used (`nextTopBits`),
/// which is what its authors recommend it for.
public struct LaneRandomStream {
    @usableFromInline var state: LaneDraws.State

    /// Fills the 8 × 128-bit state from 16 draws of `rng`: read as 32 little-endian 32-bit words, words
    /// 0–7 are s0 of lanes 0–7, words 8–15 s1, 16–23 s2, 24–31 s3. An all-zero lane (probability 2^−128)
    /// gets s0 = 1. No allocation.
    public init(seededBy rng: inout RandomStream) {
        var (s0, s1, s2, s3) = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 16) { words in
            for k in 0..<16 { words[k] = rng.next().littleEndian }
            let raw = UnsafeRawPointer(words.baseAddress!)
            return (raw.loadUnaligned(as: SIMD8<UInt32>.self), raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<UInt32>.self),
                    raw.loadUnaligned(fromByteOffset: 64, as: SIMD8<UInt32>.self), raw.loadUnaligned(fromByteOffset: 96, as: SIMD8<UInt32>.self))
        }
        let dead = (s0 | s1 | s2 | s3) .== 0
        s0.replace(with: 1, where: dead)
        state = LaneDraws.State(s0: s0, s1: s1, s2: s2, s3: s3)
    }

    /// The next 32-bit value of every lane (xoshiro128+: s0 + s3, then the xoshiro state update).
    @inlinable @inline(__always)
    public mutating func next() -> SIMD8<UInt32> { LaneDraws.next(&state) }

    /// The top 24 bits of the next value of every lane, as integers in [0, 2^24).
    @inlinable @inline(__always)
    public mutating func nextTopBits() -> SIMD8<Int32> { LaneDraws.nextTopBits(&state) }

    /// `SIMD8<Float>(u)`, exactly (one `vcvtdq2ps`; see `LaneDraws.float`).
    @inlinable @inline(__always)
    public static func float(_ u: SIMD8<Int32>) -> SIMD8<Float> { LaneDraws.float(u) }

    /// The 24-bit threshold t with P(`nextTopBits()` < t) = p (to within 2^−24): p = 1 gives 2^24.
    public static func threshold(probability p: Float) -> Int32 {
        Int32(Swift.min(Swift.max((Double(p) * 0x1p24).rounded(), 0), 0x1p24))
    }

    /// One group of 8 rows of a lane-drawn batch (`LaneDraws.group`): for every feature i < `n`, one draw per
    /// lane, present iff below `thresholds[i]`, magnitude draw · `inverseThresholds[i]` (· 2 − 1 if
    /// `signed`); `body(i, values, present)` with the values zero where absent.
    @inlinable @inline(__always)
    public mutating func drawGroup(features n: Int, thresholds: UnsafePointer<Int32>, inverseThresholds: UnsafePointer<Float>,
                                   signed: Bool, _ body: (Int, SIMD8<Float>, SIMDMask<SIMD8<Int32>>) -> Void) {
        LaneDraws.group(&state, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: signed, body)
    }

    /// `rows` rows of a lane-drawn batch in groups of 8 (`drawGroup`, row 8g + ℓ from lane ℓ), into the
    /// feature-major x [n][stride] (`stride` at least `rows` rounded up to a multiple of 8) from row 0; rows
    /// `rows ..< zeroedUpTo` (at most `stride`) are zero. Runs `WideKernels.drawLaneRows` where
    /// `Kernels.usesWideVectors`: the same bits.
    public mutating func drawRows(_ rows: Int, features n: Int, thresholds: UnsafePointer<Int32>,
                                  inverseThresholds: UnsafePointer<Float>, signed: Bool, into x: UnsafeMutablePointer<Float>,
                                  stride: Int, zeroedUpTo padded: Int) {
        drawRows(rows, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: signed, into: x,
                 stride: stride, zeroedUpTo: padded, wide: Kernels.usesWideVectors)
    }

    /// `drawRows` on the AVX-512 copy (`wide`, only where `Kernels.usesWideVectors`) or on the AVX2 one.
    mutating func drawRows(_ rows: Int, features n: Int, thresholds: UnsafePointer<Int32>, inverseThresholds: UnsafePointer<Float>,
                           signed: Bool, into x: UnsafeMutablePointer<Float>, stride: Int, zeroedUpTo padded: Int, wide: Bool) {
        precondition(rows >= 0 && stride >= (rows + 7) / 8 * 8 && padded <= stride,
                     "lane rows: \(rows) rows zeroed up to \(padded) in a stride of \(stride)")
        if wide {
            WideKernels.drawLaneRows(rows, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: signed,
                                     into: x, stride: stride, zeroedUpTo: padded, state: &state)
        } else {
            LaneDraws.rows(rows, features: n, thresholds: thresholds, inverseThresholds: inverseThresholds, signed: signed,
                           into: x, stride: stride, zeroedUpTo: padded, state: &state)
        }
    }
}
