import Foundation
import Testing
@testable import TMSExperiments
import TMSModels

// RunReport.swift: the report of a single training run.

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

    /// Settings that change the science are in the summary when set, and absent (today's text) when default.
    @Test func summaryShowsSetSizeL1AndInitialisationWhenSet() throws {
        let plain = String(decoding: RunReport.files(try tinyRun(p: 0.1))["report.html"]!, as: UTF8.self)
        #expect(!plain.contains("sets of") && !plain.contains("L1 penalty") && !plain.contains("init "))
        var config = TrainingConfig.standard(featureCount: 6, hiddenCount: 2, featureProbabilities: [0.1], importanceDecay: 0.9,
                                             distribution: .correlatedSets, steps: 5, batchSize: 16)
        config.correlatedSetSize = 3
        config.l1Penalty = 0.001
        config.initialisation = .reference
        config.initScale = 0.5
        let html = String(decoding: RunReport.files(TrainedRun(result: try Trainer(config: config, threads: 1).train()))["report.html"]!,
                          as: UTF8.self)
        #expect(html.contains("correlated-sets, sets of 3"))
        #expect(html.contains(", L1 penalty 0.001, init reference × 0.5"))
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
