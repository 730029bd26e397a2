import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// The figures and report page of a plain training run (`tms train`, `tms report DIR`).
public enum RunReport {
    /// Figures for `run`: feature diagrams (m = 2), WᵀW and norms, dimensionality, geometry, neurons, losses.
    static func figures(_ run: TrainedRun) -> [ReportFigure] {
        let c = run.config, K = c.instanceCount
        let shown = K <= 12 ? Array(0..<K) : (0..<12).map { $0 * (K - 1) / 11 }
        var figures: [ReportFigure] = []
        if c.hiddenCount == 2 {
            figures.append(ReportFigure(heading: "Feature directions", html: Plots.featureDiagrams(run, instances: shown),
                                        caption: "W_i of each feature, coloured by importance.", file: "feature-diagrams.svg"))
        }
        figures.append(ReportFigure(heading: "WᵀW and feature norms", html: Plots.gramGrid(run, instances: shown, title: "\(c.featureCount)→\(c.hiddenCount)"),
                                    caption: "Norm bars coloured by superposition √Σ_{j≠i}(Ŵ_i·W_j)², clipped to [0, 1].", file: "gram.svg"))
        if c.featureProbability.allSatisfy({ row in row.allSatisfy { $0 == row[0] } }) {
            figures.append(ReportFigure(heading: "Dimensionality", html: Plots.dimensionality(run, title: "D* and per-feature dimensionality"),
                                        caption: "D* = m/‖W‖_F² per instance (line) and D_i per feature (dots).", file: "dimensionality.svg"))
        }
        let sparsest = (0..<K).min { c.featureProbability[$0].reduce(0, +) < c.featureProbability[$1].reduce(0, +) }!
        figures.append(ReportFigure(heading: "Feature geometry", html: Plots.geometryGraph(run, instance: sparsest),
                                    caption: "Represented features joined where |Ŵ_i·W_j| > 0.1.", file: "geometry.svg"))
        if c.model.hasHiddenReLU {
            figures.append(ReportFigure(heading: "Neurons", html: Plots.neuronPlots(run, heatmapInstance: sparsest, instances: shown),
                                        caption: "Loadings of each neuron on each feature: the heatmap of the sparsest instance, then stacked bars of "
                                            + (shown.count == K ? "every instance" : "\(shown.count) of the \(K) instances, evenly spaced")
                                            + (c.model == .abs ? " (W₁ and W₂ᵀ side by side)." : "."),
                                        file: "neurons.svg"))
        }
        figures.append(ReportFigure(heading: "Loss curves", html: Plots.lossCurves(run), file: "loss-curves.svg"))
        return figures
    }

    /// `figures/*.svg` and `report.html` for a run folder.
    public static func files(_ run: TrainedRun) -> [String: Foundation.Data] {
        let c = run.config
        let figures = figures(run)
        var files: [String: Foundation.Data] = [:]
        for figure in figures { if let file = figure.file { files["figures/\(file)"] = Foundation.Data(figure.html.utf8) } }
        let summary: [(String, String)] = [
            ("model", "\(c.model.rawValue), \(c.featureCount) features → \(c.hiddenCount) hidden"),
            ("instances", "\(c.instanceCount)\(c.bestOf > 1 ? " (best of \(c.bestOf) seeds each)" : "")"),
            ("distribution", c.distribution.rawValue + (c.correlatedSetSize.map { ", sets of \($0)" } ?? "")),
            ("training", "\(c.steps) steps, batch \(c.batchSize), \(c.optimizer.rawValue) lr \(fmt(c.learningRate, 6)) (\(c.schedule.rawValue)), weight decay \(fmt(c.weightDecay, 6))"
                + (c.l1Penalty > 0 ? ", L1 penalty \(fmt(c.l1Penalty, 6))" : "")
                + (c.initialisation != .xavier || c.initScale != 1 ? ", init \(c.initialisation.rawValue)\(c.initScale != 1 ? " × \(fmt(c.initScale, 6))" : "")" : "")),
            ("seed", String(c.seed)), ("tool", "tms \(tmsVersion)"),
            ("final loss", run.metrics.finalLoss.map { fmt(Double($0), 5) }.joined(separator: ", ")),
        ]
        let links = [("config.json", "config.json"), ("weights.safetensors", "weights.safetensors"), ("metrics.json", "metrics.json")]
            + figures.compactMap { $0.file.map { ("figures/\($0)", "figures/\($0)") } }
        files["report.html"] = Foundation.Data(ReportPage.html(
            title: "tms train: \(c.model.rawValue) \(c.featureCount)→\(c.hiddenCount)", subtitle: "Toy models of superposition",
            summary: summary, figures: figures, checks: nil, links: links).utf8)
        return files
    }

    /// Loads a run folder (weights, config, metrics) and rewrites its figures and report.
    public static func rebuild(_ folder: URL) throws {
        let run = try TrainedRun.load(from: folder)
        for (path, bytes) in files(run) { try RunFolder.replaceFile(path, in: folder, with: bytes) }
    }
}
