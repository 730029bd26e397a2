import Foundation

/// A 2-D point: SVG user units (pixels, y down) or data coordinates, as each call documents.
public struct Point: Sendable, Equatable, Hashable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
    public init(_ x: Double, _ y: Double) { self.init(x: x, y: y) }
}

/// Text helpers shared by every figure: escaping, locale-free numbers, deterministic jitter.
public enum SVG {
    /// The SVG namespace. Standalone `.svg` files carry it; inline SVG in HTML5 omits it (see ``inline(_:)``).
    public static let namespace = "http://www.w3.org/2000/svg"

    /// Escapes text for XML/HTML content and attribute values.
    ///
    /// `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`, `"` → `&quot;`, `'` → `&#39;`; control characters
    /// that XML 1.0 forbids (U+0000–U+001F except tab, newline, carriage return) become spaces.
    public static func escape(_ text: String) -> String {
        // Most text (numbers, colours, base64 images of a few MB) needs no change: return it as is.
        if text.utf8.allSatisfy(SVG.passesUnescaped) {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default: out.unicodeScalars.append(scalar.value < 0x20 ? " " : scalar)
            }
        }
        return out
    }

    /// Whether `escape` keeps this UTF-8 byte as it is: not one of & < > " ' nor a control character other
    /// than tab, line feed and carriage return.
    @inline(__always)
    static func passesUnescaped(_ b: UInt8) -> Bool {
        switch b {
        case 0x26, 0x3C, 0x3E, 0x22, 0x27: return false
        case 0x09, 0x0A, 0x0D: return true
        default: return b >= 0x20
        }
    }

    /// Splits text written in the plain notation of captions ("W_i·W_j", "Σ_{j≠i}", "‖W‖_F²", "10^{-3}") into
    /// runs of normal, subscript and superscript text.
    ///
    /// `_x` and `^x` take one letter or digit, and only when no letter or digit follows (so `snake_case`
    /// stays as it is); `_{…}` and `^{…}` take everything up to the closing brace.
    public static func scriptRuns(_ text: String) -> [(text: String, shift: Int)] {
        // Most text has no marker: one plain run (figures call this for every element's title).
        guard text.utf8.contains(where: { $0 == 0x5F || $0 == 0x5E }) else { return text.isEmpty ? [] : [(text, 0)] }
        var runs: [(text: String, shift: Int)] = [("", 0)]
        let characters = Array(text)
        var index = 0
        func append(_ piece: String, _ shift: Int) {
            if runs[runs.count - 1].shift == shift { runs[runs.count - 1].text += piece } else { runs.append((piece, shift)) }
        }
        while index < characters.count {
            let c = characters[index]
            if (c == "_" || c == "^") && index + 1 < characters.count {
                let shift = c == "_" ? -1 : 1
                let next = characters[index + 1]
                if next == "{", let close = characters[(index + 2)...].firstIndex(of: "}") {
                    append(String(characters[(index + 2)..<close]), shift)
                    index = close + 1
                    continue
                }
                let after = index + 2 < characters.count ? characters[index + 2] : " "
                if (next.isLetter || next.isNumber) && !(after.isASCII && (after.isLetter || after.isNumber)) && index > 0 {
                    append(String(next), shift)
                    index += 2
                    continue
                }
            }
            append(String(c), 0)
            index += 1
        }
        return runs.filter { !$0.text.isEmpty }
    }

    /// ``scriptRuns(_:)`` as escaped SVG text content: sub- and superscripts become
    /// `<tspan baseline-shift="sub|super" font-size="70%">`.
    public static func richText(_ text: String) -> String {
        scriptRuns(text).map { run in
            run.shift == 0 ? escape(run.text)
                : "<tspan baseline-shift=\"\(run.shift < 0 ? "sub" : "super")\" font-size=\"70%\">\(escape(run.text))</tspan>"
        }.joined()
    }

    /// ``scriptRuns(_:)`` as plain text for hover titles: sub- and superscripts become Unicode sub/superscript
    /// characters where every character has one ("W_i" → "Wᵢ", "‖W‖_F^2" → "‖W‖_F²" keeps the F), else stay
    /// as written.
    public static func unicodeScripts(_ text: String) -> String {
        scriptRuns(text).map { run in
            guard run.shift != 0 else { return run.text }
            let table = run.shift < 0 ? subscriptCharacters : superscriptCharacters
            if run.text.allSatisfy({ table[$0] != nil }) { return String(run.text.map { table[$0]! }) }
            let mark = run.shift < 0 ? "_" : "^"
            return run.text.count == 1 ? mark + run.text : mark + "{" + run.text + "}"
        }.joined()
    }

    /// The Unicode subscript of each character that has one.
    static let subscriptCharacters: [Character: Character] = [
        "0": "₀", "1": "₁", "2": "₂", "3": "₃", "4": "₄", "5": "₅", "6": "₆", "7": "₇", "8": "₈", "9": "₉",
        "a": "ₐ", "e": "ₑ", "h": "ₕ", "i": "ᵢ", "j": "ⱼ", "k": "ₖ", "l": "ₗ", "m": "ₘ", "n": "ₙ", "o": "ₒ",
        "p": "ₚ", "r": "ᵣ", "s": "ₛ", "t": "ₜ", "u": "ᵤ", "v": "ᵥ", "x": "ₓ", "+": "₊", "-": "₋", "−": "₋",
        "=": "₌", "(": "₍", ")": "₎", ",": ",", "≠": "≠",
    ]

    /// The Unicode superscript of each character that has one.
    static let superscriptCharacters: [Character: Character] = [
        "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹",
        "+": "⁺", "-": "⁻", "−": "⁻", "=": "⁼", "(": "⁽", ")": "⁾", "i": "ⁱ", "n": "ⁿ", "T": "ᵀ",
    ]

    /// ``scriptRuns(_:)`` as escaped HTML: `<sub>` and `<sup>`.
    public static func richHTML(_ text: String) -> String {
        scriptRuns(text).map { run in
            run.shift == 0 ? escape(run.text) : "<\(run.shift < 0 ? "sub" : "sup")>\(escape(run.text))</\(run.shift < 0 ? "sub" : "sup")>"
        }.joined()
    }

    /// Formats a number with at most `decimals` decimal places, independent of locale.
    ///
    /// Rounds half away from zero at `decimals` (0…9), strips trailing zeros, never writes `-0`;
    /// non-finite values become `"0"` so that a NaN can never corrupt the markup. Magnitudes too large
    /// for 64-bit fixed point fall back to Swift's shortest round-trip description.
    public static func number(_ value: Double, decimals: Int = 2) -> String {
        guard value.isFinite else { return "0" }
        let places = max(0, min(decimals, 9))
        var unit: Int64 = 1
        for _ in 0..<places { unit *= 10 }
        let scaled = (abs(value) * Double(unit)).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let fixed = Int64(scaled)
        if fixed == 0 { return "0" }
        var text = (value < 0 ? "-" : "") + String(fixed / unit)
        let fraction = fixed % unit
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: places - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    /// Removes the `xmlns` attribute of ``namespace`` so an SVG can be inlined in HTML5 without any
    /// `http://` text (HTML5 puts `<svg>` in the SVG namespace by itself).
    public static func inline(_ svg: String) -> String {
        // On the UTF-8 bytes: Foundation's `replacingOccurrences` converted MBs of embedded images to UTF-16
        // (a tenth of `tms train`'s fixed cost at 400 features). The attribute is ASCII, so this is the same.
        let pattern = Array(" xmlns=\"\(namespace)\"".utf8)
        var svg = svg
        return svg.withUTF8 { source in
            var out = [UInt8]()
            out.reserveCapacity(source.count)
            var start = 0, i = 0
            let last = source.count - pattern.count
            while i <= last {
                if source[i] == pattern[0] && (1..<pattern.count).allSatisfy({ source[i + $0] == pattern[$0] }) {
                    out.append(contentsOf: source[start..<i])
                    i += pattern.count
                    start = i
                } else {
                    i += 1
                }
            }
            out.append(contentsOf: source[start...])
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// A deterministic pseudo-random offset in [−0.5, 0.5) for `(seed, index)`: SplitMix64 of the pair.
    ///
    /// Used for jittered scatter plots so that the same values always give the same picture
    /// (no system random number generator).
    public static func jitter(seed: UInt64, index: Int) -> Double {
        var z = seed &+ UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15 &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(UInt64(1) << 53) - 0.5
    }

    /// Writes `value` as a small fraction `p/q` (q ≤ 16) when it is one within 1e−9, else as a number.
    ///
    /// 1 → "1", 0.75 → "3/4", 0.375 → "3/8", 0.3 → "3/10", π → "3.142".
    public static func fraction(_ value: Double) -> String {
        for q in 1...16 {
            let p = (value * Double(q)).rounded()
            if abs(value * Double(q) - p) < 1e-9 {
                return q == 1 ? number(p, decimals: 0) : "\(number(p, decimals: 0))/\(q)"
            }
        }
        return number(value, decimals: 3)
    }
}

/// Horizontal alignment of a text label (SVG `text-anchor`).
public enum TextAnchor: String, Sendable, CaseIterable { case start, middle, end }

/// An SVG document under construction: a size and a body of elements, appended in drawing order.
///
/// Every mark method takes an optional `title`, written as an SVG `<title>` child (hover text).
/// Coordinates are SVG user units (pixels, origin top-left, y down) printed with 2 decimals.
public struct SVGCanvas: Sendable {
    public let width: Double
    public let height: Double
    /// The elements drawn so far, one per line (read by ``Figure/init(_:)``).
    public private(set) var body = ""

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Appends markup verbatim; the caller is responsible for escaping.
    public mutating func add(rawMarkup: String) {
        body += rawMarkup
        body += "\n"
    }

    /// Appends `<name a="v" …/>`, or `<name …><title>…</title></name>` when `title` is given; values escaped.
    public mutating func element(_ name: String, _ attributes: [(String, String)], title: String? = nil) {
        var markup = "<" + name
        for (key, value) in attributes { markup += " \(key)=\"\(SVG.escape(value))\"" }
        if let title { markup += "><title>\(SVG.escape(SVG.unicodeScripts(title)))</title></\(name)>" } else { markup += "/>" }
        add(rawMarkup: markup)
    }

    /// A rectangle; a negative width or height is normalised to the same area.
    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                              stroke: String? = nil, strokeWidth: Double = 1, opacity: Double = 1,
                              title: String? = nil) {
        var attributes = [("x", n(min(x, x + width))), ("y", n(min(y, y + height))),
                          ("width", n(abs(width))), ("height", n(abs(height))), ("fill", fill)]
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", n(strokeWidth))] }
        if opacity < 1 { attributes.append(("opacity", n(opacity, 3))) }
        element("rect", attributes, title: title)
    }

    /// A straight line; `dash` is an SVG `stroke-dasharray` such as `"4 3"`.
    public mutating func line(from start: Point, to end: Point, stroke: String, width: Double = 1,
                              dash: String? = nil, opacity: Double = 1, title: String? = nil) {
        var attributes = [("x1", n(start.x)), ("y1", n(start.y)), ("x2", n(end.x)), ("y2", n(end.y)),
                          ("stroke", stroke), ("stroke-width", n(width))]
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        if opacity < 1 { attributes.append(("stroke-opacity", n(opacity, 3))) }
        element("line", attributes, title: title)
    }

    /// An unfilled polyline through `points` (pixels).
    public mutating func polyline(_ points: [Point], stroke: String, width: Double = 1.5, dash: String? = nil,
                                  opacity: Double = 1, title: String? = nil) {
        let coordinates = points.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
        var attributes = [("points", coordinates), ("fill", "none"), ("stroke", stroke),
                          ("stroke-width", n(width)), ("stroke-linejoin", "round")]
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        if opacity < 1 { attributes.append(("stroke-opacity", n(opacity, 3))) }
        element("polyline", attributes, title: title)
    }

    /// A circle; `fill` may be `"none"`.
    public mutating func circle(center: Point, radius: Double, fill: String, stroke: String? = nil,
                                strokeWidth: Double = 1, dash: String? = nil, opacity: Double = 1,
                                title: String? = nil) {
        var attributes = [("cx", n(center.x)), ("cy", n(center.y)), ("r", n(radius)), ("fill", fill)]
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", n(strokeWidth))] }
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        if opacity < 1 { attributes.append(("opacity", n(opacity, 3))) }
        element("circle", attributes, title: title)
    }

    /// A text label at `point` (baseline); `rotation` in degrees about the point. Sub- and superscripts
    /// written `W_i`, `Σ_{j≠i}` become `<tspan>`s (``SVG/richText(_:)``).
    public mutating func text(_ content: String, at point: Point, size: Double = 11, anchor: TextAnchor = .start,
                              bold: Bool = false, rotation: Double = 0, fill: String = "#222222") {
        var markup = "<text x=\"\(n(point.x))\" y=\"\(n(point.y))\" font-size=\"\(n(size))\""
        if anchor != .start { markup += " text-anchor=\"\(anchor.rawValue)\"" }
        if bold { markup += " font-weight=\"bold\"" }
        if rotation != 0 { markup += " transform=\"rotate(\(n(rotation)) \(n(point.x)) \(n(point.y)))\"" }
        if fill != "#222222" { markup += " fill=\"\(SVG.escape(fill))\"" }
        add(rawMarkup: markup + ">\(SVG.richText(content))</text>")
    }

    /// Draws with `draw` on a canvas translated by (dx, dy), wrapped in one `<g transform>`.
    public mutating func withOffset(dx: Double, dy: Double, _ draw: (inout SVGCanvas) -> Void) {
        var inner = SVGCanvas(width: width, height: height)
        draw(&inner)
        add(rawMarkup: "<g transform=\"translate(\(n(dx)),\(n(dy)))\">\n\(inner.body)</g>")
    }

    /// The document: `<svg>` with size and viewBox, a white background, then the body.
    ///
    /// `standalone: true` writes the `xmlns` attribute (needed in a `.svg` file); `false` omits it
    /// for inline use in HTML5.
    public func render(standalone: Bool = true) -> String {
        let namespace = standalone ? " xmlns=\"\(SVG.namespace)\"" : ""
        return "<svg\(namespace) width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\""
            + " font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
            + "<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>\n"
            + body + "</svg>\n"
    }

    private func n(_ value: Double, _ decimals: Int = 2) -> String { SVG.number(value, decimals: decimals) }
}
