import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// A sweep folder (docs/sweeps.md#the-sweep-folder): `sweep.json` (the checked spec), `packs/pack-NNNN/`
/// (one run folder per pack, written atomically as it completes, plus `cells.json`), and, once every pack is
/// there, `results.csv`, `results.json`, `figures/*.svg` and `report.html`.
///
/// Resuming is skipping: a pack whose folder exists is done (a folder only appears complete, by rename from
/// this host's `packs/.staging-HOST/`; a partial folder of a killed process is never read and is removed by
/// the host's next write). Every
/// result depends on the spec alone, never on which process or shard trained a pack, so a merge of shards
/// equals the unsharded run bit for bit.
public enum SweepRunner {
    public static let specFile = "sweep.json"

    /// What one `train` call did.
    public struct Summary: Sendable, Equatable {
        /// Packs trained now, and packs of this shard already done before.
        public var trained: [String]
        public var skipped: [String]
        /// Packs of the whole sweep still missing afterwards (other shards' or none).
        public var missing: [String]
        /// Packs trained now whose training diverged (recorded in their `diverged.json`).
        public var diverged: [String]
    }

    /// Creates `folder` with `sweep.json`, or checks that an existing one was started with the same spec
    /// (refused in one line otherwise). An existing empty folder is taken (a mounted volume, a shard that
    /// raced us).
    public static func prepare(_ folder: URL, spec: SweepSpec) throws {
        let fm = FileManager.default
        let file = folder.appendingPathComponent(specFile)
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw SweepError("--out: \(folder.path) is a file, not a sweep folder") }
            if fm.fileExists(atPath: file.path) {
                let started = try readSpec(folder)
                if let key = started.firstDifference(from: spec) {
                    throw SweepError("\(folder.path) was started with another spec (\(key)); rerun with that spec or choose a new --out")
                }
                return
            }
            let contents = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
            guard contents.allSatisfy({ $0 == "packs" || $0.hasPrefix(".") }) else {
                throw SweepError("--out: \(folder.path) exists and is not a sweep folder (it has no sweep.json); choose a new --out")
            }
        }
        do { try fm.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw SweepError("--out: cannot create \(folder.path): \(RunFolder.describe(error))")
        }
        // Under a hidden name of our own, then renamed: a shard starting at the same moment sees either no
        // sweep.json and only hidden names (and writes the same file), or the complete file.
        let temp = folder.appendingPathComponent(".\(specFile).partial-\(ProcessInfo.processInfo.processIdentifier)")
        do { try RunFolder.json(spec).write(to: temp) } catch {
            try? fm.removeItem(at: temp)  // our own temporary file; the original error is reported
            throw SweepError("could not write \(file.path): \(RunFolder.describe(error))")
        }
        guard rename(temp.path, file.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(at: temp)
            throw SweepError("could not write \(file.path): \(reason)")
        }
    }

    /// The spec a sweep folder was started with.
    public static func readSpec(_ folder: URL) throws -> SweepSpec {
        let file = folder.appendingPathComponent(specFile)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw SweepError("\(folder.path) is not a sweep folder: it has no \(specFile)")
        }
        return try SweepSpec.read(from: file)
    }

    static func packURL(_ folder: URL, _ pack: SweepPack) -> URL {
        folder.appendingPathComponent("packs").appendingPathComponent(pack.id)
    }

    /// Whether a pack is done: its folder exists (it only ever appears complete).
    public static func isDone(_ folder: URL, _ pack: SweepPack) -> Bool {
        FileManager.default.fileExists(atPath: packURL(folder, pack).path)
    }

    /// Trains the packs of `shard` (all with nil) that are not done yet, in order, writing each pack's folder
    /// atomically as it completes. `starting(pack, position, count)` is called before each pack is trained
    /// and `progress` during training (on the calling thread).
    public static func train(_ spec: SweepSpec, in folder: URL, shard: SweepShard? = nil, threads: Int = availableProcessorCount,
                             starting: ((SweepPack, Int, Int) -> Void)? = nil,
                             progress: ((TrainingProgress) -> Void)? = nil) throws -> Summary {
        try prepare(folder, spec: spec)
        let packs = spec.packs()
        let mine = packs.filter { shard?.owns($0) ?? true }
        let todo = mine.filter { !isDone(folder, $0) }
        var diverged: [String] = []
        for (position, pack) in todo.enumerated() {
            starting?(pack, position + 1, todo.count)
            var files: [String: Foundation.Data]
            do {
                let result = try Trainer(config: pack.config, threads: threads).train(progress: progress)
                files = try TrainedRun(result: result, experiment: nil).files()
            } catch let error as TrainingError {
                // A result of the grid, not a failure of the sweep: recorded, and the same on every rerun.
                files = ["config.json": try RunFolder.json(RunConfigFile(config: pack.config)),
                         divergedFile: try RunFolder.json(Diverged(error: error.description))]
                diverged.append(pack.id)
            } catch {
                throw SweepError("\(pack.id) (cells \(pack.cells.first!.index)–\(pack.cells.last!.index)): \(RunFolder.describe(error))")
            }
            files["cells.json"] = try RunFolder.json(pack.cells.enumerated().map { j, cell in
                PackCell(cell: cell.index, instance: j, label: cell.label(spec))
            })
            try writePack(files, to: folder, pack)
        }
        let trained = Set(todo.map(\.index))
        return Summary(trained: todo.map(\.id), skipped: mine.filter { !trained.contains($0.index) }.map(\.id),
                       missing: packs.filter { !isDone(folder, $0) }.map(\.id), diverged: diverged)
    }

    /// `packs/.staging-HOST`: where this host writes pack folders before renaming them into `packs/`. Partial
    /// folders are named by process ID (`RunFolder.partialURL`), and only this host can tell whether one of
    /// its processes is gone; in a folder shared by several nodes, one node must never remove another's.
    public static func stagingFolder(_ folder: URL) -> URL {
        let host = ProcessInfo.processInfo.hostName.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }
        return folder.appendingPathComponent("packs").appendingPathComponent(".staging-\(String(host))")
    }

    /// Writes a pack folder atomically: complete under this host's staging folder (through a hidden partial
    /// folder, `RunFolder.write`), then renamed to `packs/pack-NNNN` (one rename on one file system).
    static func writePack(_ files: [String: Foundation.Data], to folder: URL, _ pack: SweepPack) throws {
        let fm = FileManager.default
        let staged = stagingFolder(folder).appendingPathComponent(pack.id), final = packURL(folder, pack)
        try? fm.removeItem(at: staged)  // left by this host's process killed between write and rename; never read
        try RunFolder.write(files, to: staged)
        guard rename(staged.path, final.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(at: staged)
            throw SweepError("could not write \(final.path): \(reason)")
        }
        rmdir(stagingFolder(folder).path)  // only when empty: another process of this host may be writing
    }

    /// `cells.json` of a pack: which cell each instance is.
    struct PackCell: Codable { var cell: Int; var instance: Int; var label: String }

    /// `diverged.json` of a pack whose training diverged (it has no weights): the trainer's one-line error.
    struct Diverged: Codable { var error: String }
    static let divergedFile = "diverged.json"

    /// Loads a finished pack, checking its files (`TrainedRun.load`) and that its config is the one the spec
    /// gives it; nil for a pack whose training diverged.
    public static func loadPack(_ folder: URL, _ pack: SweepPack) throws -> TrainedRun? {
        let url = packURL(folder, pack)
        let diverged = FileManager.default.fileExists(atPath: url.appendingPathComponent(divergedFile).path)
        let config: TrainingConfig
        var run: TrainedRun?
        if diverged {
            _ = try RunFolder.decodeJSON(Diverged.self, from: url.appendingPathComponent(divergedFile))
            config = try RunConfigFile.read(from: url.appendingPathComponent("config.json")).config
        } else {
            run = try TrainedRun.load(from: url)
            config = run!.config
        }
        guard config == pack.config else {
            throw SweepError("\(url.appendingPathComponent("config.json").path) is not the config the spec gives \(pack.id) (the folder was edited or comes from another sweep); delete it to train it again")
        }
        return run
    }

    /// Writes `results.csv`, `results.json`, `figures/*.svg` and `report.html` from every pack; refuses, in one
    /// line, while a pack is missing. Returns the rows.
    @discardableResult
    public static func finish(_ spec: SweepSpec, in folder: URL) throws -> SweepResults {
        let packs = spec.packs()
        let missing = packs.filter { !isDone(folder, $0) }
        if let first = missing.first {
            throw SweepError("\(folder.path): \(missing.count) of \(packs.count) packs are not done (first \(first.id), cells \(first.cells.first!.index)–\(first.cells.last!.index)); run the shards that own them, or `tms sweep SPEC --out \(folder.path)` to train what is missing")
        }
        let results = try SweepResults(spec: spec, runs: packs.map { try loadPack(folder, $0) })
        for (path, data) in try results.files() { try RunFolder.replaceFile(path, in: folder, with: data) }
        return results
    }

    /// Merges shard folders into `out` (docs/sweeps.md#merging): all must hold the same spec; every pack
    /// folder of every source is copied into `out/packs` (atomically) unless `out` has it already, in which
    /// case the two must be identical byte for byte. Then `finish`. `out` may be one of the sources (a shared
    /// folder: nothing to copy) or a new folder.
    @discardableResult
    public static func merge(_ sources: [URL], into out: URL) throws -> SweepResults {
        guard let first = sources.first else { throw SweepError("sweep merge: give at least one sweep folder") }
        let spec = try readSpec(first)
        for source in sources.dropFirst() {
            if let key = try readSpec(source).firstDifference(from: spec) {
                let detail = key.replacingOccurrences(of: "in sweep.json", with: "in \(source.path)")
                    .replacingOccurrences(of: "in this spec", with: "in \(first.path)")
                throw SweepError("\(source.path) holds another sweep than \(first.path) (\(detail)); only shards of one sweep merge")
            }
        }
        try prepare(out, spec: spec)
        let fm = FileManager.default
        let packs = Dictionary(uniqueKeysWithValues: spec.packs().map { ($0.id, $0) })
        for source in sources where source.standardizedFileURL.path != out.standardizedFileURL.path {
            let names = ((try? fm.contentsOfDirectory(atPath: source.appendingPathComponent("packs").path)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted()  // hidden names are partial folders: never read
            for name in names {
                guard let pack = packs[name] else {
                    throw SweepError("\(source.path)/packs/\(name) is not a pack of this sweep (it has \(packs.count) packs, pack-0000…)")
                }
                let from = packURL(source, pack), to = packURL(out, pack)
                if fm.fileExists(atPath: to.path) {
                    for file in ["config.json", "weights.safetensors", "metrics.json", divergedFile]
                    where fm.contents(atPath: from.appendingPathComponent(file).path) != fm.contents(atPath: to.appendingPathComponent(file).path) {
                        throw SweepError("\(from.path)/\(file) differs from \(to.path)/\(file): two shards trained \(name) differently (different tms versions?); delete one")
                    }
                    continue
                }
                var files: [String: Foundation.Data] = [:]
                let root = from.standardizedFileURL.path
                guard let items = fm.enumerator(at: from, includingPropertiesForKeys: [.isRegularFileKey]) else {
                    throw SweepError("cannot read \(from.path)")
                }
                for case let item as URL in items {
                    guard (try? item.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                    let relative = String(item.standardizedFileURL.path.dropFirst(root.count + 1))
                    guard let data = fm.contents(atPath: item.path) else { throw SweepError("cannot read \(item.path)") }
                    files[relative] = data
                }
                try writePack(files, to: out, pack)
            }
        }
        return try finish(spec, in: out)
    }
}

/// The merged results of a sweep: one row per cell (docs/sweeps.md#results).
public struct SweepResults: Sendable, Equatable {
    public let spec: SweepSpec
    /// Column names, in order: cell, pack, instance, every config field, seed, then the measured values.
    public let columns: [String]
    /// `rows[cell][column]`.
    public let rows: [[SweepValue]]

    public static let measured = ["finalLoss", "representedFeatures", "featuresPerDimension", "dimensionsPerFeature"]

    /// Builds the rows from every pack's run, in pack order (`runs[j]` is pack j's; nil if it diverged: its
    /// cells have status `diverged` and NaN measurements).
    public init(spec: SweepSpec, runs: [TrainedRun?]) throws {
        self.spec = spec
        columns = ["cell", "pack", "instance"] + SweepField.allCases.map(\.rawValue) + ["seed", "status"] + Self.measured
        // A Float as the short decimal it prints as (0.1, not 0.10000000149011612).
        func float(_ x: Float) -> SweepValue { .number(x.isFinite ? Double(String(x))! : Double(x)) }
        var rows: [(Int, [SweepValue])] = []
        for (pack, run) in zip(spec.packs(), runs) {
            for (j, cell) in pack.cells.enumerated() {
                let p = pack.config.featureProbability[j][0]
                var row: [SweepValue] = [.number(Double(cell.index)), .choice(pack.id), .number(Double(j))]
                for field in SweepField.allCases {
                    switch field {
                    case .featureProbability: row.append(float(p))
                    case .sparsity: row.append(float(1 - p))
                    default: row.append(cell.value(field))
                    }
                }
                row.append(.number(Double(cell.seed)))
                if let run {
                    let analysis = run.metrics.instances[j]
                    row.append(.choice("ok"))
                    row.append(float(run.metrics.finalLoss[j]))
                    row.append(.number(Double(analysis.representedFeatures)))
                    row.append(.number(Double(analysis.representedFeatures) / Double(run.config.hiddenCount)))
                    row.append(.number(analysis.dimensionsPerFeature))
                } else {
                    row.append(.choice("diverged"))
                    row += Self.measured.map { _ in .number(.nan) }
                }
                rows.append((cell.index, row))
            }
        }
        self.rows = rows.sorted { $0.0 < $1.0 }.map(\.1)
    }

    public func column(_ name: String) -> [SweepValue] {
        let c = columns.firstIndex(of: name)!
        return rows.map { $0[c] }
    }

    /// results.csv: a header line, then one line per cell; choices never hold commas or quotes.
    public var csv: String {
        func text(_ v: SweepValue) -> String {
            if case .number(let d) = v, !d.isFinite { return d.isNaN ? "nan" : d > 0 ? "inf" : "-inf" }
            return v.description
        }
        return ([columns.joined(separator: ",")] + rows.map { $0.map(text).joined(separator: ",") }).joined(separator: "\n") + "\n"
    }

    struct JSONFile: Encodable {
        var name: String
        var columns: [String]
        var rows: [[String: SweepValue]]
    }

    /// results.csv, results.json, figures/*.svg and report.html.
    public func files() throws -> [String: Foundation.Data] {
        let json = JSONFile(name: spec.name, columns: columns,
                            rows: rows.map { Dictionary(uniqueKeysWithValues: zip(columns, $0)) })
        var files: [String: Foundation.Data] = [
            "results.csv": Foundation.Data(csv.utf8),
            "results.json": try RunFolder.json(json),
        ]
        files.merge(SweepReport.files(self)) { $1 }
        return files
    }
}
