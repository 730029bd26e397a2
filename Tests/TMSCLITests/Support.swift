import Foundation
import Testing

// Running the built `tms` executable from tests. This target links no library of ours.

/// The products directory holding `tms`: next to the test bundle (on Linux `Bundle.main.bundleURL` is the
/// products directory itself; on macOS the .xctest bundle sits inside it).
let tmsExecutable: URL? = {
    let fm = FileManager.default
    var candidates: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
    if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        candidates.append(bundle.bundleURL.deletingLastPathComponent())
    }
    return candidates.map { $0.appendingPathComponent("tms") }.first { fm.isExecutableFile(atPath: $0.path) }
}()

struct Outcome {
    let status: Int32
    let stdout: String
    let stderr: String
    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// Runs `tms` in `directory` (with `environment` added to this process's) and returns its status and output; a
/// child still running after `deadline`
/// seconds is killed and recorded as an issue (a run that should fail at once but trains instead cannot hang
/// the suite).
///
/// The child writes stdout and stderr to files, read after it exits, so no reader thread is needed. The
/// deadline is kept here, on the child, rather than by a `.timeLimit` trait: that clock also counts the time a
/// test waits for a free worker of Swift's cooperative pool, which the compute-heavy suites hold for minutes
/// on a 2-core machine (two tests failed their limits in CI that way without ever being slow themselves).
func runTMS(_ arguments: [String], in directory: URL, deadline: TimeInterval = 600, environment: [String: String] = [:],
            sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
    let executable = try #require(tmsExecutable, "no tms executable next to the test bundle \(Bundle.main.bundleURL.path)")
    let capture = FileManager.default.temporaryDirectory.appendingPathComponent("tms-capture-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: capture, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: capture) }
    let outURL = capture.appendingPathComponent("stdout"), errURL = capture.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let end = Date().addingTimeInterval(deadline)
    while process.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        Issue.record("tms \(arguments.joined(separator: " ")) was still running after \(Int(deadline)) s; killed",
                     sourceLocation: sourceLocation)
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Outcome(status: process.terminationStatus,
                   stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                   stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// A fresh empty temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tms-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

