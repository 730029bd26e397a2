import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// The geometry of superposition (Elhage et al. 2022, §7 "The Geometry of Superposition", Figures on D* and
/// feature dimensionality): uniform superposition, n = 400 features in m = 30 dimensions (quick: 200 → 20),
/// uniform importance, 20 sparsities p = 30^(−t), t ∈ linspace(0, 1, 20) (1/(1 − S) from 1 to 30, where D*
/// passes from 1 through 1/2 and 2/5 towards m/n; quick runs use a finer grid of 30 sparsities, since the
/// smaller model's plateau at 1/2 is narrower and must still hold three points).
///
/// Expected (docs/experiments.md#geometry): D* = m/‖W‖_F² against 1/(1 − S) sticks at 1 and at 1/2 over a wide range; per-feature
/// dimensionalities cluster at 3/4, 2/3, 1/2, 2/5, 3/8; the feature geometry graphs are tegum products of small
/// polytopes (digons, triangles, tetrahedra, pentagons).
public struct GeometryExperiment: Experiment {
    public init() {}
    public let name = "geometry"
    public let mainFigure: String? = "dimensionality.svg"
    public let reproduces = "§7 Figures (D* and feature dimensionality): uniform superposition, 400 → 30 across 20 sparsities (--quick: 200 → 20 across 30)"
    public let measuredRuntime = "92 s"
    public let outputs = "D* with per-feature dimensionality scatter, geometry graphs of a few instances"

    func config(_ options: ExperimentOptions) -> TrainingConfig {
        let (n, m) = options.quick ? (200, 20) : (400, 30)
        return TrainingConfig.standard(model: .reluOutput, featureCount: n, hiddenCount: m,
                                        featureProbabilities: TrainingConfig.geometricProbabilities(count: options.quick ? 30 : 20, base: 30),
                                        importanceDecay: 1, steps: options.steps(full: 6_000, quick: 2_000),
                                        learningRate: 1e-3, seed: options.seed)
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let result = try Trainer(config: config(options), threads: options.threads).train { progress(name, $0) }
        return ExperimentData(parts: [("model", TrainedRun(result: result, experiment: name))])
    }

    /// Polytope fractions by group size: 1 dedicated, 2 digon, 3 triangle, 4 tetrahedron, 5 pentagon.
    static let polytopeFraction: [Int: Double] = [1: 1, 2: 1.0 / 2, 3: 2.0 / 3, 4: 3.0 / 4, 5: 2.0 / 5]

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let run = try data.part("model")
        let K = run.config.instanceCount
        let dStar = run.metrics.instances.map(\.dimensionsPerFeature)
        let invDensity = (0..<K).map { 1 / Double(run.config.featureProbability[$0][0]) }
        var checks: [Check] = []
        checks.append(Check(claim: "D* = 1 when dense (one feature per dimension)", expected: "|D* − 1| < 0.05 at 1 − S = 1",
                            measured: "D* = \(fmt(dStar[0], 3))", passed: Swift.abs(dStar[0] - 1) < 0.05))
        let dense = (0..<K).filter { dStar[$0] > 0.95 }
        let half = longestRun((0..<K).map { Swift.abs(dStar[$0] - 0.5) < 0.05 })
        let dStarText = "D* = " + dStar.map { fmt($0, 2) }.joined(separator: ", ")
        checks.append(Check(claim: "D* against 1/(1 − S) sticks at 1 and at 1/2",
                            expected: "≥ 2 sparsities with D* > 0.95, and ≥ 3 consecutive sparsities with |D* − 1/2| < 0.05",
                            measured: "\(dense.count) at 1; " + (half.isEmpty ? "none at 1/2" : "\(half.count) at 1/2, 1/(1 − S) from \(fmt(invDensity[half.first!], 3)) to \(fmt(invDensity[half.last!], 3))") + "; \(dStarText)",
                            passed: dense.count >= 2 && half.count >= 3))
        // Per-feature dimensionality of represented features, where D* lies in the range of the fractions.
        let superposed = (0..<K).filter { dStar[$0] < 0.9 && dStar[$0] >= 0.3 }
        let values = superposed.flatMap { k in
            let a = run.metrics.instances[k]
            return a.featureDimensionality.indices.filter { a.featureNorms[$0] > 0.5 }.map { a.featureDimensionality[$0] }
        }
        let near = fractionNearReference(values)
        checks.append(Check(claim: "Feature dimensionalities cluster at the fractions 1, 3/4, 2/3, 1/2, 2/5, 3/8",
                            expected: "≥ 70 % of represented features (‖W_i‖ > 0.5) of instances with 0.3 ≤ D* < 0.9 within 0.05 of a fraction",
                            measured: "\(fmt(100 * near, 1)) % of \(values.count) features in \(superposed.count) instances", passed: near >= 0.7))
        // Geometry graphs: components are small polytopes whose mean D_i matches their fraction.
        var best = (fraction: 0.0, instance: 0, text: "")
        for k in superposed {
            let geometry = featureGeometry(of: run.weights.weightMatrix(instance: k))
            let represented = geometry.groups.reduce(0) { $0 + $1.features.count }
            guard represented > 0 else { continue }
            var recognised = 0, sizes: [Int: Int] = [:]
            for group in geometry.groups {
                sizes[group.features.count, default: 0] += 1
                if let f = Self.polytopeFraction[group.features.count], Swift.abs(group.meanDimensionality - f) < 0.05 {
                    recognised += group.features.count
                }
            }
            let fraction = Double(recognised) / Double(represented)
            if fraction > best.fraction {
                let sizeText = sizes.keys.sorted().map { "\(sizes[$0]!)×\($0)" }.joined(separator: ", ")
                best = (fraction, k, "1 − S = \(fmt(Double(run.config.featureProbability[k][0]), 3)): \(fmt(100 * fraction, 1)) % of features in recognised polytopes; groups by size \(sizeText)")
            }
        }
        checks.append(Check(claim: "Feature geometry is a tegum product of small polytopes (digons, triangles, tetrahedra, pentagons)",
                            expected: "in some instance, ≥ 50 % of represented features lie in components of size ≤ 5 whose mean D_i matches the polytope (±0.05)",
                            measured: best.text.isEmpty ? "no superposed instance" : best.text, passed: best.fraction >= 0.5))

        var figures = [ReportFigure(heading: "Dimensions per feature against sparsity",
                                    html: Plots.dimensionality(run, title: "D* and D_i, \(run.config.featureCount) features in \(run.config.hiddenCount) dimensions"),
                                    caption: "Line: D* = m/‖W‖_F² per instance. Dots: each feature's D_i = ‖W_i‖²/Σ_j(Ŵ_i·W_j)². Dashed: 1, 3/4, 2/3, 1/2, 2/5, 3/8.",
                                    file: "dimensionality.svg")]
        let graphs = Array(Set([best.instance] + superposed.suffix(1) + half.prefix(1))).sorted()
        for k in graphs {
            figures.append(ReportFigure(heading: "Feature geometry graph, \(Plots.instanceTitle(run, k))", html: Plots.geometryGraph(run, instance: k),
                                        caption: "Represented features joined where |Ŵ_i·W_j| > 0.1; one colour per component.",
                                        file: "geometry-\(k).svg"))
        }
        return ExperimentAnalysis(figures: figures, checks: checks)
    }
}

/// The indices of the longest run of consecutive `true` values.
func longestRun(_ flags: [Bool]) -> [Int] {
    var best: [Int] = [], current: [Int] = []
    for (i, flag) in flags.enumerated() {
        if flag { current.append(i); if current.count > best.count { best = current } } else { current = [] }
    }
    return best
}
