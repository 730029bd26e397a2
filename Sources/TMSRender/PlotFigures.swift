import Foundation

/// A named line of ``Figures/lossCurves(title:series:logY:logX:xLabel:yLabel:)``.
public struct Series: Sendable, Equatable {
    public var label: String
    /// x values (training steps, or any x), paired with `values` by index.
    public var steps: [Double]
    public var values: [Double]
    /// CSS colour; nil picks ``ColorMap/category(_:)`` of the series' index.
    public var color: String?
    public var dashed: Bool

    public init(label: String, steps: [Double], values: [Double], color: String? = nil, dashed: Bool = false) {
        self.label = label
        self.steps = steps
        self.values = values
        self.color = color
        self.dashed = dashed
    }
}

/// One panel of ``Figures/phaseDiagram(title:panels:phaseNames:phaseColors:xLabel:yLabel:)``.
public struct PhaseDiagramPanel: Sendable, Equatable {
    /// Panel title, e.g. "learned" or "theory".
    public var title: String
    /// Grid x values (e.g. relative importance), ascending and positive (log axis).
    public var xValues: [Double]
    /// Grid y values (e.g. feature density), ascending and positive (log axis).
    public var yValues: [Double]
    /// `phases[y][x]`: index into the phase names; indices outside the names are drawn #eeeeee ("unknown").
    public var phases: [[Int]]
    /// Polylines in data coordinates drawn over the grid (e.g. theoretical phase boundaries).
    public var boundaries: [[Point]]
    /// `marked[y][x]`: cells to cross out (e.g. where the learned phase disagrees with theory); empty = none.
    public var marked: [[Bool]]

    public init(title: String, xValues: [Double], yValues: [Double], phases: [[Int]], boundaries: [[Point]] = [],
                marked: [[Bool]] = []) {
        self.title = title
        self.xValues = xValues
        self.yValues = yValues
        self.phases = phases
        self.boundaries = boundaries
        self.marked = marked
    }
}

extension Figures {
    /// Default phase colours by index (grey, blue, red, green, yellow, purple); beyond the list ``ColorMap/category(_:)``.
    public static let defaultPhaseColors = ["#c8c8c8", "#4e79a7", "#e15759", "#59a14f", "#edc948", "#b07aa1"]

    /// Dimensions per feature against 1/(1 − S) (Elhage et al. 2022, "feature dimensionality" figure).
    ///
    /// D* = m/‖W‖_F² per instance is a black line with dots; each instance's per-feature
    /// D_i = ‖W_i‖²/Σ_j(Ŵ_i·W_j)² is a translucent scatter at that instance's x, jittered ±6 px
    /// (seeded, deterministic). Dashed horizontal lines mark `referenceFractions`, labelled as fractions
    /// ("3/4"). x is a log axis widened to whole decades (instances with x ≤ 0 are skipped); y runs 0…1.1.
    /// - Parameters:
    ///   - sparsityAxisValues: x per instance, 1/(1 − S) = 1/p.
    ///   - dimensionsPerFeature: D* per instance.
    ///   - featureDimensionality: `[instance][feature]` D_i. Above 200 features an instance's D_i are drawn as
    ///     a histogram mirrored about its x (a violin) instead of one dot each.
    ///   - featureNorms: `[instance][feature]` ‖W_i‖; features below 0.5 (not represented) are grey.
    ///   - note: an optional line under the title (e.g. why D* falls below m/n).
    public static func dimensionalityPlot(title: String, sparsityAxisValues: [Double], dimensionsPerFeature: [Double],
                                          featureDimensionality: [[Double]], featureNorms: [[Double]] = [], note: String? = nil,
                                          referenceFractions: [Double] = [1, 3.0 / 4, 2.0 / 3, 1.0 / 2, 2.0 / 5, 3.0 / 8],
                                          xLabel: String = "1/(1 − S)", yLabel: String = "dimensions per feature") -> String {
        let positive = sparsityAxisValues.filter { $0 > 0 && $0.isFinite }
        let x = Scale(.log, domain: (positive.min() ?? 1)...(positive.max() ?? 10)).niced()
        let plot = PlotArea(left: 70, top: 44, width: 520, height: 300, x: .log, xDomain: x.lower...x.upper, yDomain: 0...1.1)
        var canvas = SVGCanvas(width: 800, height: 400)
        canvas.text(title, at: Point(330, 24), size: 14, anchor: .middle, bold: true)
        if let note { canvas.text(note, at: Point(330, 38), size: 10, anchor: .middle, fill: "#555555") }
        canvas.axes(plot, xLabel: xLabel, yLabel: yLabel, grid: false)
        var (previousY, shifted) = (-Double.infinity, false)
        for fraction in referenceFractions.sorted() {
            let y = plot.y.map(fraction)
            canvas.line(from: Point(plot.left, y), to: Point(plot.left + plot.width, y), stroke: "#999999", dash: "4 3",
                        title: "D = \(SVG.fraction(fraction))")
            // Neighbouring labels (2/5 and 3/8 are 7 px apart) alternate between two columns.
            shifted = abs(y - previousY) < 11 && !shifted
            previousY = y
            canvas.text(SVG.fraction(fraction), at: Point(plot.left + plot.width + (shifted ? 30 : 6), y + 3.5), size: 10,
                        fill: "#666666")
        }
        let scatterColor = ColorMap.viridis.hex(at: 0.35)
        var anyUnrepresented = false
        for (instance, values) in featureDimensionality.enumerated() where instance < sparsityAxisValues.count {
            let at = sparsityAxisValues[instance]
            let norms = instance < featureNorms.count ? featureNorms[instance] : []
            let represented = values.indices.filter { $0 >= norms.count || norms[$0] >= representedNorm }
            let unrepresented = values.indices.filter { $0 < norms.count && norms[$0] < representedNorm }
            anyUnrepresented = anyUnrepresented || !unrepresented.isEmpty
            if values.count <= 200 {
                for (features, color) in [(unrepresented, unrepresentedColor), (represented, scatterColor)] {
                    canvas.scatter(plot, points: features.map { Point(at, values[$0]) }, color: color, radius: 2, opacity: 0.35,
                                   jitter: 12, seed: UInt64(instance) &+ (color == scatterColor ? 0 : 0x5151),
                                   titles: features.map { "instance \(instance), feature \($0): D_i = \(SVG.number(values[$0], decimals: 3))" })
                }
            } else {
                // Too many dots to read: a histogram of the represented features' D_i, mirrored about x (a violin).
                guard at > 0 && at.isFinite else { continue }
                var counts = [Int](repeating: 0, count: 110)
                for i in represented where values[i].isFinite { counts[min(109, max(0, Int(values[i] * 100)))] += 1 }
                let peak = Double(max(counts.max() ?? 1, 1)), centre = plot.x.map(at)
                var path = ""
                for (bin, count) in counts.enumerated() where count > 0 {
                    let half = max(0.5, 14 * Double(count) / peak)
                    let (y0, y1) = (plot.y.map(Double(bin + 1) / 100), plot.y.map(Double(bin) / 100))
                    path += "M\(SVG.number(centre - half)) \(SVG.number(y0))h\(SVG.number(2 * half))v\(SVG.number(y1 - y0))h\(SVG.number(-2 * half))z"
                }
                canvas.element("path", [("d", path), ("fill", scatterColor), ("opacity", "0.75")],
                               title: "instance \(instance): D_i of \(represented.count) represented features (histogram, width ∝ count); "
                                   + "\(unrepresented.count) features with ‖W_i‖ < 0.5 not drawn")
            }
        }
        let stars = zip(sparsityAxisValues, dimensionsPerFeature).map { Point($0, $1) }
        canvas.lineSeries(plot, points: stars, color: "#111111", width: 1.5, title: "D* = m/‖W‖_F²")
        canvas.scatter(plot, points: stars, color: "#111111", radius: 3,
                       titles: stars.map { "\(xLabel) = \(SVG.number($0.x, decimals: 3)): D* = \(SVG.number($0.y, decimals: 4))" })
        canvas.legend(at: Point(plot.left + plot.width + 40, plot.top), entries: [
            LegendEntry(label: "D* (per instance)", color: "#111111", mark: .line),
            LegendEntry(label: "D_i (per feature)", color: scatterColor, mark: .dot),
        ] + (anyUnrepresented ? [LegendEntry(label: "D_i, ‖W_i‖ < 0.5", color: unrepresentedColor, mark: .dot)] : []) + [
            LegendEntry(label: "reference fractions", color: "#999999", mark: .dashedLine),
        ])
        return canvas.render()
    }

    /// A phase diagram on a log–log grid, one panel per diagram side by side (e.g. learned vs theory).
    ///
    /// Cell k spans the geometric midpoints between neighbouring grid values (the outer cells extend by
    /// half a step; a single value v spans [v/√10, v·√10]). Cell colour: `phaseColors[phase]`, default
    /// ``defaultPhaseColors``; a legend of `phaseNames` sits below, followed by `boundaryLabel` (when any
    /// panel has boundaries) and "× marked cell" with `markLabel` (when any cell is marked). Boundaries are
    /// black polylines; marked cells carry a black ×.
    public static func phaseDiagram(title: String, panels: [PhaseDiagramPanel], phaseNames: [String],
                                    phaseColors: [String]? = nil, xLabel: String = "relative importance",
                                    yLabel: String = "feature density", boundaryLabel: String = "theory boundary",
                                    markLabel: String = "learned phase differs from theory") -> String {
        let colors = phaseColors ?? defaultPhaseColors
        func color(_ phase: Int) -> String {
            guard phase >= 0 && phase < phaseNames.count else { return "#eeeeee" }
            return phase < colors.count ? colors[phase] : ColorMap.category(phase).hex
        }
        let plot = 260.0
        let grid = SmallMultiples(count: panels.count, columns: panels.count, panelWidth: plot + 80, panelHeight: plot + 80, top: 40)
        let legendTop = grid.height + 4
        let hasBoundaries = panels.contains { !$0.boundaries.isEmpty }
        let hasMarks = panels.contains { $0.marked.contains { $0.contains(true) } }
        let legendRows = phaseNames.count + (hasBoundaries ? 1 : 0) + (hasMarks ? 1 : 0)
        var canvas = SVGCanvas(width: max(grid.width, 360), height: legendTop + 16 * Double(legendRows) + 12)
        canvas.text(title, at: Point(canvas.width / 2, 22), size: 14, anchor: .middle, bold: true)
        for (index, panel) in panels.enumerated() {
            let origin = grid.origin(of: index)
            let (xEdges, yEdges) = (cellEdges(panel.xValues), cellEdges(panel.yValues))
            let area = PlotArea(left: origin.x + 64, top: origin.y + 22, width: plot, height: plot, x: .log,
                                xDomain: xEdges.first!...xEdges.last!, y: .log, yDomain: yEdges.first!...yEdges.last!)
            canvas.text(panel.title, at: Point(area.left + plot / 2, origin.y + 14), size: 12, anchor: .middle, bold: true)
            for (row, phases) in panel.phases.enumerated() where row < panel.yValues.count {
                for (column, phase) in phases.enumerated() where column < panel.xValues.count {
                    let corner = area.point(xEdges[column], yEdges[row + 1])
                    let far = area.point(xEdges[column + 1], yEdges[row])
                    let name = phase >= 0 && phase < phaseNames.count ? phaseNames[phase] : "unknown"
                    canvas.rect(x: corner.x, y: corner.y, width: far.x - corner.x + 0.3, height: far.y - corner.y + 0.3,
                                fill: color(phase), title: "\(xLabel) = \(SVG.number(panel.xValues[column], decimals: 4)), "
                                    + "\(yLabel) = \(SVG.number(panel.yValues[row], decimals: 4)): \(name)")
                }
            }
            for (row, marks) in panel.marked.enumerated() where row < panel.yValues.count {
                for (column, mark) in marks.enumerated() where mark && column < panel.xValues.count {
                    let centre = area.point((xEdges[column] * xEdges[column + 1]).squareRoot(), (yEdges[row] * yEdges[row + 1]).squareRoot())
                    let half = min(4.0, 0.3 * abs(area.x.map(xEdges[column + 1]) - area.x.map(xEdges[column])))
                    canvas.element("path", [("d", "M\(SVG.number(centre.x - half)) \(SVG.number(centre.y - half))l\(SVG.number(2 * half)) \(SVG.number(2 * half))"
                                                 + "m0 \(SVG.number(-2 * half))l\(SVG.number(-2 * half)) \(SVG.number(2 * half))"),
                                            ("stroke", "#111111"), ("stroke-width", "1.3"), ("fill", "none")],
                                   title: "\(xLabel) = \(SVG.number(panel.xValues[column], decimals: 4)), \(yLabel) = \(SVG.number(panel.yValues[row], decimals: 4)): \(markLabel)")
                }
            }
            for (k, boundary) in panel.boundaries.enumerated() {
                canvas.lineSeries(area, points: boundary, color: "#000000", width: 1.5, title: "\(boundaryLabel) \(k + 1)")
            }
            canvas.axes(area, xLabel: xLabel, yLabel: yLabel, grid: false)
        }
        canvas.legend(at: Point(grid.gap + 64, legendTop),
                      entries: phaseNames.enumerated().map { LegendEntry(label: $0.element, color: color($0.offset)) }
                          + (hasBoundaries ? [LegendEntry(label: boundaryLabel, color: "#000000", mark: .line)] : []))
        if hasMarks {
            let y = legendTop + 16 * Double(legendRows - 1)
            let x = grid.gap + 64
            canvas.element("path", [("d", "M\(SVG.number(x + 2)) \(SVG.number(y + 1))l8 8m0 -8l-8 8"), ("stroke", "#111111"),
                                    ("stroke-width", "1.3"), ("fill", "none")], title: markLabel)
            canvas.text(markLabel, at: Point(x + 24, y + 9), size: 10)
        }
        return canvas.render()
    }

    /// A single phase diagram; see ``phaseDiagram(title:panels:phaseNames:phaseColors:xLabel:yLabel:)``.
    public static func phaseDiagram(title: String, xValues: [Double], yValues: [Double], phases: [[Int]],
                                    phaseNames: [String], phaseColors: [String]? = nil, boundaries: [[Point]] = [],
                                    xLabel: String = "relative importance", yLabel: String = "feature density") -> String {
        phaseDiagram(title: title, panels: [PhaseDiagramPanel(title: "", xValues: xValues, yValues: yValues, phases: phases,
                                                              boundaries: boundaries)],
                     phaseNames: phaseNames, phaseColors: phaseColors, xLabel: xLabel, yLabel: yLabel)
    }

    /// Loss (or any metric) against step, one line per series, with a legend at the right.
    ///
    /// `logY: true` uses a log axis widened to whole decades and skips values ≤ 0; `logY: false` a linear
    /// axis from min(0, smallest value) widened to nice ticks (e.g. "fraction of latents active").
    /// Non-finite values break a line.
    public static func lossCurves(title: String, series: [Series], logY: Bool = true, logX: Bool = false,
                                  xLabel: String = "step", yLabel: String = "loss") -> String {
        let points = series.flatMap { zip($0.steps, $0.values) }.filter { $0.0.isFinite && $0.1.isFinite }
        let xs = points.map(\.0).filter { !logX || $0 > 0 }, ys = points.map(\.1).filter { !logY || $0 > 0 }
        let yLow = logY ? (ys.min() ?? 0.1) : min(0, ys.min() ?? 0)
        let area = PlotArea(left: 70, top: 44, width: 520, height: 300, x: logX ? .log : .linear,
                            xDomain: (xs.min() ?? 0)...max(xs.max() ?? 1, xs.min() ?? 0), y: logY ? .log : .linear,
                            yDomain: yLow...max(ys.max() ?? 1, yLow), nice: true)
        var canvas = SVGCanvas(width: 820, height: 400)
        canvas.text(title, at: Point(330, 24), size: 14, anchor: .middle, bold: true)
        canvas.axes(area, xLabel: xLabel, yLabel: yLabel)
        var entries: [LegendEntry] = []
        for (index, line) in series.enumerated() {
            let color = line.color ?? ColorMap.category(index).hex
            canvas.lineSeries(area, points: zip(line.steps, line.values).map { Point($0, $1) }, color: color,
                              dash: line.dashed ? "5 3" : nil, title: line.label)
            entries.append(LegendEntry(label: line.label, color: color, mark: line.dashed ? .dashedLine : .line))
        }
        canvas.legend(at: Point(area.left + area.width + 16, area.top), entries: entries)
        return canvas.render()
    }

    /// Cell edges of a log grid: geometric midpoints, the ends extended by half a (log) step.
    static func cellEdges(_ values: [Double]) -> [Double] {
        let v = values.map { $0 > 0 && $0.isFinite ? $0 : 1 }
        guard v.count > 1 else { return v.isEmpty ? [1, 10] : [v[0] / 10.0.squareRoot(), v[0] * 10.0.squareRoot()] }
        let middles = (0..<(v.count - 1)).map { (v[$0] * v[$0 + 1]).squareRoot() }
        return [v[0] * v[0] / middles[0]] + middles + [v[v.count - 1] * v[v.count - 1] / middles[middles.count - 1]]
    }
}
