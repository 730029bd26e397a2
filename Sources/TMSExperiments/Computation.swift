import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// Computation in superposition with the absolute-value model (Elhage et al. 2022, §"Computation in
/// Superposition", the `abs` model h = ReLU(W₁x), x′ = ReLU(W₂h + b), target |x|, x_i ∈ U[−1, 1]).
///
/// Parts, all with the `reference` initialisation (PyTorch's kaiming_uniform_ fans, σ = √(2/(m·n));
/// docs/models.md#initialisation), under which the published neuron pictures appear (with `xavier` the 100→40
/// model at 1 − S = 0.1 ends with 20 of 40 neurons polysemantic and a 28× higher loss; with `reference`, 6):
/// - `n3-m6`: 3 features, 6 neurons, dense, I = 1: each feature gets a ReLU(x) and a ReLU(−x) neuron;
/// - `n100-m40`: I_i = 0.8^i, 1 − S ∈ {1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001}: monosemantic when dense,
///   increasingly polysemantic as features get sparser;
/// - `n20-m10` at p = 0.5 and `n10-m10` at p = 0.35, I = 1: where the asymmetric motif is looked for.
public struct ComputationExperiment: Experiment {
    public init() {}
    public let name = "computation"
    public let reproduces = "§\"Computation in Superposition\": the abs model; ReLU(x)/ReLU(−x) pairs, polysemanticity growing with sparsity, the asymmetric motif (init: reference)"
    public let measuredRuntime = "33 s"
    public let mainFigure: String? = "n100-m40-neurons.svg"
    public let outputs = "W₁/W₂ neuron bars per part and sparsity, polysemantic-neuron table, motifs found, loss curves"

    static let densities: [Float] = [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001]

    func config(_ part: String, _ options: ExperimentOptions) -> TrainingConfig {
        let steps = options.steps(full: 10_000, quick: 3_000)
        var c: TrainingConfig
        switch part {
        case "n3-m6":
            c = .standard(model: .abs, featureCount: 3, hiddenCount: 6, featureProbabilities: [1], steps: steps,
                          bestOf: 3, seed: options.seed)
        case "n100-m40":
            c = .standard(model: .abs, featureCount: 100, hiddenCount: 40, featureProbabilities: Self.densities,
                          importanceDecay: 0.8, steps: options.steps(full: 10_000, quick: 10_000),
                          bestOf: options.quick ? 1 : 2, seed: options.seed)
        case "n20-m10":
            c = .standard(model: .abs, featureCount: 20, hiddenCount: 10, featureProbabilities: [0.5], steps: steps,
                          bestOf: options.quick ? 4 : 8, seed: options.seed)
        default:
            c = .standard(model: .abs, featureCount: 10, hiddenCount: 10, featureProbabilities: [0.35], steps: steps,
                          bestOf: options.quick ? 4 : 8, seed: options.seed)
        }
        c.initialisation = .reference
        return c
    }

    static let partNames = ["n3-m6", "n100-m40", "n20-m10", "n10-m10"]

    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        Self.partNames.map { ($0, config($0, options)) }
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        ExperimentData(parts: try trainParts(options, progress: progress))
    }

    static func matrices(_ run: TrainedRun, _ k: Int) -> (W1: Matrix, W2: Matrix) {
        (run.weights.weightMatrix(instance: k), run.weights.outputMatrix(instance: k)!)
    }

    static func bars(_ run: TrainedRun, _ k: Int, title: String, colouring: NeuronColouring) -> Figure {
        let (W1, W2) = matrices(run, k)
        return Figures.neuronStackedBarsPairFigure(title: title, w1: (0..<W1.rowCount).map { Plots.doubles(W1.row($0)) },
                                                   w2: (0..<W2.rowCount).map { Plots.doubles(W2.row($0)) }, colouring: colouring)
    }

    static func motifText(_ motifs: [AsymmetricMotif]) -> String {
        motifs.isEmpty ? "none" : motifs.prefix(4).map {
            "neuron \($0.neuron): strong \($0.strong) / weak \($0.weak) (W₁ ratio \(fmt($0.inputRatio, 1)), W₂ ratio \(fmt($0.outputRatio, 1))), inhibitor \($0.inhibitor)"
        }.joined(separator: "; ") + (motifs.count > 4 ? "; … (\(motifs.count) in all)" : "")
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        var checks: [Check] = [], figures: [ReportFigure] = []

        // 3→6: a ReLU(x)/ReLU(−x) pair per feature.
        let small = try data.part("n3-m6")
        let (s1, s2) = Self.matrices(small, 0)
        let pairs = absNeuronPairs(W1: s1, W2: s2)
        checks.append(Check(
            claim: "3→6: each feature gets a ReLU(x) and a ReLU(−x) neuron",
            expected: "for every feature two monosemantic neurons (≥ 0.9 of Σ W₁²) with opposite W₁ signs and W₂ > 0",
            measured: pairs.enumerated().map { i, p in p.map { "feature \(i): +\($0.positiveNeuron)/−\($0.negativeNeuron)" } ?? "feature \(i): none" }
                .joined(separator: "; "),
            passed: pairs.allSatisfy { $0 != nil }))
        figures.append(ReportFigure(heading: "3 features, 6 neurons", html: Self.bars(small, 0, title: "abs 3→6, W₁ and W₂ᵀ by neuron", colouring: .byFeature).render(),
                                    caption: "Stacked loadings per neuron, one colour per feature: each feature has one neuron with positive and one with negative input weight.",
                                    file: "n3-m6-neurons.svg"))

        // 100→40 across sparsity.
        let sweep = try data.part("n100-m40")
        let p = sweep.config.featureProbability.map { Double($0[0]) }
        let poly = (0..<sweep.config.instanceCount).map { polysemanticFraction(of: sweep.weights.weightMatrix(instance: $0)) }
        let motifsBySparsity = (0..<sweep.config.instanceCount).map { k -> [AsymmetricMotif] in
            let (W1, W2) = Self.matrices(sweep, k); return asymmetricMotifs(W1: W1, W2: W2)
        }
        let rows = p.indices.map { k in
            "<tr><td>\(fmt(p[k], 4))</td><td>\(poly[k].polysemantic) / \(poly[k].live)</td><td>\(fmt(poly[k].fraction, 2))</td><td>\(fmt(Double(sweep.metrics.finalLoss[k]), 4))</td><td>\(motifsBySparsity[k].count)</td></tr>"
        }.joined()
        figures.append(ReportFigure(heading: "Polysemantic neurons across sparsity (100 → 40)",
                                    html: "<table><tr><th>1 − S</th><th>polysemantic / live neurons</th><th>fraction</th><th>loss</th><th>asymmetric motifs</th></tr>\(rows)</table>",
                                    caption: "A neuron is polysemantic when its largest W₁ loading carries less than 0.9 of Σ_i W₁[j, i]²; dead neurons are left out."))
        figures.append(ReportFigure(heading: "Neurons across sparsity (100 → 40, I_i = 0.8^i)",
                                    html: Figure.stacked((0..<sweep.config.instanceCount).map {
                                        Self.bars(sweep, $0, title: "abs 100→40, \(Plots.instanceTitle(sweep, $0))", colouring: .polysemanticity)
                                    }).render(),
                                    caption: "W₁ and W₂ᵀ stacked per neuron, each neuron coloured by its polysemanticity (dark: monosemantic).",
                                    file: "n100-m40-neurons.svg"))
        let table = p.indices.map { "1 − S = \(fmt(p[$0], 4)): \(poly[$0].polysemantic)/\(poly[$0].live)" }.joined(separator: "; ")
        let dense = p.indices.filter { p[$0] >= 0.3 }
        checks.append(Check(
            claim: "100→40: all neurons monosemantic at 1 − S = 1 and 0.3",
            expected: "no live neuron with monosemanticity < 0.9 at 1 − S ≥ 0.3",
            measured: dense.map { "1 − S = \(fmt(p[$0], 4)): \(poly[$0].polysemantic)/\(poly[$0].live) polysemantic" }.joined(separator: "; "),
            passed: !dense.isEmpty && dense.allSatisfy { poly[$0].polysemantic == 0 && poly[$0].live > 0 }))
        let sparsest = p.indices.min { p[$0] < p[$1] }!
        checks.append(Check(
            claim: "100→40: all neurons polysemantic at 1 − S = \(fmt(p[sparsest], 4))",
            expected: "every live neuron has monosemanticity < 0.9",
            measured: "\(poly[sparsest].polysemantic)/\(poly[sparsest].live) polysemantic",
            passed: p[sparsest] <= 0.0011 && poly[sparsest].live > 0 && poly[sparsest].polysemantic == poly[sparsest].live))
        let order = p.indices.sorted { p[$0] > p[$1] }
        let fractions = order.map { poly[$0].fraction }
        let slack = 1.0 / Double(sweep.config.hiddenCount)
        let grows = zip(fractions, fractions.dropFirst()).allSatisfy { $1 >= $0 - slack - 1e-12 } && fractions.last! > fractions.first!
        checks.append(Check(
            claim: "100→40: the fraction of polysemantic neurons grows with sparsity",
            expected: "non-decreasing from dense to sparse (a dip of at most one neuron, 1/m, allowed), sparsest > densest",
            measured: table, passed: grows))

        // The asymmetric motif, wherever it is found.
        let others = try ["n20-m10", "n10-m10"].map { name -> (String, TrainedRun, [AsymmetricMotif]) in
            let run = try data.part(name); let (W1, W2) = Self.matrices(run, 0)
            return (name, run, asymmetricMotifs(W1: W1, W2: W2))
        }
        var found: [String] = []
        for (k, motifs) in motifsBySparsity.enumerated() where !motifs.isEmpty {
            found.append("100→40 at 1 − S = \(fmt(p[k], 4)): \(Self.motifText(motifs))")
        }
        for (name, _, motifs) in others where !motifs.isEmpty { found.append("\(name): \(Self.motifText(motifs))") }
        checks.append(Check(
            claim: "The asymmetric motif (W₁ like [2, −½], W₂ like [½, 2], plus an inhibiting neuron) appears",
            expected: "asymmetricMotifs finds at least one (ratios ≥ 2 both ways, gains ≥ 0.25, an inhibitor cancelling ≥ ¼ of the interference) in some part",
            measured: found.isEmpty ? "none found in any part" : found.joined(separator: " | "),
            passed: !found.isEmpty))
        for (name, run, motifs) in others {
            let c = run.config
            figures.append(ReportFigure(
                heading: "\(c.featureCount) features, \(c.hiddenCount) neurons, p = \(fmt(Double(c.featureProbability[0][0]), 3))",
                html: Self.bars(run, 0, title: "abs \(c.featureCount)→\(c.hiddenCount), \(Plots.instanceTitle(run, 0))", colouring: .byFeature).render(),
                caption: "One colour per feature. Asymmetric motifs: \(Self.motifText(motifs)).", file: "\(name)-neurons.svg"))
        }
        figures.append(ReportFigure(heading: "Loss curves (100 → 40)", html: Plots.lossCurves(sweep), file: "loss-curves.svg"))
        return ExperimentAnalysis(figures: figures, checks: checks,
                                  summary: [("initialisation", "reference (PyTorch fans)"),
                                            ("polysemantic neurons (100→40)", table)])
    }
}
