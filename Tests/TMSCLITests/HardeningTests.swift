import Foundation
import Testing

// Issue 9 as a new user meets it: every bad input is one line "tms: error: …", exit status 2, nothing written;
// --quiet is quiet, progress is a few lines in a pipe, interrupts clean up (docs/errors.md).

/// Runs tms and requires the one-line error style: status 2, one stderr line starting "tms: error: ", no stdout.
private func expectOneErrorLine(_ arguments: [String], in dir: URL, mentioning texts: [String], deadline: TimeInterval = 600,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
    let outcome = try runTMS(arguments, in: dir, deadline: deadline, sourceLocation: sourceLocation)
    #expect(outcome.status == 2, "status \(outcome.status) for \(arguments)", sourceLocation: sourceLocation)
    #expect(outcome.stderrLines.count == 1, "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
    let line = outcome.stderrLines.last ?? ""
    #expect(line.hasPrefix("tms: error: "), "\(line)", sourceLocation: sourceLocation)
    for text in texts { #expect(line.contains(text), "'\(line)' does not mention \(text)", sourceLocation: sourceLocation) }
    #expect(outcome.stdout.isEmpty, sourceLocation: sourceLocation)
}

struct MessageCase: Sendable, CustomTestStringConvertible {
    let name: String
    let arguments: [String]
    let mentions: [String]
    var testDescription: String { name }

    static let all: [MessageCase] = [
        // Defect 6: negative numbers parse and get the range error; one style for parse and validation errors.
        .init(name: "negative features", arguments: ["--features", "-3"],
              mentions: ["--features / featureCount: -3 is invalid; it must be an integer in 1...16777216"]),
        .init(name: "negative steps", arguments: ["--steps", "-1"], mentions: ["--steps / steps: -1 is invalid"]),
        .init(name: "negative lr", arguments: ["--lr", "-0.1"], mentions: ["--lr / learningRate: -0.1 is invalid"]),
        .init(name: "negative sparsity", arguments: ["--sparsity", "-0.5"], mentions: ["--sparsity: -0.5 is invalid"]),
        .init(name: "not a number", arguments: ["--features", "five"], mentions: ["'five'", "--features"]),
        .init(name: "unknown flag", arguments: ["--featurs", "5"], mentions: ["--featurs"]),
        .init(name: "unknown model", arguments: ["--model", "relu"], mentions: ["relu", "--model"]),
        .init(name: "trailing comma", arguments: ["--sparsity", "0.1,0.5,"], mentions: ["item 3 of '0.1,0.5,' is empty"]),
        .init(name: "empty out", arguments: ["--out", ""], mentions: ["--out: the path is empty"]),
        .init(name: "config with a shaping flag", arguments: ["--config", "x.json", "--features", "3"],
              mentions: ["--features cannot be combined with --config"]),
        .init(name: "huge importance decay", arguments: ["--importance-decay", "10", "--features", "100"],
              mentions: ["--importance-decay: 10.0 is invalid for 100 features"]),
        .init(name: "zero threads", arguments: ["--threads", "0"], mentions: ["--threads: 0 is invalid"]),
        // Defect 3: sizes that cannot fit are refused before anything is allocated.
        .init(name: "batch of 10^12", arguments: ["--batch-size", "1000000000000"], mentions: ["--batch-size / batchSize: 1000000000000 is invalid"]),
        .init(name: "best-of 10^8", arguments: ["--best-of", "100000000"], mentions: ["--best-of / bestOf: 100000000"]),
        .init(name: "10^8 instances", arguments: ["--instances", "100000000"], mentions: ["--instances / instanceCount: 100000000 is invalid"]),
        .init(name: "10^7 instances of 10^4 features", arguments: ["--instances", "10000000", "--features", "10000"],
              mentions: ["--instances / instanceCount: 10000000 instances of 10000 features is invalid"]),
        .init(name: "10^5 × 10^5", arguments: ["--features", "100000", "--hidden", "100000"],
              mentions: ["this run needs about", "of memory", "the machine has"]),
        .init(name: "20000 instances of 1000×1000", arguments: ["--instances", "20000", "--features", "1000", "--hidden", "1000"],
              mentions: ["this run needs about", "the machine has"]),
        .init(name: "Int.max steps", arguments: ["--steps", "9223372036854775807"],
              mentions: ["--steps / steps: 9223372036854775807 is invalid; it must be an integer in 1...1000000000"]),
        .init(name: "steps beyond Int", arguments: ["--steps", "99999999999999999999"], mentions: ["--steps"]),
    ]
}

@Test(arguments: MessageCase.all)
func everyBadInputIsOneErrorLineWithStatusTwo(_ c: MessageCase) throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try expectOneErrorLine(tinyTrain + ["--out", dir.appendingPathComponent("run").path] + c.arguments, in: dir, mentioning: c.mentions)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "something was written")
}

@Test func versionAndHelpExitZero() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let version = try runTMS(["--version"], in: dir)
    #expect(version.status == 0)
    #expect(version.stdoutLines.count == 1 && version.stdoutLines[0].split(separator: ".").count == 3)
    let help = try runTMS(["train", "--help"], in: dir)
    #expect(help.status == 0)
    // Enum flags list their values from the enums; the --config rule is stated.
    let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    #expect(text.contains("(values: linear, relu-output, relu-hidden, abs)"))
    #expect(text.contains("(values: independent, correlated-pairs, anticorrelated-pairs, correlated-sets)"))
    #expect(text.contains("(values: constant, linear, cosine, warmup-cosine)"))
    #expect(text.contains("apply as overrides"))
}

/// Defect 5: an output that cannot be created fails before training (a 10^9-step run would never end; one
/// still running after 120 s is killed and fails the test).
@Test func unwritableOutputFailsBeforeTraining() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try expectOneErrorLine(["train", "--steps", "1000000000", "--out", "/proc/x/run"], in: dir,
                           mentioning: ["output folder /proc/x/run cannot be created"], deadline: 120)
    try Data().write(to: dir.appendingPathComponent("file"))
    try expectOneErrorLine(["train", "--steps", "1000000000", "--out", dir.appendingPathComponent("file/run").path], in: dir,
                           mentioning: ["is a file, not a folder"], deadline: 120)
}

/// Defect 5: a run that fails leaves no parent folders it would have created.
@Test func aFailedRunLeavesNoEmptyParentFolders() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let outcome = try runTMS(tinyTrain + ["--out", dir.appendingPathComponent("a/b/run").path, "--lr", "1e30", "--quiet"], in: dir)
    #expect(outcome.status == 2)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
}

/// Defect 5: SIGTERM during training exits 143 and leaves nothing; stale partial folders are removed. (Each
/// child gets 60 s after its signal before it is killed and the test fails.)
@Test func interruptedRunsLeaveNothingAndStalePartialsAreRemoved() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let process = Process()
    process.executableURL = try #require(tmsExecutable)
    process.arguments = ["train", "--steps", "100000000", "--quiet", "--out", dir.appendingPathComponent("a/run").path]
    process.standardError = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    Thread.sleep(forTimeInterval: 3)
    process.terminate()
    // A run that ignored the signal would train for hours: give it 60 s, then kill it and fail.
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); Issue.record("SIGTERM was ignored") }
    process.waitUntilExit()
    #expect(process.terminationStatus == 143)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

    // `run all` creates its output folder before training; interrupted while it is empty, it removes it.
    let all = Process()
    all.executableURL = try #require(tmsExecutable)
    all.arguments = ["run", "all", "--steps", "100000000", "--quiet", "--out", dir.appendingPathComponent("b/all").path]
    all.standardError = FileHandle.nullDevice
    all.standardOutput = FileHandle.nullDevice
    try all.run()
    Thread.sleep(forTimeInterval: 3)
    kill(all.processIdentifier, SIGINT)
    let allDeadline = Date().addingTimeInterval(60)
    while all.isRunning && Date() < allDeadline { Thread.sleep(forTimeInterval: 0.05) }
    if all.isRunning { kill(all.processIdentifier, SIGKILL); Issue.record("SIGINT was ignored") }
    all.waitUntilExit()
    #expect(all.terminationStatus == 130)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

    // A partial folder of a process that no longer exists (the one above) is removed by the next run there.
    let stale = dir.appendingPathComponent(".old.partial-\(process.processIdentifier)")
    try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
    let outcome = try runTMS(tinyTrain + ["--out", dir.appendingPathComponent("run").path, "--quiet", "--no-report"], in: dir)
    #expect(outcome.status == 0, "\(outcome.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["run"])
}

/// Defect 7: --quiet prints the path and nothing else; without it, a pipe gets a few plain progress lines.
@Test func quietIsSilentAndProgressInAPipeIsAFewLines() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let quiet = try runTMS(tinyTrain + ["--out", dir.appendingPathComponent("q").path, "--quiet", "--no-report", "--steps", "400"], in: dir)
    #expect(quiet.status == 0)
    #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
    #expect(quiet.stdoutLines == [dir.appendingPathComponent("q").path])
    let loud = try runTMS(tinyTrain + ["--out", dir.appendingPathComponent("l").path, "--no-report", "--steps", "400"], in: dir)
    #expect(loud.status == 0)
    #expect((2...6).contains(loud.stderrLines.count), "\(loud.stderr)")
    #expect(!loud.stderr.contains("\r") && !loud.stderr.contains("\u{1B}"))
    #expect(loud.stderrLines.last?.contains("400/400 steps") == true)
}

/// Defect 2 and 6: --config takes a run folder, applies training flags as overrides, and refuses a folder
/// that is no run in words.
@Test func configTakesARunFolderAndTrainingFlagsOverride() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let first = try runTMS(tinyTrain + ["--out", dir.appendingPathComponent("one").path, "--quiet", "--no-report"], in: dir)
    try #require(first.status == 0, "\(first.stderr)")
    let second = try runTMS(["train", "--config", dir.appendingPathComponent("one").path, "--steps", "30", "--seed", "4",
                             "--out", dir.appendingPathComponent("two").path, "--quiet", "--no-report"], in: dir)
    #expect(second.status == 0, "\(second.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("two/config.json"))) as? [String: Any])
    let config = try #require(json["config"] as? [String: Any])
    #expect(config["steps"] as? Int == 30 && config["seed"] as? Int == 4 && config["featureCount"] as? Int == 5)
    try expectOneErrorLine(["train", "--config", dir.path], in: dir, mentioning: ["is a folder without a config.json"])
    try expectOneErrorLine(["train", "--config", "/dev/null"], in: dir, mentioning: ["/dev/null is not a regular file"])
}

/// Defect 1 and 6: analyze of an experiment folder names its run folders; a config that disagrees with the
/// weights is refused by analyze and report alike, naming the tensor.
@Test func analyzeNamesRunFoldersAndRefusesDisagreeingFiles() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let experiment = dir.appendingPathComponent("intro")
    let ran = try runTMS(["run", "intro", "--quick", "--steps", "4", "--quiet", "--out", experiment.path], in: dir)
    #expect(ran.stdoutLines == [experiment.path], "\(ran.stderr)")
    try expectOneErrorLine(["analyze", experiment.path], in: dir,
                           mentioning: ["is an experiment folder, not a run folder; its run folders are: \(experiment.path)/model"])
    let model = experiment.appendingPathComponent("model")
    let analysed = try runTMS(["analyze", model.path], in: dir)
    #expect(analysed.status == 0, "\(analysed.stderr)")
    // Hidden size 3 in the config, 2 in the weights.
    let configURL = model.appendingPathComponent("config.json")
    var text = try String(contentsOf: configURL, encoding: .utf8)
    text = text.replacingOccurrences(of: "\"hiddenCount\" : 2", with: "\"hiddenCount\" : 3")
    try text.write(to: configURL, atomically: true, encoding: .utf8)
    for command in ["analyze", "report"] {
        try expectOneErrorLine([command, command == "analyze" ? model.path : experiment.path], in: dir,
                               mentioning: ["tensor 'W' has shape [10, 2, 5]", "m = 3 hidden", "[10, 3, 5]"])
    }
}

/// Defect 8: metrics.json is valid JSON with null for non-finite numbers (never the string "nan").
@Test func metricsAreStrictJSON() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = dir.appendingPathComponent("run")
    let outcome = try runTMS(tinyTrain + ["--out", run.path, "--quiet", "--no-report"], in: dir)
    try #require(outcome.status == 0)
    let text = try String(contentsOf: run.appendingPathComponent("metrics.json"), encoding: .utf8)
    #expect(!text.contains("\"nan\"") && !text.contains("\"inf\""))
    #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
}
