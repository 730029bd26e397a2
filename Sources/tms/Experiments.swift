import ArgumentParser
import Foundation
import TMSCore
import TMSModels
import TMSExperiments
import TMSRender

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the paper's experiments that `tms run` reproduces.")

    func run() {
        let rows = experimentCatalog.map { [$0.name, $0.measuredRuntime, $0.reproduces, $0.outputs] }
        let headers = ["name", "runtime (2 cores)", "reproduces", "outputs"]
        let widths = (0..<2).map { c in max(headers[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        print(pad(headers[0], widths[0]) + "  " + pad(headers[1], widths[1]) + "  " + headers[2])
        for r in rows {
            print(pad(r[0], widths[0]) + "  " + pad(r[1], widths[1]) + "  " + r[2])
            print(String(repeating: " ", count: widths[0] + widths[1] + 4) + "outputs: " + r[3])
        }
        print("\nRun one with `tms run NAME [--out DIR] [--seed S] [--steps T] [--quick]`, or all with `tms run all`.")
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one of the paper's experiments (see `tms list`), or `all`.",
        discussion: "Writes a run folder with report.html (the paper's figure) and checks.json (claims vs measurements).")

    @Argument(help: "Experiment name, or all.") var name: String
    @Option(parsing: .unconditional, help: "Output folder (must not exist); default runs/NAME-<time>.") var out: String?
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Override the number of training steps (at most 10^9).") var steps: Int?
    @Flag(help: "A reduced setting that still shows the qualitative result.") var quick = false
    @Option(parsing: .unconditional, help: "Worker threads (results do not depend on it).") var threads: Int = availableProcessorCount
    @Flag(help: "Print only the folder's path on stdout; no progress.") var quiet = false

    func run() throws {
        try checkThreads(threads)
        let options = ExperimentOptions(quick: quick, seed: seed, steps: steps, threads: threads)
        let experiments = name == "all" ? experimentCatalog : [try experiment(named: name)]
        // Every part's config goes through the one validation (an absurd --steps is refused here, by name).
        for experiment in experiments {
            for part in experiment.partConfigs(options) {
                try part.config.validate()
                try part.config.checkMemory(threads: threads, available: machineMemory())
            }
        }
        if name == "all" {
            try runAll(options)
            return
        }
        let folder = try outputFolder(out, prefix: name)
        try RunFolder.checkWritable(folder)
        let cleanup = PartialFolderCleanup(output: folder)
        let outcome = try runOne(experiments[0], options: options, folder: folder)
        withExtendedLifetime(cleanup) {}
        if outcome.checks.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }

    func runOne(_ experiment: any Experiment, options: ExperimentOptions, folder: URL, inAll: Bool = false) throws -> ExperimentOutcome {
        let bars = ProgressBars(prefix: experiment.name)
        let quiet = self.quiet
        let outcome = try ExperimentRunner.run(experiment, options: options, out: folder) { label, p in
            if !quiet { bars.update(label, p) }
        }
        if quiet {
            if !inAll { print(folder.path) }  // `run all --quiet` prints only its root
            return outcome
        }
        print(folder.path)
        for check in outcome.checks {
            print("  \(check.passed ? "pass" : "FAIL")  \(check.claim)")
            print("        expected \(check.expected); measured \(check.measured)")
        }
        print(String(format: "  %d/%d checks passed in %.1f s; report: %@", outcome.checks.filter(\.passed).count,
                     outcome.checks.count, outcome.seconds, folder.appendingPathComponent("report.html").path))
        return outcome
    }

    func runAll(_ options: ExperimentOptions) throws {
        let root = try outputFolder(out, prefix: "all")
        try RunFolder.checkWritable(root)
        // Watching root before it exists: an interrupt removes it (and parents made for it) while still empty.
        let cleanup = PartialFolderCleanup(parents: [root])
        defer { withExtendedLifetime(cleanup) {} }
        var created: [URL] = []
        var folder = root
        while !FileManager.default.fileExists(atPath: folder.path) { created.append(folder); folder.deleteLastPathComponent() }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var entries: [IndexEntry] = [], failed = 0
        for experiment in experimentCatalog {
            // Experiments already finished are kept when a later one fails; an empty root is removed.
            let outcome: ExperimentOutcome
            do {
                outcome = try runOne(experiment, options: options, folder: root.appendingPathComponent(experiment.name), inAll: true)
            } catch {
                for folder in created { rmdir(folder.path) }  // innermost first; only empty folders go
                throw error
            }
            let entry = outcome.indexEntry(experiment, options: options,
                                           summary: "\(experiment.reproduces) (\(String(format: "%.0f s", outcome.seconds)))")
            failed += entry.failed
            entries.append(entry)
        }
        let index = HTMLReport.indexPage(title: "tms run all", entries: entries)
        try RunFolder.replaceFile("index.html", in: root, with: Data(index.utf8))
        if !quiet { print("index: \(root.appendingPathComponent("index.html").path)") } else { print(root.path) }
        if failed > 0 { throw ExitCode(1) }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rebuild report.html and figures/ of a run folder from its saved files.")

    @Argument(help: "A run folder written by tms train or tms run.") var folder: String

    func run() throws {
        try reportingErrors {
            let url = URL(fileURLWithPath: folder)
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("experiment.json").path) {
                _ = try ExperimentRunner.rebuildReport(url)
            } else {
                try RunReport.rebuild(url)
            }
            print(url.appendingPathComponent("report.html").path)
        }
    }
}

/// One progress bar per labelled part.
final class ProgressBars: @unchecked Sendable {
    let prefix: String
    var bars: [String: ProgressBar] = [:]
    let lock = NSLock()
    init(prefix: String) { self.prefix = prefix }

    func update(_ label: String, _ p: TrainingProgress) {
        lock.lock(); defer { lock.unlock() }
        let name = label == prefix ? prefix : "\(prefix)/\(label)"
        let bar: ProgressBar
        if let existing = bars[name] {
            bar = existing
        } else {
            // Created at its part's first report: time the rate from this point.
            bar = ProgressBar(label: name)
            bar.baseline = p.step
        }
        bars[name] = bar
        bar.update(p)
    }
}
