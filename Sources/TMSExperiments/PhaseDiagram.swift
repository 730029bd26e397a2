import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// The phase diagrams of superposition (Elhage et al. 2022, §4 "Superposition as a Phase Change", Figure
/// "phase diagrams"): one extra feature of relative importance r ∈ [0.1, 10] and all features of density
/// p ∈ [0.01, 1], both on log grids, for n = 2, m = 1 and n = 3, m = 2; 10 models per point, the lowest-loss
/// kept (the paper discards the worst). Each learned cell is classified (docs/analysis.md#phase-of-a-feature) and compared with the
/// theory diagram from the closed-form losses of the candidate solutions (`PhaseTheory`, docs/closed-forms.md#the-phase-diagrams).
public struct PhaseDiagramExperiment: Experiment {
    public init() {}
    public let name = "phase-diagram"
    public let mainFigure: String? = "phase-n2-m1.svg"
    public let reproduces = "§4 Figure (phase diagrams): n=2, m=1 and n=3, m=2 over relative importance × density, learned vs theory"
    public let measuredRuntime = "13 s"
    public let outputs = "learned and theoretical phase diagrams for both models, agreement fraction"

    struct Grid { let r: [Double]; let p: [Double] }

    func grid(_ options: ExperimentOptions) -> Grid {
        let count = options.quick ? 7 : 13
        let logspace = { (lo: Double, hi: Double) in
            (0..<count).map { pow(10, log10(lo) + (log10(hi) - log10(lo)) * Double($0) / Double(count - 1)) }
        }
        return Grid(r: logspace(0.1, 10), p: logspace(0.01, 1))
    }

    /// One instance per grid cell, row-major over (p, r): instance = pIndex · |r| + rIndex.
    func config(featureCount n: Int, hiddenCount m: Int, _ options: ExperimentOptions) -> TrainingConfig {
        let g = grid(options)
        var probability: [[Float]] = [], importance: [[Float]] = []
        for p in g.p {
            for r in g.r {
                probability.append([Float](repeating: Float(p), count: n))
                importance.append([Float](repeating: 1, count: n - 1) + [Float(r)])
            }
        }
        return TrainingConfig(model: .reluOutput, featureCount: n, hiddenCount: m, instanceCount: probability.count,
                              featureProbability: probability, importance: importance,
                              steps: options.steps(full: 4_000, quick: 1_500), batchSize: 1024, learningRate: 1e-2,
                              bestOf: options.quick ? 4 : 10, seed: options.seed)
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        var parts: [(name: String, run: TrainedRun)] = []
        for (n, m) in [(2, 1), (3, 2)] {
            let label = "n\(n)-m\(m)"
            let result = try Trainer(config: config(featureCount: n, hiddenCount: m, options), threads: options.threads)
                .train { progress(label, $0) }
            parts.append((label, TrainedRun(result: result, experiment: name)))
        }
        return ExperimentData(parts: parts)
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let g = grid(options)
        var checks: [Check] = [], figures: [ReportFigure] = [], summary: [(String, String)] = []
        for (label, n, threshold) in [("n2-m1", 2, 0.8), ("n3-m2", 3, 0.7)] {
            let run = try data.part(label)
            var learned = [[Int]](), theory = [[Int]]()
            var agree = 0, agreeAway = 0, away = 0
            for (pi, p) in g.p.enumerated() {
                var learnedRow: [Int] = [], theoryRow: [Int] = []
                for (ri, r) in g.r.enumerated() {
                    let W = run.weights.weightMatrix(instance: pi * g.r.count + ri)
                    let l = phaseOfFeature(n - 1, in: W)
                    let t = n == 2 ? PhaseTheory.twoFeaturePhase(p: p, r: r) : PhaseTheory.threeFeaturePhase(p: p, r: r)
                    learnedRow.append(l.rawValue); theoryRow.append(t.rawValue)
                    if l == t { agree += 1 }
                    // The corner near p ≈ 0.5, r ≈ 1 where exact analysis finds a "confused" phase (docs/closed-forms.md#the-phase-diagrams).
                    let nearCorner = p > 0.2 && r > 0.5 && r < 2
                    if !nearCorner { away += 1; if l == t { agreeAway += 1 } }
                }
                learned.append(learnedRow); theory.append(theoryRow)
            }
            let cells = g.p.count * g.r.count
            let fraction = Double(agree) / Double(cells), fractionAway = Double(agreeAway) / Double(max(1, away))
            let phasesSeen = Set(learned.joined())
            let title = "n = \(n), m = \(n - 1)"
            checks.append(Check(claim: "\(title): the learned diagram shows all three phases of the extra feature",
                                expected: "not learned, dedicated and superposition all present",
                                measured: phasesSeen.sorted().map { FeaturePhase(rawValue: $0)!.label }.joined(separator: ", "),
                                passed: phasesSeen.count == 3))
            checks.append(Check(claim: "\(title): learned phases agree with the closed-form theory",
                                expected: "agreement ≥ \(Int(threshold * 100)) % of \(cells) cells",
                                measured: "\(fmt(100 * fraction, 1)) % (\(fmt(100 * fractionAway, 1)) % away from p > 0.2, 0.5 < r < 2)",
                                passed: fraction >= threshold))
            summary.append(("agreement \(title)", "\(fmt(100 * fraction, 1)) %"))
            let boundaries: [[(x: Double, y: Double)]] = n == 2 ? Self.boundaryCurves(p: g.p)
                : Self.tracedBoundaries { p, r in PhaseTheory.threeFeaturePhase(p: p, r: r).rawValue }
            figures.append(ReportFigure(
                heading: "Phase diagram, \(title): learned vs theory",
                html: Plots.phaseDiagrams(title: title, r: g.r, p: g.p, learned: learned, theory: theory, boundaries: boundaries),
                caption: "x: relative importance r of the extra feature; y: feature density 1 − S; both log. Lowest loss of \(run.config.bestOf) models per cell; × marks a learned cell that differs from theory. Theory: the lowest closed-form loss among the candidate solutions; black lines: where the theoretical phase changes\(n == 2 ? " (closed form)" : " (traced on a 200 × 200 grid)").",
                file: "phase-\(label).svg"))
        }
        return ExperimentAnalysis(figures: figures, checks: checks, summary: summary)
    }

    /// Where `phase(p, r)` changes, traced on a 200 × 200 log grid over r, p ∈ [0.1, 10] × [0.01, 1]: one polyline
    /// per pair of neighbouring phases, through the geometric midpoints between cells of different phase along r
    /// (for boundaries of the closed-form theory that have no simple formula, e.g. n = 3, m = 2).
    static func tracedBoundaries(_ phase: (Double, Double) -> Int) -> [[(x: Double, y: Double)]] {
        let ps = (0...200).map { pow(10, -2 + 2 * Double($0) / 200) }
        let rs = (0...200).map { pow(10, -1 + 2 * Double($0) / 200) }
        var curves: [String: [(x: Double, y: Double)]] = [:]
        for p in ps {
            let row = rs.map { phase(p, $0) }
            for k in 1..<rs.count where row[k] != row[k - 1] {
                curves["\(min(row[k], row[k - 1]))-\(max(row[k], row[k - 1]))", default: []].append((x: (rs[k] * rs[k - 1]).squareRoot(), y: p))
            }
        }
        return curves.keys.sorted().map { curves[$0]! }
    }

    /// The n = 2 boundaries r = 2p/(4 − 5p) and r = 2/p − 5/2, clipped to the plotted range, as (r, p) polylines.
    static func boundaryCurves(p: [Double]) -> [[(x: Double, y: Double)]] {
        let fine = (0...200).map { pow(10, -2 + 2 * Double($0) / 200) }
        let triple = 4.0 / 7
        let lower = fine.filter { $0 <= triple }.map { (x: PhaseTheory.superpositionVersusIgnoreBoundary(p: $0), y: $0) }
        let upper = fine.filter { $0 <= triple }.map { (x: PhaseTheory.superpositionVersusDedicatedBoundary(p: $0), y: $0) }
        // Above the triple point, dedicated vs ignored: r = 1.
        let vertical = fine.filter { $0 >= triple }.map { (x: 1.0, y: $0) }
        let inRange = { (pts: [(x: Double, y: Double)]) in pts.filter { $0.x >= 0.1 && $0.x <= 10 } }
        return [inRange(lower), inRange(upper), vertical]
    }
}
