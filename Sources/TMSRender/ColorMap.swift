/// An sRGB colour with 8-bit channels.
public struct RGB: Sendable, Equatable, Hashable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Parses `"#rrggbb"` (case-insensitive); nil for anything else.
    public init?(hex: String) {
        guard hex.count == 7, hex.first == "#", let value = UInt32(hex.dropFirst(), radix: 16) else { return nil }
        self.init(red: UInt8(value >> 16), green: UInt8((value >> 8) & 0xFF), blue: UInt8(value & 0xFF))
    }

    /// `"#rrggbb"`, lowercase.
    public var hex: String {
        let digits = Array("0123456789abcdef")
        return "#" + [red, green, blue].map { "\(digits[Int($0 >> 4)])\(digits[Int($0 & 15)])" }.joined()
    }
}

/// A continuous colour map: evenly spaced stops, interpolated linearly per channel.
///
/// `color(at: t)` for t ∈ [0, 1] (clamped; NaN → 0) finds position t·(k − 1) among the k stops and mixes
/// the two neighbours, rounding each channel half away from zero.
public struct ColorMap: Sendable, Equatable {
    public let stops: [RGB]

    public init(stops: [RGB]) { self.stops = stops.isEmpty ? [RGB(red: 0, green: 0, blue: 0)] : stops }

    public func color(at t: Double) -> RGB {
        let clamped = t.isNaN ? 0 : min(max(t, 0), 1)
        let position = clamped * Double(stops.count - 1)
        let index = min(Int(position), stops.count - 1)
        guard index < stops.count - 1 else { return stops[index] }
        let fraction = position - Double(index)
        let (a, b) = (stops[index], stops[index + 1])
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Double(x) + (Double(y) - Double(x)) * fraction).rounded()) }
        return RGB(red: mix(a.red, b.red), green: mix(a.green, b.green), blue: mix(a.blue, b.blue))
    }

    /// `color(at: t).hex`.
    public func hex(at t: Double) -> String { color(at: t).hex }

    /// Matplotlib's viridis sampled at t = 0, 0.1, …, 1 (11 stops): 0 → #440154, 0.5 → #21918c, 1 → #fde725.
    public static let viridis = ColorMap(hexStops: [
        "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
        "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725",
    ])

    /// Diverging red–white–blue on t ∈ [0, 1]: 0 → #b2182b (red), 0.5 → #ffffff, 1 → #2166ac (blue).
    ///
    /// ColorBrewer RdBu's inner nine classes with the centre made pure white. Use ``diverging(_:)`` for
    /// values in [−1, 1].
    public static let redWhiteBlue = ColorMap(hexStops: [
        "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#ffffff", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac",
    ])

    /// The diverging colour of `value` ∈ [−1, 1] (clamped): −1 → #b2182b, 0 → #ffffff, +1 → #2166ac.
    public static func diverging(_ value: Double) -> RGB { redWhiteBlue.color(at: (value + 1) / 2) }

    /// A categorical colour: Tableau 10 for indices 0…9, then hues stepped by the golden angle
    /// (137.5°) at saturation 0.55, lightness 0.5; negative indices give grey #999999.
    public static func category(_ index: Int) -> RGB {
        let tableau = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                       "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
        if index < 0 { return RGB(red: 0x99, green: 0x99, blue: 0x99) }
        if index < tableau.count { return RGB(hex: tableau[index])! }
        let hue = (Double(index) * 137.508).truncatingRemainder(dividingBy: 360) / 60
        let (saturation, lightness) = (0.55, 0.5)
        let chroma = (1 - abs(2 * lightness - 1)) * saturation
        let x = chroma * (1 - abs(hue.truncatingRemainder(dividingBy: 2) - 1))
        let (r, g, b): (Double, Double, Double) = switch Int(hue) {
        case 0: (chroma, x, 0)
        case 1: (x, chroma, 0)
        case 2: (0, chroma, x)
        case 3: (0, x, chroma)
        case 4: (x, 0, chroma)
        default: (chroma, 0, x)
        }
        let m = lightness - chroma / 2
        func channel(_ v: Double) -> UInt8 { UInt8(((v + m) * 255).rounded()) }
        return RGB(red: channel(r), green: channel(g), blue: channel(b))
    }

    private init(hexStops: [String]) { self.init(stops: hexStops.map { RGB(hex: $0)! }) }
}
