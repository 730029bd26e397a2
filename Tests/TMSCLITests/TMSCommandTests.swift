import Foundation
import Testing

// End to end: the built `tms` executable on tiny configs (docs/run-folder.md, docs/errors.md).
// This target links no library of ours, so the files are checked with Foundation alone.

let tinyTrain = ["train", "--features", "5", "--hidden", "2", "--instances", "2", "--steps", "50", "--batch-size", "64"]

/// Reads a safetensors file with Foundation only: (name → shape) and (name → Float values).
private func readSafetensors(_ url: URL) throws -> (shapes: [String: [Int]], values: [String: [Float]], metadata: [String: String]) {
    let bytes = [UInt8](try Data(contentsOf: url))
    try #require(bytes.count >= 8)
    let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    try #require(8 + n <= bytes.count)
    let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
    var shapes: [String: [Int]] = [:], values: [String: [Float]] = [:], metadata: [String: String] = [:]
    for (name, entry) in header {
        if name == "__metadata__" { metadata = entry as? [String: String] ?? [:]; continue }
        let e = try #require(entry as? [String: Any])
        #expect(e["dtype"] as? String == "F32")
        let shape = try #require(e["shape"] as? [Int])
        let offsets = try #require(e["data_offsets"] as? [Int])
        shapes[name] = shape
        let begin = 8 + n + offsets[0], end = 8 + n + offsets[1]
        try #require(end <= bytes.count && end - begin == 4 * shape.reduce(1, *))
        values[name] = stride(from: begin, to: end, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }
    return (shapes, values, metadata)
}

@Test func trainWritesACompleteRunFolderAndPrintsItsPathFirst() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = dir.appendingPathComponent("run")
    let outcome = try runTMS(tinyTrain + ["--out", run.path], in: dir)
    #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
    #expect(outcome.stdoutLines.first == run.path)
    for file in ["config.json", "weights.safetensors", "metrics.json"] {
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), "\(file) missing")
    }
    // No temporary folder is left beside the run.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["run"])

    let weights = try readSafetensors(run.appendingPathComponent("weights.safetensors"))
    #expect(weights.shapes == ["W": [2, 2, 5], "b_final": [2, 5]])
    #expect(weights.values["W"]!.allSatisfy { $0.isFinite })
    #expect(weights.metadata["model"] == "relu-output")

    let configJSON = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("config.json"))) as? [String: Any])
    #expect(configJSON["tool"] as? String == "tms")
    #expect(configJSON["version"] is String)
    let config = try #require(configJSON["config"] as? [String: Any])
    #expect(config["featureCount"] as? Int == 5)
    #expect(config["hiddenCount"] as? Int == 2)
    #expect(config["instanceCount"] as? Int == 2)
    #expect(config["steps"] as? Int == 50)
    #expect(config["model"] as? String == "relu-output")
    #expect(config["seed"] != nil)

    let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("metrics.json"))) as? [String: Any])
    #expect((metrics["finalLoss"] as? [Any])?.count == 2)
    #expect((metrics["instances"] as? [Any])?.count == 2)
}

@Test func analyzeReadsARunFolder() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = dir.appendingPathComponent("run")
    let trained = try runTMS(tinyTrain + ["--out", run.path, "--quiet"], in: dir)
    try #require(trained.status == 0, "train failed: \(trained.stderr)")
    #expect(trained.stdoutLines == [run.path])
    let analysed = try runTMS(["analyze", run.path], in: dir)
    #expect(analysed.status == 0, "stderr: \(analysed.stderr)")
    #expect(analysed.stdout.contains("instance 0") && analysed.stdout.contains("instance 1"))
    let json = try runTMS(["analyze", run.path, "--json"], in: dir)
    #expect(json.status == 0)
    let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [Any]
    #expect(parsed?.count == 2)
}

@Test func threadCountDoesNotChangeTheWeightsFile() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
    let a = try runTMS(tinyTrain + ["--instances", "4", "--threads", "1", "--out", one.path, "--quiet"], in: dir)
    let b = try runTMS(tinyTrain + ["--instances", "4", "--threads", "2", "--out", two.path, "--quiet"], in: dir)
    try #require(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
    #expect(try Data(contentsOf: one.appendingPathComponent("weights.safetensors"))
            == Data(contentsOf: two.appendingPathComponent("weights.safetensors")))
}

@Test func aRunCanBeRepeatedFromItsOwnConfig() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let first = dir.appendingPathComponent("first"), again = dir.appendingPathComponent("again")
    let a = try runTMS(tinyTrain + ["--model", "abs", "--seed", "9", "--out", first.path, "--quiet"], in: dir)
    try #require(a.status == 0, "\(a.stderr)")
    let b = try runTMS(["train", "--config", first.appendingPathComponent("config.json").path, "--out", again.path, "--quiet"], in: dir)
    try #require(b.status == 0, "\(b.stderr)")
    #expect(try Data(contentsOf: first.appendingPathComponent("weights.safetensors"))
            == Data(contentsOf: again.appendingPathComponent("weights.safetensors")))
    let weights = try readSafetensors(again.appendingPathComponent("weights.safetensors"))
    #expect(weights.shapes == ["W1": [2, 2, 5], "W2": [2, 5, 2], "b_final": [2, 5]])
}

struct BadInput: Sendable, CustomTestStringConvertible {
    let name: String
    let arguments: [String]
    /// Text the single error line must contain (the offending value or flag).
    let mentions: [String]
    var testDescription: String { name }

    static let all: [BadInput] = [
        BadInput(name: "probability above 1", arguments: ["--feature-probability", "1.5"], mentions: ["--feature-probability", "1.5"]),
        BadInput(name: "probability zero", arguments: ["--feature-probability", "0"], mentions: ["--feature-probability", "0"]),
        BadInput(name: "probability and sparsity", arguments: ["--feature-probability", "0.5", "--sparsity", "0.5"],
                 mentions: ["--feature-probability", "--sparsity"]),
        BadInput(name: "sparsity of 1", arguments: ["--sparsity", "1"], mentions: ["--sparsity", "1"]),
        BadInput(name: "anticorrelated above one half", arguments: ["--feature-probability", "0.7", "--features", "4",
                                                                     "--distribution", "anticorrelated-pairs"],
                 mentions: ["0.7", "anticorrelated-pairs"]),
        BadInput(name: "odd features for pairs", arguments: ["--distribution", "correlated-pairs"], mentions: ["5", "odd"]),
        BadInput(name: "correlated sets without a set size", arguments: ["--distribution", "correlated-sets"],
                 mentions: ["--set-size", "correlated-sets"]),
        BadInput(name: "set size not dividing the features", arguments: ["--distribution", "correlated-sets", "--set-size", "2"],
                 mentions: ["--set-size", "2", "5 features"]),
        BadInput(name: "zero steps", arguments: ["--steps", "0"], mentions: ["steps", "0"]),
        BadInput(name: "zero threads", arguments: ["--threads", "0"], mentions: ["--threads", "0"]),
        BadInput(name: "wrong number of probabilities", arguments: ["--feature-probability", "0.1,0.2,0.3"],
                 mentions: ["--feature-probability", "3"]),
    ]
}

@Test(arguments: BadInput.all)
func badInputFailsWithOneErrorLineAndNoFolder(_ bad: BadInput) throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = dir.appendingPathComponent("run")
    // The bad flags come last so they override the tiny defaults.
    let outcome = try runTMS(tinyTrain + ["--out", run.path] + bad.arguments, in: dir)
    #expect(outcome.status != 0)
    #expect(outcome.stderrLines.count == 1, "stderr: \(outcome.stderr)")
    let line = outcome.stderrLines.first ?? ""
    #expect(line.hasPrefix("tms: error: "), "stderr: \(line)")
    for text in bad.mentions { #expect(line.contains(text), "'\(line)' does not mention \(text)") }
    #expect(outcome.stdout.isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "something was written")
}

@Test func existingOutputFolderIsRefusedAndLeftUntouched() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = dir.appendingPathComponent("run")
    try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
    try Data("keep".utf8).write(to: run.appendingPathComponent("note.txt"))
    let outcome = try runTMS(tinyTrain + ["--out", run.path], in: dir)
    #expect(outcome.status != 0)
    #expect(outcome.stderrLines.count == 1, "stderr: \(outcome.stderr)")
    #expect(outcome.stderrLines.first?.hasPrefix("tms: error: ") == true)
    #expect(outcome.stderrLines.first?.contains(run.path) == true)
    #expect(try FileManager.default.contentsOfDirectory(atPath: run.path) == ["note.txt"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["run"])
}

@Test func analyzeOfAFolderWithoutARunFailsWithOneLine() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let outcome = try runTMS(["analyze", dir.path], in: dir)
    #expect(outcome.status != 0)
    #expect(outcome.stderrLines.count == 1, "stderr: \(outcome.stderr)")
    #expect(outcome.stderrLines.first?.hasPrefix("tms: error: ") == true)
    #expect(outcome.stderrLines.first?.contains("config.json") == true)
}

@Test func divergingTrainingEndsWithAnErrorLineAndNoFolder() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = dir.appendingPathComponent("run")
    let outcome = try runTMS(tinyTrain + ["--out", run.path, "--lr", "1e30"], in: dir)
    #expect(outcome.status != 0)
    // Progress lines may precede it; the error is the last line, and only one line says "error".
    let last = outcome.stderrLines.last ?? ""
    #expect(last.hasPrefix("tms: error: training diverged"), "stderr: \(outcome.stderr)")
    #expect(last.contains("--lr"))
    #expect(outcome.stderrLines.filter { $0.contains("error") }.count == 1)
    #expect(outcome.stdout.isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
}

@Test func listPrintsEveryExperimentWithItsRuntime() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runTMS(["list"], in: dir)
    #expect(result.status == 0)
    #expect(result.stdoutLines.first?.hasPrefix("name") == true)
    let names = ["intro", "sparsity-sweep", "features-across-sparsity", "phase-diagram", "geometry", "non-uniform",
                 "correlated", "privileged-basis", "computation", "learning-dynamics", "double-descent", "adversarial", "sae",
                 "polysemanticity-without-superposition", "high-dimensional", "interference-tolerance", "power-law"]
    for name in names {
        let line = try #require(result.stdoutLines.first { $0.hasPrefix(name + " ") }, "no line for \(name)")
        // Each row names a measured runtime (seconds or minutes) and the paper section it reproduces.
        #expect(line.range(of: #"\d+ (s|min)"#, options: .regularExpression) != nil, "\(line)")
        #expect(line.contains("§"), "\(line)")
    }
    #expect(result.stdout.contains("outputs:"))
}

@Test func runWritesAReportAndChecksAndReportRebuildsIt() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runTMS(["run", "intro", "--quick", "--steps", "300", "--out", "intro"], in: dir)
    // Exit 0 when every check passes, 1 when one fails (300 steps may not be enough): never a crash.
    #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
    #expect(result.stdoutLines.first?.hasSuffix("/intro") == true)
    let folder = dir.appendingPathComponent("intro")
    let checks = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("checks.json"))) as? [[String: Any]]
    #expect(checks?.count == 3)
    #expect(checks?.allSatisfy { $0["claim"] is String && $0["expected"] is String && $0["measured"] is String && $0["passed"] is Bool } == true)
    let report = folder.appendingPathComponent("report.html")
    try FileManager.default.removeItem(at: report)
    let rebuilt = try runTMS(["report", "intro"], in: dir)
    #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
    let html = try String(contentsOf: report, encoding: .utf8)
    #expect(html.contains("1 − S = 0.05") && html.contains("<svg"))
}

@Test func trainWritesAReportThatRebuildsIdentically() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let trained = try runTMS(["train", "--instances", "3", "--steps", "40", "--batch-size", "32", "--out", "r"], in: dir)
    #expect(trained.status == 0, "\(trained.stderr)")
    let report = dir.appendingPathComponent("r/report.html")
    let first = try Data(contentsOf: report)
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("r/figures/feature-diagrams.svg").path))
    let rebuilt = try runTMS(["report", "r"], in: dir)
    #expect(rebuilt.status == 0)
    #expect(try Data(contentsOf: report) == first)
}

@Test func unknownExperimentIsOneErrorLine() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runTMS(["run", "pentagons"], in: dir)
    #expect(result.status != 0)
    #expect(result.stderrLines == ["tms: error: unknown experiment 'pentagons'; choose one of: intro, sparsity-sweep, features-across-sparsity, phase-diagram, geometry, non-uniform, correlated, privileged-basis, computation, learning-dynamics, double-descent, adversarial, sae, polysemanticity-without-superposition, high-dimensional, interference-tolerance, power-law, all"])
}

@Test func kernelChoiceAvx2GivesTheSameWeightsAndABadChoiceIsOneLine() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    // A dense run (every dense product, the tied models' fused outer products) and a sparse one (CSR
    // inputs, δ listed), each with the processor's widest kernels and with the 8-lane ones.
    let runs = [["--features", "100", "--hidden", "20", "--instances", "2", "--feature-probability", "1", "--steps", "10"],
                ["--features", "120", "--hidden", "36", "--instances", "2", "--feature-probability", "0.05",
                 "--batch-size", "300", "--steps", "20"]]
    for (k, flags) in runs.enumerated() {
        var weights: [Data] = []
        for (name, environment) in [("widest", [String: String]()), ("avx2", ["TMS_KERNELS": "avx2"])] {
            let out = "run\(k)-\(name)"
            let result = try runTMS(["train"] + flags + ["--no-report", "--quiet", "--out", out], in: dir, environment: environment)
            try #require(result.status == 0, "\(result.stderr)")
            weights.append(try Data(contentsOf: dir.appendingPathComponent(out).appendingPathComponent("weights.safetensors")))
        }
        #expect(weights[0] == weights[1], "run \(k): the kernels changed the weights")
    }
    let bad = try runTMS(["train", "--steps", "1", "--out", "never"], in: dir, environment: ["TMS_KERNELS": "avx512"])
    #expect(bad.status == 2)
    #expect(bad.stderr == "tms: error: TMS_KERNELS=avx512 is not a kernel choice; allowed: avx2 (the 8-lane kernels only), or unset (the widest the processor has)\n")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("never").path))
}
