import Foundation
import Testing
@testable import TMSExperiments
import TMSAnalysis
import TMSModels
import TMSCore

/// Runs an experiment's --quick variant in memory (train + analyse) with a fixed seed.
func quickChecks(_ experiment: any Experiment, seed: UInt64 = 0) throws -> [Check] {
    let options = ExperimentOptions(quick: true, seed: seed, threads: 2)
    let data = try experiment.train(options) { _, _ in }
    return experiment.analyse(data, options: options).checks
}

func check(_ checks: [Check], containing phrase: String) -> Check? {
    checks.first { $0.claim.contains(phrase) }
}

@Suite("Quick experiments show the paper's qualitative result")
struct QuickExperimentTests {
    @Test func introIsAPentagonWhenSparse() throws {
        let checks = try quickChecks(IntroExperiment())
        let pentagon = try #require(check(checks, containing: "pentagon"))
        #expect(pentagon.passed, "\(pentagon.measured)")
    }

    @Test func sparsitySweepLinearKeepsTopFeaturesAndReLUSuperposes() throws {
        let checks = try quickChecks(SparsitySweepExperiment())
        let linear = try #require(check(checks, containing: "Linear model: exactly the top"))
        #expect(linear.passed, "\(linear.measured)")
        let grows = try #require(check(checks, containing: "grows with sparsity"))
        #expect(grows.passed, "\(grows.measured)")
    }

    @Test func featuresAcrossSparsityRepresentMoreWhenSparse() throws {
        let checks = try quickChecks(FeaturesAcrossSparsityExperiment())
        let grows = try #require(check(checks, containing: "number of represented features grows"))
        #expect(grows.passed, "\(grows.measured)")
    }

    @Test func phaseDiagramAgreesWithTheory() throws {
        let checks = try quickChecks(PhaseDiagramExperiment())
        let agreement = try #require(check(checks, containing: "n = 2, m = 1: learned phases agree"))
        #expect(agreement.passed, "\(agreement.measured)")
    }

    @Test func geometryFeatureDimensionalitiesClusterAtFractions() throws {
        let checks = try quickChecks(GeometryExperiment())
        let dense = try #require(check(checks, containing: "D* = 1 when dense"))
        #expect(dense.passed, "\(dense.measured)")
        let clusters = try #require(check(checks, containing: "cluster at the fractions"))
        #expect(clusters.passed, "\(clusters.measured)")
    }

    @Test func nonUniformLossCurvesCross() throws {
        let checks = try quickChecks(NonUniformExperiment())
        let cross = try #require(check(checks, containing: "losses of the pentagon and digon solutions cross"))
        #expect(cross.passed, "\(cross.measured)")
    }
}

@Suite("Closed-form phase-change losses")
struct PhaseTheoryTests {
    @Test func droppedFeatureLossIsItsVariance() {
        // Var(x) for x = Bernoulli(p)·U[0,1]: p/3 − p²/4; at p = 1: 1/12, at p = 0.5: 1/6 − 1/16 = 5/48.
        #expect(Swift.abs(PhaseTheory.droppedLoss(p: 1) - 1.0 / 12) < 1e-15)
        #expect(Swift.abs(PhaseTheory.droppedLoss(p: 0.5) - 5.0 / 48) < 1e-15)
    }

    @Test func allCandidatesTieAtTheTriplePoint() {
        // p = 4/7, r = 1: r(p/3 − p²/4) = 4/21 − 4/49 = 16/147 and (1 + r)p²/6 = 2·16/49/6 = 16/147.
        let l = PhaseTheory.twoFeatureLosses(p: 4.0 / 7, r: 1)
        #expect(Swift.abs(l.ignoreExtra - 16.0 / 147) < 1e-12)
        #expect(Swift.abs(l.ignoreOther - 16.0 / 147) < 1e-12)
        #expect(Swift.abs(l.antipodal - 16.0 / 147) < 1e-12)
    }

    @Test func handWorkedLossesAtPOneTenthRTwo() {
        // p = 0.1, r = 2: ignore extra 2(1/30 − 1/400) = 0.061667; ignore other 0.030833; antipodal 3·0.01/6 = 0.005.
        let l = PhaseTheory.twoFeatureLosses(p: 0.1, r: 2)
        #expect(Swift.abs(l.ignoreExtra - 0.0616666667) < 1e-9)
        #expect(Swift.abs(l.ignoreOther - 0.0308333333) < 1e-9)
        #expect(Swift.abs(l.antipodal - 0.005) < 1e-12)
        #expect(PhaseTheory.twoFeaturePhase(p: 0.1, r: 2) == .superposition)
        // n = 3 adds the others-antipodal candidate p²/3 = 0.003333, which wins here: extra dedicated.
        #expect(Swift.abs(PhaseTheory.threeFeatureLosses(p: 0.1, r: 2).othersAntipodal - 0.01 / 3) < 1e-12)
        #expect(PhaseTheory.threeFeaturePhase(p: 0.1, r: 2) == .dedicated)
    }

    @Test(arguments: [(0.9, 0.2, FeaturePhase.notLearned), (0.9, 5.0, .dedicated), (0.05, 1.0, .superposition), (0.05, 0.01, .notLearned)])
    func twoFeaturePhasesMatchTheBoundaries(p: Double, r: Double, phase: FeaturePhase) {
        #expect(PhaseTheory.twoFeaturePhase(p: p, r: r) == phase)
    }

    @Test func boundariesMatchTheLossComparison() {
        // On the boundary r = 2p/(4 − 5p) the antipodal and ignore-extra losses are equal.
        for p in [0.02, 0.1, 0.3, 0.5] {
            let r = PhaseTheory.superpositionVersusIgnoreBoundary(p: p)
            let l = PhaseTheory.twoFeatureLosses(p: p, r: r)
            #expect(Swift.abs(l.antipodal - l.ignoreExtra) < 1e-12)
            let r2 = PhaseTheory.superpositionVersusDedicatedBoundary(p: p)
            let l2 = PhaseTheory.twoFeatureLosses(p: p, r: r2)
            #expect(Swift.abs(l2.antipodal - l2.ignoreOther) < 1e-12)
        }
    }

    @Test func theoryRegionsCoverThePapersFractions() {
        // SPEC §8: on a log grid p ∈ [0.01, 1] × r ∈ [0.1, 10], about 12 % not learned, 76 % superposition,
        // 12 % dedicated.
        let count = 200
        var tally = [0, 0, 0]
        for i in 0..<count {
            for j in 0..<count {
                let p = pow(10, -2 + 2 * (Double(i) + 0.5) / Double(count)), r = pow(10, -1 + 2 * (Double(j) + 0.5) / Double(count))
                tally[PhaseTheory.twoFeaturePhase(p: p, r: r).rawValue] += 1
            }
        }
        let fractions = tally.map { Double($0) / Double(count * count) }
        #expect(Swift.abs(fractions[0] - 0.12) < 0.02)
        #expect(Swift.abs(fractions[1] - 0.12) < 0.02)
        #expect(Swift.abs(fractions[2] - 0.76) < 0.02)
    }

    @Test func expectedLinearLossOfTopFeaturesIsTheClosedForm() {
        // n = 20, m = 5, I_i = 0.7^i, p = 1, W = [Id_5 | 0], b_i = 1/2 for dropped features: SPEC §8 gives
        // 0.0023232 per feature.
        var W = TMSCore.Matrix(rowCount: 5, columnCount: 20)
        for k in 0..<5 { W[k, k] = 1 }
        let bias = (0..<20).map { $0 < 5 ? Float(0) : Float(0.5) }
        let importance = (0..<20).map { Float(pow(0.7, Double($0))) }
        let loss = expectedLinearLoss(weights: W, bias: bias, featureProbability: [Float](repeating: 1, count: 20), importance: importance)
        #expect(Swift.abs(loss - 0.0023232) < 1e-6)
        #expect(Swift.abs(SparsitySweepExperiment.linearOptimalLoss(p: 1, importance: importance, hiddenCount: 5) - 0.0023232) < 1e-6)
    }
}

@Suite("Experiment catalog")
struct CatalogTests {
    @Test func catalogHasTheIssuesNamesInOrder() {
        #expect(experimentCatalog.map(\.name) == ["intro", "sparsity-sweep", "features-across-sparsity", "phase-diagram", "geometry", "non-uniform", "sae"])
    }

    @Test func unknownNameIsAOneLineErrorListingTheNames() {
        #expect(throws: RunFolderError("unknown experiment 'pentagon'; choose one of: intro, sparsity-sweep, features-across-sparsity, phase-diagram, geometry, non-uniform, sae, all")) {
            try experiment(named: "pentagon")
        }
    }

    @Test func spearmanOfAMonotoneSequenceIsOne() {
        #expect(Swift.abs(spearman([1, 2, 3, 4], [10, 20, 25, 100]) - 1) < 1e-12)
        #expect(Swift.abs(spearman([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-12)
    }

    @Test func experimentFolderRoundTripsAndRebuildsItsReport() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tms-exp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try ExperimentRunner.run(IntroExperiment(), options: ExperimentOptions(quick: true, steps: 200, threads: 2), out: folder) { _, _ in }
        for file in ["experiment.json", "checks.json", "report.html", "model/config.json", "model/weights.safetensors",
                     "model/metrics.json", "snapshots.safetensors", "figures/feature-diagrams.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(file)")
        }
        let rebuilt = try ExperimentRunner.rebuildReport(folder)
        #expect(rebuilt == outcome.checks)
        let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("1 − S = 0.05"))
        #expect(!html.contains("https://") && !html.contains("http://"))
    }
}

@Suite("Run reports")
struct RunReportTests {
    func tinyRun(p: Float) throws -> TrainedRun {
        let config = TrainingConfig.standard(featureCount: 5, hiddenCount: 2, featureProbabilities: [p], importanceDecay: 0.9,
                                             steps: 5, batchSize: 16)
        return TrainedRun(result: try Trainer(config: config, threads: 1).train())
    }

    @Test func panelTitlesComeFromTheConfig() throws {
        let a = String(decoding: RunReport.files(try tinyRun(p: 0.1))["report.html"]!, as: UTF8.self)
        let b = String(decoding: RunReport.files(try tinyRun(p: 0.01))["report.html"]!, as: UTF8.self)
        #expect(a.contains("1 − S = 0.1<") && !a.contains("1 − S = 0.01<"))
        #expect(b.contains("1 − S = 0.01<") && !b.contains("1 − S = 0.1<"))
    }

    @Test func reportIsOfflineAndDeterministic() throws {
        let run = try tinyRun(p: 0.05)
        let first = RunReport.files(run), second = RunReport.files(run)
        #expect(first == second)
        let html = String(decoding: first["report.html"]!, as: UTF8.self)
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(first.keys.sorted() == ["figures/dimensionality.svg", "figures/feature-diagrams.svg", "figures/geometry.svg",
                                        "figures/gram.svg", "figures/loss-curves.svg", "report.html"])
    }
}
