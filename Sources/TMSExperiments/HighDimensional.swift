import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// Superposition with many features in many dimensions, n ≫ m ≫ 1, at very high sparsity (beyond Elhage et al.
/// 2022, whose "Superposition in High Dimensions" discussion notes that random unit vectors are already
/// nearly orthogonal there, with |cos| on the scale √(log n / m)): a ReLU-output model of n = 10,000
/// features in m = 100 dimensions (`--quick`: 2,000 in 100), uniform importance, about two active features per
/// input, trained without and with an L1 penalty on W (docs/experiments.md#high-dimensional).
///
/// Expected: far more than m features are represented, at pairwise |cos| no larger than random unit vectors
/// have; an L1 penalty (a preferred basis) makes each feature's direction use few hidden coordinates while the
/// interference stays low. Nothing here forms an n×n matrix: cosines are sampled over pairs, every other
/// measure is O(n·m) or O(n·m²) (docs/analysis.md#high-dimensional).
public struct HighDimensionalExperiment: Experiment {
    public init() {}
    public let name = "high-dimensional"
    public let mainFigure: String? = "cosines.svg"
    public let reproduces = "beyond the paper (§\"Superposition in High Dimensions\" discussion): n ≫ m ≫ 1, very sparse; |cos| of learned features vs random unit vectors and √(ln n/m); an L1 penalty's preferred basis"
    public let measuredRuntime = "71 s"
    public let outputs = "|Ŵ_i·Ŵ_j| histograms (sampled pairs) of the trained models and of random unit vectors, a quantile table against √(ln n/m), sorted feature norms, participation ratios, loss curves"

    /// The two parts: the same model without and with the L1 penalty.
    static let parts = ["plain", "l1"]

    /// n, m, and the mean number of active features per input n·p.
    func shape(_ options: ExperimentOptions) -> (n: Int, m: Int) { options.quick ? (2_000, 100) : (10_000, 100) }
    static let activePerInput = 2.0
    /// λ of the `l1` part (docs/models.md#loss). Under Adam what matters is λ against the RMS of a weight's
    /// loss gradient, about √(B·p)/(B·n) for a feature present in B·p rows of a batch: ~11× smaller at the full
    /// setting (n 5× larger, p 5× smaller) than at `--quick`. Measured, the full setting needs ~30× less: each
    /// value was chosen among four (docs/experiments.md#high-dimensional).
    func l1Penalty(_ options: ExperimentOptions) -> Double { options.quick ? 1e-8 : 3e-10 }
    /// Sampled pairs for each |cos| distribution.
    func pairCount(_ options: ExperimentOptions) -> Int { options.quick ? 20_000 : 50_000 }

    func config(_ options: ExperimentOptions, l1: Bool) -> TrainingConfig {
        let (n, m) = shape(options)
        var c = TrainingConfig.standard(model: .reluOutput, featureCount: n, hiddenCount: m,
                                        featureProbabilities: [Float(Self.activePerInput / Double(n))], importanceDecay: 1,
                                        steps: options.steps(full: 3_000, quick: 2_000), batchSize: 256,
                                        learningRate: 3e-3, seed: options.seed)
        c.l1Penalty = l1 ? l1Penalty(options) : 0
        return c
    }

    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        Self.parts.map { ($0, config(options, l1: $0 == "l1")) }
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        ExperimentData(parts: try trainParts(options, progress: progress))
    }

    /// The measures of one trained part (instance 0), all O(n·m) or sampled.
    struct PartSummary {
        var represented: [Int]
        var cosines: [Double]
        /// Mean participation ratio over represented features.
        var meanParticipation: Double
        /// Mean interference Σ_{j≠i}(Ŵ_i·W_j)² over represented features (from metrics.json).
        var meanInterference: Double
        var sortedNorms: [Double]
        var loss: Double
    }

    func summary(_ run: TrainedRun, pairs: Int, stream: RandomStream) -> PartSummary {
        let W = run.weights.weightMatrix(instance: 0)
        let norms = featureNorms(of: W)
        let represented = norms.indices.filter { norms[$0] > 0.5 }
        var rng = stream
        let cosines = sampledAbsoluteCosines(of: W, among: represented, pairs: pairs, rng: &rng)
        let pr = participationRatios(of: W), interference = run.metrics.instances[0].interference
        func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
        return PartSummary(represented: represented, cosines: cosines,
                           meanParticipation: mean(represented.map { pr[$0] }),
                           meanInterference: mean(represented.map { interference[$0] }),
                           sortedNorms: norms.sorted(by: >), loss: Double(run.metrics.finalLoss[0]))
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let plainRun = try data.part("plain"), l1Run = try data.part("l1")
        let n = plainRun.config.featureCount, m = plainRun.config.hiddenCount
        let pairs = pairCount(options)
        let root = RandomStream(seed: options.seed).split(1 << 41)
        let plain = summary(plainRun, pairs: pairs, stream: root.split(0))
        let l1 = summary(l1Run, pairs: pairs, stream: root.split(1))
        var randomStream = root.split(2)
        let random = randomUnitVectorAbsoluteCosines(dimension: m, pairs: pairs, rng: &randomStream)
        let scale = (log(Double(n)) / Double(m)).squareRoot()
        func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
        let q99 = (plain: quantile(plain.cosines, 0.99), l1: quantile(l1.cosines, 0.99), random: quantile(random, 0.99))
        let meanCos = (plain: mean(plain.cosines), l1: mean(l1.cosines), random: mean(random))
        let prRatio = plain.meanParticipation / l1.meanParticipation

        var checks: [Check] = []
        checks.append(Check(
            claim: "Far more features than dimensions are represented (n/m = \(n / m))",
            expected: "represented features (‖W_i‖ > 0.5) without L1 > 2m = \(2 * m)",
            measured: "\(plain.represented.count) of \(n) (\(fmt(Double(plain.represented.count) / Double(m), 3)) per dimension); with L1: \(l1.represented.count)",
            passed: plain.represented.count > 2 * m))
        checks.append(Check(
            claim: "Represented features are nearly orthogonal, on the √(ln n/m) scale",
            expected: "99th percentile of |Ŵ_i·Ŵ_j| (\(pairs) sampled pairs of represented features, no L1) < √(ln n/m) = \(fmt(scale, 4))",
            measured: "\(fmt(q99.plain, 4)) (random unit vectors: \(fmt(q99.random, 4)))",
            passed: q99.plain < scale))
        checks.append(Check(
            claim: "Trained features interfere no more than random unit vectors do",
            expected: "99th percentile of trained |cos| (no L1) ≤ 1.1 × that of random unit vectors in R^m",
            measured: "\(fmt(q99.plain, 4)) vs \(fmt(q99.random, 4)) (ratio \(fmt(q99.plain / q99.random, 3))); mean \(fmt(meanCos.plain, 4)) vs \(fmt(meanCos.random, 4))",
            passed: q99.plain <= 1.1 * q99.random))
        checks.append(Check(
            claim: "An L1 penalty on W (a preferred basis) makes feature directions sparse",
            expected: "mean participation ratio (Σ_k W_ki²)²/Σ_k W_ki⁴ over represented features falls ≥ 2× with L1 (random direction ≈ m/3 = \(fmt(Double(m) / 3, 3)))",
            measured: "\(fmt(plain.meanParticipation, 3)) → \(fmt(l1.meanParticipation, 3)) (× 1/\(fmt(prRatio, 3)))",
            passed: prRatio >= 2))
        checks.append(Check(
            claim: "… while interference between L1-trained features stays low",
            expected: "mean |Ŵ_i·Ŵ_j| with L1 ≤ 2 × that of random unit vectors, and more than 2m = \(2 * m) features represented",
            measured: "mean |cos| \(fmt(meanCos.l1, 4)) vs random \(fmt(meanCos.random, 4)) (ratio \(fmt(meanCos.l1 / meanCos.random, 3))); 99th percentile \(fmt(q99.l1, 4)); \(l1.represented.count) represented",
            passed: meanCos.l1 <= 2 * meanCos.random && l1.represented.count > 2 * m))

        return ExperimentAnalysis(figures: figures(plain: plain, l1: l1, random: random, scale: scale, n: n, m: m,
                                                   runs: (plainRun, l1Run)),
                                  checks: checks,
                                  summary: [("represented (no L1 / L1)", "\(plain.represented.count) / \(l1.represented.count) of \(n), m = \(m)"),
                                            ("√(ln n/m)", fmt(scale, 4))])
    }

    func figures(plain: PartSummary, l1: PartSummary, random: [Double], scale: Double, n: Int, m: Int,
                 runs: (TrainedRun, TrainedRun)) -> [ReportFigure] {
        let top = max(scale * 1.5, quantile(plain.cosines + l1.cosines + random, 0.999))
        let bins = 60, width = top / Double(bins)
        func histogram(_ v: [Double]) -> [Double] {
            var counts = [Double](repeating: 0, count: bins)
            for x in v where x < top { counts[min(bins - 1, Int(x / width))] += 1 }
            return counts.map { $0 / Double(max(1, v.count)) / width }
        }
        let centres = (0..<bins).map { (Double($0) + 0.5) * width }
        func row(_ label: String, _ v: [Double]) -> String {
            let cells = [0.5, 0.9, 0.99, 0.999].map { "<td>\(fmt(quantile(v, $0), 4))</td>" }.joined()
            return "<tr><td>\(label)</td><td>\(fmt(v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count), 4))</td>\(cells)<td>\(fmt(v.max() ?? .nan, 4))</td></tr>"
        }
        let quantileTable = "<table><tr><th>|Ŵ_i·Ŵ_j|</th><th>mean</th><th>median</th><th>90 %</th><th>99 %</th><th>99.9 %</th><th>max sampled</th></tr>"
            + row("trained, no L1", plain.cosines) + row("trained, L1", l1.cosines) + row("random unit vectors in R^\(m)", random)
            + "<tr><td>√(ln n/m)</td><td colspan=\"6\">\(fmt(scale, 4)) (n = \(n), m = \(m)); √(2/(πm)) = \(fmt((2 / (Double.pi * Double(m))).squareRoot(), 4))</td></tr></table>"
        func partRow(_ label: String, _ s: PartSummary, _ run: TrainedRun) -> String {
            "<tr><td>\(label)</td><td>\(fmt(run.config.l1Penalty, 3))</td><td>\(s.represented.count)</td><td>\(fmt(Double(s.represented.count) / Double(m), 3))</td><td>\(fmt(s.meanParticipation, 3))</td><td>\(fmt(s.meanInterference, 4))</td><td>\(fmt(s.loss, 4))</td></tr>"
        }
        let partTable = "<table><tr><th>part</th><th>λ (L1)</th><th>represented</th><th>per dimension</th><th>mean participation ratio</th><th>mean interference</th><th>final loss</th></tr>"
            + partRow("no L1", plain, runs.0) + partRow("L1", l1, runs.1) + "</table>"
        let stride = max(1, n / 400)
        let ranks = Swift.stride(from: 0, to: n, by: stride).map(Double.init)
        let curveSteps = runs.0.metrics.lossCurve.steps.map(Double.init)
        return [
            ReportFigure(heading: "|cos| between represented features",
                         html: Plots.lineChart(title: "Density of |Ŵ_i·Ŵ_j| (\(plain.cosines.count) sampled pairs each), n = \(n), m = \(m)",
                                               xLabel: "|cos|", yLabel: "density", x: centres,
                                               series: [("trained, no L1", histogram(plain.cosines)), ("trained, L1", histogram(l1.cosines)),
                                                        ("random unit vectors", histogram(random))],
                                               logX: false, logY: false, dashed: ["random unit vectors"]),
                         caption: "Pairs of distinct represented features (‖W_i‖ > 0.5) drawn at random; random unit vectors in R^\(m) for reference. √(ln n/m) = \(fmt(scale, 4)).",
                         file: "cosines.svg"),
            ReportFigure(heading: "Quantiles of |cos|", html: quantileTable,
                         caption: "For random unit vectors |cos| ≈ |N(0, 1/m)|: mean √(2/(πm)), 99th percentile ≈ 2.58/√m."),
            ReportFigure(heading: "Represented features and sparsity of their directions", html: partTable,
                         caption: "Participation ratio (Σ_k W_ki²)²/Σ_k W_ki⁴: hidden coordinates a direction uses (1 … m; ≈ m/3 for a random one). Interference Σ_{j≠i}(Ŵ_i·W_j)², mean over represented features."),
            ReportFigure(heading: "Feature norms, sorted",
                         html: Plots.lineChart(title: "‖W_i‖ in decreasing order", xLabel: "rank", yLabel: "‖W_i‖", x: ranks,
                                               series: [("no L1", ranks.map { plain.sortedNorms[Int($0)] }),
                                                        ("L1", ranks.map { l1.sortedNorms[Int($0)] })],
                                               logX: false, logY: false),
                         caption: "Represented: ‖W_i‖ > 0.5; m = \(m) dimensions, n = \(n) features.", file: "norms.svg"),
            ReportFigure(heading: "Loss curves",
                         html: Plots.lineChart(title: "Batch loss", xLabel: "step", yLabel: "loss", x: curveSteps,
                                               series: [("no L1", runs.0.metrics.lossCurve.values[0].map(Double.init)),
                                                        ("L1", runs.1.metrics.lossCurve.values[0].map(Double.init))],
                                               logX: false, logY: true),
                         file: "loss-curves.svg"),
        ]
    }
}
