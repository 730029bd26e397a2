import Foundation
import Testing
@testable import TMSExperiments

/// Runs an experiment's --quick variant in memory (train + analyse) with a fixed seed.
func quickChecks(_ experiment: any Experiment, seed: UInt64 = 0) throws -> [Check] {
    let options = ExperimentOptions(quick: true, seed: seed, threads: 2)
    let data = try experiment.train(options) { _, _ in }
    let analysis = try experiment.analyse(data, options: options)
    // The index page's thumbnail: the experiment's main figure is one its analysis saves.
    #expect(experiment.mainFigure.map { main in analysis.figures.contains { $0.file == main } } == true, "\(experiment.name)")
    return analysis.checks
}

/// The first check whose claim contains `phrase`.
func check(_ checks: [Check], containing phrase: String) -> Check? {
    checks.first { $0.claim.contains(phrase) }
}
