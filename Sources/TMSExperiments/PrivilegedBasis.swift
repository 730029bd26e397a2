import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// The privileged basis (Elhage et al. 2022, §"Superposition in a Privileged Basis"): the `relu-hidden`
/// model h = ReLU(W x), x′ = ReLU(Wᵀh + b), n = 10 features in m = 5 neurons, I_i = 0.75^i, across
/// sparsity, lowest loss of several seeds. Initialisation: `xavier` (the tied models agree with the
/// reference runs under it; docs/models.md#initialisation).
///
/// Expected: dense, every neuron monosemantic (the top 5 features get a neuron each); as features get
/// sparser, neurons turn polysemantic; at 1 − S ≤ 0.04 every feature is carried by a pair of neurons
/// (C(5, 2) = 10 pairs for 10 features).
public struct PrivilegedBasisExperiment: Experiment {
    public init() {}
    public let name = "privileged-basis"
    public let reproduces = "§\"Superposition in a Privileged Basis\": relu-hidden 10→5 neurons across sparsity, monosemantic when dense, feature pairs when sparse (init: xavier)"
    public let measuredRuntime = "9 s"
    public let mainFigure: String? = "neurons.svg"
    public let outputs = "W heatmaps and stacked neuron bars (one colour per feature) per sparsity, monosemantic-neuron counts, loss curves"

    static let densities: [Float] = [1, 0.7, 0.5, 0.3, 0.2, 0.1, 0.07, 0.04, 0.03]

    func config(_ options: ExperimentOptions) -> TrainingConfig {
        .standard(model: .reluHidden, featureCount: 10, hiddenCount: 5, featureProbabilities: Self.densities,
                  importanceDecay: 0.75, steps: options.steps(full: 10_000, quick: 10_000),
                  bestOf: options.quick ? 4 : 8, seed: options.seed)
    }

    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("model", config(options))]
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let result = try Trainer(config: config(options), threads: options.threads).train { progress("model", $0) }
        return ExperimentData(parts: [("model", TrainedRun(result: result, experiment: name))])
    }

    /// W⁺ = max(W, 0): the weights through which a feature x_i ≥ 0 makes a neuron fire.
    static func excitatory(_ W: Matrix) -> Matrix {
        Matrix(rowCount: W.rowCount, columnCount: W.columnCount, values: W.values.map { max(0, $0) })
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let run = try data.part("model"), K = run.config.instanceCount
        let p = run.config.featureProbability.map { Double($0[0]) }
        let W = (0..<K).map { run.weights.weightMatrix(instance: $0) }
        let summaries = W.map { neuronSummary(of: $0) }
        let live = summaries.map { $0.dominantFeature.compactMap { $0 }.count }
        var checks: [Check] = []

        let dense = p.indices.filter { p[$0] >= 0.5 }
        checks.append(Check(
            claim: "Every neuron is monosemantic for 1 − S ≥ 0.5",
            expected: "every neuron live and monosemantic (one feature carries ≥ 0.9 of Σ_i W_{k,i}²)",
            measured: dense.map { "1 − S = \(fmt(p[$0], 3)): \(summaries[$0].monosemanticCount)/\(W[$0].rowCount) monosemantic" }.joined(separator: "; "),
            passed: !dense.isEmpty && dense.allSatisfy { summaries[$0].monosemanticCount == W[$0].rowCount }))

        // A feature is carried by the neurons it excites: with inputs x ≥ 0 a negative W_{k,i} never makes
        // neuron k fire on feature i, it only inhibits k when i is present. So the carriers are read from the
        // excitatory part W⁺ = max(W, 0); counting the inhibitory weights' squares as well finds 3–5 "carriers"
        // for features whose positive weights sit on exactly two neurons (docs/experiments.md#privileged-basis).
        let sparse = p.indices.filter { p[$0] <= 0.04 }
        var pairsOK = !sparse.isEmpty, pairText: [String] = []
        for k in sparse {
            let excitatory = Self.excitatory(W[k])
            let norms = featureNorms(of: excitatory)
            let carriers = (0..<W[k].columnCount).map { carryingNeurons(of: excitatory, feature: $0) }
            let withInhibition = (0..<W[k].columnCount).map { carryingNeurons(of: W[k], feature: $0).count }
            let distinct = Set(carriers.map { $0.sorted() }).count
            let ok = carriers.allSatisfy { $0.count == 2 } && norms.allSatisfy { $0 > 0.5 }
            pairsOK = pairsOK && ok
            pairText.append("1 − S = \(fmt(p[k], 3)): neurons per feature \(carriers.map { String($0.count) }.joined(separator: ",")) (counting inhibitory weights too: \(withInhibition.map(String.init).joined(separator: ","))), \(distinct) distinct sets, ‖W_i⁺‖ \(norms.map { fmt($0, 2) }.joined(separator: ","))")
        }
        checks.append(Check(
            claim: "Every feature is carried by a pair of neurons at 1 − S ≤ 0.04",
            expected: "each feature represented (‖W_i⁺‖ > 0.5, W⁺ = max(W, 0), the weights that make a neuron fire) and exactly 2 neurons carry ≥ 0.9 of ‖W_i⁺‖²",
            measured: pairText.joined(separator: "; "), passed: pairsOK))

        let rows = p.indices.map { k in
            "<tr><td>\(fmt(p[k], 3))</td><td>\(summaries[k].monosemanticCount)</td><td>\(live[k])</td><td>\(featureNorms(of: W[k]).filter { $0 > 0.5 }.count)</td><td>\(fmt(Double(run.metrics.finalLoss[k]), 4))</td></tr>"
        }.joined()
        var figures = [ReportFigure(
            heading: "Monosemantic neurons per sparsity",
            html: "<table><tr><th>1 − S</th><th>monosemantic neurons</th><th>live neurons</th><th>represented features</th><th>loss</th></tr>\(rows)</table>",
            caption: "A neuron is monosemantic when one feature carries ≥ 0.9 of Σ_i W_{k,i}²; represented means ‖W_i‖ > 0.5.")]
        figures.append(ReportFigure(
            heading: "Neurons across sparsity",
            html: Figure.stacked((0..<K).map { k -> Figure in
                let rowsK = (0..<W[k].rowCount).map { Plots.doubles(W[k].row($0)) }
                return Figure.stacked([
                    Figures.neuronHeatmapFigure(title: "W by neuron, \(Plots.instanceTitle(run, k))", weights: rowsK),
                    Figures.neuronStackedBarsFigure(title: "Neuron loadings, \(Plots.instanceTitle(run, k))",
                                                    panels: [NeuronBarsPanel(title: "", loadings: rowsK)], colouring: .byFeature),
                ], axis: .horizontal)
            }).render(),
            caption: "Left: W (rows neurons, columns features; red negative, blue positive). Right: each neuron's loadings stacked, one colour per feature. Lowest loss of \(run.config.bestOf) seeds.",
            file: "neurons.svg"))
        figures.append(ReportFigure(heading: "Loss curves", html: Plots.lossCurves(run), file: "loss-curves.svg"))
        let counts = p.indices.map { "\(fmt(p[$0], 3)): \(summaries[$0].monosemanticCount)" }.joined(separator: ", ")
        return ExperimentAnalysis(figures: figures, checks: checks, summary: [("monosemantic neurons by 1 − S", counts)])
    }
}
