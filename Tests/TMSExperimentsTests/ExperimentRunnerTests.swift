import Foundation
import Testing
@testable import TMSExperiments

// ExperimentRunner.swift: experiment folders on disk and rebuilt reports.

@Suite struct ExperimentRunnerTests {
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
