import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// Many features across sparsity (Elhage et al. 2022, §3 "Superposition as a Phase Change" setup and the
/// notebook's 100→20 sweep): n = 100, m = 20, 20 instances, importance I_i = 100^(−i/(n−1)) (1 down to 0.01),
/// feature probability p = 20^(−t).
///
/// Expected (docs/experiments.md#features-across-sparsity): the number of represented features and their interference grow with sparsity.
public struct FeaturesAcrossSparsityExperiment: Experiment {
    public init() {}
    public let name = "features-across-sparsity"
    public let mainFigure: String? = "gram.svg"
    public let reproduces = "§3: 100 features in 20 dimensions, 20 sparsities (WᵀW and norm bars)"
    public let measuredRuntime = "28 s"
    public let outputs = "WᵀW and norm bars for selected sparsities, represented count and interference against sparsity"

    func config(_ options: ExperimentOptions) -> TrainingConfig {
        TrainingConfig.standard(model: .reluOutput, featureCount: 100, hiddenCount: 20,
                                featureProbabilities: TrainingConfig.geometricProbabilities(count: 20),
                                importanceDecay: Float(pow(100.0, -1.0 / 99)), steps: options.steps(full: 10_000, quick: 2_000),
                                seed: options.seed)
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let result = try Trainer(config: config(options), threads: options.threads).train { progress(name, $0) }
        return ExperimentData(parts: [("model", TrainedRun(result: result, experiment: name))])
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let run = try data.part("model")
        let K = run.config.instanceCount, m = run.config.hiddenCount
        let p = run.config.featureProbability.map { Double($0[0]) }
        let W = (0..<K).map { run.weights.weightMatrix(instance: $0) }
        let counts = W.map { Double(representedFeatureCount(of: $0)) }
        let meanInterference = W.map { w -> Double in
            let norms = featureNorms(of: w), interf = interference(of: w)
            let kept = norms.indices.filter { norms[$0] > 0.5 }
            return kept.isEmpty ? 0 : kept.reduce(0.0) { $0 + interf[$1] } / Double(kept.count)
        }
        let sparsityRank = (0..<K).map(Double.init)
        let rhoCount = spearmanRankCorrelation(sparsityRank, counts)
        let rhoInterference = spearmanRankCorrelation(sparsityRank, meanInterference)
        let checks = [
            Check(claim: "Dense (1 − S = 1): about m features represented, as a linear model would",
                  expected: "represented ≤ m + 2 = \(m + 2)", measured: "\(Int(counts[0]))", passed: counts[0] <= Double(m + 2)),
            Check(claim: "The number of represented features grows with sparsity",
                  expected: "Spearman ρ(sparsity, represented) > 0.8 and sparsest > densest + m/2",
                  measured: "ρ = \(fmt(rhoCount, 3)); \(Int(counts[0])) → \(Int(counts[K - 1]))",
                  passed: rhoCount > 0.8 && counts[K - 1] > counts[0] + Double(m / 2)),
            Check(claim: "Interference between represented features grows with sparsity",
                  expected: "Spearman ρ(sparsity, mean interference) > 0.8",
                  measured: "ρ = \(fmt(rhoInterference, 3)); \(fmt(meanInterference[0], 3)) → \(fmt(meanInterference[K - 1], 3))",
                  passed: rhoInterference > 0.8),
        ]
        let shown = Array(stride(from: 0, to: K, by: max(1, K / 5))) + (K % 5 == 1 ? [] : [K - 1])
        let figures = [
            ReportFigure(heading: "WᵀW and feature norms at selected sparsities",
                         html: Plots.gramColumns(run, instances: Array(Set(shown)).sorted(), title: "\(run.config.featureCount) features, \(m) dimensions"),
                         caption: "Norm bars coloured by superposition; the line marks m = \(m).", file: "gram.svg"),
            ReportFigure(heading: "Represented features against sparsity",
                         html: Plots.lineChart(title: "Features with ‖W_i‖ > 0.5", xLabel: "1/(1 − S)", yLabel: "count",
                                                 x: p.map { 1 / $0 }, series: [("represented", counts)], logX: true, logY: false),
                         file: "represented.svg"),
            ReportFigure(heading: "Mean interference against sparsity",
                         html: Plots.lineChart(title: "Mean Σ_{j≠i}(Ŵ_i·W_j)² over represented features", xLabel: "1/(1 − S)",
                                                 yLabel: "interference", x: p.map { 1 / $0 },
                                                 series: [("interference", meanInterference)], logX: true, logY: false),
                         file: "interference.svg"),
        ]
        return ExperimentAnalysis(figures: figures, checks: checks)
    }
}
