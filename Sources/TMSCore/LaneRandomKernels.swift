/// Eight xoshiro128+ generators (Blackman & Vigna 2019), one per lane of a `SIMD8<UInt32>`: eight uniform
/// 32-bit values per call for a handful of vector instructions (~0.1 ns per value with AVX2), for filling dense
/// batches.
///
/// A lane stream is short-lived and derived, never seeded directly: `init(seededBy:)` takes 16 values from a
/// `RandomStream` (one batch's worth of state), so everything stays a function of that stream's key and
/// position. xoshiro128+'s low bits are weak; only the top 24 bits are used (`nextTopBits`),
/// which is what its authors recommend it for.
public struct LaneRandomStream {
    @usableFromInline var s0, s1, s2, s3: SIMD8<UInt32>

    /// Fills the 8 × 128-bit state from 16 draws of `rng`: read as 32 little-endian 32-bit words, words
    /// 0–7 are s0 of lanes 0–7, words 8–15 s1, 16–23 s2, 24–31 s3. An all-zero lane (probability 2^−128)
    /// gets s0 = 1. No allocation.
    public init(seededBy rng: inout RandomStream) {
        (s0, s1, s2, s3) = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 16) { words in
            for k in 0..<16 { words[k] = rng.next().littleEndian }
            let raw = UnsafeRawPointer(words.baseAddress!)
            return (raw.loadUnaligned(as: SIMD8<UInt32>.self), raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<UInt32>.self),
                    raw.loadUnaligned(fromByteOffset: 64, as: SIMD8<UInt32>.self), raw.loadUnaligned(fromByteOffset: 96, as: SIMD8<UInt32>.self))
        }
        let dead = (s0 | s1 | s2 | s3) .== 0
        s0.replace(with: 1, where: dead)
    }

    /// The next 32-bit value of every lane (xoshiro128+: s0 + s3, then the xoshiro state update).
    @inlinable @inline(__always)
    public mutating func next() -> SIMD8<UInt32> {
        let result = s0 &+ s3
        let t = s1 &<< 9
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        s3 = (s3 &<< 11) | (s3 &>> 21)
        return result
    }

    /// The top 24 bits of the next value of every lane, as integers in [0, 2^24).
    @inlinable @inline(__always)
    public mutating func nextTopBits() -> SIMD8<Int32> {
        SIMD8<Int32>(truncatingIfNeeded: next() &>> 8)
    }

    /// `SIMD8<Float>(u)`, exactly (one `vcvtdq2ps`), written lane by lane: the generic conversion was left as
    /// a call (with a `vzeroupper`) inside the lane-drawing loops, ~2.5 % of a dense 400→30 run.
    @inlinable @inline(__always)
    public static func float(_ u: SIMD8<Int32>) -> SIMD8<Float> {
        SIMD8<Float>(Float(u[0]), Float(u[1]), Float(u[2]), Float(u[3]), Float(u[4]), Float(u[5]), Float(u[6]), Float(u[7]))
    }

    /// The 24-bit threshold t with P(`nextTopBits()` < t) = p (to within 2^−24): p = 1 gives 2^24.
    public static func threshold(probability p: Float) -> Int32 {
        Int32(Swift.min(Swift.max((Double(p) * 0x1p24).rounded(), 0), 0x1p24))
    }
}
