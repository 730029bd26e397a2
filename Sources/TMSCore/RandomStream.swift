import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit mixer used to seed and split streams.
@inlinable
public func splitMix64(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A seeded, splittable random stream: xoshiro256++ (Blackman & Vigna 2019) whose 256-bit state is filled
/// by SplitMix64 from a 64-bit key.
///
/// Streams are derived, never shared: `RandomStream(seed: s).split(k)` gives the k-th child, whose key is
/// SplitMix64 of (parent key, k). Each instance of a model owns one child stream, so its data and
/// initialisation do not depend on how many instances there are or which thread runs it (JAX-style keys).
public struct RandomStream: RandomNumberGenerator, Sendable {
    /// The key this stream was created from; `split` derives children from it.
    public let key: UInt64
    @usableFromInline var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        key = seed
        var sm = seed
        s0 = splitMix64(&sm); s1 = splitMix64(&sm); s2 = splitMix64(&sm); s3 = splitMix64(&sm)
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// The `index`-th independent child stream. Children of different indices, and the parent, do not overlap
    /// in practice (distinct SplitMix64-derived seeds of a 2^256-period generator).
    public func split(_ index: UInt64) -> RandomStream {
        var sm = key ^ 0x6A09_E667_F3BC_C909
        let a = splitMix64(&sm)
        var sm2 = a &+ index &* 0xD1B5_4A32_D192_ED03
        return RandomStream(seed: splitMix64(&sm2))
    }

    /// A child stream named by several indices, e.g. `split(instance, purpose)`.
    public func split(_ first: UInt64, _ rest: UInt64...) -> RandomStream {
        rest.reduce(split(first)) { $0.split($1) }
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s0 &+ s3) << 23 | (s0 &+ s3) >> 41) &+ s0
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform on [0, 1) with 24 random bits (every Float32 multiple of 2^-24).
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform on (0, 1]: never zero, safe for logarithms.
    @inlinable
    public mutating func nextOpenUnitDouble() -> Double {
        (Double(next() >> 11) + 1) * 0x1p-53
    }

    /// Uniform on [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Standard normal by the Box–Muller transform (one value per call; the second is discarded so the
    /// stream position depends only on the number of calls).
    @inlinable
    public mutating func nextNormal() -> Double {
        let u1 = nextOpenUnitDouble(), u2 = nextUnitDouble()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// The number of failures before the first success of Bernoulli(p) trials (p in (0, 1]): used to skip
    /// straight to the next present feature when sampling sparse data. `logOneMinusP` = log(1 − p) < 0.
    @inlinable
    public mutating func nextGeometricGap(logOneMinusP: Double) -> Int {
        let g = Foundation.log(nextOpenUnitDouble()) / logOneMinusP
        return g >= Double(Int32.max) ? Int(Int32.max) : Int(g)
    }
}
