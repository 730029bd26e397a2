import ArgumentParser
import Foundation
import TMSCore
import TMSExperiments

/// The `tms` command. Every failure, from a flag that does not parse to a training run that diverges, ends
/// the same way (docs/errors.md): one line `tms: error: …` on stderr, nothing half-written, exit status 2.
/// Status 1 means a paper check failed (`tms run`); 130 and 143 an interrupt (SIGINT, SIGTERM).
@main
struct TMS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tms",
        abstract: "Toy models of superposition: train, analyse and reproduce Elhage et al. (2022).",
        discussion: "Errors are one line 'tms: error: …' with exit status 2; see docs/errors.md.",
        version: tmsVersion,
        subcommands: [Train.self, Analyze.self, Report.self, List.self, Run.self, Bench.self, SAE.self, Sweep.self])

    static func main() {
        do {
            try checkKernelChoice()
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            // Help and --version arrive as "errors" that exit 0; ArgumentParser prints them.
            if exitCode(for: error) == .success { exit(withError: error) }
            let fromParser = error is ValidationError || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
            let text = fromParser ? message(for: error) + " (see tms --help)" : describe(error)
            printError("tms: error: \(text.split(separator: "\n").first.map(String.init) ?? "unknown error")")
            Foundation.exit(errorExitCode)
        }
        Foundation.exit(0)
    }
}

/// `TMS_KERNELS`, the one environment setting of the kernels (docs/performance.md#avx-512-kernels): unset or
/// empty for the widest vectors the processor has, `avx2` for the 8-lane kernels only (the same bits).
func checkKernelChoice() throws {
    guard let value = ProcessInfo.processInfo.environment[Kernels.kernelChoiceVariable], !value.isEmpty,
          value != Kernels.eightLaneKernels else { return }
    throw KernelChoiceError(value: value)
}

/// A `TMS_KERNELS` value that names no kernels.
struct KernelChoiceError: Error, CustomStringConvertible {
    let value: String
    var description: String {
        "\(Kernels.kernelChoiceVariable)=\(value) is not a kernel choice; allowed: \(Kernels.eightLaneKernels) (the 8-lane kernels only), or unset (the widest the processor has)"
    }
}

/// The exit status of every error (bad flag, bad file, failed training, unwritable output).
let errorExitCode: Int32 = 2

/// An error's one-line description (our error types describe themselves; Foundation's in words).
func describe(_ error: Error) -> String {
    if let e = error as? CocoaError { return e.localizedDescription }
    return String(describing: error)
}

/// Writes one line to standard error (library code never prints; the CLI speaks).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs `body`. Kept for commands written before `TMS.main` reported every error in one place: it now only
/// passes errors through.
func reportingErrors<T>(_ body: () throws -> T) throws -> T { try body() }
