import Foundation

/// How ``Figures/neuronStackedBars(title:panels:colouring:)`` colours the segments.
public enum NeuronColouring: String, Sendable, CaseIterable {
    /// One colour per neuron: viridis(P_k) with P_k = (1 − max_i W_{k,i}²/Σ_i W_{k,i}²)/(1 − 1/n) ∈ [0, 1]
    /// (0 = monosemantic, 1 = loadings spread evenly over all n features; a zero neuron counts as 0).
    case polysemanticity
    /// One ``ColorMap/category(_:)`` colour per feature, with a legend (features 0…19 listed).
    case byFeature
}

/// One panel of ``Figures/neuronStackedBars(title:panels:colouring:)``.
public struct NeuronBarsPanel: Sendable, Equatable {
    public var title: String
    /// `loadings[neuron][feature]` = W_{k,i}.
    public var loadings: [[Double]]

    public init(title: String, loadings: [[Double]]) {
        self.title = title
        self.loadings = loadings
    }
}

extension Figures {
    /// Neuron-by-feature weights as a heatmap (rows = neurons, columns = features).
    ///
    /// Colour ``ColorMap/diverging(_:)`` of w/a with a = max |w| (1 if all are zero): red negative, blue positive.
    public static func neuronHeatmap(title: String, weights: [[Double]], rowLabel: String = "neuron",
                                     columnLabel: String = "feature") -> String {
        neuronHeatmapFigure(title: title, weights: weights, rowLabel: rowLabel, columnLabel: columnLabel).render()
    }

    /// ``neuronHeatmap(title:weights:rowLabel:columnLabel:)`` as a value, for ``Figure/stacked(_:axis:gap:)``.
    public static func neuronHeatmapFigure(title: String, weights: [[Double]], rowLabel: String = "neuron",
                                           columnLabel: String = "feature") -> Figure {
        let (rows, columns) = (max(weights.count, 1), max(weights.map(\.count).max() ?? 1, 1))
        let cell = min(24, max(rows * columns > SVGCanvas.rasterCellLimit ? 1 : 3, 480 / Double(max(rows, columns))))
        let scale = weights.flatMap { $0 }.map { abs($0) }.filter(\.isFinite).max().flatMap { $0 > 0 ? $0 : nil } ?? 1
        let origin = Point(60, 56)
        var canvas = SVGCanvas(width: max(origin.x + cell * Double(columns) + 40, 300), height: origin.y + cell * Double(rows) + 70)
        canvas.text(title, at: Point(canvas.width / 2, 22), size: 14, anchor: .middle, bold: true)
        canvas.text(columnLabel, at: Point(origin.x + cell * Double(columns) / 2, origin.y - 8), anchor: .middle)
        canvas.text(rowLabel, at: Point(origin.x - 30, origin.y + cell * Double(rows) / 2), anchor: .middle, rotation: -90)
        canvas.matrixHeatmap(origin: origin, width: cell * Double(columns), height: cell * Double(rows), values: weights,
                             map: .redWhiteBlue, domain: -scale...scale,
                             labels: HeatmapLabels(row: rowLabel, column: columnLabel, value: "weight"))
        if cell >= 9 {
            for k in 0..<weights.count {
                canvas.text("\(k)", at: Point(origin.x - 4, origin.y + cell * (Double(k) + 0.5) + 3.5), size: 9, anchor: .end)
            }
            for i in 0..<columns {
                canvas.text("\(i)", at: Point(origin.x + cell * (Double(i) + 0.5), origin.y + cell * Double(rows) + 11), size: 9, anchor: .middle)
            }
        }
        let label = SVG.number(scale, decimals: 3)
        canvas.colorBar(at: Point(origin.x, origin.y + cell * Double(rows) + 30), width: 180, map: .redWhiteBlue,
                        lowLabel: "−" + label, highLabel: label, midLabel: "0", caption: "weight")
        return Figure(canvas)
    }

    /// One stacked bar per neuron (Elhage et al. 2022, "computation in superposition" figures).
    ///
    /// Neuron k's bar stacks its positive loadings W_{k,i} rightwards from 0 and its negative loadings
    /// leftwards, in feature order; the axis is symmetric, ±(largest one-sided sum over neurons), niced.
    public static func neuronStackedBars(title: String, loadings: [[Double]], colouring: NeuronColouring = .byFeature) -> String {
        neuronStackedBars(title: title, panels: [NeuronBarsPanel(title: "", loadings: loadings)], colouring: colouring)
    }

    /// W₁ and W₂ of an `abs` model side by side, per hidden neuron.
    /// - Parameters:
    ///   - w1: `[neuron][feature]` (m×n, the input weights).
    ///   - w2: `[feature][neuron]` (n×m, the output weights); transposed here so both panels show neuron k's
    ///     loadings on each feature.
    public static func neuronStackedBarsPair(title: String, w1: [[Double]], w2: [[Double]],
                                             colouring: NeuronColouring = .byFeature) -> String {
        neuronStackedBarsPairFigure(title: title, w1: w1, w2: w2, colouring: colouring).render()
    }

    /// ``neuronStackedBarsPair(title:w1:w2:colouring:)`` as a value, for ``Figure/stacked(_:axis:gap:)``.
    public static func neuronStackedBarsPairFigure(title: String, w1: [[Double]], w2: [[Double]],
                                                   colouring: NeuronColouring = .byFeature) -> Figure {
        let neurons = w2.map(\.count).max() ?? 0
        let transposed = (0..<neurons).map { k in w2.map { k < $0.count ? $0[k] : 0 } }
        return neuronStackedBarsFigure(title: title, panels: [NeuronBarsPanel(title: "W₁", loadings: w1),
                                                             NeuronBarsPanel(title: "W₂ᵀ", loadings: transposed)],
                                       colouring: colouring)
    }

    /// Several stacked-bar panels side by side; see ``neuronStackedBars(title:loadings:colouring:)``.
    public static func neuronStackedBars(title: String, panels: [NeuronBarsPanel], colouring: NeuronColouring) -> String {
        neuronStackedBarsFigure(title: title, panels: panels, colouring: colouring).render()
    }

    /// ``neuronStackedBars(title:panels:colouring:)`` as a value, for ``Figure/stacked(_:axis:gap:)``.
    public static func neuronStackedBarsFigure(title: String, panels: [NeuronBarsPanel], colouring: NeuronColouring) -> Figure {
        let neurons = max(panels.map(\.loadings.count).max() ?? 1, 1)
        let features = panels.flatMap { $0.loadings.map(\.count) }.max() ?? 0
        let row = min(22, max(4, 320 / Double(neurons)))
        let plotHeight = row * Double(neurons)
        let grid = SmallMultiples(count: panels.count, columns: panels.count, panelWidth: 300, panelHeight: plotHeight + 70, top: 40)
        let legendRows = colouring == .byFeature ? min(features, 20) : 0
        var canvas = SVGCanvas(width: grid.width + 110, height: max(grid.height + 44, 60 + 16 * Double(legendRows)))
        canvas.text(title, at: Point(canvas.width / 2, 22), size: 14, anchor: .middle, bold: true)
        for (index, panel) in panels.enumerated() {
            let origin = grid.origin(of: index)
            let extent = panel.loadings.map { weights in
                max(weights.filter { $0 > 0 }.reduce(0, +), -weights.filter { $0 < 0 }.reduce(0, +))
            }.max() ?? 0
            let span = extent > 0 && extent.isFinite ? extent : 1
            let area = PlotArea(left: origin.x + 40, top: origin.y + 22, width: 250, height: plotHeight,
                                xDomain: -span...span, yDomain: 0...1, nice: true)
            canvas.text(panel.title, at: Point(area.left + area.width / 2, origin.y + 14), size: 12, anchor: .middle, bold: true)
            canvas.xAxis(area, label: "loading W_{k,i}")
            canvas.line(from: Point(area.x.map(0), area.top), to: Point(area.x.map(0), area.top + area.height), stroke: "#444444")
            for (k, weights) in panel.loadings.enumerated() {
                let squares = weights.map { $0 * $0 }, total = squares.reduce(0, +)
                let spread = total > 0 && weights.count > 1
                    ? (1 - (squares.max() ?? 0) / total) / (1 - 1 / Double(weights.count)) : 0
                let top = area.top + row * Double(k) + row * 0.1
                if row >= 9 { canvas.text("\(k)", at: Point(area.left - 4, top + row * 0.4 + 3.5), size: 9, anchor: .end) }
                var (right, left) = (0.0, 0.0)
                // Over 24 features: the neuron's 12 largest loadings each get a segment, the rest one grey segment per side.
                let kept = weights.count <= 24 ? Set(weights.indices)
                    : Set(weights.indices.sorted { abs(weights[$0]) != abs(weights[$1]) ? abs(weights[$0]) > abs(weights[$1]) : $0 < $1 }.prefix(12))
                for (i, w) in weights.enumerated() where w != 0 && w.isFinite && kept.contains(i) {
                    let start = w > 0 ? right : left
                    if w > 0 { right += w } else { left += w }
                    let fill = colouring == .byFeature ? ColorMap.category(i).hex : ColorMap.viridis.hex(at: spread)
                    canvas.horizontalBar(area, from: start, to: start + w, top: top, height: row * 0.8, fill: fill,
                                         title: "neuron \(k), feature \(i): \(SVG.number(w, decimals: 4))"
                                             + (colouring == .polysemanticity ? ", polysemanticity \(SVG.number(spread, decimals: 3))" : ""))
                }
                let rest = weights.indices.filter { !kept.contains($0) && weights[$0].isFinite }
                for positive in [true, false] {
                    let sum = rest.map { weights[$0] }.filter { positive ? $0 > 0 : $0 < 0 }.reduce(0, +)
                    guard sum != 0 else { continue }
                    let start = positive ? right : left
                    canvas.horizontalBar(area, from: start, to: start + sum, top: top, height: row * 0.8, fill: "#d0d0d0",
                                         title: "neuron \(k), \(rest.count) smaller loadings together: \(SVG.number(sum, decimals: 4))")
                    if positive { right += sum } else { left += sum }
                }
            }
        }
        let side = Point(grid.width, 56)
        if colouring == .byFeature {
            canvas.legend(at: side, entries: (0..<legendRows).map { LegendEntry(label: "feature \($0)", color: ColorMap.category($0).hex) })
            if features > legendRows { canvas.text("… \(features) features", at: Point(side.x, side.y + 16 * Double(legendRows) + 9), size: 10) }
        } else {
            canvas.colorBar(at: Point(grid.gap + 40, grid.height + 16), width: 180, map: .viridis,
                            lowLabel: "monosemantic", highLabel: "spread evenly", caption: "polysemanticity")
        }
        return Figure(canvas)
    }
}
