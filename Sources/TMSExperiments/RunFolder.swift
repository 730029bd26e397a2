import Foundation
import TMSCore
import TMSModels
import TMSAnalysis

/// The tool's version, recorded in every `config.json`.
public let tmsVersion = "0.1.0"

/// A run folder's problem, e.g. an output folder that already exists; `description` is one line.
public struct RunFolderError: Swift.Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Writes and reads run folders (SPEC §6): `config.json`, `weights.safetensors`, `metrics.json`, `figures/`,
/// `report.html`, and `checks.json` for paper experiments.
///
/// A folder is written complete under a hidden temporary name beside its destination and renamed into place,
/// so a crash or an error never leaves a half-written run.
public enum RunFolder {
    /// Checks that `url` does not exist and that its parent can be created and written; throws one line.
    public static func checkWritable(_ url: URL) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: url.path) {
            throw RunFolderError("output folder \(url.path) already exists; choose a new --out path")
        }
        let parent = url.deletingLastPathComponent()
        do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw RunFolderError("output folder \(url.path) cannot be created: its parent \(parent.path) is not writable")
        }
        guard fm.isWritableFile(atPath: parent.path) else {
            throw RunFolderError("output folder \(url.path) cannot be created: its parent \(parent.path) is not writable")
        }
    }

    /// Writes `files` (relative path → bytes) into a new folder at `url`, atomically.
    public static func write(_ files: [String: Foundation.Data], to url: URL) throws {
        try checkWritable(url)
        let fm = FileManager.default
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: temp)
        do {
            try fm.createDirectory(at: temp, withIntermediateDirectories: true)
            for (path, data) in files.sorted(by: { $0.key < $1.key }) {
                let file = temp.appendingPathComponent(path)
                try fm.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: file)
            }
            try fm.moveItem(at: temp, to: url)
        } catch {
            try? fm.removeItem(at: temp)
            throw RunFolderError("could not write run folder \(url.path): \(error.localizedDescription)")
        }
    }

    /// Replaces (or adds) one file inside an existing run folder atomically (write to a temp name, rename).
    public static func replaceFile(_ path: String, in folder: URL, with data: Foundation.Data) throws {
        let file = folder.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file, options: .atomic)
    }

    /// A stable JSON encoding: sorted keys, pretty-printed.
    public static func json<T: Encodable>(_ value: T) throws -> Foundation.Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    public static func decodeJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(type, from: Foundation.Data(contentsOf: url)) } catch {
            throw RunFolderError("cannot read \(url.path): \(error.localizedDescription)")
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

    /// Loads config and weights from a run folder and (re)computes nothing else.
    public static func loadWeights(from folder: URL) throws -> (config: TrainingConfig, weights: ToyModelWeights) {
        let fm = FileManager.default
        guard fm.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            throw RunFolderError("\(folder.path) is not a run folder: it has no config.json")
        }
        let configFile = try RunFolder.decodeJSON(RunConfigFile.self, from: folder.appendingPathComponent("config.json"))
        let tensors: [String: Tensor]
        do { tensors = try Safetensors.read(from: folder.appendingPathComponent("weights.safetensors")).tensors } catch {
            throw RunFolderError("cannot read \(folder.appendingPathComponent("weights.safetensors").path): \(error)")
        }
        return (configFile.config, try ToyModelWeights(model: configFile.config.model, tensors: tensors))
    }
}
