import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// The tool's version, recorded in every `config.json`.
public let tmsVersion = "0.1.0"

/// A run folder's problem, e.g. an output folder that already exists or a damaged `config.json`;
/// `description` is one line naming the file and what is wrong.
public struct RunFolderError: Swift.Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A `weights.safetensors` that cannot be read or disagrees with its `config.json` (a tensor's name or shape,
/// a non-finite value); `description` is one line naming the tensor.
public struct WeightsFileError: Swift.Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Writes and reads run folders (docs/run-folder.md): `config.json`, `weights.safetensors`, `metrics.json`,
/// `figures/`, `report.html`, and `checks.json` for paper experiments.
///
/// A folder is written complete under a hidden temporary name beside its destination (`.NAME.partial-PID`)
/// and renamed into place, so a crash or an error never leaves a half-written run; partial folders of
/// processes that no longer exist are removed by the next write into the same parent.
public enum RunFolder {
    /// The hidden folder a write into `url` by process `pid` goes through.
    public static func partialURL(for url: URL, pid: Int32 = ProcessInfo.processInfo.processIdentifier) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(pid)")
    }

    /// Checks, without creating anything, that the folder `url` does not exist and could be created: its
    /// nearest existing ancestor is a writable folder (probed by creating and removing a hidden folder in
    /// it). Also removes stale partial folders of dead processes in `url`'s parent. Throws one line.
    public static func checkWritable(_ url: URL) throws {
        let fm = FileManager.default
        guard !url.path.isEmpty, url.lastPathComponent != "/" else {
            throw RunFolderError("output folder path is empty; give a folder path with --out")
        }
        if fm.fileExists(atPath: url.path) {
            throw RunFolderError("output folder \(url.path) already exists; choose a new --out path")
        }
        var ancestor = url.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        while !fm.fileExists(atPath: ancestor.path, isDirectory: &isFolder) {
            let up = ancestor.deletingLastPathComponent()
            if up.path == ancestor.path { break }
            ancestor = up
        }
        guard isFolder.boolValue else {
            throw RunFolderError("output folder \(url.path) cannot be created: \(ancestor.path) is a file, not a folder")
        }
        let probe = ancestor.appendingPathComponent(".tms-probe-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        guard mkdir(probe.path, 0o700) == 0 else {
            throw RunFolderError("output folder \(url.path) cannot be created: \(ancestor.path) is not writable (\(String(cString: strerror(errno))))")
        }
        rmdir(probe.path)
        removeStalePartials(in: url.deletingLastPathComponent())
    }

    /// Removes `.NAME.partial-PID` folders in `parent` whose process no longer exists (a run killed during
    /// its final write).
    public static func removeStalePartials(in parent: URL) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: parent.path) else { return }  // no parent: nothing stale
        for name in names where name.hasPrefix(".") {
            guard let range = name.range(of: ".partial-", options: .backwards),
                  let pid = Int32(name[range.upperBound...]), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? fm.removeItem(at: parent.appendingPathComponent(name))  // best effort: another process may race us
            }
        }
    }

    /// Writes `files` (relative path → bytes) into a new folder at `url`, atomically. Parent folders it has
    /// to create are removed again if the write fails.
    public static func write(_ files: [String: Foundation.Data], to url: URL) throws {
        try checkWritable(url)
        let fm = FileManager.default
        let temp = partialURL(for: url)
        var created: [URL] = []
        var parent = url.deletingLastPathComponent()
        while !fm.fileExists(atPath: parent.path) {
            created.append(parent)
            parent = parent.deletingLastPathComponent()
        }
        do {
            try fm.createDirectory(at: temp, withIntermediateDirectories: true)
            for (path, data) in files.sorted(by: { $0.key < $1.key }) {
                let file = temp.appendingPathComponent(path)
                try fm.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: file)
            }
            try fm.moveItem(at: temp, to: url)
        } catch {
            try? fm.removeItem(at: temp)  // cleanup of our own temporary folder; the original error is reported
            for folder in created { rmdir(folder.path) }  // innermost first; only removes empty folders
            throw RunFolderError("could not write run folder \(url.path): \(describe(error))")
        }
    }

    /// Replaces (or adds) one file inside an existing run folder atomically (write to a temp name, rename).
    public static func replaceFile(_ path: String, in folder: URL, with data: Foundation.Data) throws {
        let file = folder.appendingPathComponent(path)
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: file, options: .atomic)
        } catch {
            throw RunFolderError("could not write \(file.path): \(describe(error))")
        }
    }
}

/// `config.json`: the resolved config, its seed (inside `config`) and the tool version.
public struct RunConfigFile: Codable, Sendable {
    public var tool = "tms"
    public var version = tmsVersion
    /// The experiment this run belongs to, if any.
    public var experiment: String?
    public var config: TrainingConfig

    public init(config: TrainingConfig, experiment: String? = nil) {
        self.config = config
        self.experiment = experiment
    }

    /// Reads a `config.json` (or the `config.json` of a run folder `url`) and checks it as the CLI checks its
    /// flags: written by tms of a compatible version, every field present, known and valid
    /// (`TrainingConfig.validate()`). Throws one line naming the file and the field.
    public static func read(from url: URL) throws -> RunConfigFile {
        var file = url
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            file = url.appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw RunFolderError("\(url.path) is a folder without a config.json; give a run folder or its config.json")
            }
        }
        let decoded = try RunFolder.decodeJSON(RunConfigFile.self, from: file)
        try checkTool(decoded.tool, version: decoded.version, in: file)
        do { try decoded.config.validate() } catch let error as ConfigError {
            throw RunFolderError("\(file.path): \(error.description)")
        }
        return decoded
    }

    /// Refuses files of another tool, or of a tms whose major.minor version differs from ours.
    static func checkTool(_ tool: String, version: String, in file: URL) throws {
        guard tool == "tms" else {
            throw RunFolderError("\(file.path): tool is '\(tool)'; this file was not written by tms")
        }
        let ours = tmsVersion.split(separator: ".").prefix(2), theirs = version.split(separator: ".").prefix(2)
        guard ours == theirs, version.split(separator: ".").allSatisfy({ Int($0) != nil }) else {
            throw RunFolderError("\(file.path): written by tms \(version); this is tms \(tmsVersion), which reads files of version \(ours.joined(separator: ".")).x")
        }
    }
}

/// `metrics.json`: final losses, the sampled loss curve and the analysis of every instance.
public struct RunMetrics: Codable, Sendable {
    /// Evaluation loss of the kept model, per instance.
    public var finalLoss: [Float]
    /// Evaluation loss of every seed, `[instance][seed]` (best-of-N).
    public var seedLosses: [[Float]]
    public var keptSeed: [Int]
    public var lossCurve: LossCurve
    public var instances: [InstanceAnalysis]

    public init(result: TrainingResult) {
        finalLoss = result.finalLoss
        seedLosses = result.seedLosses
        keptSeed = result.keptSeed
        lossCurve = result.lossCurve
        instances = Self.analyse(result.weights)
    }

    /// Checks that every table has the shape `config` implies and that the stored analysis is the analysis
    /// of `weights`; throws one `RunFolderError` line naming the field.
    public func check(against config: TrainingConfig, weights: ToyModelWeights, file: URL) throws {
        let K = config.instanceCount, N = config.bestOf, n = config.featureCount, m = config.hiddenCount
        func fail(_ text: String) -> RunFolderError { RunFolderError("\(file.path): \(text)") }
        guard finalLoss.count == K else { throw fail("finalLoss has \(finalLoss.count) values; config.json has \(K) instances") }
        guard seedLosses.count == K, seedLosses.allSatisfy({ $0.count == N }) else {
            throw fail("seedLosses must be [\(K) instances][\(N) seeds] (best-of \(N))")
        }
        guard keptSeed.count == K, keptSeed.allSatisfy({ (0..<N).contains($0) }) else {
            throw fail("keptSeed must hold \(K) seed indices in 0..<\(N)")
        }
        for k in 0..<K where !(seedLosses[k][keptSeed[k]] == finalLoss[k] || seedLosses[k][keptSeed[k]].isNaN && finalLoss[k].isNaN) {
            throw fail("finalLoss[\(k)] = \(finalLoss[k]) is not seedLosses[\(k)][keptSeed[\(k)]] = \(seedLosses[k][keptSeed[k]])")
        }
        let steps = lossCurve.steps
        guard steps.count <= max(1, config.lossLogPoints), zip(steps, steps.dropFirst()).allSatisfy({ $0 < $1 }),
              steps.allSatisfy({ (0..<config.steps).contains($0) }) else {
            throw fail("lossCurve.steps must be at most \(config.lossLogPoints) increasing steps in 0..<\(config.steps)")
        }
        guard lossCurve.values.count == K, lossCurve.values.allSatisfy({ $0.count == steps.count }) else {
            throw fail("lossCurve.values must be [\(K) instances][\(steps.count) points]")
        }
        guard instances.count == K else { throw fail("instances has \(instances.count) entries; config.json has \(K) instances") }
        let recomputed = Self.analyse(weights)
        for k in 0..<K {
            let a = instances[k], b = recomputed[k]
            guard a.featureNorms.count == n, a.interference.count == n, a.featureDimensionality.count == n else {
                throw fail("instances[\(k)] must hold \(n) values per feature table")
            }
            guard (a.neurons == nil) == (b.neurons == nil) else {
                throw fail("instances[\(k)].neurons must be \(b.neurons == nil ? "absent" : "present") for \(config.model.rawValue)")
            }
            if let neurons = a.neurons, !(neurons.monosemanticity.count == m && neurons.polysemanticity.count == m && neurons.dominantFeature.count == m) {
                throw fail("instances[\(k)].neurons must hold \(m) values per neuron table")
            }
            func same(_ x: [Double], _ y: [Double]) -> Bool {
                zip(x, y).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) || Swift.abs($0 - $1) <= 1e-6 * max(1, Swift.abs($1)) }
            }
            guard same(a.featureNorms, b.featureNorms), same(a.featureDimensionality, b.featureDimensionality),
                  same(a.interference, b.interference), same([a.dimensionsPerFeature], [b.dimensionsPerFeature]),
                  a.representedFeatures == b.representedFeatures else {
                throw fail("instances[\(k)] does not match the analysis of weights.safetensors (the files come from different runs or were edited)")
            }
        }
    }

    /// The analysis of every instance of `weights` (for `abs`, of W₁).
    public static func analyse(_ weights: ToyModelWeights) -> [InstanceAnalysis] {
        (0..<weights.instanceCount).map {
            InstanceAnalysis(weights: weights.weightMatrix(instance: $0), privilegedBasis: weights.model.hasHiddenReLU)
        }
    }
}

/// A trained run held in memory: what a run folder stores.
public struct TrainedRun: Sendable {
    public var config: TrainingConfig
    public var weights: ToyModelWeights
    public var metrics: RunMetrics
    public var experiment: String?

    public init(result: TrainingResult, experiment: String? = nil) {
        config = result.config
        weights = result.weights
        metrics = RunMetrics(result: result)
        self.experiment = experiment
    }

    /// The run's core files: config.json, weights.safetensors, metrics.json.
    public func files() throws -> [String: Foundation.Data] {
        [
            "config.json": try RunFolder.json(RunConfigFile(config: config, experiment: experiment)),
            "weights.safetensors": Foundation.Data(Safetensors.encode(weights.tensors, metadata: [
                "model": config.model.rawValue, "tool": "tms \(tmsVersion)", "seed": String(config.seed),
            ])),
            "metrics.json": try RunFolder.json(metrics),
        ]
    }

    /// Loads config and weights from a run folder, checking the config (`RunConfigFile.read`) and every
    /// tensor's name, shape and values against it (`checkWeights`); computes nothing else.
    public static func loadWeights(from folder: URL) throws -> (config: TrainingConfig, weights: ToyModelWeights) {
        let configURL = folder.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("experiment.json").path),
               let record = try? RunFolder.decodeJSON(ExperimentRecord.self, from: folder.appendingPathComponent("experiment.json")) {
                // Only used to word the message; a damaged experiment.json gets the plain message below.
                let parts = record.parts.map { folder.appendingPathComponent($0).path }.joined(separator: ", ")
                throw RunFolderError("\(folder.path) is an experiment folder, not a run folder; its run folders are: \(parts)")
            }
            throw RunFolderError("\(folder.path) is not a run folder: it has no config.json")
        }
        let config = try RunConfigFile.read(from: configURL).config
        let weightsURL = folder.appendingPathComponent("weights.safetensors")
        let file: (tensors: [String: Tensor], metadata: [String: String])
        do { file = try Safetensors.read(from: weightsURL) } catch let error as SafetensorsError {
            throw WeightsFileError("\(weightsURL.path): \(error.description)")
        } catch {
            throw WeightsFileError("cannot read \(weightsURL.path): \(RunFolder.describe(error))")
        }
        return (config, try checkWeights(file.tensors, metadata: file.metadata, against: config, file: weightsURL))
    }

    /// The tensors a run of `config` stores, with their shapes: `W` [K, m, n] (or `W1` [K, m, n] and `W2`
    /// [K, n, m] for `abs`) and `b_final` [K, n].
    public static func expectedTensorShapes(_ config: TrainingConfig) -> [String: [Int]] {
        let K = config.instanceCount, m = config.hiddenCount, n = config.featureCount
        return config.model.isTied ? ["W": [K, m, n], "b_final": [K, n]]
                                   : ["W1": [K, m, n], "W2": [K, n, m], "b_final": [K, n]]
    }

    /// Builds weights from safetensors tensors after checking each name, shape and value against `config`;
    /// throws a `WeightsFileError` naming the tensor that disagrees.
    public static func checkWeights(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                                    against config: TrainingConfig, file: URL) throws -> ToyModelWeights {
        let expected = expectedTensorShapes(config)
        let c = config
        let says = "config.json says \(c.model.rawValue) with K = \(c.instanceCount) instances, n = \(c.featureCount) features, m = \(c.hiddenCount) hidden"
        for name in expected.keys.sorted() where tensors[name] == nil {
            throw WeightsFileError("\(file.path) has no tensor '\(name)'; \(says), which stores \(expected.keys.sorted().joined(separator: ", "))")
        }
        if let extra = tensors.keys.sorted().first(where: { expected[$0] == nil }) {
            throw WeightsFileError("\(file.path) has an unexpected tensor '\(extra)'; \(says), which stores \(expected.keys.sorted().joined(separator: ", "))")
        }
        for name in expected.keys.sorted() {
            let shape = tensors[name]!.shape
            guard shape == expected[name]! else {
                throw WeightsFileError("\(file.path): tensor '\(name)' has shape \(shape) but \(says), so it must be \(expected[name]!)")
            }
            if let i = tensors[name]!.values.firstIndex(where: { !$0.isFinite }) {
                throw WeightsFileError("\(file.path): tensor '\(name)' holds \(tensors[name]!.values[i]) at flat index \(i); trained weights are finite")
            }
        }
        if let model = metadata["model"], model != config.model.rawValue {
            throw WeightsFileError("\(file.path) was written for model \(model) but config.json says \(config.model.rawValue)")
        }
        return ToyModelWeights(model: c.model, featureCount: c.featureCount, hiddenCount: c.hiddenCount,
                               instanceCount: c.instanceCount, W: tensors[c.model.isTied ? "W" : "W1"]!.values,
                               W2: tensors["W2"]?.values, bias: tensors["b_final"]!.values)
    }

    /// Loads a complete run folder: config and weights (`loadWeights`) and `metrics.json`, checked against
    /// both (`RunMetrics.check`).
    public static func load(from folder: URL, experiment: String? = nil) throws -> TrainedRun {
        let (config, weights) = try loadWeights(from: folder)
        let url = folder.appendingPathComponent("metrics.json")
        let metrics = try RunFolder.decodeJSON(RunMetrics.self, from: url, nullIsNaN: true)
        try metrics.check(against: config, weights: weights, file: url)
        return TrainedRun(config: config, weights: weights, metrics: metrics, experiment: experiment)
    }
}
