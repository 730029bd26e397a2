/// A finished figure as a value: its size and the SVG elements it draws, so figures can be placed together
/// (``stacked(_:axis:gap:)``) without parsing SVG text.
///
/// `body` holds the elements inside the root `<svg>`, in drawing order, in the figure's own user units
/// (pixels, origin top-left); the white background and the root element are added by ``render(standalone:)``.
public struct Figure: Sendable, Equatable {
    public let width: Double
    public let height: Double
    public let body: String

    public init(width: Double, height: Double, body: String) {
        self.width = width
        self.height = height
        self.body = body
    }

    /// The figure drawn on `canvas`.
    public init(_ canvas: SVGCanvas) {
        self.init(width: canvas.width, height: canvas.height, body: canvas.body)
    }

    /// The SVG document, exactly as ``SVGCanvas/render(standalone:)`` writes the canvas it came from.
    public func render(standalone: Bool = true) -> String {
        var canvas = SVGCanvas(width: width, height: height)
        if !body.isEmpty { canvas.add(rawMarkup: body.hasSuffix("\n") ? String(body.dropLast()) : body) }
        return canvas.render(standalone: standalone)
    }

    /// The direction in which ``stacked(_:axis:gap:)`` places figures.
    public enum Axis: String, Sendable, CaseIterable {
        /// One below the other, left-aligned.
        case vertical
        /// Side by side, top-aligned.
        case horizontal
    }

    /// One figure holding `figures` one after the other along `axis`, `gap` pixels apart.
    ///
    /// Each figure is placed as a nested `<svg>` viewport of its own size, so its coordinates, and its
    /// clipping, are those of the standalone figure. The result's size is the sum of the sizes (plus gaps)
    /// along `axis` and the largest size across it. A single figure is returned unchanged; no figures give
    /// an empty 0×0 figure.
    public static func stacked(_ figures: [Figure], axis: Axis = .vertical, gap: Double = 0) -> Figure {
        if figures.count == 1 { return figures[0] }
        var offset = 0.0, across = 0.0, body = ""
        for (index, figure) in figures.enumerated() {
            if index > 0 { offset += gap }
            let (x, y) = axis == .vertical ? (0, offset) : (offset, 0)
            let (w, h) = (SVG.number(figure.width), SVG.number(figure.height))
            body += "<svg x=\"\(SVG.number(x))\" y=\"\(SVG.number(y))\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\">\n"
                + figure.body + "</svg>\n"
            offset += axis == .vertical ? figure.height : figure.width
            across = max(across, axis == .vertical ? figure.width : figure.height)
        }
        return axis == .vertical ? Figure(width: across, height: offset, body: body)
                                 : Figure(width: offset, height: across, body: body)
    }
}
