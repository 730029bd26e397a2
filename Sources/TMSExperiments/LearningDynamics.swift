import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// How superposition forms during training (Elhage et al. 2022, §"Learning Dynamics"; docs/experiments.md#learning-dynamics):
///
/// - `digons`: a ReLU-output model whose features end as antipodal pairs (uniform superposition, D_i = 1/2);
///   per-feature dimensionality D_i over training beside the loss: D_i sits on plateaus at the reference
///   fractions and moves between them in jumps, each jump with a loss drop.
/// - `correlated` (an extra file, trained by `DirectTrainer`): 6 features in 3 dimensions in two correlated
///   sets of 3 (each set present together); it passes a PCA-like stage (each set's features along one shared
///   direction) before ending as an octahedron (each feature antipodal to one of the other set).
/// - `pentagon`: the 2-D training animation of a 5 → 2 run.
public struct LearningDynamicsExperiment: Experiment {
    public init() {}
    public let name = "learning-dynamics"
    public let reproduces = "§\"Learning Dynamics\": D_i over training jumps between fractions with loss drops; 6→3 correlated sets pass a PCA stage to an octahedron; 5→2 animation"
    public let measuredRuntime = "3 s"
    public let mainFigure: String? = "dimensionality-over-training.svg"
    public let outputs = "D_i and loss over training, 6→3 snapshots, 5→2 training animation; three snapshot files"

    static let digonShape = (n: 10, m: 5), digonDensity: Float = 0.05
    static let correlatedDensity: Float = 0.1

    func digonConfig(_ options: ExperimentOptions) -> TrainingConfig {
        TrainingConfig.standard(model: .reluOutput, featureCount: Self.digonShape.n, hiddenCount: Self.digonShape.m,
                                featureProbabilities: [Self.digonDensity], steps: options.steps(full: 6_000, quick: 3_000),
                                learningRate: 1e-3, bestOf: 1, seed: options.seed)
    }

    func pentagonConfig(_ options: ExperimentOptions) -> TrainingConfig {
        TrainingConfig.standard(model: .reluOutput, featureCount: 5, hiddenCount: 2, featureProbabilities: [0.05],
                                steps: options.steps(full: 10_000, quick: 3_000), bestOf: 1, seed: options.seed)
    }

    func correlatedSteps(_ options: ExperimentOptions) -> Int { options.steps(full: 20_000, quick: 12_000) }

    /// The initialisation scale of the digons and correlated models, relative to N(0, 2/(n + m)): small, so that
    /// features grow from near zero and the stages of learning separate (Elhage et al. 2022, §"Learning Dynamics").
    static let initScale = 0.1

    /// W ~ initScale · N(0, 2/(n + m)) from `RandomStream(seed).split(n, m)`, b = 0.
    static func smallStart(_ c: TrainingConfig, seed: UInt64) -> ToyModelWeights {
        var rng = RandomStream(seed: seed).split(UInt64(c.featureCount), UInt64(c.hiddenCount))
        let std = initScale * (2.0 / Double(c.featureCount + c.hiddenCount)).squareRoot()
        return ToyModelWeights(model: .reluOutput, featureCount: c.featureCount, hiddenCount: c.hiddenCount, instanceCount: 1,
                               W: (0..<(c.featureCount * c.hiddenCount)).map { _ in Float(rng.nextNormal() * std) }, W2: nil,
                               bias: [Float](repeating: 0, count: c.featureCount))
    }

    /// Snapshot interval: 100 intervals over training.
    static func every(_ steps: Int) -> Int { max(1, steps / 100) }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let d = digonConfig(options), p = pentagonConfig(options)
        let digons = try Trainer(config: d, threads: options.threads, initialWeights: Self.smallStart(d, seed: options.seed))
            .train(snapshotEvery: Self.every(d.steps)) { progress("digons", $0) }
        let pentagon = try Trainer(config: p, threads: options.threads).train(snapshotEvery: Self.every(p.steps)) { progress("pentagon", $0) }
        let correlated = Self.trainCorrelated(steps: correlatedSteps(options), seed: options.seed)
        return ExperimentData(parts: [("digons", TrainedRun(result: digons, experiment: name)),
                                      ("pentagon", TrainedRun(result: pentagon, experiment: name))],
                              extras: ["digons-snapshots.safetensors": Snapshots.encode(digons.snapshots),
                                       "pentagon-snapshots.safetensors": Snapshots.encode(pentagon.snapshots),
                                       "correlated-snapshots.safetensors": Snapshots.encode(correlated)])
    }

    /// Two correlated sets of 3 among 6 features: each set present with probability p (all three at once,
    /// independent U[0, 1) magnitudes), the sets independent. Batch 1024, Adam lr 1e-3, W starting small
    /// (N(0, 2/(n + m)) × 0.1) so that the early stage is visible.
    static func correlatedBatch(_ rng: inout RandomStream, size: Int = 1024, density p: Float) -> [SparseRow] {
        (0..<size).map { _ in
            var f: [Int32] = [], v: [Float] = []
            for set in 0..<2 where rng.nextUnitFloat() < p {
                for i in 0..<3 { f.append(Int32(3 * set + i)); v.append(rng.nextUnitFloat()) }
            }
            return SparseRow(features: f, values: v)
        }
    }

    static func trainCorrelated(steps: Int, seed: UInt64) -> [WeightSnapshot] {
        var trainer = DirectTrainer(featureCount: 6, hiddenCount: 3, steps: steps, learningRate: 1e-3)
        trainer.seed = RandomStream(seed: seed).split(6, 3).key
        var initRng = RandomStream(seed: seed).split(6, 3, 1)
        let std = initScale * (2.0 / 9).squareRoot()
        let W0 = Matrix(rowCount: 3, columnCount: 6, values: (0..<18).map { _ in Float(initRng.nextNormal() * std) })
        var rng = RandomStream(seed: seed).split(6, 3, 2)
        let result = trainer.train(initialW: W0, snapshotEvery: every(steps)) { _ in correlatedBatch(&rng, density: correlatedDensity) }
        return result.snapshots.map {
            WeightSnapshot(step: $0.step, weights: ToyModelWeights(model: .reluOutput, featureCount: 6, hiddenCount: 3, instanceCount: 1,
                                                                  W: $0.W.values, W2: nil, bias: $0.bias))
        }
    }

    /// The reference fractions D_i takes in uniform superposition (Elhage et al. 2022, §7).
    static let fractions: [Double] = [0, 2.0 / 5, 1.0 / 2, 2.0 / 3, 3.0 / 4, 1]

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let run = try data.part("digons"), pent = try data.part("pentagon")
        let digonSnaps = (try? Snapshots.decode(data.extras["digons-snapshots.safetensors"] ?? Data())) ?? []
        let pentSnaps = (try? Snapshots.decode(data.extras["pentagon-snapshots.safetensors"] ?? Data())) ?? []
        let corrSnaps = (try? Snapshots.decode(data.extras["correlated-snapshots.safetensors"] ?? Data())) ?? []
        var checks: [Check] = [], figures: [ReportFigure] = []
        let n = run.config.featureCount

        // Final digons.
        let W = run.weights.weightMatrix(instance: 0)
        let D = featureDimensionality(of: W), norms = featureNorms(of: W)
        let partners = antipodalPartners(of: W, among: Array(0..<n))
        let digonsOK = D.allSatisfy { Swift.abs($0 - 0.5) < 0.05 } && norms.allSatisfy { $0 > 0.9 } && partners.allSatisfy { $0 != nil }
        checks.append(Check(claim: "The \(n)→\(run.config.hiddenCount) model ends in uniform superposition as digons",
                            expected: "every D_i within 0.05 of 1/2, ‖W_i‖ > 0.9, and an antipodal partner (cos < −0.9)",
                            measured: "D \(D.map { fmt($0, 2) }.joined(separator: ", ")); min ‖W_i‖ \(fmt(norms.min() ?? 0, 2)); partners \(partners.map { $0.map(String.init) ?? "none" }.joined(separator: ","))",
                            passed: digonsOK))

        // D_i over training and the loss at each snapshot (mean loss on fixed inputs).
        let inputs = sampleSparseInputs(count: options.quick ? 2_000 : 4_000, probability: run.config.featureProbability[0], seed: options.seed &+ 17)
        let steps = digonSnaps.map { Double($0.step) }
        let Dt = digonSnaps.map { featureDimensionality(of: $0.weights.weightMatrix(instance: 0)) }
        let lossT = digonSnaps.map { ReLUOutputProbe(weights: $0.weights.weightMatrix(instance: 0), bias: $0.weights.bias(instance: 0),
                                                     importance: run.config.importance[0]).meanLoss(inputs) }
        let jumps = Self.jumpStatistics(Dt, loss: lossT)
        checks.append(Check(
            claim: "D_i moves between fractions in jumps",
            expected: "for every feature whose D_i moves by > 0.2 in total (counting moves > 0.01 per interval, above the plateau noise), ≥ 80 % of that happens in ≤ 20 % of the snapshot intervals",
            measured: jumps.concentration.map { "\($0.feature): \(fmt(100 * $0.fraction, 0)) %" }.joined(separator: ", ") + " of intervals",
            passed: !jumps.concentration.isEmpty && jumps.concentration.allSatisfy { $0.fraction <= 0.2 }))
        checks.append(Check(
            claim: "Each jump of D_i comes with a loss drop",
            expected: "mean loss decrease over intervals where some |ΔD_i| > 0.05 ≥ 2 × that over the other intervals (after the first)",
            measured: "jump intervals \(jumps.jumpIntervals): mean drop \(fmt(jumps.jumpDrop, 4)); others: \(fmt(jumps.otherDrop, 4))",
            passed: jumps.jumpIntervals > 0 && jumps.jumpDrop >= 2 * max(jumps.otherDrop, 0) && jumps.jumpDrop > 0))

        // 6→3: PCA-like stage, then octahedron.
        let corr = Self.correlatedStages(corrSnaps)
        checks.append(Check(
            claim: "6→3 with two correlated sets of 3 passes a PCA-like stage",
            expected: "some snapshot before the last 20 % of training where, within each set, every feature with ‖W_i‖ > 0.1 has cos > 0.7 with its set's other features (and each set has such a feature)",
            measured: corr.pcaStep.map { "at step \($0): within-set min cos \(fmt(corr.pcaCos, 2))" } ?? "none; best within-set min cos \(fmt(corr.pcaCos, 2))",
            passed: corr.pcaStep != nil))
        checks.append(Check(
            claim: "6→3 with two correlated sets of 3 ends as an octahedron",
            expected: "‖W_i‖ > 0.9; each feature antipodal (cos < −0.9) to exactly one feature of the other set; |cos| < 0.1 for every other pair",
            measured: corr.octahedronText, passed: corr.octahedron))

        figures.append(ReportFigure(
            heading: "Feature dimensionality over training",
            html: Plots.lineChart(title: "D_i over training, relu-output \(n)→\(run.config.hiddenCount), 1 − S = \(fmt(Double(Self.digonDensity)))",
                                  xLabel: "step", yLabel: "D_i", x: steps,
                                  series: (0..<n).map { i in ("feature \(i)", Dt.map { $0[i] }) }, logX: false, logY: false),
            caption: "Each line one feature's D_i = ‖W_i‖²/Σ_j(Ŵ_i·W_j)²; reference fractions 1, 3/4, 2/3, 1/2, 2/5.",
            file: "dimensionality-over-training.svg"))
        figures.append(ReportFigure(
            heading: "Loss over training",
            html: Plots.lineChart(title: "Loss at each snapshot", xLabel: "step", yLabel: "loss", x: steps, series: [("loss", lossT)], logX: false, logY: true),
            caption: "Mean loss of each snapshot on \(inputs.count) fixed inputs, on the same steps as the D_i plot above.",
            file: "loss-over-training.svg"))
        if !corrSnaps.isEmpty {
            let picks = Array(Set([0, corrSnaps.count / 20, corrSnaps.count / 10, corrSnaps.count / 4, corrSnaps.count / 2, corrSnaps.count - 1])).sorted()
            let html = Figure.stacked(picks.map { k -> Figure in
                let W = corrSnaps[k].weights.weightMatrix(instance: 0)
                return Figures.gramAndNormsFigure(gram: gramMatrix(of: W), norms: featureNorms(of: W),
                                                  superposition: superpositionColourValue(of: W), hiddenCount: 3,
                                                  title: "6→3 correlated sets, step \(corrSnaps[k].step)")
            }).render()
            figures.append(ReportFigure(
                heading: "6→3, two correlated sets of 3: WᵀW through training",
                html: html,
                caption: "Features 0–2 and 3–5 are the two sets. Early: each set's features share a direction (a PCA-like stage); end: an octahedron, each feature antipodal to one of the other set.",
                file: "correlated-gram.svg"))
        }
        if !pentSnaps.isEmpty {
            figures.append(ReportFigure(heading: "Training animation, 5→2", html: Plots.animation(pentSnaps, run: pent, instance: 0),
                                        caption: "Feature directions of a 5→2 relu-output model at 1 − S = 0.05 over training."))
        }
        figures.append(ReportFigure(heading: "Loss curves", html: Plots.lossCurves(run), file: "loss-curves.svg"))
        return ExperimentAnalysis(figures: figures, checks: checks)
    }

    struct JumpStatistics {
        var concentration: [(feature: Int, fraction: Double)]
        var jumpIntervals: Int, jumpDrop: Double, otherDrop: Double
    }

    /// `concentration`: for each feature whose total variation exceeds 0.2, the fraction of intervals needed to
    /// cover 80 % of it (largest first). Loss drops compare intervals with some |ΔD_i| > 0.05 to the rest;
    /// the first interval (from the initialisation) is left out.
    static let noiseFloor = 0.01

    static func jumpStatistics(_ D: [[Double]], loss: [Double]) -> JumpStatistics {
        guard D.count >= 3 else { return JumpStatistics(concentration: [], jumpIntervals: 0, jumpDrop: 0, otherDrop: 0) }
        let n = D[0].count, intervals = D.count - 1
        var concentration: [(Int, Double)] = []
        for i in 0..<n {
            // Moves below the noise floor (D_i fluctuates by ±0.01 on a plateau) are not counted.
            let moves: [Double] = (1..<D.count).map { (t: Int) -> Double in Swift.abs(D[t][i] - D[t - 1][i]) }
            let deltas: [Double] = moves.filter { $0 > noiseFloor }.sorted(by: >)
            let total = deltas.reduce(0, +)
            guard total > 0.2 else { continue }
            var covered = 0.0, k = 0
            while covered < 0.8 * total { covered += deltas[k]; k += 1 }
            concentration.append((i, Double(k) / Double(intervals)))
        }
        var jump: [Double] = [], other: [Double] = []
        for t in 2..<D.count {
            let drop = loss[t - 1] - loss[t]
            if (0..<n).contains(where: { Swift.abs(D[t][$0] - D[t - 1][$0]) > 0.05 }) { jump.append(drop) } else { other.append(drop) }
        }
        let mean = { (xs: [Double]) in xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        return JumpStatistics(concentration: concentration, jumpIntervals: jump.count, jumpDrop: mean(jump), otherDrop: mean(other))
    }

    struct CorrelatedStages { var pcaStep: Int?; var pcaCos: Double; var octahedron: Bool; var octahedronText: String }

    static func correlatedStages(_ snaps: [WeightSnapshot]) -> CorrelatedStages {
        guard let last = snaps.last else { return CorrelatedStages(pcaStep: nil, pcaCos: .nan, octahedron: false, octahedronText: "no snapshots") }
        let sets = [[0, 1, 2], [3, 4, 5]]
        var pcaStep: Int?, best = -Double.infinity
        for s in snaps where Double(s.step) < 0.8 * Double(last.step) {
            let W = s.weights.weightMatrix(instance: 0), norms = featureNorms(of: W)
            var minCos = Double.infinity, ok = true
            for set in sets {
                let live = set.filter { norms[$0] > 0.1 }
                if live.count < 2 { ok = false; continue }
                for a in live { for b in live where b > a { minCos = min(minCos, featureCosine(W, a, b)) } }
            }
            guard ok, minCos.isFinite else { continue }
            if minCos > best { best = minCos }
            if pcaStep == nil && minCos > 0.7 { pcaStep = s.step }
        }
        let W = last.weights.weightMatrix(instance: 0), norms = featureNorms(of: W)
        var ok = norms.allSatisfy { $0 > 0.9 }, maxOther = 0.0
        var pairs: [String] = []
        for i in 0..<6 {
            let antipodes = (0..<6).filter { $0 != i && featureCosine(W, i, $0) < -0.9 }
            ok = ok && antipodes.count == 1 && (antipodes[0] < 3) != (i < 3)
            if i < 3 { pairs.append("\(i)↔\(antipodes.map(String.init).joined(separator: "/"))") }
            for j in 0..<6 where j != i && !antipodes.contains(j) { maxOther = max(maxOther, Swift.abs(featureCosine(W, i, j))) }
        }
        ok = ok && maxOther < 0.1
        return CorrelatedStages(pcaStep: pcaStep, pcaCos: best, octahedron: ok,
                                octahedronText: "min ‖W_i‖ \(fmt(norms.min()!, 2)); antipodes \(pairs.joined(separator: ", ")); max other |cos| \(fmt(maxOther, 2))")
    }
}

extension LearningDynamicsExperiment {
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("digons", digonConfig(options)), ("pentagon", pentagonConfig(options))]
    }

    public var extraFiles: Set<String> { ["digons-snapshots.safetensors", "pentagon-snapshots.safetensors", "correlated-snapshots.safetensors"] }

    /// Each snapshot file must decode to weights of the expected shape (the part's, or 6→3 for `correlated`).
    public func checkExtras(_ data: ExperimentData) throws {
        let shapes = ["digons-snapshots.safetensors": try data.part("digons").config, "pentagon-snapshots.safetensors": try data.part("pentagon").config]
        for (file, bytes) in data.extras {
            let snaps = try Snapshots.decode(bytes)
            guard let first = snaps.first else { throw WeightsFileError("\(file) holds no snapshots") }
            let (n, m) = shapes[file].map { ($0.featureCount, $0.hiddenCount) } ?? (6, 3)
            guard first.weights.featureCount == n, first.weights.hiddenCount == m, first.weights.instanceCount == 1 else {
                throw WeightsFileError("\(file) holds \(first.weights.featureCount)→\(first.weights.hiddenCount) weights of \(first.weights.instanceCount) instances; expected \(n)→\(m), 1 instance")
            }
            guard snaps.allSatisfy({ $0.weights.W.allSatisfy(\.isFinite) && $0.weights.bias.allSatisfy(\.isFinite) }) else {
                throw WeightsFileError("\(file) holds a non-finite value")
            }
        }
    }
}
