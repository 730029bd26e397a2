import ArgumentParser
import Foundation

@main
struct TMS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tms",
        abstract: "Toy models of superposition: train, analyse and reproduce Elhage et al. (2022).",
        subcommands: [Train.self, Analyze.self, Report.self, List.self, Run.self, Bench.self, SAE.self])
}

/// Writes one line to standard error (library code never prints; the CLI speaks).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs `body`, turning the project's one-line errors into "tms: error: …" on stderr and exit code 2.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ExitCode { throw error } catch let error as CustomStringConvertible {
        printError("tms: error: \(error.description)")
        throw ExitCode(2)
    }
}
