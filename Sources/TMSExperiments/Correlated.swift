import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// Correlated and anticorrelated features (Elhage et al. 2022, §"Superposition with Correlated Features"):
/// ReLU-output models, I = 1, with features in correlated pairs (present together) or anticorrelated pairs
/// (never together). Initialisation: `xavier` (docs/models.md#initialisation).
///
/// Parts: `corr-4-2` (two correlated pairs, 4→2, p = 0.05), `anti-4-2` (two anticorrelated pairs, 4→2,
/// p = 0.05), `corr-6-2` (three correlated pairs, 6→2, p = 0.05), `sets-20-10` (two correlated sets of 10,
/// 20→10, `correlated-sets`, docs/models.md#feature-distributions) and `collapse` (three correlated pairs, 6→2,
/// 1 − S from 0.05 to 0.5). Expected: correlated features end near-orthogonal, anticorrelated ones
/// near-antipodal; two sets of 10 in 10 dimensions each form a local orthogonal basis (WᵀW block-structured,
/// the sets overlapping only with each other); as the pairs get denser they collapse one by one onto a single
/// direction reading (x_a + x_b)/√2, their first principal component ("PCA-like").
public struct CorrelatedExperiment: Experiment {
    public init() {}
    public let name = "correlated"
    public let reproduces = "§\"Superposition with Correlated Features\": correlated pairs orthogonal, anticorrelated antipodal, two correlated sets of 10 as local orthogonal bases, pairs collapsing as they get denser (init: xavier)"
    public let measuredRuntime = "9 s"
    public let mainFigure: String? = "collapse.svg"
    public let outputs = "a sample batch showing co-occurrence, feature diagrams per part and density, WᵀW of the two correlated sets of 10, collapse table"

    static let collapseDensities: [Float] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5]

    func config(_ part: String, _ options: ExperimentOptions) -> TrainingConfig {
        let steps = options.steps(full: 10_000, quick: 10_000), bestOf = options.quick ? 4 : 6
        switch part {
        case "corr-4-2":
            return .standard(featureCount: 4, hiddenCount: 2, featureProbabilities: [0.05], distribution: .correlatedPairs,
                             steps: steps, bestOf: bestOf, seed: options.seed)
        case "anti-4-2":
            return .standard(featureCount: 4, hiddenCount: 2, featureProbabilities: [0.05], distribution: .anticorrelatedPairs,
                             steps: steps, bestOf: bestOf, seed: options.seed)
        case "corr-6-2":
            return .standard(featureCount: 6, hiddenCount: 2, featureProbabilities: [0.05], distribution: .correlatedPairs,
                             steps: steps, bestOf: bestOf, seed: options.seed)
        case "sets-20-10":
            var c = TrainingConfig.standard(featureCount: 20, hiddenCount: 10, featureProbabilities: [Self.setsDensity],
                                            distribution: .correlatedSets, steps: steps, bestOf: bestOf, seed: options.seed)
            c.correlatedSetSize = 10
            return c
        default:
            return .standard(featureCount: 6, hiddenCount: 2, featureProbabilities: Self.collapseDensities,
                             distribution: .correlatedPairs, steps: steps, bestOf: bestOf, seed: options.seed)
        }
    }

    /// The probability of each set of 10 in `sets-20-10`.
    static let setsDensity: Float = 0.05

    static let partNames = ["corr-4-2", "anti-4-2", "corr-6-2", "sets-20-10", "collapse"]

    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        Self.partNames.map { ($0, config($0, options)) }
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        ExperimentData(parts: try trainParts(options, progress: progress))
    }

    static func pairs(_ n: Int) -> [(Int, Int)] { stride(from: 0, to: n - 1, by: 2).map { ($0, $0 + 1) } }

    /// 24 samples of a part's distribution (at p = 0.3, dense enough to see), from a fixed stream.
    static func sampleBatch(_ c: TrainingConfig, seed: UInt64) -> [[Double]] {
        let sampler = FeatureSampler(featureCount: c.featureCount, probability: [Float](repeating: 0.3, count: c.featureCount),
                                     distribution: c.distribution, signed: c.model.usesSignedInputs, setSize: c.correlatedSetSize)
        var batch = SparseBatch(batchSize: 24, featureCount: c.featureCount)
        var rng = RandomStream(seed: seed).split(7)
        sampler.sample(batchSize: 24, into: &batch, rng: &rng)
        return batch.dense.map { $0.map(Double.init) }
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        var checks: [Check] = [], figures: [ReportFigure] = []
        figures.append(ReportFigure(
            heading: "Sample batches: co-occurrence",
            html: Figure.stacked(try ["corr-4-2", "anti-4-2", "sets-20-10"].map { part in
                Figures.neuronHeatmapFigure(title: "\(try data.part(part).config.distribution.rawValue), 24 samples at p = 0.3",
                                            weights: Self.sampleBatch(try data.part(part).config, seed: options.seed),
                                            rowLabel: "sample", columnLabel: "feature")
            }, axis: .horizontal).render(),
            caption: "Rows are samples, columns features (pairs 0–1 and 2–3; sets 0–9 and 10–19). Correlated pairs and sets are present together; anticorrelated pairs never are.",
            file: "sample-batches.svg"))

        let corr = try data.part("corr-4-2"), anti = try data.part("anti-4-2"), six = try data.part("corr-6-2")
        let corrPairs = Self.pairs(4).map { pairEmbedding(of: corr.weights.weightMatrix(instance: 0), $0.0, $0.1) }
        checks.append(Check(
            claim: "Correlated features end near-orthogonal (4→2, two correlated pairs)",
            expected: "within each pair both represented (‖W‖ > 0.5) and |cos(W_a, W_b)| < 0.2",
            measured: corrPairs.map { "(\($0.a),\($0.b)): cos \(fmt($0.cosine, 3)), norms \(fmt($0.normA, 2))/\(fmt($0.normB, 2))" }.joined(separator: "; "),
            passed: corrPairs.allSatisfy { Swift.abs($0.cosine) < 0.2 && $0.normA > 0.5 && $0.normB > 0.5 }))
        let antiPairs = Self.pairs(4).map { pairEmbedding(of: anti.weights.weightMatrix(instance: 0), $0.0, $0.1) }
        checks.append(Check(
            claim: "Anticorrelated features end near-antipodal (4→2, two anticorrelated pairs)",
            expected: "within each pair both represented (‖W‖ > 0.5) and cos(W_a, W_b) < −0.9",
            measured: antiPairs.map { "(\($0.a),\($0.b)): cos \(fmt($0.cosine, 3)), norms \(fmt($0.normA, 2))/\(fmt($0.normB, 2))" }.joined(separator: "; "),
            passed: antiPairs.allSatisfy { $0.cosine < -0.9 && $0.normA > 0.5 && $0.normB > 0.5 }))
        figures.append(ReportFigure(
            heading: "Correlated and anticorrelated pairs",
            html: Figures.featureDiagram2D(panels: [(corr, "4→2, correlated pairs"), (anti, "4→2, anticorrelated pairs"), (six, "6→2, three correlated pairs")].map { run, title in
                let W = run.weights.weightMatrix(instance: 0)
                return FeatureDiagramPanel(title: "\(title), \(densityTitle(run.config.featureProbability[0][0]))",
                                           directions: (0..<W.columnCount).map { Plots.doubles(W.column($0)) },
                                           importance: Plots.doubles(run.config.importance[0]))
            }, columns: 3),
            caption: "Feature directions W_i; pairs are features (0, 1), (2, 3), (4, 5). Lowest loss of \(corr.config.bestOf) seeds."))

        // Two correlated sets of 10 in 10 dimensions.
        let sets = try data.part("sets-20-10")
        let setW = sets.weights.weightMatrix(instance: 0)
        let block = blockStructure(of: setW, sets: [Array(0..<10), Array(10..<20)])
        let setNorms = featureNorms(of: setW)
        checks.append(Check(
            claim: "Two correlated sets of 10 in 10 dimensions: WᵀW is block-structured, a local orthogonal basis within each set (20→10)",
            expected: "all 20 features represented (‖W_i‖ > 0.5) and max |cos(W_i, W_j)| < 0.2 for i, j in the same set (10 orthogonal directions per set, so each set spans all 10 dimensions and the sets overlap only with each other)",
            measured: "\(block.represented)/20 represented (min ‖W_i‖ \(fmt(setNorms.min() ?? 0, 2))); max within-set |cos| \(fmt(block.maxWithin, 3)); mean between-set |cos| \(fmt(block.meanBetween, 3))",
            passed: block.represented == 20 && block.maxWithin < 0.2))
        figures.append(ReportFigure(
            heading: "Two correlated sets of 10 (20→10): local orthogonal bases",
            html: Plots.gramGrid(sets, instances: [0], title: "20→10, correlated sets {0…9}, {10…19}"),
            caption: "WᵀW of the 20→10 model trained on two correlated sets of 10 (each set present with probability \(fmt(Double(Self.setsDensity), 3)), all its features together). Within a set WᵀW is the identity (a local orthogonal basis); the off-diagonal blocks hold the interference between the sets. Lowest loss of \(sets.config.bestOf) seeds.",
            file: "sets-20-10.svg"))

        // Collapse study.
        let collapse = try data.part("collapse")
        let p = collapse.config.featureProbability.map { Double($0[0]) }
        let embeddings = (0..<collapse.config.instanceCount).map { k in
            Self.pairs(collapse.config.featureCount).map { pairEmbedding(of: collapse.weights.weightMatrix(instance: k), $0.0, $0.1) }
        }
        let counts = embeddings.map { $0.filter(\.collapsed).count }
        let order = p.indices.sorted { p[$0] < p[$1] }
        let grows = zip(order, order.dropFirst()).allSatisfy { counts[$1] >= counts[$0] } && counts[order.last!] > counts[order.first!]
        checks.append(Check(
            claim: "The number of collapsed correlated pairs grows with density (6→2, three correlated pairs)",
            expected: "collapsed (both ‖W‖ > 0.25, cos ≥ 0.9) count non-decreasing from 1 − S = \(fmt(p[order.first!], 3)) to \(fmt(p[order.last!], 3)), and larger at the densest",
            measured: order.map { "1 − S = \(fmt(p[$0], 3)): \(counts[$0])" }.joined(separator: "; "),
            passed: grows))
        let collapsedAll = embeddings.flatMap { $0.filter(\.collapsed) }
        checks.append(Check(
            claim: "A collapsed pair points along (a + b)/√2",
            expected: "for every collapsed pair, the reading direction (‖W_a‖, ‖W_b‖) within 15° of (1, 1)/√2",
            measured: collapsedAll.isEmpty ? "no collapsed pair" : "angles \(collapsedAll.map { fmt($0.angleToSum, 1) + "°" }.joined(separator: ", "))",
            passed: !collapsedAll.isEmpty && collapsedAll.allSatisfy { $0.angleToSum < 15 }))
        figures.append(ReportFigure(
            heading: "Collapse of correlated pairs with density (6→2)",
            html: Plots.featureDiagrams(collapse, instances: Array(0..<collapse.config.instanceCount)),
            caption: "Three correlated pairs (0, 1), (2, 3), (4, 5); collapsed pairs per density: \(order.map { "\(fmt(p[$0], 3)): \(counts[$0])" }.joined(separator: ", ")).",
            file: "collapse.svg"))
        return ExperimentAnalysis(figures: figures, checks: checks,
                                  summary: [("collapsed pairs by 1 − S", order.map { "\(fmt(p[$0], 3)): \(counts[$0])" }.joined(separator: ", "))])
    }
}
