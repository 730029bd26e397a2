/// A rectangular plotting region on a canvas with its x and y scales (y runs upwards on screen).
public struct PlotArea: Sendable, Equatable {
    public let left: Double
    public let top: Double
    public let width: Double
    public let height: Double
    public let x: Scale
    public let y: Scale

    /// Scales map `xDomain` onto [left, left + width] and `yDomain` onto [top + height, top].
    /// `nice: true` widens both domains to whole ticks or decades (``Scale/niced(count:)``).
    public init(left: Double, top: Double, width: Double, height: Double,
                x xKind: Scale.Kind = .linear, xDomain: ClosedRange<Double>,
                y yKind: Scale.Kind = .linear, yDomain: ClosedRange<Double>, nice: Bool = false) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
        let xScale = Scale(xKind, domain: xDomain, range: (left, left + width))
        let yScale = Scale(yKind, domain: yDomain, range: (top + height, top))
        x = nice ? xScale.niced() : xScale
        y = nice ? yScale.niced() : yScale
    }

    /// The pixel position of the data point (x, y).
    public func point(_ dataX: Double, _ dataY: Double) -> Point { Point(x.map(dataX), y.map(dataY)) }

    /// Whether (x, y) can be drawn: finite and, on log axes, positive.
    public func canDraw(_ dataX: Double, _ dataY: Double) -> Bool {
        dataX.isFinite && dataY.isFinite && (x.kind == .linear || dataX > 0) && (y.kind == .linear || dataY > 0)
    }
}

/// One row of a legend.
public struct LegendEntry: Sendable, Equatable {
    /// How the entry's sample is drawn.
    public enum Mark: String, Sendable, CaseIterable { case swatch, line, dashedLine, dot }

    public var label: String
    public var color: String
    public var mark: Mark

    public init(label: String, color: String, mark: Mark = .swatch) {
        self.label = label
        self.color = color
        self.mark = mark
    }
}

/// A grid of equal panels (small multiples) below a header band, filled row by row.
public struct SmallMultiples: Sendable, Equatable {
    public let count: Int
    public let columns: Int
    public let panelWidth: Double
    public let panelHeight: Double
    /// Height of the band above the panels (figure title).
    public let top: Double
    public let gap: Double

    public init(count: Int, columns: Int, panelWidth: Double, panelHeight: Double, top: Double = 36, gap: Double = 12) {
        self.count = max(count, 1)
        self.columns = max(1, min(columns, self.count))
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
        self.top = top
        self.gap = gap
    }

    public var rows: Int { (count + columns - 1) / columns }
    public var width: Double { Double(columns) * (panelWidth + gap) + gap }
    public var height: Double { top + Double(rows) * (panelHeight + gap) }

    /// Top-left corner of panel `index` (row-major).
    public func origin(of index: Int) -> Point {
        Point(gap + Double(index % columns) * (panelWidth + gap), top + Double(index / columns) * (panelHeight + gap))
    }
}

extension SVGCanvas {
    /// Frame, grid, ticks, tick labels and axis labels of `area` (both axes).
    public mutating func axes(_ area: PlotArea, xLabel: String, yLabel: String, tickCount: Int = 5,
                              grid: Bool = true, minorTicks: Bool = true) {
        xAxis(area, label: xLabel, tickCount: tickCount, grid: grid, minorTicks: minorTicks)
        yAxis(area, label: yLabel, tickCount: tickCount, grid: grid, minorTicks: minorTicks)
        rect(x: area.left, y: area.top, width: area.width, height: area.height, fill: "none", stroke: "#444444")
    }

    /// Bottom axis: ticks (minor ticks on log scales), labels 15 px below, axis label 32 px below.
    public mutating func xAxis(_ area: PlotArea, label: String, tickCount: Int = 5, grid: Bool = true, minorTicks: Bool = true) {
        let bottom = area.top + area.height
        if minorTicks {
            for value in area.x.minorTicks() {
                line(from: Point(area.x.map(value), bottom), to: Point(area.x.map(value), bottom + 2.5), stroke: "#444444")
            }
        }
        for value in area.x.ticks(count: tickCount) {
            let x = area.x.map(value)
            if grid { line(from: Point(x, area.top), to: Point(x, bottom), stroke: "#e6e6e6") }
            line(from: Point(x, bottom), to: Point(x, bottom + 5), stroke: "#444444")
            text(area.x.label(value), at: Point(x, bottom + 16), size: 10, anchor: .middle)
        }
        text(label, at: Point(area.left + area.width / 2, bottom + 32), anchor: .middle)
    }

    /// Left axis: ticks, labels 7 px left, axis label rotated −90° 42 px left.
    public mutating func yAxis(_ area: PlotArea, label: String, tickCount: Int = 5, grid: Bool = true, minorTicks: Bool = true) {
        if minorTicks {
            for value in area.y.minorTicks() {
                line(from: Point(area.left - 2.5, area.y.map(value)), to: Point(area.left, area.y.map(value)), stroke: "#444444")
            }
        }
        for value in area.y.ticks(count: tickCount) {
            let y = area.y.map(value)
            if grid { line(from: Point(area.left, y), to: Point(area.left + area.width, y), stroke: "#e6e6e6") }
            line(from: Point(area.left - 5, y), to: Point(area.left, y), stroke: "#444444")
            text(area.y.label(value), at: Point(area.left - 7, y + 3.5), size: 10, anchor: .end)
        }
        let middle = Point(area.left - 42, area.top + area.height / 2)
        text(label, at: middle, anchor: .middle, rotation: -90)
    }

    /// A line through data points, clipped to the plot area (Liang–Barsky) and broken wherever a point
    /// cannot be drawn (``PlotArea/canDraw(_:_:)``); an isolated drawable point inside the area becomes a dot.
    public mutating func lineSeries(_ area: PlotArea, points: [Point], color: String, width: Double = 1.5,
                                    dash: String? = nil, title: String? = nil) {
        var pieces: [[Point]] = [], run: [Point] = []
        for point in points + [Point(.nan, .nan)] {
            if area.canDraw(point.x, point.y) { run.append(area.point(point.x, point.y)) } else {
                if !run.isEmpty { pieces.append(run) }
                run = []
            }
        }
        for piece in pieces {
            if piece.count == 1, SVGCanvas.clip(piece[0], piece[0], to: area) != nil {
                circle(center: piece[0], radius: width, fill: color, title: title)
            }
            var visible: [Point] = []
            for (a, b) in zip(piece, piece.dropFirst()) {
                guard let (start, end) = SVGCanvas.clip(a, b, to: area) else { continue }
                if visible.last != start {
                    if visible.count > 1 { polyline(visible, stroke: color, width: width, dash: dash, title: title) }
                    visible = [start]
                }
                visible.append(end)
            }
            if visible.count > 1 { polyline(visible, stroke: color, width: width, dash: dash, title: title) }
        }
    }

    /// The part of segment a→b (pixels) inside `area`, or nil; unclipped ends are returned unchanged.
    static func clip(_ a: Point, _ b: Point, to area: PlotArea) -> (Point, Point)? {
        let (dx, dy) = (b.x - a.x, b.y - a.y)
        var (t0, t1) = (0.0, 1.0)
        let slack = 1e-9
        for (p, q) in [(-dx, a.x - area.left + slack), (dx, area.left + area.width - a.x + slack),
                       (-dy, a.y - area.top + slack), (dy, area.top + area.height - a.y + slack)] {
            if p == 0 {
                if q < 0 { return nil }
                continue
            }
            let r = q / p
            if p < 0 { t0 = max(t0, r) } else { t1 = min(t1, r) }
            if t0 > t1 { return nil }
        }
        return (t0 == 0 ? a : Point(a.x + t0 * dx, a.y + t0 * dy), t1 == 1 ? b : Point(a.x + t1 * dx, a.y + t1 * dy))
    }

    /// Dots at data points, shifted horizontally by `jitter` pixels × ``SVG/jitter(seed:index:)``.
    ///
    /// `titles[i]` is the hover text of point i (when present). Undrawable points are skipped.
    public mutating func scatter(_ area: PlotArea, points: [Point], color: String, radius: Double = 2.5,
                                 opacity: Double = 1, jitter: Double = 0, seed: UInt64 = 0, titles: [String] = []) {
        for (index, point) in points.enumerated() where area.canDraw(point.x, point.y) {
            var pixel = area.point(point.x, point.y)
            pixel.x += jitter * SVG.jitter(seed: seed, index: index)
            circle(center: pixel, radius: radius, fill: color, opacity: opacity,
                   title: index < titles.count ? titles[index] : nil)
        }
    }

    /// A horizontal bar between data values `from` and `to` on the x scale, at pixel rows [top, top + height].
    public mutating func horizontalBar(_ area: PlotArea, from start: Double, to end: Double, top: Double,
                                       height: Double, fill: String, title: String? = nil) {
        let (x0, x1) = (area.x.map(start), area.x.map(end))
        rect(x: x0, y: top, width: x1 - x0, height: height, fill: fill, stroke: "#ffffff", strokeWidth: 0.5, title: title)
    }

    /// A grid of cells, `values[row][column]`, row 0 on top, each cell coloured by `fill(value)`.
    public mutating func heatmap(origin: Point, cellWidth: Double, cellHeight: Double, values: [[Double]],
                                 fill: (Double) -> String, title: (Int, Int, Double) -> String) {
        for (row, rowValues) in values.enumerated() {
            for (column, value) in rowValues.enumerated() {
                rect(x: origin.x + Double(column) * cellWidth, y: origin.y + Double(row) * cellHeight,
                     width: cellWidth, height: cellHeight, fill: fill(value), title: title(row, column, value))
            }
        }
        if let columns = values.map(\.count).max(), columns > 0 {
            rect(x: origin.x, y: origin.y, width: Double(columns) * cellWidth, height: Double(values.count) * cellHeight,
                 fill: "none", stroke: "#444444", strokeWidth: 0.75)
        }
    }

    /// A horizontal colour bar of `map` from t = 0 (left) to 1 (right), drawn as 40 slices,
    /// with end labels beneath, an optional middle label and a caption above.
    public mutating func colorBar(at origin: Point, width: Double, height: Double = 10, map: ColorMap,
                                  lowLabel: String, highLabel: String, midLabel: String? = nil, caption: String) {
        let slices = 40
        for slice in 0..<slices {
            let t = (Double(slice) + 0.5) / Double(slices)
            rect(x: origin.x + width * Double(slice) / Double(slices), y: origin.y, width: width / Double(slices) + 0.3,
                 height: height, fill: map.hex(at: t))
        }
        rect(x: origin.x, y: origin.y, width: width, height: height, fill: "none", stroke: "#444444", strokeWidth: 0.5)
        let below = origin.y + height + 11
        text(lowLabel, at: Point(origin.x, below), size: 10, anchor: .start)
        text(highLabel, at: Point(origin.x + width, below), size: 10, anchor: .end)
        if let midLabel { text(midLabel, at: Point(origin.x + width / 2, below), size: 10, anchor: .middle) }
        text(caption, at: Point(origin.x + width / 2, origin.y - 4), size: 10, anchor: .middle)
    }

    /// A line from the data origin (0, 0) to `end` finished with a dot, both carrying `title`.
    public mutating func ray(_ area: PlotArea, to end: Point, color: String, width: Double = 2,
                             dotRadius: Double = 4, title: String? = nil) {
        let tip = area.point(end.x, end.y)
        line(from: area.point(0, 0), to: tip, stroke: color, width: width, title: title)
        circle(center: tip, radius: dotRadius, fill: color, stroke: "#333333", strokeWidth: 0.5, title: title)
    }

    /// A vertical legend with its first row's top-left at `origin`, 16 px per row.
    public mutating func legend(at origin: Point, entries: [LegendEntry]) {
        for (row, entry) in entries.enumerated() {
            let y = origin.y + 16 * Double(row)
            switch entry.mark {
            case .swatch: rect(x: origin.x, y: y, width: 12, height: 10, fill: entry.color, title: entry.label)
            case .line, .dashedLine:
                line(from: Point(origin.x, y + 5), to: Point(origin.x + 18, y + 5), stroke: entry.color, width: 2,
                     dash: entry.mark == .dashedLine ? "4 3" : nil, title: entry.label)
            case .dot: circle(center: Point(origin.x + 6, y + 5), radius: 4, fill: entry.color, title: entry.label)
            }
            text(entry.label, at: Point(origin.x + 24, y + 9), size: 10)
        }
    }
}
