import ArgumentParser
import Foundation
import TMSCore
import TMSModels
import TMSExperiments

/// `tms sweep SPEC.json --out DIR` and `tms sweep merge DIR...` (docs/sweeps.md).
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a grid of configurations, packed as instances, and merge the results (docs/sweeps.md).",
        discussion: """
        tms sweep SPEC.json --out DIR trains every pack of the spec's grid that DIR does not have yet (an \
        interrupted sweep resumes where it stopped) and writes DIR/results.csv, results.json and report.html. \
        With --shard i/N (or a Slurm array task, or a Kubernetes Indexed Job pod with --shard-count) it trains \
        only pack j with j mod N = i; then tms sweep merge DIR... combines the slices.

        Errors: one line 'tms: error: …', exit status 2 (docs/errors.md).
        """,
        subcommands: [RunSweep.self, Merge.self], defaultSubcommand: RunSweep.self)

    struct RunSweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Train a sweep (or one shard of it) into DIR; the default subcommand.")

        @Argument(help: "The sweep spec (JSON; docs/sweeps.md#spec-format).") var spec: String
        @Option(parsing: .unconditional, help: "The sweep folder: created, or resumed if it holds the same spec.") var out: String
        @Option(parsing: .unconditional,
                help: "Train only shard INDEX/COUNT (INDEX from 0); default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, else all.")
        var shard: String?
        @Option(name: .customLong("shard-count"), parsing: .unconditional,
                help: "The shard count for an index taken from the environment (a Kubernetes Indexed Job's completions); also TMS_SHARD_COUNT.")
        var shardCount: Int?
        @Option(parsing: .unconditional, help: "Worker threads (results do not depend on it; default: all cores).")
        var threads: Int = availableProcessorCount
        @Flag(help: "Print only the sweep folder's path on stdout; no progress.") var quiet = false

        func run() throws {
            try checkThreads(threads)
            let spec = try SweepSpec.read(from: URL(fileURLWithPath: spec))
            let folder = try outputFolder(out, prefix: "sweep")
            var slice: SweepShard?
            if let shard {
                if shardCount != nil { throw SweepError("--shard-count cannot be combined with --shard (which names the count)") }
                slice = try SweepShard.parse(shard)
            } else {
                slice = try SweepShard.fromEnvironment(ProcessInfo.processInfo.environment, countOverride: shardCount)
                if slice == nil, let shardCount {
                    throw SweepError("--shard-count \(shardCount) was given but no shard index: set JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, or use --shard i/N")
                }
            }
            let packs = spec.packs().filter { slice?.owns($0) ?? true }
            for pack in packs { try pack.config.checkMemory(threads: threads, available: machineMemory()) }
            let cleanup = PartialFolderCleanup(parents: [folder, SweepRunner.stagingFolder(folder)])
            var bar: ProgressBar?
            let summary = try SweepRunner.train(spec, in: folder, shard: slice, threads: threads,
                                                starting: { pack, position, count in
                                                    if !quiet { bar = ProgressBar(label: "\(pack.id) (\(position)/\(count))") }
                                                }, progress: { bar?.update($0) })
            let complete = summary.missing.isEmpty
            if complete && slice == nil { try SweepRunner.finish(spec, in: folder) }
            withExtendedLifetime(cleanup) {}
            print(folder.path)
            if quiet { return }
            let who = slice.map { "shard \($0): " } ?? ""
            print("\(who)\(summary.trained.count) packs trained, \(summary.skipped.count) already done; \(spec.cells().count) cells in \(spec.packs().count) packs")
            if !summary.diverged.isEmpty {
                print("\(summary.diverged.count) of them diverged (\(summary.diverged.joined(separator: ", "))); their cells have status diverged in the results")
            }
            if slice == nil {
                print("results: \(folder.appendingPathComponent("results.csv").path), report: \(folder.appendingPathComponent("report.html").path)")
            } else if complete {
                print("every pack is done: run tms sweep merge \(folder.path)")
            } else {
                print("\(summary.missing.count) packs of other shards are still missing; when all shards are done: tms sweep merge \(folder.path) (or the shard folders with --out)")
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge shard folders of one sweep and write results.csv, results.json and report.html.",
            discussion: """
            With one DIR (a shared folder all shards wrote into) the results are written there. With several \
            (shard folders copied back from nodes or an object store) --out names the merged folder, new or one \
            of them; packs are copied into it atomically, and a pack present twice must be identical.
            """)

        @Argument(help: "Sweep folders of one spec.") var folders: [String]
        @Option(parsing: .unconditional, help: "The merged folder (required with several DIRs).") var out: String?
        @Flag(help: "Print only the merged folder's path on stdout.") var quiet = false

        func run() throws {
            guard !folders.isEmpty else { throw SweepError("sweep merge: give at least one sweep folder") }
            let sources = folders.map { URL(fileURLWithPath: $0) }
            guard out != nil || sources.count == 1 else {
                throw SweepError("sweep merge: --out is required with \(sources.count) folders (the merged folder: new, or one of them)")
            }
            let target = try out.map { try outputFolder($0, prefix: "sweep") } ?? sources[0]
            let cleanup = PartialFolderCleanup(parents: [target, SweepRunner.stagingFolder(target)])
            let results = try SweepRunner.merge(sources, into: target)
            withExtendedLifetime(cleanup) {}
            print(target.path)
            if !quiet {
                print("\(results.rows.count) cells merged; results: \(target.appendingPathComponent("results.csv").path), report: \(target.appendingPathComponent("report.html").path)")
            }
        }
    }
}
