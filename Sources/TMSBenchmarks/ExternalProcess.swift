import Foundation

/// Why a subprocess (the PyTorch comparison of `tms bench --compare pytorch`) gave no result. Its description
/// is one line naming the command and what happened.
public enum ProcessError: Swift.Error, CustomStringConvertible, Equatable, Sendable {
    /// The command could not be started at all (e.g. /usr/bin/env missing or not executable).
    case couldNotStart(command: String, reason: String)
    /// It ran and exited with a non-zero status.
    case failed(command: String, status: Int32)
    /// It was ended by a signal.
    case killed(command: String, signal: Int32)

    public var description: String {
        switch self {
        case let .couldNotStart(command, reason): "could not run \(command): \(reason)"
        case let .failed(command, status): "\(command) failed with exit status \(status)"
        case let .killed(command, signal): "\(command) was killed by signal \(signal)"
        }
    }
}

/// Runs other programs for the benchmark harness.
public enum ExternalProcess {
    /// Runs `arguments` (the first found on PATH through /usr/bin/env) to completion and returns its standard
    /// output; its standard error passes through. Throws `ProcessError` unless it exits with status 0.
    public static func run(_ arguments: [String]) throws -> String {
        precondition(!arguments.isEmpty, "ExternalProcess.run needs a command")
        let command = arguments.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch {
            throw ProcessError.couldNotStart(command: command, reason: error.localizedDescription)
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        switch (process.terminationReason, process.terminationStatus) {
        case (.uncaughtSignal, let signal): throw ProcessError.killed(command: command, signal: signal)
        case (_, 0): return String(decoding: data, as: UTF8.self)
        case (_, let status): throw ProcessError.failed(command: command, status: status)
        }
    }
}
