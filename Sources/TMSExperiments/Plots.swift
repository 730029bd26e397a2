import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// Figures of trained runs: adapters from runs and analysis values to `TMSRender.Figures`. Every title and
/// legend is generated from the run's config.
enum Plots {
    static func doubles(_ xs: [Float]) -> [Double] { xs.map(Double.init) }

    /// Per-instance title: "1 − S = p" when all features share one density.
    static func instanceTitle(_ run: TrainedRun, _ k: Int) -> String {
        let p = run.config.featureProbability[k]
        return p.allSatisfy({ $0 == p[0] }) ? densityTitle(p[0]) : "instance \(k)"
    }

    /// 2-D feature diagrams, one panel per instance (for m = 2 models).
    static func featureDiagrams(_ run: TrainedRun, instances: [Int], titles: [String]? = nil) -> String {
        let panels = instances.enumerated().map { (j, k) -> FeatureDiagramPanel in
            let W = run.weights.weightMatrix(instance: k)
            return FeatureDiagramPanel(title: titles?[j] ?? instanceTitle(run, k),
                                       directions: (0..<W.columnCount).map { doubles(W.column($0)) },
                                       importance: doubles(run.config.importance[k]))
        }
        return Figures.featureDiagram2D(panels: panels, columns: min(5, panels.count))
    }

    /// WᵀW heatmap and norm bars for each listed instance, stacked vertically into one SVG document.
    static func gramGrid(_ run: TrainedRun, instances: [Int], title: String) -> String {
        Figure.stacked(instances.map { k -> Figure in
            let W = run.weights.weightMatrix(instance: k)
            return Figures.gramAndNormsFigure(gram: gramMatrix(of: W), norms: featureNorms(of: W),
                                              superposition: superpositionColourValue(of: W), hiddenCount: W.rowCount,
                                              title: "\(title), \(instanceTitle(run, k))")
        }).render()
    }

    /// Loss curves per instance (log y).
    static func lossCurves(_ run: TrainedRun) -> String {
        let steps = run.metrics.lossCurve.steps.map(Double.init)
        let series = run.metrics.lossCurve.values.enumerated().map {
            Series(label: instanceTitle(run, $0.offset), steps: steps, values: doubles($0.element))
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
            panels: [PhaseDiagramPanel(title: "learned (lowest loss)", xValues: r, yValues: p, phases: learned, boundaries: lines),
                     PhaseDiagramPanel(title: "theory (closed form)", xValues: r, yValues: p, phases: theory, boundaries: lines)],
            phaseNames: FeaturePhase.allCases.map(\.label), xLabel: "relative importance r", yLabel: "feature density 1 − S")
    }

    /// D* and per-feature dimensionality against 1/(1 − S).
    static func dimensionality(_ run: TrainedRun, title: String) -> String {
        let K = run.config.instanceCount
        return Figures.dimensionalityPlot(title: title,
                                          sparsityAxisValues: (0..<K).map { 1 / Double(run.config.featureProbability[$0][0]) },
                                          dimensionsPerFeature: run.metrics.instances.map(\.dimensionsPerFeature),
                                          featureDimensionality: run.metrics.instances.map(\.featureDimensionality))
    }

    /// The feature geometry graph of one instance.
    static func geometryGraph(_ run: TrainedRun, instance k: Int) -> String {
        let W = run.weights.weightMatrix(instance: k)
        let g = featureGeometry(of: W)
        return Figures.featureGeometryGraph(title: "Feature geometry, \(instanceTitle(run, k))", edgeWeights: g.edgeWeights,
                                            norms: featureNorms(of: W), groups: g.groupOfFeature, threshold: 0.1)
    }

    /// Neuron plots for a privileged-basis model: W by neuron, and stacked loadings (W₁ and W₂ for `abs`).
    static func neuronPlots(_ run: TrainedRun, instance k: Int) -> String {
        let W = run.weights.weightMatrix(instance: k)
        let rows = (0..<W.rowCount).map { doubles(W.row($0)) }
        let title = instanceTitle(run, k)
        let heatmap = Figures.neuronHeatmapFigure(title: "W by neuron, \(title)", weights: rows)
        let bars: Figure
        if let W2 = run.weights.outputMatrix(instance: k) {
            bars = Figures.neuronStackedBarsPairFigure(title: "Neuron loadings, \(title)", w1: rows,
                                                       w2: (0..<W2.rowCount).map { doubles(W2.row($0)) })
        } else {
            bars = Figures.neuronStackedBarsFigure(title: "Neuron loadings, \(title)",
                                                   panels: [NeuronBarsPanel(title: "", loadings: rows)], colouring: .polysemanticity)
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
