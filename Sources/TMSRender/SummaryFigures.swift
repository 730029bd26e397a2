/// Summaries for models with very many features, where one mark per feature would not be readable.
extension Figures {
    /// Histograms of the feature norms ‖W_i‖ and of the interference Σⱼ≠ᵢ(Ŵ_i·W_j)², side by side, for one
    /// model of n features (Elhage et al. 2022, §3: "represented" means ‖W_i‖ ≥ 0.5).
    ///
    /// Norms: 30 bins over 0…max(1, maxᵢ‖W_i‖), bars left of 0.5 grey (not represented), others viridis(0.35);
    /// a dashed line marks 0.5. Interference: 30 bins over 0…max(1, max), the represented features only.
    /// Counts on a linear axis; the legend states how many features are represented.
    public static func featureHistograms(title: String, norms: [Double], interference: [Double]) -> String {
        featureHistogramsFigure(title: title, norms: norms, interference: interference).render()
    }

    /// ``featureHistograms(title:norms:interference:)`` as a value, for ``Figure/stacked(_:axis:gap:)``.
    public static func featureHistogramsFigure(title: String, norms: [Double], interference: [Double]) -> Figure {
        var canvas = SVGCanvas(width: 720, height: 270)
        canvas.text(title, at: Point(360, 22), size: 14, anchor: .middle, bold: true)
        let represented = norms.indices.filter { norms[$0] >= representedNorm }
        let interferenceOfRepresented = represented.compactMap { $0 < interference.count ? interference[$0] : nil }
        drawHistogram(&canvas, values: norms, left: 70, label: "‖W_i‖", mark: representedNorm,
                      caption: "\(represented.count) of \(norms.count) features have ‖W_i‖ ≥ 0.5")
        drawHistogram(&canvas, values: interferenceOfRepresented, left: 430, label: "Σⱼ≠ᵢ(Ŵ_i·W_j)²", mark: nil,
                      caption: "interference of the \(represented.count) represented features")
        return Figure(canvas)
    }

    /// One 30-bin histogram, 250×150 px with its top-left at (left, 56).
    static func drawHistogram(_ canvas: inout SVGCanvas, values: [Double], left: Double, label: String, mark: Double?,
                              caption: String) {
        let finite = values.filter(\.isFinite)
        let upper = max(1, finite.max() ?? 0)
        let binCount = 30
        var counts = [Int](repeating: 0, count: binCount)
        for value in finite { counts[min(binCount - 1, max(0, Int(value / upper * Double(binCount))))] += 1 }
        let area = PlotArea(left: left, top: 56, width: 250, height: 150, xDomain: 0...upper,
                            yDomain: 0...Double(max(counts.max() ?? 1, 1)), nice: true)
        canvas.axes(area, xLabel: label, yLabel: "features", grid: true, minorTicks: false)
        let width = upper / Double(binCount)
        for (bin, count) in counts.enumerated() where count > 0 {
            let (x0, x1) = (area.x.map(Double(bin) * width), area.x.map(Double(bin + 1) * width))
            let y = area.y.map(Double(count))
            let grey = mark.map { Double(bin + 1) * width <= $0 + 1e-12 } ?? false
            canvas.rect(x: x0, y: y, width: x1 - x0, height: area.top + area.height - y,
                        fill: grey ? unrepresentedColor : ColorMap.viridis.hex(at: 0.35), stroke: "#ffffff", strokeWidth: 0.5,
                        title: "\(label) in [\(SVG.number(Double(bin) * width, decimals: 3)), \(SVG.number(Double(bin + 1) * width, decimals: 3))): \(count)")
        }
        if let mark {
            canvas.line(from: Point(area.x.map(mark), area.top), to: Point(area.x.map(mark), area.top + area.height),
                        stroke: "#d62728", width: 1.2, dash: "5 3", title: "‖W_i‖ = \(SVG.number(mark))")
        }
        canvas.text(caption, at: Point(left + 125, 46), size: 10, anchor: .middle, fill: "#444444")
    }
}
