import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// The paper's introduction figure (Elhage et al. 2022, §1 Figure 1 and §2 "Demonstrating Superposition"):
/// a ReLU-output model with n = 5 features in m = 2 dimensions, importance I_i = 0.9^i, ten instances with
/// feature probability p = 20^(−t), t ∈ linspace(0, 1, 10), lowest-loss of several seeds kept.
///
/// Expected (docs/experiments.md#intro): dense, the two most important features orthogonal and the rest ≈ 0; at 1 − S ≈ 0.2 the
/// four most important as two antipodal pairs and the fifth not embedded; at 1 − S ≤ 0.1 all five as a
/// pentagon (adjacent angles ≈ 72°).
public struct IntroExperiment: Experiment {
    public init() {}
    public let name = "intro"
    public let mainFigure: String? = "feature-diagrams.svg"
    public let reproduces = "§1 Figure 1 / §2: 5 features in 2 dimensions across sparsity (pentagon when sparse)"
    public let measuredRuntime = "1 s"
    public let outputs = "feature diagrams per sparsity, training animation, loss curves"

    func config(_ options: ExperimentOptions) -> TrainingConfig {
        TrainingConfig.standard(model: .reluOutput, featureCount: 5, hiddenCount: 2,
                                featureProbabilities: TrainingConfig.geometricProbabilities(count: 10),
                                importanceDecay: 0.9, steps: options.steps(full: 10_000, quick: 6_000),
                                bestOf: 4, seed: options.seed)
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let c = config(options)
        let result = try Trainer(config: c, threads: options.threads)
            .train(snapshotEvery: max(1, c.steps / 50)) { progress("intro", $0) }
        return ExperimentData(parts: [("model", TrainedRun(result: result, experiment: name))],
                              extras: ["snapshots.safetensors": Snapshots.encode(result.snapshots)])
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let run = try data.part("model")
        let p = run.config.featureProbability.map { $0[0] }
        let W = (0..<run.config.instanceCount).map { run.weights.weightMatrix(instance: $0) }
        var checks: [Check] = []

        // Dense: top two orthogonal, the rest ≈ 0.
        let dense = W[0], denseNorms = featureNorms(of: dense)
        let cos01 = featureCosine(dense, 0, 1)
        checks.append(Check(
            claim: "1 − S = 1: the 2 most important features are represented orthogonally, the others are not represented",
            expected: "‖W₀‖, ‖W₁‖ > 0.9; |cos(W₀, W₁)| < 0.1; ‖W₂..₄‖ < 0.5 (not represented, docs/analysis.md#represented-features)",
            measured: "norms \(denseNorms.map { fmt($0, 2) }.joined(separator: ", ")); cos \(fmt(cos01, 3))",
            passed: denseNorms[0] > 0.9 && denseNorms[1] > 0.9 && Swift.abs(cos01) < 0.1 && denseNorms[2...].allSatisfy { $0 < 0.5 }))

        // 1 − S ≈ 0.2: two antipodal pairs among the top four, the fifth dropped.
        let k2 = p.indices.min { Swift.abs(p[$0] - 0.2) < Swift.abs(p[$1] - 0.2) }!
        let mid = W[k2], midNorms = featureNorms(of: mid)
        let pairs = antipodalPartners(of: mid, among: Array(0..<4))
        checks.append(Check(
            claim: "1 − S ≈ 0.2: the 4 most important features form two antipodal pairs; the 5th is not embedded",
            expected: "each of features 0–3 has ‖W_i‖ > 0.5 and a partner among them with cos < −0.9; ‖W₄‖ < 0.5",
            measured: "1 − S = \(fmt(Double(p[k2]), 3)): norms \(midNorms.map { fmt($0, 2) }.joined(separator: ", ")); partners \(pairs.map { $0.map(String.init) ?? "none" }.joined(separator: ", "))",
            passed: (0..<4).allSatisfy { midNorms[$0] > 0.5 } && pairs.allSatisfy { $0 != nil } && midNorms[4] < 0.5))

        // Sparse: a pentagon.
        let sparse = p.indices.filter { p[$0] <= 0.1 }
        var allPentagons = !sparse.isEmpty
        var measured: [String] = []
        for k in sparse {
            let angles = adjacentAngles2D(of: W[k])
            let ok = angles.count == 5 && angles.allSatisfy { Swift.abs($0 - 72) < 12 }
            allPentagons = allPentagons && ok
            measured.append("1 − S = \(fmt(Double(p[k]), 3)): \(angles.count) features, angles \(angles.map { fmt($0, 0) }.joined(separator: "/"))°")
        }
        checks.append(Check(claim: "1 − S ≤ 0.1: all 5 features are embedded as a pentagon",
                            expected: "5 features with ‖W_i‖ > 0.5, adjacent angles 72° ± 12°",
                            measured: measured.joined(separator: "; "), passed: allPentagons))

        var figures = [ReportFigure(
            heading: "Feature directions W_i across sparsity",
            html: Plots.featureDiagrams(run, instances: Array(0..<run.config.instanceCount)),
            caption: "Each feature is a line from the origin ending in a dot, coloured by importance (0.9^i). Lowest-loss of \(run.config.bestOf) seeds per panel.",
            file: "feature-diagrams.svg")]
        do {
            let snapshots = try Snapshots.decode(data.extras["snapshots.safetensors"] ?? Foundation.Data())
            if !snapshots.isEmpty {
                figures.append(ReportFigure(heading: "Training animation", html: Plots.animation(snapshots, run: run, instance: run.config.instanceCount - 1),
                                            caption: "Feature directions of the sparsest instance over training."))
            }
        } catch {
            let text = "\(error)".replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            figures.append(ReportFigure(heading: "Training animation", html: "<p>snapshots.safetensors cannot be read: \(text)</p>"))
        }
        figures.append(ReportFigure(heading: "Loss curves", html: Plots.lossCurves(run), caption: "Batch loss per instance (log scale).",
                                    file: "loss-curves.svg"))
        return ExperimentAnalysis(figures: figures, checks: checks)
    }
}

/// Weight snapshots stored as safetensors: `W` [S, K, m, n], `b_final` [S, K, n], `step` [S].
enum Snapshots {
    static func encode(_ snapshots: [WeightSnapshot]) -> Foundation.Data {
        guard let first = snapshots.first?.weights else { return Foundation.Data() }
        let S = snapshots.count, K = first.instanceCount, m = first.hiddenCount, n = first.featureCount
        return Foundation.Data(Safetensors.encode([
            "W": Tensor(shape: [S, K, m, n], values: snapshots.flatMap(\.weights.W)),
            "b_final": Tensor(shape: [S, K, n], values: snapshots.flatMap(\.weights.bias)),
            "step": Tensor(shape: [S], values: snapshots.map { Float($0.step) }),
        ], metadata: ["model": first.model.rawValue]))
    }

    static func decode(_ data: Foundation.Data) throws -> [WeightSnapshot] {
        if data.isEmpty { return [] }
        let (t, meta) = try Safetensors.decode([UInt8](data))
        guard let W = t["W"], let b = t["b_final"], let steps = t["step"], W.shape.count == 4,
              let model = ModelKind(rawValue: meta["model"] ?? ""), model.isTied,
              b.shape == [W.shape[0], W.shape[1], W.shape[3]], steps.shape == [W.shape[0]],
              steps.values.allSatisfy({ $0 >= 0 && $0 < 1e15 && $0 == $0.rounded() }) else {
            throw WeightsFileError("snapshots.safetensors does not hold W [S, K, m, n], b_final [S, K, n] and step [S] of a tied model")
        }
        let (S, K, m, n) = (W.shape[0], W.shape[1], W.shape[2], W.shape[3])
        return (0..<S).map { s in
            WeightSnapshot(step: Int(steps.values[s]), weights: ToyModelWeights(
                model: model, featureCount: n, hiddenCount: m, instanceCount: K,
                W: Array(W.values[(s * K * m * n)..<((s + 1) * K * m * n)]), W2: nil,
                bias: Array(b.values[(s * K * n)..<((s + 1) * K * n)])))
        }
    }
}
