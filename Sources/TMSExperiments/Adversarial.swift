import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// Superposition makes models vulnerable to adversarial examples (Elhage et al. 2022, §"Superposition and
/// Adversarial Examples", Figure "adversarial vulnerability vs sparsity"): ReLU-output models of n = 20 features
/// in m = 5 dimensions, uniform importance, 1 − S from 1 to 0.001. Each model is attacked with the analytic L2
/// attack δ = λ·(WᵀW)_i/‖(WᵀW)_i‖ on its worst feature, λ = 0.1 × the mean input norm; its vulnerability is
/// (L′ − L)/(L′₀ − L₀) against a model without superposition attacked with the same λ, whose loss increase is
/// exactly λ²·max I/n on any inputs (`noSuperpositionAttackIncrease`); the dense-trained instance attacked on
/// the same inputs is reported beside it (docs/experiments.md#adversarial).
///
/// Expected: vulnerability rises more than 3× as superposition forms and tracks 1/D* = ‖W‖_F²/m; a gradient
/// attack finds less than the analytic one (gradient masking by the output ReLU).
public struct AdversarialExperiment: Experiment {
    public init() {}
    public let name = "adversarial"
    public let reproduces = "§\"Superposition and Adversarial Examples\": vulnerability to an analytic L2 attack vs sparsity and 1/D*"
    public let measuredRuntime = "6 s"
    public let mainFigure: String? = "vulnerability-vs-dstar.svg"
    public let outputs = "vulnerability vs 1 − S and vs 1/D* (analytic and gradient attacks), WᵀW per sparsity, loss curves"

    static let densities: [Float] = [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001]

    func config(_ options: ExperimentOptions) -> TrainingConfig {
        TrainingConfig.standard(model: .reluOutput, featureCount: 20, hiddenCount: 5, featureProbabilities: Self.densities,
                                importanceDecay: 1, steps: options.steps(full: 10_000, quick: 3_000),
                                learningRate: options.quick ? 3e-3 : 1e-3, bestOf: options.quick ? 2 : 3, seed: options.seed)
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let result = try Trainer(config: config(options), threads: options.threads).train { progress("model", $0) }
        return ExperimentData(parts: [("model", TrainedRun(result: result, experiment: name))])
    }

    /// Per-sparsity attack results, a pure function of the weights and the seed.
    struct Row {
        var density: Double, inverseDStar: Double, worstFeature: Int
        var analytic: Double, gradient: Double, cleanLoss: Double
        /// The analytic vulnerability against the dense-trained instance (1 − S = 1) attacked on the same inputs
        /// instead of the exact no-superposition model: that model's biases were learnt for dense inputs, so on
        /// sparse ones its own loss increase is several times λ²/n.
        var analyticVsDense: Double
        /// λ, the attack's raise of its target output λ·‖(WᵀW)_i‖ and that feature's bias b_i: the ReLU blocks
        /// the attack on inputs without feature i when λ·‖(WᵀW)_i‖ < −b_i.
        var lambda: Double, gain: Double, targetBias: Double
        /// max_i ‖(WᵀW)_i‖² over the reference's: the vulnerability if no output ReLU blocked the attack.
        var linearVulnerability: Double
    }

    static func rows(_ run: TrainedRun, samples: Int, seed: UInt64) -> [Row] {
        let c = run.config, K = c.instanceCount
        let probes = (0..<K).map { ReLUOutputProbe(weights: run.weights.weightMatrix(instance: $0), bias: run.weights.bias(instance: $0),
                                                   importance: c.importance[$0]) }
        let reference = probes[0]
        return (0..<K).map { k in
            // Inputs with at least one active feature: at 1 − S = 0.001 almost every draw is x = 0, whose norm
            // would shrink λ a thousandfold below any feature's size.
            let inputs = sampleSparseInputs(count: samples, probability: c.featureProbability[k], seed: seed &+ 7919 &* UInt64(k + 1))
                .filter { $0.contains { $0 != 0 } }
            let lambda = 0.1 * meanNorm(inputs)
            let model = probes[k]
            let clean = model.meanLoss(inputs), refClean = reference.meanLoss(inputs)
            let worst = model.worstAnalyticAttack(inputs, size: lambda)
            let refWorst = reference.worstAnalyticAttack(inputs, size: lambda)
            let gradient = model.gradientAttackLoss(inputs, size: lambda)
            let ideal = noSuperpositionAttackIncrease(size: lambda, importance: c.importance[k].map(Double.init))
            return Row(density: Double(c.featureProbability[k][0]),
                       inverseDStar: 1 / dimensionsPerFeature(of: run.weights.weightMatrix(instance: k)),
                       worstFeature: worst.feature,
                       analytic: adversarialVulnerability(clean: clean, attacked: worst.loss, referenceClean: 0, referenceAttacked: ideal),
                       gradient: adversarialVulnerability(clean: clean, attacked: gradient, referenceClean: 0, referenceAttacked: ideal),
                       cleanLoss: clean,
                       analyticVsDense: adversarialVulnerability(clean: clean, attacked: worst.loss, referenceClean: refClean, referenceAttacked: refWorst.loss), lambda: lambda, gain: lambda * rowNorm(model, worst.feature), targetBias: model.bias[worst.feature],
                       linearVulnerability: pow(maxRowNorm(model) / maxRowNorm(reference), 2))
        }
    }

    static func rowNorm(_ p: ReLUOutputProbe, _ i: Int) -> Double { p.gram[i].reduce(0) { $0 + $1 * $1 }.squareRoot() }
    static func maxRowNorm(_ p: ReLUOutputProbe) -> Double { (0..<p.featureCount).map { rowNorm(p, $0) }.max() ?? 0 }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let run = try data.part("model")
        let rows = Self.rows(run, samples: options.quick ? 8_000 : 40_000, seed: options.seed)
        let v = rows.map(\.analytic), inv = rows.map(\.inverseDStar)
        var checks: [Check] = []

        let rise = v.max()! / v[0]
        checks.append(Check(
            claim: "Vulnerability to the analytic attack rises more than 3× as superposition forms",
            expected: "max over sparsities of (L′ − L)/(L′₀ − L₀) > 3 × its value at 1 − S = 1",
            measured: "vulnerability \(rows.map { "\(fmt($0.density)): \(fmt($0.analytic, 2))" }.joined(separator: ", ")); rise \(fmt(rise, 2))×",
            passed: rise > 3))

        let r = pearsonCorrelation(v, inv)
        checks.append(Check(
            claim: "Vulnerability tracks 1/D* = ‖W‖_F²/m across sparsity",
            expected: "Pearson correlation of vulnerability and 1/D* over the sparsities > 0.8",
            measured: "1/D* \(inv.map { fmt($0, 2) }.joined(separator: ", ")); r = \(fmt(r, 3))",
            passed: r > 0.8))

        // The gradient attack finds less where superposition is strongest.
        let superposed = rows.indices.filter { rows[$0].inverseDStar > 1.5 }
        let gradientLess = !superposed.isEmpty && superposed.allSatisfy { rows[$0].gradient < rows[$0].analytic }
        checks.append(Check(
            claim: "A gradient attack finds less than the analytic attack (gradient masking)",
            expected: "at every sparsity with 1/D* > 1.5, gradient-attack vulnerability < analytic-attack vulnerability",
            measured: superposed.map { "\(fmt(rows[$0].density)): gradient \(fmt(rows[$0].gradient, 2)) vs analytic \(fmt(rows[$0].analytic, 2))" }
                .joined(separator: "; "),
            passed: gradientLess))

        let x = rows.map(\.density)
        var figures = [ReportFigure(
            heading: "Vulnerability against sparsity",
            html: Plots.lineChart(title: "Adversarial vulnerability, relu-output 20→5", xLabel: "1 − S", yLabel: "vulnerability / 1/D*",
                                  x: x, series: [("analytic attack", v), ("gradient attack", rows.map(\.gradient)), ("1/D*", inv), ("no-ReLU bound", rows.map(\.linearVulnerability))],
                                  logX: true, logY: false, dashed: ["1/D*", "no-ReLU bound"]),
            caption: "Vulnerability (L′ − L)/(L′₀ − L₀) of each model against a model without superposition (orthonormal features, zero bias on them: L′₀ − L₀ = λ²·max I/n), attack size λ = 0.1 × mean input norm; dashed: 1/D* = ‖W‖_F²/m.",
            file: "vulnerability-vs-sparsity.svg")]
        let order = rows.indices.sorted { rows[$0].inverseDStar < rows[$1].inverseDStar }
        figures.append(ReportFigure(
            heading: "Vulnerability against 1/D*",
            html: Plots.lineChart(title: "Vulnerability vs 1/D*", xLabel: "1/D*", yLabel: "vulnerability",
                                  x: order.map { inv[$0] }, series: [("analytic attack", order.map { v[$0] }), ("y = 1/D*", order.map { inv[$0] })],
                                  logX: false, logY: false, dashed: ["y = 1/D*"]),
            caption: "Each point one sparsity; the dashed line is vulnerability = 1/D*.",
            file: "vulnerability-vs-dstar.svg"))
        var table = "<table><tr><th>1 − S</th><th>1/D*</th><th>worst feature i</th><th>clean loss</th><th>λ</th><th>λ‖(WᵀW)_i‖</th><th>b_i</th><th>analytic</th><th>gradient</th><th>analytic vs dense-trained</th><th>no-ReLU bound</th></tr>"
        for row in rows {
            table += "<tr><td>\(fmt(row.density))</td><td>\(fmt(row.inverseDStar, 3))</td><td>\(row.worstFeature)</td><td>\(fmt(row.cleanLoss, 4))</td><td>\(fmt(row.lambda, 3))</td><td>\(fmt(row.gain, 3))</td><td>\(fmt(row.targetBias, 3))</td><td>\(fmt(row.analytic, 3))</td><td>\(fmt(row.gradient, 3))</td><td>\(fmt(row.analyticVsDense, 3))</td><td>\(fmt(row.linearVulnerability, 2))</td></tr>"
        }
        figures.append(ReportFigure(heading: "Attack results", html: table + "</table>",
                                    caption: "Vulnerabilities are against a model without superposition (L′₀ − L₀ = λ²·max I/n exactly); \"analytic vs dense-trained\" uses the 1 − S = 1 instance attacked on the same inputs instead, whose biases were learnt for dense inputs. λ‖(WᵀW)_i‖ is how far the analytic attack raises its target output's pre-activation; where it is below −b_i the output ReLU absorbs it on every input without feature i. No-ReLU bound: max_i ‖(WᵀW)_i‖² over the reference's, the vulnerability if the attack passed the ReLU unchanged."))
        figures.append(ReportFigure(heading: "WᵀW and feature norms", html: Plots.gramGrid(run, instances: Array(0..<run.config.instanceCount), title: "ReLU output 20→5"),
                                    file: "gram.svg"))
        figures.append(ReportFigure(heading: "Loss curves", html: Plots.lossCurves(run), file: "loss-curves.svg"))
        return ExperimentAnalysis(figures: figures, checks: checks,
                                  summary: [("max vulnerability", fmt(v.max()!, 2)), ("r(vulnerability, 1/D*)", fmt(r, 3)),
                                            ("r(no-ReLU bound, 1/D*)", fmt(pearsonCorrelation(rows.map(\.linearVulnerability), inv), 3))])
    }
}

extension AdversarialExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("model", config(options))]
    }
}
