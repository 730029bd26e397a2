/// One column of ``Figures/gramColumns(title:panels:hiddenCount:)``: one model's WᵀW and feature norms.
public struct GramPanel: Sendable, Equatable {
    /// Column title, e.g. "1 − S = 0.1".
    public var title: String
    /// n×n, `gram[i][j]` = W_i·W_j.
    public var gram: [[Double]]
    /// n values ‖W_i‖.
    public var norms: [Double]
    /// n values in [0, 1] (√ of the interference, clipped); missing entries count as 0.
    public var superposition: [Double]

    public init(title: String, gram: [[Double]], norms: [Double], superposition: [Double]) {
        self.title = title
        self.gram = gram
        self.norms = norms
        self.superposition = superposition
    }
}

extension Figures {
    /// The paper's sparsity-sweep layout (Elhage et al. 2022, §3 Figure 3): one column per model, WᵀW on
    /// top and the feature norms ‖W_i‖ as horizontal bars below it (feature 0 on top in both), with one
    /// shared colour bar for each below all columns.
    ///
    /// WᵀW: ``ColorMap/diverging(_:)`` on [−1, 1] (raster above ``SVGCanvas/rasterCellLimit`` cells). Bars:
    /// viridis(superposition), grey when ‖W_i‖ < 0.5; one bar axis 0…max(1, largest norm) shared by all
    /// columns; a dashed line under the first `hiddenCount` bars when 0 < m < n.
    public static func gramColumns(title: String, panels: [GramPanel], hiddenCount: Int) -> String {
        let n = max(panels.map { max($0.norms.count, $0.gram.count) }.max() ?? 1, 1)
        // Small models: all columns in one row of about 1100 px (the paper's layout), 100…150 px each; larger
        // ones at one pixel per feature (at most 560), so a raster heatmap stays pixel-exact.
        let side = n <= 40 ? max(100, min(150, 1080 / Double(max(panels.count, 1)) - 24)) : min(560, max(150, Double(n)))
        let columns = max(1, min(panels.count, Int(1100 / (side + 24))))
        let rows = (panels.count + columns - 1) / columns
        let (left, top, gap) = (34.0, 44.0, 24.0)
        let raster = n * n > SVGCanvas.rasterCellLimit
        let barsGap = raster ? 22.0 : 10.0  // room for the raster heatmap's read-out line
        let blockHeight = 20 + side + barsGap + side + 40
        let width = left + Double(columns) * (side + gap)
        var canvas = SVGCanvas(width: max(width, 420), height: top + Double(rows) * blockHeight + 50)
        canvas.text(title, at: Point(canvas.width / 2, 22), size: 14, anchor: .middle, bold: true)
        let largest = max(1, panels.flatMap(\.norms).filter(\.isFinite).max() ?? 0)
        let cell = side / Double(n)
        for (index, panel) in panels.enumerated() {
            let x = left + Double(index % columns) * (side + gap), y = top + Double(index / columns) * blockHeight
            canvas.text(panel.title, at: Point(x + side / 2, y + 12), size: 12, anchor: .middle, bold: true)
            canvas.matrixHeatmap(origin: Point(x, y + 20), width: side, height: side, values: panel.gram, map: .redWhiteBlue,
                                 domain: -1...1, labels: HeatmapLabels(row: "feature", column: "feature", value: "W_i·W_j"))
            let area = PlotArea(left: x, top: y + 20 + side + barsGap, width: side, height: side, xDomain: 0...largest, yDomain: 0...1, nice: true)
            canvas.rect(x: area.left, y: area.top, width: side, height: side, fill: "none", stroke: "#dddddd")
            for value in area.x.ticks(count: 3) {
                let px = area.x.map(value)
                canvas.line(from: Point(px, area.top), to: Point(px, area.top + side), stroke: "#eeeeee")
                canvas.text(area.x.label(value), at: Point(px, area.top + side + 11), size: 9, anchor: .middle)
            }
            for (i, norm) in panel.norms.enumerated() where norm.isFinite {
                let level = min(max(i < panel.superposition.count ? panel.superposition[i] : 0, 0), 1)
                let fill = norm < representedNorm ? unrepresentedColor : ColorMap.viridis.hex(at: level)
                if n <= 60 {
                    canvas.horizontalBar(area, from: 0, to: norm, top: area.top + cell * Double(i) + cell * 0.1, height: cell * 0.8,
                                         fill: fill, title: "feature \(i): ‖W_i‖ = \(SVG.number(norm, decimals: 4)), superposition = \(SVG.number(level, decimals: 3))")
                } else {
                    // Thin bars without the white outline, which would wash them out.
                    canvas.rect(x: area.x.map(0), y: area.top + cell * Double(i), width: area.x.map(norm) - area.x.map(0),
                                height: max(cell * 0.9, 0.6), fill: fill,
                                title: n <= 160 ? "feature \(i): ‖W_i‖ = \(SVG.number(norm, decimals: 4))" : nil)
                }
            }
            if hiddenCount > 0 && hiddenCount < n {
                let lineY = area.top + cell * Double(hiddenCount)
                canvas.line(from: Point(x - 3, lineY), to: Point(x + side, lineY), stroke: "#d62728", width: 1, dash: "4 3",
                            title: "first m = \(hiddenCount) features above")
            }
            if index % columns == 0 {
                canvas.text("‖W_i‖", at: Point(x - 22, area.top + side / 2), size: 10, anchor: .middle, rotation: -90)
                canvas.text("WᵀW", at: Point(x - 22, y + 20 + side / 2), size: 10, anchor: .middle, rotation: -90)
            }
        }
        let barY = top + Double(rows) * blockHeight + 12
        canvas.colorBar(at: Point(left, barY), width: 180, map: .redWhiteBlue, lowLabel: "−1", highLabel: "1", midLabel: "0",
                        caption: "W_i·W_j")
        canvas.colorBar(at: Point(left + 220, barY), width: 180, map: .viridis, lowLabel: "0", highLabel: "1",
                        caption: "superposition (grey: ‖W_i‖ < 0.5)")
        if hiddenCount > 0 && hiddenCount < n {
            canvas.line(from: Point(left + 440, barY + 5), to: Point(left + 460, barY + 5), stroke: "#d62728", dash: "4 3")
            canvas.text("m = \(hiddenCount)", at: Point(left + 464, barY + 9), size: 10, fill: "#d62728")
        }
        return canvas.render()
    }
}
