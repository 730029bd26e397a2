import Foundation
import Testing
@testable import TMSExperiments
import TMSModels
import TMSCore

// RunFolder.swift: writing run folders atomically, and reading them back strictly (issue 9, defects 1, 2, 5
// and 8): every damaged or disagreeing file is one error line naming the file and the field or tensor.

/// A tiny trained run of `model`: 2 instances of 5 features in 2 dimensions, 20 steps.
func tinyRun(_ model: ModelKind = .reluOutput, bestOf: Int = 1) throws -> TrainedRun {
    var config = TrainingConfig.standard(model: model, featureCount: 5, hiddenCount: 2, featureProbabilities: [1, 0.1],
                                         importanceDecay: 0.9, steps: 20, batchSize: 16, bestOf: bestOf, seed: 1)
    config.lossLogPoints = 5
    config.evaluationBatches = 1
    return TrainedRun(result: try Trainer(config: config, threads: 1).train())
}

/// A fresh temporary folder (removed by the caller).
func scratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tms-runfolder-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `run` into `parent/run` and returns that folder.
func writeRun(_ run: TrainedRun, in parent: URL, name: String = "run") throws -> URL {
    let folder = parent.appendingPathComponent(name)
    try RunFolder.write(try run.files(), to: folder)
    return folder
}

/// Edits the JSON object in `file` with `edit` and writes it back.
func editJSON(_ file: URL, _ edit: (inout [String: Any]) -> Void) throws {
    var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
    edit(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: file)
}

/// The one-line message `body` throws (as our error types describe it), or nil if it does not throw.
func errorLine(_ body: () throws -> Void) -> String? {
    do { try body() } catch let e as RunFolderError { return e.description } catch let e as WeightsFileError {
        return e.description
    } catch let e as ConfigError { return e.description } catch { return "unexpected error type \(type(of: error)): \(error)" }
    return nil
}

@Suite("Reading run folders checks every file against the others")
struct RunFolderReadTests {
    /// Defect 1: weights with other instance/feature/hidden counts than config.json.
    @Test(arguments: [
        ("more instances", [3, 2, 5], "tensor 'W' has shape [3, 2, 5]"),
        ("fewer instances", [1, 2, 5], "tensor 'W' has shape [1, 2, 5]"),
        ("seven features", [2, 2, 7], "tensor 'W' has shape [2, 2, 7]"),
        ("other hidden size", [2, 3, 5], "tensor 'W' has shape [2, 3, 5]"),
    ])
    func weightsThatDisagreeWithTheConfigAreRefused(_ name: String, _ shape: [Int], _ expected: String) throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try writeRun(try tinyRun(), in: dir)
        let count = shape.reduce(1, *)
        try Safetensors.write(["W": Tensor(shape: shape, values: [Float](repeating: 0.5, count: count)),
                               "b_final": Tensor(shape: [shape[0], shape[2]], values: [Float](repeating: 0, count: shape[0] * shape[2]))],
                              to: folder.appendingPathComponent("weights.safetensors"))
        let line = try #require(errorLine { _ = try TrainedRun.loadWeights(from: folder) }, "\(name) was accepted")
        #expect(line.contains(expected), "\(line)")
        #expect(line.contains("config.json says relu-output with K = 2 instances, n = 5 features, m = 2 hidden"))
    }

    @Test func missingExtraOrRenamedTensorsAreNamed() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try tinyRun(.abs)
        let folder = try writeRun(run, in: dir)
        let url = folder.appendingPathComponent("weights.safetensors")
        var tensors = run.weights.tensors
        tensors["W2"] = nil
        try Safetensors.write(tensors, to: url)
        #expect(errorLine { _ = try TrainedRun.loadWeights(from: folder) }?.contains("has no tensor 'W2'") == true)
        tensors = run.weights.tensors
        tensors["extra"] = Tensor(shape: [1], values: [0])
        try Safetensors.write(tensors, to: url)
        #expect(errorLine { _ = try TrainedRun.loadWeights(from: folder) }?.contains("unexpected tensor 'extra'") == true)
        tensors = run.weights.tensors
        tensors["W1"]!.values[3] = .nan
        try Safetensors.write(tensors, to: url)
        #expect(errorLine { _ = try TrainedRun.loadWeights(from: folder) }?.contains("tensor 'W1' holds nan at flat index 3") == true)
    }

    /// Defect 2: malformed values in config.json are validated like flags and name the field. Each case sets
    /// `config.KEY` to the JSON text `value` (nil removes the key).
    @Test(arguments: [
        ("featureProbability", "[[], []]", "featureProbability: instance 0 has 0 values; expected 5"),
        ("featureProbability", "[[0.1, 0.1, 0.1, 0.1, 0.1]]", "featureProbability: has 1 instance rows; expected 2"),
        ("featureProbability", "[[-1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]", "featureProbability: -1.0 (instance 0, feature 0) is invalid"),
        ("featureProbability", "[[\"nan\", 1, 1, 1, 1], [1, 1, 1, 1, 1]]", "featureProbability: nan (instance 0, feature 0) is invalid"),
        ("instanceCount", "0", "--instances / instanceCount: 0 is invalid"),
        ("instanceCount", "1", "featureProbability: has 2 instance rows; expected 1"),
        ("warmupSteps", "-3", "--warmup-steps / warmupSteps: -3 is invalid"),
        ("learningRat", "0.1", "unknown field 'config.learningRat'"),
        ("steps", nil, "missing field 'config.steps'"),
        ("steps", "\"many\"", "field 'config.steps' must be an integer"),
        ("model", "\"relu\"", "field 'config.model' is invalid: 'relu' is not one of linear, relu-output, relu-hidden, abs"),
        ("evaluationBatches", "1000000000", "evaluationBatches: 1000000000 is invalid; it must be an integer in 1...10000"),
    ] as [(String, String?, String)])
    func malformedConfigValuesNameTheField(_ key: String, _ value: String?, _ expected: String) throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try writeRun(try tinyRun(), in: dir)
        let file = folder.appendingPathComponent("config.json")
        let parsed = try value.map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
        try editJSON(file) { object in
            var config = object["config"] as! [String: Any]
            config[key] = parsed
            object["config"] = config
        }
        let line = try #require(errorLine { _ = try TrainedRun.load(from: folder) }, "config.\(key) = \(value ?? "nil") was accepted")
        #expect(line.hasPrefix(file.path + ": "), "\(line)")
        #expect(line.contains(expected), "\(line)")
        #expect(!line.contains("correct format"))
    }

    @Test func anotherToolOrVersionIsRefused() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try writeRun(try tinyRun(), in: dir)
        let file = folder.appendingPathComponent("config.json")
        try editJSON(file) { $0["tool"] = "other" }
        #expect(errorLine { _ = try RunConfigFile.read(from: file) } == "\(file.path): tool is 'other'; this file was not written by tms")
        try editJSON(file) { $0["tool"] = "tms"; $0["version"] = "7.0.0" }
        #expect(errorLine { _ = try RunConfigFile.read(from: file) }?.contains("written by tms 7.0.0; this is tms") == true)
    }

    @Test func foldersDevicesEmptyFilesAndBadJSONAreRefusedInWords() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(errorLine { _ = try RunConfigFile.read(from: dir) } == "\(dir.path) is a folder without a config.json; give a run folder or its config.json")
        #expect(errorLine { _ = try RunConfigFile.read(from: URL(fileURLWithPath: "/dev/null")) }
                == "/dev/null is not a regular file (a device, pipe or socket); expected a JSON file")
        let empty = dir.appendingPathComponent("empty.json")
        try Data().write(to: empty)
        #expect(errorLine { _ = try RunConfigFile.read(from: empty) } == "\(empty.path) is empty; expected a JSON object")
        let bad = dir.appendingPathComponent("bad.json")
        try Data("{\"tool\": ".utf8).write(to: bad)
        #expect(errorLine { _ = try RunConfigFile.read(from: bad) }?.hasPrefix("\(bad.path) is not valid JSON") == true)
        let missing = dir.appendingPathComponent("missing.json")
        #expect(errorLine { _ = try RunConfigFile.read(from: missing) } == "\(missing.path) does not exist")
    }

    /// A run folder read back is the run that was written (config, weights, metrics), for every model kind.
    @Test(arguments: ModelKind.allCases)
    func aWrittenRunReadsBackUnchanged(_ model: ModelKind) throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try tinyRun(model, bestOf: 2)
        let loaded = try TrainedRun.load(from: try writeRun(run, in: dir))
        #expect(loaded.config == run.config)
        #expect(loaded.weights == run.weights)
        #expect(loaded.metrics.finalLoss == run.metrics.finalLoss)
        #expect(loaded.metrics.instances == run.metrics.instances)
    }

    @Test func metricsThatDisagreeWithTheRunAreRefused() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try writeRun(try tinyRun(), in: dir)
        let file = folder.appendingPathComponent("metrics.json")
        try editJSON(file) { $0["finalLoss"] = [0.1] }
        #expect(errorLine { _ = try TrainedRun.load(from: folder) } == "\(file.path): finalLoss has 1 values; config.json has 2 instances")
    }
}

@Suite("JSON output")
struct RunFolderJSONTests {
    struct Numbers: Codable, Equatable { var values: [Float]; var ratio: Double }

    /// Defect 8: NaN and infinities are written as null (valid JSON) and read back as NaN.
    @Test func nonFiniteNumbersAreWrittenAsNullAndReadBackAsNaN() throws {
        let data = try RunFolder.json(Numbers(values: [1, .nan, -.infinity], ratio: .infinity))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("null") && !text.contains("nan") && !text.contains("inf"))
        #expect(try JSONSerialization.jsonObject(with: data) is [String: Any])
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("n.json")
        try data.write(to: url)
        let back = try RunFolder.decodeJSON(Numbers.self, from: url, nullIsNaN: true)
        #expect(back.values[0] == 1 && back.values[1].isNaN && back.values[2].isNaN && back.ratio.isNaN)
        // Only nulls where a number is expected read as NaN: a null optional integer stays nil.
        struct Mixed: Codable { var ints: [Int?]; var values: [[Float]] }
        try Data(#"{"ints": [1, null], "values": [[1, null], [null, 2]]}"#.utf8).write(to: url)
        let mixed = try RunFolder.decodeJSON(Mixed.self, from: url, nullIsNaN: true)
        #expect(mixed.ints == [1, nil])
        #expect(mixed.values[0][1].isNaN && mixed.values[1][0].isNaN && mixed.values[1][1] == 2)
    }
}

@Suite("Writing run folders")
struct RunFolderWriteTests {
    /// Defect 5: checking the output creates nothing, and a failed write leaves no parent folders behind.
    @Test func checkingAndFailingLeaveNoFolders() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("a/b/run")
        try RunFolder.checkWritable(target)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        // A file where a folder must go: the write fails and removes the parents it made.
        let blocked = dir.appendingPathComponent("x/y/run")
        #expect(throws: RunFolderError.self) {
            try RunFolder.write(["config.json": Data("{}".utf8), "config.json/inner": Data()], to: blocked)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        try Data().write(to: dir.appendingPathComponent("file"))
        #expect(errorLine { try RunFolder.checkWritable(dir.appendingPathComponent("file/run")) }
                == "output folder \(dir.path)/file/run cannot be created: \(dir.path)/file is a file, not a folder")
        #expect(errorLine { try RunFolder.checkWritable(URL(fileURLWithPath: "/proc/x")) }?.hasPrefix("output folder /proc/x cannot be created: /proc is not writable") == true)
    }

    @Test func stalePartialFoldersOfDeadProcessesAreRemoved() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = dir.appendingPathComponent(".old.partial-\(finished.processIdentifier)")
        let live = dir.appendingPathComponent(".other.partial-\(ProcessInfo.processInfo.processIdentifier)")
        for folder in [stale, live] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try RunFolder.write(["a.txt": Data("a".utf8)], to: dir.appendingPathComponent("new"))
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(names == ["new", live.lastPathComponent])
    }
}

@Suite("Experiment folders are checked against their recipe")
struct ExperimentFolderTests {
    @Test func partsOrConfigsOtherThanTheRecipesAreRefused() throws {
        let dir = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("intro")
        let options = ExperimentOptions(quick: true, seed: 0, steps: 4, threads: 2)
        _ = try ExperimentRunner.run(IntroExperiment(), options: options, out: folder) { _, _ in }
        _ = try ExperimentRunner.load(folder)
        let record = folder.appendingPathComponent("experiment.json")
        try editJSON(record) { $0["parts"] = ["model", "other"] }
        #expect(errorLine { _ = try ExperimentRunner.load(folder) }?.contains("are not the parts of intro") == true)
        try editJSON(record) { $0["parts"] = ["model"]; $0["options"] = ["quick": true, "seed": 0, "steps": 5] }
        #expect(errorLine { _ = try ExperimentRunner.load(folder) }?.contains("steps: 4 vs 5") == true)
        try editJSON(record) { $0["options"] = ["quick": true, "seed": 0, "steps": 4]; $0["extras"] = ["../../etc/passwd"] }
        #expect(errorLine { _ = try ExperimentRunner.load(folder) }?.contains("are not files intro writes") == true)
    }
}
