import Foundation
import Testing
@testable import TMSExperiments

// Run folders of the experiments whose data lives in extra files (snapshots, double-descent.safetensors):
// written by `tms run`, loaded back, and analysed to the same checks.

@Suite struct PartTwoRoundTripTests {
    @Test(arguments: ["learning-dynamics", "double-descent"])
    func runFolderReloadsToTheSameChecks(name: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tms-p2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let experiment = try experiment(named: name)
        let outcome = try ExperimentRunner.run(experiment, options: ExperimentOptions(quick: true, seed: 1, threads: 2),
                                               out: dir, progress: { _, _ in })
        let rebuilt = try ExperimentRunner.rebuildReport(dir)
        #expect(rebuilt == outcome.checks)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("report.html").path))
    }
}
