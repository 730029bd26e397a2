import ArgumentParser
import Foundation
import TMSCore
import TMSModels
import TMSBenchmarks

/// What `tms bench --compare` runs beside ours.
enum BenchComparison: String, CaseIterable, ExpressibleByArgument {
    case pytorch
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training of the standard configurations and compare with this machine's FP32 peak.",
        discussion: """
        Configurations (batch 1024): A relu-output 5→2, 10 instances, p = 20^-t; B 20→5, 7 instances, \
        1-S = 1…0.001; C 400→30, 8 instances, p = 0.01; D abs 100→40, 8 instances, p = 0.03; E 2→1, 400 \
        instances (a 20×20 phase grid); F 400→30, 8 instances, p = 1. Each is trained for a fixed number of \
        steps after a warm-up, on all threads and on one, alternating, --repeats times each; the fastest run \
        of each is reported (the host's slow phases only ever slow a run down). Whole processes (wall clock \
        of a child process, start to exit, everything a user waits for): T `tms train` 400→30, 8 instances, p = 0.01, 1,500 \
        steps, default importance 0.9 (train, final evaluation, report, write); S `tms sae --no-report` on \
        T's run (8 SAEs of 120 latents, 500 steps); U `tms train` with its defaults (5→2, 10 instances), \
        5,000 steps, with report. Whole processes are timed best of --repeats; with --compare pytorch, T and U \
        are set against PyTorch's timed steps for the same model and step count (T: bench.py T, U: bench.py A). \
        Run it from a release build: swift run -c release tms bench.
        """)

    @Flag(help: "Print one JSON object per configuration per line.") var json = false
    @Option(help: "Also run a baseline beside ours: pytorch (runs python3 Benchmarks/pytorch/bench.py).")
    var compare: BenchComparison?
    @Option(help: "Comma-separated configurations to run (default all: A,B,C,D,E,F,T,S,U; S needs T).") var configs: String = "A,B,C,D,E,F,T,S,U"
    @Option(name: .customLong("step-scale"), help: "Multiply every configuration's step counts (e.g. 0.1 for a quick look).")
    var stepScale: Double = 1
    @Option(help: "Worker threads for the main measurement (default: all cores).") var threads: Int = availableProcessorCount
    @Flag(name: .customLong("no-single-thread"), help: "Skip the one-thread run (no thread scaling).")
    var noSingleThread = false
    @Option(name: .customLong("pytorch-script"), help: "Path of the PyTorch baseline script.")
    var pytorchScript: String = "Benchmarks/pytorch/bench.py"
    @Option(name: .customLong("pytorch-seconds"), help: "Minimum timed seconds per PyTorch configuration (in all, over its --repeats windows).")
    var pytorchSeconds: Double = 3
    @Option(help: "Runs of each configuration; the fastest is reported (A–F alternate their all-thread and one-thread runs; PyTorch reports its fastest of as many timed windows).")
    var repeats: Int = 3

    func run() throws {
        try reportingErrors {
            guard threads > 0 else { throw ConfigError("--threads \(threads) is invalid; it must be a positive integer") }
            guard repeats > 0 else { throw ConfigError("--repeats \(repeats) is invalid; it must be a positive integer") }
            guard stepScale > 0 && stepScale.isFinite else {
                throw ConfigError("--step-scale \(stepScale) is invalid; it must be a positive number")
            }
            let all = BenchmarkConfiguration.standard(stepScale: stepScale)
            let allNames = configs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            let wholeNames = allNames.filter { WholeProcessBench.names.contains($0) }
            if wholeNames.contains("S") && !wholeNames.contains("T") {
                throw ConfigError("--configs S needs T (the SAE trains on T's run); give T,S")
            }
            let names = allNames.filter { !WholeProcessBench.names.contains($0) }
            let chosen = try names.map { name in
                guard let c = all.first(where: { $0.name == name }) else {
                    throw ConfigError("--configs \(name) is invalid; choose from \((all.map(\.name) + WholeProcessBench.names).joined(separator: ","))")
                }
                return c
            }
            if compare == .pytorch { try checkPyTorch() }

            printError("bench: measuring the FP32 peak (\(Benchmark.peakLanes)-lane SIMD FMA loop, 1 and \(threads) threads)")
            let peakSingle = Benchmark.peakGflops(threads: 1)
            let peakAll = threads == 1 ? peakSingle : Benchmark.peakGflops(threads: threads)
            if let warning = Benchmark.disturbanceWarning(peakSingle: peakSingle, peakAll: peakAll, threads: threads) {
                printError("bench: " + warning)
            }
            var rows: [BenchmarkRow] = []
            let measuresSingle = !noSingleThread && threads > 1
            for c in chosen {
                printError("bench: \(c.name) \(c.title): \(c.warmupSteps) + \(c.timedSteps) steps on \(threads) thread(s)"
                           + (measuresSingle ? " and on 1" : "") + (repeats > 1 ? ", best of \(repeats)" : ""))
                // The all-thread and one-thread runs alternate, so a slow phase of the host hits both alike.
                var allRuns: [BenchmarkMeasurement] = [], singleRuns: [BenchmarkMeasurement] = []
                for _ in 0..<repeats {
                    allRuns.append(try Benchmark.measure(c, threads: threads))
                    if measuresSingle { singleRuns.append(try Benchmark.measure(c, threads: 1)) }
                }
                rows.append(BenchmarkRow(configuration: c, all: allRuns, single: singleRuns, peakSingle: peakSingle, peakAll: peakAll))
            }
            var whole = try WholeProcessBench(stepScale: stepScale, threads: threads, repeats: repeats).run(wholeNames)
            if compare == .pytorch {
                var torchNames = chosen.map(\.name)
                for row in whole {
                    if let name = WholeProcessBench.pytorchConfiguration[row.configuration], !torchNames.contains(name) { torchNames.append(name) }
                }
                let baseline = try runPyTorch(names: torchNames)
                for i in rows.indices {
                    guard let b = baseline[rows[i].configuration] else { continue }
                    rows[i].pytorchInstanceStepsPerSecond = b.rate
                    rows[i].pytorchThreads = b.threads
                    rows[i].pytorchOtherProcessesCores = b.other
                    rows[i].speedupOverPytorch = rows[i].instanceStepsPerSecond / b.rate
                }
                for i in whole.indices {
                    guard let name = WholeProcessBench.pytorchConfiguration[whole[i].configuration], let b = baseline[name] else { continue }
                    whole[i].pytorchSeconds = Double(whole[i].instanceSteps) / b.rate
                    whole[i].speedupOverPytorch = whole[i].pytorchSeconds! / whole[i].seconds
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                for row in rows { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
                for row in whole { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
            } else {
                if !rows.isEmpty { print(table(rows, peakSingle: peakSingle, peakAll: peakAll)) }
                if !whole.isEmpty { print(WholeProcessBench.table(whole)) }
            }
        }
    }

    /// Throws a one-line error unless `python3` can import torch.
    func checkPyTorch() throws {
        guard FileManager.default.fileExists(atPath: pytorchScript) else {
            throw ConfigError("--compare pytorch needs \(pytorchScript); run tms bench from the repository root or pass --pytorch-script")
        }
        do { _ = try ExternalProcess.run(["python3", "-c", "import torch"]) } catch ProcessError.failed {
            throw ConfigError("--compare pytorch needs python3 with torch importable (pip install torch); python3 -c 'import torch' failed")
        }
    }

    /// Runs the PyTorch script; returns instance-steps/s and threads per configuration name.
    func runPyTorch(names: [String]) throws -> [String: (rate: Double, threads: Int, other: Double?)] {
        printError("bench: PyTorch eager baseline (\(pytorchScript), \(threads) thread(s), ≥ \(pytorchSeconds) s per configuration)")
        let output = try ExternalProcess.run(["python3", pytorchScript, "--json", "--configs", names.joined(separator: ","),
                                              "--threads", String(threads), "--min-seconds", String(pytorchSeconds),
                                              "--repeats", String(repeats)])
        var out: [String: (rate: Double, threads: Int, other: Double?)] = [:]
        for line in output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as? [String: Any],
                  let name = object["configuration"] as? String,
                  let rate = object["instance_steps_per_second"] as? Double else { continue }
            out[name] = (rate, object["threads"] as? Int ?? threads, object["other_processes_cores"] as? Double)
        }
        return out
    }

    func table(_ rows: [BenchmarkRow], peakSingle: Double, peakAll: Double) -> String {
        let withTorch = rows.contains { $0.pytorchInstanceStepsPerSecond != nil }
        func left(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
        func right(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }
        func number(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }
        var header = left("cfg", 4) + left("configuration", 42) + right("inst-steps/s", 13) + right("GFLOP/s", 9)
            + right("% peak", 8) + right("1-thread", 11) + right("scaling", 9) + right("peak MB", 9) + right("other", 7)
        if withTorch { header += right("PyTorch", 10) + right("×PyTorch", 10) }
        var lines = [header]
        for r in rows {
            var line = left(r.configuration, 4) + left(r.title, 42) + right(number(r.instanceStepsPerSecond, "%.0f"), 13)
                + right(number(r.gflops, "%.1f"), 9) + right(number(100 * r.fractionOfPeak, "%.1f%%"), 8)
                + right(number(r.singleThreadInstanceStepsPerSecond, "%.0f"), 11) + right(number(r.threadScaling, "%.2f×"), 9)
                + right(number(r.peakMemoryBytes.map { Double($0) / 1_048_576 }, "%.0f"), 9)
                + right(number(r.otherProcessesCores, "%.2f"), 7)
            if withTorch {
                line += right(number(r.pytorchInstanceStepsPerSecond, "%.0f"), 10) + right(number(r.speedupOverPytorch, "%.1f×"), 10)
            }
            lines.append(line)
        }
        lines.append(String(format: "FP32 peak (dense %d-lane SIMD FMA loop): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads; %% peak is against the latter.",
                            Benchmark.peakLanes, peakSingle, peakAll, threads))
        lines.append(Kernels.usesWideVectors
            ? "Dense kernels: 16 lanes (AVX-512); TMS_KERNELS=avx2 runs the 8-lane ones (the same bits)."
            : "Dense kernels: 8 lanes (AVX2 + FMA, or the processor's own SIMD).")
        if let warning = Benchmark.disturbanceWarning(peakSingle: peakSingle, peakAll: peakAll, threads: threads) {
            lines.append(warning)
        }
        let disturbed = rows.filter { max($0.otherProcessesCores ?? 0, $0.pytorchOtherProcessesCores ?? 0) > 0.15 }
            .map(\.configuration)
        if !disturbed.isEmpty {
            lines.append("warning: other processes used more than 0.15 cores while \(disturbed.joined(separator: ", ")) were timed (ours or PyTorch's); re-run those on a quiet machine")
        }
        if repeats > 1 {
            lines.append("inst-steps/s and 1-thread: the fastest of \(repeats) runs each, alternating"
                         + (withTorch ? "; PyTorch: its fastest of \(repeats) timed windows." : "."))
        }
        lines.append("other = CPU cores used by other processes during our timed steps (from /proc/stat).")
        lines.append(BenchmarkConfiguration.flopFormula + "; B = batch, n = features, m = hidden.")
        lines.append("Machine: \(Benchmark.machineDescription())")
        return lines.joined(separator: "\n")
    }
}

/// One whole-process timing of `tms bench` (configurations T and S).
struct WholeProcessRow: Codable {
    let configuration: String
    let title: String
    let command: String
    let threads: Int
    /// Instances × steps trained by the process.
    let instanceSteps: Int
    /// Wall clock from start to exit of the child process.
    let seconds: Double
    /// `instanceSteps` / `seconds`: the rate a user sees, set-up, evaluation, report and writing included.
    let instanceStepsPerSecond: Double
    /// CPU cores used by other processes meanwhile (Linux; above ~0.15 the timing is disturbed).
    let otherProcessesCores: Double?
    /// Every run's wall clock (`seconds` is the smallest).
    let allSeconds: [Double]
    /// PyTorch eager's timed steps for the same model and instance-steps (`--compare pytorch`; no import, no
    /// set-up, no evaluation, no writing).
    var pytorchSeconds: Double?
    /// `pytorchSeconds` / `seconds`.
    var speedupOverPytorch: Double?
}

/// Times whole `tms train` and `tms sae` processes (this executable, as a child process, into a temporary
/// folder removed afterwards): what a user waits for, not only the training loop.
struct WholeProcessBench {
    static let names = ["T", "S", "U"]
    /// The `Benchmarks/pytorch/bench.py` configuration that trains the same model as a whole-process one.
    static let pytorchConfiguration = ["T": "T", "U": "A"]
    let stepScale: Double
    let threads: Int
    let repeats: Int

    func run(_ names: [String]) throws -> [WholeProcessRow] {
        guard !names.isEmpty else { return [] }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tms-bench-\(getpid())-\(UInt64.random(in: 0..<1 << 40))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func scaled(_ s: Int) -> Int { max(1, Int((Double(s) * stepScale).rounded())) }
        let trainRun = folder.appendingPathComponent("train").path
        var rows: [WholeProcessRow] = []
        if names.contains("T") {
            let steps = scaled(1500)
            rows.append(try time("T", "tms train 400→30, 8 inst, p = 0.01, I = 0.9^i, with report",
                                 ["train", "--features", "400", "--hidden", "30", "--instances", "8",
                                  "--feature-probability", "0.01", "--steps", String(steps), "--threads", String(threads),
                                  "--quiet", "--out", trainRun], instanceSteps: 8 * steps))
        }
        if names.contains("S") {
            let steps = scaled(500)
            rows.append(try time("S", "tms sae on T's run, 8 SAEs 30→120, no report",
                                 ["sae", "--model-run", trainRun, "--latents", "120", "--steps", String(steps), "--threads", String(threads),
                                  "--no-report", "--out", folder.appendingPathComponent("sae").path],
                                 instanceSteps: 8 * steps))
        }
        if names.contains("U") {
            let steps = scaled(5000)
            rows.append(try time("U", "tms train defaults (5→2, 10 inst), with report",
                                 ["train", "--steps", String(steps), "--threads", String(threads), "--quiet",
                                  "--out", folder.appendingPathComponent("train-default").path], instanceSteps: 10 * steps))
        }
        return rows
    }

    /// Runs this executable with `arguments` `repeats` times (output discarded, the output folder removed between
    /// runs) and keeps the fastest run, start to exit.
    private func time(_ name: String, _ title: String, _ arguments: [String], instanceSteps: Int) throws -> WholeProcessRow {
        printError("bench: \(name) \(title): tms \(arguments.joined(separator: " "))" + (repeats > 1 ? " (best of \(repeats))" : ""))
        let out = arguments[arguments.firstIndex(of: "--out")! + 1]
        var runs: [(seconds: Double, other: Double?)] = []
        for r in 0..<repeats {
            if r > 0 { try FileManager.default.removeItem(atPath: out) }
            runs.append(try timeOnce(name, arguments))
        }
        let best = runs.min { $0.seconds < $1.seconds }!
        return WholeProcessRow(configuration: name, title: title, command: "tms " + arguments.joined(separator: " "),
                               threads: threads, instanceSteps: instanceSteps, seconds: best.seconds,
                               instanceStepsPerSecond: Double(instanceSteps) / best.seconds, otherProcessesCores: best.other,
                               allSeconds: runs.map(\.seconds))
    }

    /// One run: wall clock and the cores other processes used meanwhile.
    private func timeOnce(_ name: String, _ arguments: [String]) throws -> (seconds: Double, other: Double?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0].contains("/")
                                    ? CommandLine.arguments[0] : "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        // The end is taken in the termination handler: `waitUntilExit` polls the run loop every 50 ms on Linux,
        // which put U's ~0.13 s runs at 0.15 or 0.20 s.
        let exit = ExitTime()
        process.terminationHandler = { _ in exit.record() }
        let before = Benchmark.CPUTimes.now(), childBefore = Benchmark.CPUTimes.childrenSeconds()
        let t0 = DispatchTime.now().uptimeNanoseconds
        do { try process.run() } catch {
            throw ConfigError("could not run \(process.executableURL!.path): \(error.localizedDescription)")
        }
        let t1 = exit.wait()
        process.waitUntilExit()
        let seconds = Double(t1 - t0) / 1e9
        let after = Benchmark.CPUTimes.now()
        guard process.terminationStatus == 0 else {
            throw ConfigError("configuration \(name): tms \(arguments[0]) failed with exit status \(process.terminationStatus)")
        }
        var other: Double?
        if let a = before, let b = after, let c0 = childBefore, let c1 = Benchmark.CPUTimes.childrenSeconds() {
            other = max(0, ((b.systemBusy - a.systemBusy) - (c1 - c0) - (b.process - a.process)) / seconds)
        }
        return (seconds, other)
    }

    static func table(_ rows: [WholeProcessRow]) -> String {
        var lines = ["Whole processes (wall clock, start to exit, fastest of \(rows.first?.allSeconds.count ?? 1)):"]
        for r in rows {
            let title = r.title.count >= 50 ? r.title : r.title + String(repeating: " ", count: 50 - r.title.count)
            var line = r.configuration + "   " + title + String(format: " %8.2f s %12.0f inst-steps/s", r.seconds, r.instanceStepsPerSecond)
                + "   other " + (r.otherProcessesCores.map { String(format: "%.2f", $0) } ?? "-")
            if let torch = r.pytorchSeconds, let ratio = r.speedupOverPytorch {
                line += String(format: "   PyTorch steps %.1f s  %.1f×PyTorch", torch, ratio)
            }
            lines.append(line)
        }
        if rows.contains(where: { $0.pytorchSeconds != nil }) {
            lines.append("PyTorch steps = PyTorch eager's timed steps alone (rate from bench.py × the same instance-steps; no import, set-up, evaluation or writing).")
        }
        return lines.joined(separator: "\n")
    }
}

/// When a child process exited (uptime nanoseconds), recorded by its termination handler.
private final class ExitTime: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var nanoseconds: UInt64 = 0
    func record() {
        nanoseconds = DispatchTime.now().uptimeNanoseconds
        done.signal()
    }
    /// Blocks until `record()` has run; the semaphore orders its write before this read.
    func wait() -> UInt64 {
        done.wait()
        return nanoseconds
    }
}
