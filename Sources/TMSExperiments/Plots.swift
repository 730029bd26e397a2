import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// Figures of trained runs: adapters from runs and analysis values to `TMSRender.Figures`. Every title and
/// legend is generated from the run's config.
enum Plots {
    static func doubles(_ xs: [Float]) -> [Double] { xs.map(Double.init) }

    /// Per-instance title: "1 − S = p" when all features share one density; "p_0 = a, others b" when one
    /// feature's density differs; else "instance k".
    static func instanceTitle(_ run: TrainedRun, _ k: Int) -> String {
        let p = run.config.featureProbability[k]
        if p.allSatisfy({ $0 == p[0] }) { return densityTitle(p[0]) }
        let odd = p.indices.filter { i in p.filter { $0 == p[i] }.count == 1 }
        if odd.count == 1, p.count >= 3, let rest = p.first(where: { $0 != p[odd[0]] }) {
            return "p_\(odd[0]) = \(fmt(Double(p[odd[0]]), 4)), others \(fmt(Double(rest), 4))"
        }
        return "instance \(k)"
    }

    /// 2-D feature diagrams, one panel per instance (for m = 2 models).
    static func featureDiagrams(_ run: TrainedRun, instances: [Int], titles: [String]? = nil) -> String {
        let panels = instances.enumerated().map { (j, k) -> FeatureDiagramPanel in
            let W = run.weights.weightMatrix(instance: k)
            return FeatureDiagramPanel(title: titles?[j] ?? instanceTitle(run, k),
                                       directions: (0..<W.columnCount).map { doubles(W.column($0)) },
                                       importance: doubles(run.config.importance[k]))
        }
        // A single feature whose density differs from the others' (the non-uniform experiment) is highlighted.
        let varied = Set(instances.flatMap { k -> [Int] in
            let p = run.config.featureProbability[k]
            guard p.count >= 3, let common = p.max(by: { a, b in p.filter { $0 == a }.count < p.filter { $0 == b }.count }) else { return [] }
            return p.indices.filter { p[$0] != common }
        })
        return Figures.featureDiagram2D(panels: panels, columns: min(5, panels.count), highlighted: varied.count == 1 ? varied.first : nil)
    }

    /// Most features drawn in one WᵀW heatmap; larger models show their represented features with the
    /// largest norms (and histograms of all features), so figures stay small at 10,000 features.
    static let gramFeatureLimit = 560

    /// WᵀW heatmap and norm bars for each listed instance: the sweep's columns (``gramColumns(_:instances:title:)``)
    /// up to ``gramFeatureLimit`` features; above it, per instance, the top 400 features by norm (represented
    /// first) and histograms of every feature's norm and interference, stacked vertically into one SVG document.
    static func gramGrid(_ run: TrainedRun, instances: [Int], title: String) -> String {
        if run.config.featureCount <= gramFeatureLimit { return gramColumns(run, instances: instances, title: title) }
        return Figure.stacked(instances.flatMap { k -> [Figure] in
            let W = run.weights.weightMatrix(instance: k)
            let analysis = run.metrics.instances[k]
            let superposition = analysis.interference.map { min(1, max(0, $0.squareRoot())) }
            guard W.columnCount > gramFeatureLimit else {
                return [Figures.gramAndNormsFigure(gram: gramMatrix(of: W), norms: analysis.featureNorms, superposition: superposition,
                                             hiddenCount: W.rowCount, title: "\(title), \(instanceTitle(run, k))")]
            }
            let top = Array(analysis.featureNorms.indices.sorted { analysis.featureNorms[$0] > analysis.featureNorms[$1] }.prefix(400))
            var sub = Matrix(rowCount: W.rowCount, columnCount: top.count)
            for r in 0..<W.rowCount { for (c, i) in top.enumerated() { sub[r, c] = W[r, i] } }
            let gram = Figures.gramAndNormsFigure(gram: gramMatrix(of: sub), norms: top.map { analysis.featureNorms[$0] },
                                            superposition: top.map { superposition[$0] }, hiddenCount: W.rowCount,
                                            title: "\(title), \(instanceTitle(run, k)): the \(top.count) largest ‖W_i‖ of \(W.columnCount)",
                                            featureIDs: top)
            let histograms = Figures.featureHistogramsFigure(title: "All \(W.columnCount) features, \(instanceTitle(run, k))",
                                                       norms: analysis.featureNorms, interference: analysis.interference)
            return [gram, histograms]
        }).render()
    }

    /// The sweep layout: one column per instance, WᵀW over norm bars, shared colour bars (for up to
    /// ``gramFeatureLimit`` features; ``gramGrid(_:instances:title:)`` chooses).
    static func gramColumns(_ run: TrainedRun, instances: [Int], title: String) -> String {
        let titles = instances.map { instanceTitle(run, $0) }
        let panels = instances.enumerated().map { (j, k) -> GramPanel in
            let analysis = run.metrics.instances[k]
            let title = titles.filter { $0 == titles[j] }.count > 1 ? "\(titles[j]), instance \(k)" : titles[j]
            return GramPanel(title: title, gram: gramMatrix(of: run.weights.weightMatrix(instance: k)),
                             norms: analysis.featureNorms, superposition: analysis.interference.map { min(1, max(0, $0.squareRoot())) })
        }
        return Figures.gramColumns(title: title, panels: panels, hiddenCount: run.config.hiddenCount)
    }

    /// Loss curves per instance (log y).
    static func lossCurves(_ run: TrainedRun) -> String {
        let steps = run.metrics.lossCurve.steps.map(Double.init)
        // Legends name instances by their density; repeated densities (several seeds) also by instance number.
        let titles = run.metrics.lossCurve.values.indices.map { instanceTitle(run, $0) }
        let series = run.metrics.lossCurve.values.enumerated().map { (k, values) in
            let title = titles[k]
            return Series(label: titles.filter { $0 == title }.count > 1 ? "\(title), instance \(k)" : title,
                          steps: steps, values: doubles(values))
        }
        return Figures.lossCurves(title: "Batch loss, \(run.config.model.rawValue) \(run.config.featureCount)→\(run.config.hiddenCount)",
                                  series: series)
    }

    /// A line chart of several series over one x.
    static func lineChart(title: String, xLabel: String, yLabel: String, x: [Double], series: [(String, [Double])],
                          logX: Bool, logY: Bool, dashed: Set<String> = []) -> String {
        Figures.lossCurves(title: title, series: series.map { Series(label: $0.0, steps: x, values: $0.1, dashed: dashed.contains($0.0)) },
                           logY: logY, logX: logX, xLabel: xLabel, yLabel: yLabel)
    }

    /// The training animation of one instance of a 2-D model.
    static func animation(_ snapshots: [WeightSnapshot], run: TrainedRun, instance k: Int) -> String {
        let frames = snapshots.map { s -> AnimationFrame in
            let W = s.weights.weightMatrix(instance: k)
            return AnimationFrame(step: s.step, directions: (0..<W.columnCount).map { doubles(W.column($0)) })
        }
        return Figures.trainingAnimation2D(title: "Training, \(instanceTitle(run, k))", frames: frames,
                                           importance: doubles(run.config.importance[k]), id: "anim-\(k)")
    }

    /// Learned and theoretical phase diagrams side by side.
    static func phaseDiagrams(title: String, r: [Double], p: [Double], learned: [[Int]], theory: [[Int]],
                              boundaries: [[(x: Double, y: Double)]]) -> String {
        let lines = boundaries.map { $0.map { Point(x: $0.x, y: $0.y) } }
        return Figures.phaseDiagram(
            title: "Phase of the extra feature, \(title)",
            panels: [PhaseDiagramPanel(title: "learned (lowest loss)", xValues: r, yValues: p, phases: learned, boundaries: lines,
                                       marked: zip(learned, theory).map { zip($0, $1).map { $0 != $1 } }),
                     PhaseDiagramPanel(title: "theory (closed form)", xValues: r, yValues: p, phases: theory, boundaries: lines)],
            phaseNames: FeaturePhase.allCases.map(\.label), xLabel: "relative importance r", yLabel: "feature density 1 − S")
    }

    /// D* and per-feature dimensionality against 1/(1 − S).
    static func dimensionality(_ run: TrainedRun, title: String) -> String {
        let K = run.config.instanceCount
        return Figures.dimensionalityPlot(title: title,
                                          sparsityAxisValues: (0..<K).map { 1 / Double(run.config.featureProbability[$0][0]) },
                                          dimensionsPerFeature: run.metrics.instances.map(\.dimensionsPerFeature),
                                          featureDimensionality: run.metrics.instances.map(\.featureDimensionality),
                                          featureNorms: run.metrics.instances.map(\.featureNorms),
                                          note: run.config.model.hasHiddenReLU
                                              ? "hidden ReLU: features with ‖W_i‖ > 1 make ‖W‖_F² > n, so D* can fall below m/n = \(fmt(Double(run.config.hiddenCount) / Double(run.config.featureCount), 3))"
                                              : nil)
    }

    /// The feature geometry graph of one instance.
    static func geometryGraph(_ run: TrainedRun, instance k: Int) -> String {
        var W = run.weights.weightMatrix(instance: k)
        var title = "Feature geometry, \(instanceTitle(run, k))"
        if W.columnCount > gramFeatureLimit {
            // The graph is quadratic in n: draw the 400 features of largest norm.
            let norms = run.metrics.instances[k].featureNorms
            let top = Array(norms.indices.sorted { norms[$0] > norms[$1] }.prefix(400)).sorted()
            var sub = Matrix(rowCount: W.rowCount, columnCount: top.count)
            for r in 0..<W.rowCount { for (c, i) in top.enumerated() { sub[r, c] = W[r, i] } }
            W = sub
            title += " (the \(top.count) largest ‖W_i‖ of \(norms.count) features)"
        }
        let g = featureGeometry(of: W)
        return Figures.featureGeometryGraph(title: title, edgeWeights: g.edgeWeights,
                                            norms: featureNorms(of: W), groups: g.groupOfFeature, threshold: 0.1)
    }

    /// Neuron plots for a privileged-basis model: W by neuron, and stacked loadings (W₁ and W₂ for `abs`).
    static func neuronPlots(_ run: TrainedRun, instance k: Int) -> String {
        let W = run.weights.weightMatrix(instance: k)
        let rows = (0..<W.rowCount).map { doubles(W.row($0)) }
        let title = instanceTitle(run, k)
        let norms = run.metrics.instances[k].featureNorms
        let heatmap = W.columnCount > gramFeatureLimit
            ? Figures.neuronHeatmapFigure(title: "W by neuron, \(title), the 400 largest ‖W_i‖ of \(W.columnCount) features",
                                    weights: { let top = Array(norms.indices.sorted { norms[$0] > norms[$1] }.prefix(400)).sorted()
                                               return rows.map { row in top.map { row[$0] } } }())
            : Figures.neuronHeatmapFigure(title: "W by neuron, \(title)", weights: rows)
        let bars: Figure
        if let W2 = run.weights.outputMatrix(instance: k) {
            bars = Figures.neuronStackedBarsPairFigure(title: "Neuron loadings, \(title)", w1: rows,
                                                       w2: (0..<W2.rowCount).map { doubles(W2.row($0)) })
        } else {
            bars = Figures.neuronStackedBarsFigure(title: "Neuron loadings, \(title)",
                                                   panels: [NeuronBarsPanel(title: "", loadings: rows)], colouring: .byFeature)
        }
        return Figure.stacked([heatmap, bars]).render()
    }
}

/// The report page of a run folder or experiment.
enum ReportPage {
    static func html(title: String, subtitle: String, summary: [(String, String)], figures: [ReportFigure],
                     checks: [Check]?, links: [(String, String)]) -> String {
        HTMLReport(title: title, subtitle: subtitle,
                   configSummary: summary.map { ConfigEntry(key: $0.0, value: $0.1) },
                   sections: figures.map { ReportSection(heading: $0.heading, html: $0.html, caption: $0.caption) },
                   checks: checks.map { $0.map { CheckRow(claim: $0.claim, expected: $0.expected, measured: $0.measured, passed: $0.passed) } },
                   links: links.map { ReportLink(label: $0.0, href: $0.1) }).render()
    }
}
