import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// Non-uniform superposition (Elhage et al. 2022, §5 "Superposition with non-uniform sparsity/importance"):
/// the 5 → 2 pentagon at 1 − S = 0.05 with uniform importance, as feature 0's density is varied to ρ times the
/// others' (ρ from 1/5 to 5, log spaced).
///
/// Three parts: `free` trains every ρ from scratch (lowest loss of several seeds); `pentagon` and `digons`
/// follow the two solution branches by warm-starting every ρ from a regular pentagon and from two antipodal
/// pairs with feature 0 dropped. Expected (docs/experiments.md#non-uniform): the other features repel from a denser feature and move
/// towards a sparser one; once feature 0 is about 2.5× sparser the pentagon snaps to two digons with feature 0
/// at 0; the two branches' losses cross there (a first-order phase change).
public struct NonUniformExperiment: Experiment {
    public init() {}
    public let name = "non-uniform"
    public let mainFigure: String? = "free.svg"
    public let reproduces = "§5 Figure (non-uniform sparsity): the pentagon deforming and snapping to two digons as one feature gets sparser"
    public let measuredRuntime = "2 s"
    public let outputs = "feature diagrams across the density ratio, loss of the pentagon and digon branches"

    static let baseProbability: Float = 0.05

    func ratios(_ options: ExperimentOptions) -> [Double] {
        let count = 17
        return (0..<count).map { pow(5, -1 + 2 * Double($0) / Double(count - 1)) }
    }

    func config(_ options: ExperimentOptions, steps: Int, bestOf: Int) -> TrainingConfig {
        let rho = ratios(options)
        return TrainingConfig(model: .reluOutput, featureCount: 5, hiddenCount: 2, instanceCount: rho.count,
                              featureProbability: rho.map { [Float($0) * Self.baseProbability] + [Float](repeating: Self.baseProbability, count: 4) },
                              importance: [[Float]](repeating: [Float](repeating: 1, count: 5), count: rho.count),
                              steps: steps, bestOf: bestOf, seed: options.seed)
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let rho = ratios(options), K = rho.count
        let configs = Dictionary(uniqueKeysWithValues: partConfigs(options).map { ($0.name, $0.config) })
        let free = try Trainer(config: configs["free"]!, threads: options.threads).train { progress("free", $0) }
        // Branch starts: the regular pentagon (rotated so that feature i sits at angle 72°·i), and two digons.
        var pentagon: [Float] = [], digons: [Float] = []
        for _ in 0..<K {
            var w = [Float](repeating: 0, count: 10)
            for i in 0..<5 {
                let angle = 2 * Double.pi * Double(i) / 5
                w[i] = Float(cos(angle)); w[5 + i] = Float(sin(angle))
            }
            pentagon += w
            // Rows (x, y); features 1,3 on ±x and 2,4 on ±y; feature 0 dropped.
            digons += [0, 1, 0, -1, 0, /* y: */ 0, 0, 1, 0, -1]
        }
        let bias = [Float](repeating: 0, count: 5 * K)
        var parts: [(name: String, run: TrainedRun)] = [("free", TrainedRun(result: free, experiment: name))]
        for (label, start) in [("pentagon", pentagon), ("digons", digons)] {
            let c = configs[label]!
            let weights = ToyModelWeights(model: .reluOutput, featureCount: 5, hiddenCount: 2, instanceCount: K, W: start, W2: nil, bias: bias)
            let result = try Trainer(config: c, threads: options.threads, initialWeights: weights).train { progress(label, $0) }
            parts.append((label, TrainedRun(result: result, experiment: name)))
        }
        return ExperimentData(parts: parts)
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let rho = ratios(options), K = rho.count
        let free = try data.part("free"), pent = try data.part("pentagon"), dig = try data.part("digons")
        var checks: [Check] = []

        // Snap: the lowest-loss solution at each ρ (of the free models and both branches, all evaluated on the
        // same batches) is a pentagon at ρ = 1 and two digons once feature 0 is much sparser.
        let candidates = [free, pent, dig]
        let bestW = (0..<K).map { k -> Matrix in
            let best = candidates.min { $0.metrics.finalLoss[k] < $1.metrics.finalLoss[k] }!
            return best.weights.weightMatrix(instance: k)
        }
        let kind = { (W: Matrix) -> String in
            if isTwoDigons(W, dropped: 0) { return "digons" }
            return representedFeatureCount(of: W) == 5 ? "pentagon" : "other"
        }
        let kinds = bestW.map(kind), freeKinds = (0..<K).map { kind(free.weights.weightMatrix(instance: $0)) }
        let unit = rho.indices.min { Swift.abs(log(rho[$0])) < Swift.abs(log(rho[$1])) }!
        let snap = (0..<unit).last { kinds[$0] == "digons" && (($0 + 1)...unit).allSatisfy { kinds[$0] == "pentagon" } }
        let snapRatio = snap.map { (rho[$0] * rho[$0 + 1]).squareRoot() }
        let describe = { (ks: [String]) in zip(rho, ks).map { "\(fmt($0, 2)): \($1)" }.joined(separator: ", ") }
        checks.append(Check(
            claim: "The lowest-loss solution snaps from the pentagon to two digons (feature 0 dropped) when feature 0 is about 2.5× sparser",
            expected: "pentagon at ρ = 1, digons at the smallest ρ, one switch at ρ between 1/4 and 1/1.6",
            measured: "switch at ρ ≈ \(snapRatio.map { fmt($0, 3) } ?? "none") (1/\(snapRatio.map { fmt(1 / $0, 2) } ?? "–")); lowest loss: \(describe(kinds)); trained from scratch only: \(describe(freeKinds))",
            passed: kinds[unit] == "pentagon" && kinds[0] == "digons" && snapRatio.map { $0 >= 0.25 && $0 <= 1 / 1.6 } == true))

        // Repel / attract: neighbours of feature 0 move away when it is denser, closer when it is sparser.
        let pentW = (0..<K).map { pent.weights.weightMatrix(instance: $0) }
        let denser = rho.indices.min { Swift.abs(rho[$0] - 2) < Swift.abs(rho[$1] - 2) }!
        let sparser = rho.indices.min { Swift.abs(rho[$0] - 0.7) < Swift.abs(rho[$1] - 0.7) }!
        let angleDense = neighbourAngle(of: 0, in: pentW[denser]), angleSparse = neighbourAngle(of: 0, in: pentW[sparser])
        checks.append(Check(
            claim: "The other features repel from a denser feature and move towards a sparser one",
            expected: "mean angle from feature 0 to its neighbours > 72° at ρ ≈ 2 and < 72° at ρ ≈ 0.7",
            measured: "ρ = \(fmt(rho[denser], 2)): \(fmt(angleDense, 1))°; ρ = \(fmt(rho[sparser], 2)): \(fmt(angleSparse, 1))°",
            passed: angleDense > 72 && angleSparse < 72))

        // The two branches' losses cross.
        let lp = pent.metrics.finalLoss.map(Double.init), ld = dig.metrics.finalLoss.map(Double.init)
        let diff = (0..<K).map { lp[$0] - ld[$0] }
        // The first sign change from small ρ upwards (at large ρ the digon branch re-learns feature 0 and the two
        // branches coincide, so later sign changes are noise).
        let crossing = (0..<(K - 1)).first { diff[$0] > 0 && diff[$0 + 1] <= 0 }.map { k -> Double in
            let t = diff[k] / (diff[k] - diff[k + 1])
            return exp(log(rho[k]) + t * (log(rho[k + 1]) - log(rho[k])))
        }
        checks.append(Check(
            claim: "The losses of the pentagon and digon solutions cross (first-order phase change)",
            expected: "digons lower for small ρ, pentagon lower at ρ = 1; crossing at ρ between 1/4 and 1/1.6",
            measured: "crossing at ρ ≈ \(crossing.map { fmt($0, 3) } ?? "none"); loss difference (pentagon − digons) at ρ = \(fmt(rho[0], 2)): \(fmt(diff[0], 3)), at ρ = 1: \(fmt(diff[unit], 3))",
            passed: crossing.map { $0 >= 0.25 && $0 <= 1 / 1.6 } == true && diff[unit] < 0))

        let titles = rho.map { "ρ = \(fmt($0, 2))" }
        // The digon-started run can turn back into a pentagon: label the curve by what it ended as.
        let digonEnds = (0..<K).map { kind(dig.weights.weightMatrix(instance: $0)) == "digons" }
        let stillDigons = zip(ld, digonEnds).map { $1 ? $0 : .nan }, turned = zip(ld, digonEnds).map { $1 ? .nan : $0 }
        let branchSeries = [("pentagon branch", lp), ("digon branch (still two digons)", stillDigons)]
            + (turned.contains { !$0.isNaN } ? [("started as digons, ended otherwise", turned)] : [])
        let figures = [
            ReportFigure(heading: "Trained from scratch across ρ (feature 0's density / the others')",
                         html: Plots.featureDiagrams(free, instances: Array(0..<K), titles: titles),
                         caption: "Others at 1 − S = \(fmt(Double(Self.baseProbability))); feature 0 at ρ × that. Lowest loss of \(free.config.bestOf) seeds.",
                         file: "free.svg"),
            ReportFigure(heading: "Pentagon branch", html: Plots.featureDiagrams(pent, instances: Array(0..<K), titles: titles),
                         caption: "Warm-started from a regular pentagon at every ρ.", file: "pentagon-branch.svg"),
            ReportFigure(heading: "Loss of the two solution branches",
                         html: Plots.lineChart(title: "Loss against ρ", xLabel: "ρ = density of feature 0 / density of the others",
                                               yLabel: "loss", x: rho, series: branchSeries,
                                               logX: true, logY: true, dashed: ["digon branch (still two digons)"]),
                         caption: "Evaluation loss of each branch after training from its warm start.", file: "branch-losses.svg"),
        ]
        return ExperimentAnalysis(figures: figures, checks: checks,
                                  summary: [("crossing ρ", crossing.map { fmt($0, 3) } ?? "none"), ("snap ρ", snapRatio.map { fmt($0, 3) } ?? "none")])
    }
}
