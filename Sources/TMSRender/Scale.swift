import Foundation

/// A map from a data interval to a pixel interval, linear or logarithmic (base 10).
///
/// Linear: `map(x) = r₀ + (x − lower)/(upper − lower)·(r₁ − r₀)`.
/// Log: `map(x) = r₀ + (log₁₀x − log₁₀lower)/(log₁₀upper − log₁₀lower)·(r₁ − r₀)`, so the midpoint of
/// [1, 100] maps to 10. The pixel range may run backwards (r₀ > r₁), as a y axis does.
/// Degenerate domains are widened: a linear `[a, a]` becomes `[a − d, a + d]` with d = |a|/10 (1 if a = 0);
/// a log domain must be positive: a non-positive upper bound gives [1, 10], a non-positive lower bound
/// becomes upper/1000, and `[a, a]` becomes `[a/10, 10a]`. Log `map` of x ≤ 0 returns r₀.
public struct Scale: Sendable, Equatable {
    /// Linear or base-10 logarithmic.
    public enum Kind: String, Sendable, CaseIterable { case linear, log }

    public let kind: Kind
    public let lower: Double
    public let upper: Double
    public let rangeStart: Double
    public let rangeEnd: Double

    public init(_ kind: Kind, domain: ClosedRange<Double>, range: (start: Double, end: Double) = (0, 1)) {
        var (low, high) = (domain.lowerBound, domain.upperBound)
        switch kind {
        case .linear:
            if !low.isFinite || !high.isFinite { (low, high) = (0, 1) }
            if low == high {
                let pad = low == 0 ? 1 : abs(low) / 10
                (low, high) = (low - pad, high + pad)
            }
        case .log:
            if !(high > 0) || !high.isFinite { (low, high) = (1, 10) }
            if !(low > 0) || !low.isFinite { low = high / 1000 }
            if low == high { (low, high) = (low / 10, high * 10) }
        }
        self.kind = kind
        lower = low
        upper = high
        rangeStart = range.start
        rangeEnd = range.end
    }

    /// The pixel position of data value `x` (not clamped to the range).
    public func map(_ x: Double) -> Double {
        let t: Double
        switch kind {
        case .linear: t = (x - lower) / (upper - lower)
        case .log: t = x > 0 ? (log10(x) - log10(lower)) / (log10(upper) - log10(lower)) : 0
        }
        return rangeStart + t * (rangeEnd - rangeStart)
    }

    /// Whether `x` lies in the domain (within a relative 1e−9).
    public func contains(_ x: Double) -> Bool {
        let slack = 1e-9 * max(abs(lower), abs(upper))
        return x >= lower - slack && x <= upper + slack && (kind == .linear || x > 0)
    }

    /// Major tick values inside the domain, ascending.
    ///
    /// Linear: multiples of a "nice" step 1, 2 or 5 × 10ᵏ chosen so that about `count` ticks fit
    /// (0…1 → 0, 0.2, …, 1), computed as integer·10ᵏ so 0.6 is exactly the double 0.6.
    /// Log: the powers of ten in the domain (0.01…100 → 0.01, 0.1, 1, 10, 100), every j-th decade when
    /// there are more than 2·`count`; with fewer than two powers of ten, 1, 2 and 5 × 10ᵏ; with fewer
    /// than two of those, the linear ticks.
    public func ticks(count: Int = 5) -> [Double] {
        switch kind {
        case .linear:
            let (mantissa, exponent) = Scale.niceStep((upper - lower) / Double(max(count, 1)))
            let step = Double(mantissa) * Scale.powerOfTen(exponent)
            let first = Int((lower / step - 1e-9).rounded(.up)), last = Int((upper / step + 1e-9).rounded(.down))
            guard first <= last else { return [] }
            return (first...last).map { Scale.value(integer: $0 * mantissa, exponent: exponent) }
        case .log:
            let low = Int((log10(lower) - 1e-9).rounded(.up)), high = Int((log10(upper) + 1e-9).rounded(.down))
            if high - low >= 1 {
                let stride = max(1, Int((Double(high - low + 1) / Double(2 * max(count, 1))).rounded(.up)))
                return Swift.stride(from: low, through: high, by: stride).map { Scale.powerOfTen($0) }
            }
            let candidates = (low - 1...high + 1).flatMap { k in [1, 2, 5].map { Scale.value(integer: $0, exponent: k) } }
            let inside = candidates.filter(contains)
            if inside.count >= 2 { return inside }
            return Scale(.linear, domain: lower...upper).ticks(count: count)
        }
    }

    /// Minor tick values: for log scales 2…9 × 10ᵏ inside the domain; none for linear scales.
    public func minorTicks() -> [Double] {
        guard kind == .log else { return [] }
        let low = Int(log10(lower).rounded(.down)), high = Int(log10(upper).rounded(.up))
        return (low...high).flatMap { k in (2...9).map { Scale.value(integer: $0, exponent: k) } }.filter(contains)
    }

    /// The domain widened outwards to whole ticks (linear) or whole decades (log).
    public func niced(count: Int = 5) -> Scale {
        let range = (rangeStart, rangeEnd)
        switch kind {
        case .linear:
            let (mantissa, exponent) = Scale.niceStep((upper - lower) / Double(max(count, 1)))
            let step = Double(mantissa) * Scale.powerOfTen(exponent)
            let low = Int((lower / step + 1e-9).rounded(.down)), high = Int((upper / step - 1e-9).rounded(.up))
            return Scale(.linear, domain: Scale.value(integer: low * mantissa, exponent: exponent)...Scale.value(integer: high * mantissa, exponent: exponent), range: range)
        case .log:
            let low = Int((log10(lower) + 1e-9).rounded(.down)), high = Int((log10(upper) - 1e-9).rounded(.up))
            return Scale(.log, domain: Scale.powerOfTen(low)...Scale.powerOfTen(max(high, low + 1)), range: range)
        }
    }

    /// A tick label: plain decimals for 1e−4 ≤ |v| < 1e6 (up to 9 places, trailing zeros stripped),
    /// otherwise `"1e-5"`-style scientific notation.
    public func label(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e6) { return SVG.number(value, decimals: 9) }
        var exponent = Int(log10(magnitude).rounded(.down))
        var mantissa = value / Scale.powerOfTen(exponent)
        // log10 may land a hair off an exact power of ten; keep the mantissa in [1, 10).
        if abs(mantissa) >= 10 - 1e-9 { exponent += 1; mantissa /= 10 }
        if abs(mantissa) < 1 - 1e-9 { exponent -= 1; mantissa *= 10 }
        return "\(SVG.number(mantissa, decimals: 2))e\(exponent)"
    }

    /// 10ᵏ, exact for |k| ≤ 22 (10⁻ᵏ is the correctly rounded 1/10ᵏ).
    static func powerOfTen(_ k: Int) -> Double {
        var power = 1.0
        for _ in 0..<abs(k) { power *= 10 }
        return k >= 0 ? power : 1 / power
    }

    /// `integer · 10^exponent`, correctly rounded for negative exponents (6·10⁻¹ is the double 0.6).
    static func value(integer: Int, exponent: Int) -> Double {
        exponent >= 0 ? Double(integer) * powerOfTen(exponent) : Double(integer) / powerOfTen(-exponent)
    }

    /// The nice step (mantissa 1, 2, 5 or 10; exponent k) nearest above `rough` on d3's thresholds √2, √10, √50.
    static func niceStep(_ rough: Double) -> (mantissa: Int, exponent: Int) {
        guard rough > 0, rough.isFinite else { return (1, 0) }
        let exponent = Int(log10(rough).rounded(.down))
        let error = rough / powerOfTen(exponent)
        if error >= 50.0.squareRoot() { return (1, exponent + 1) }
        if error >= 10.0.squareRoot() { return (5, exponent) }
        if error >= 2.0.squareRoot() { return (2, exponent) }
        return (1, exponent)
    }
}
