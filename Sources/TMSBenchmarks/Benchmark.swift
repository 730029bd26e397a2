import Dispatch
import Foundation
import TMSCore
import TMSCoreAVX512
import TMSModels

/// One standard configuration of `tms bench`: a training config and how many steps to time.
///
/// Dense-equivalent FLOPs per instance-step (batch B, n features, m hidden): each of the five products of a
/// tied model's step (encode W x, decode Wᵀh, the hidden gradient W δ, and the two weight-gradient
/// products δ hᵀ and dh xᵀ) is a B×n×m multiply-add, 2·B·n·m FLOPs, so 10·B·n·m; `abs` keeps two weight
/// gradients separate but does the same five products, plus one for the untied pair, counted as 12·B·n·m.
/// Sparsity is not discounted: that is what "dense-equivalent" means, and what a dense framework computes.
public struct BenchmarkConfiguration: Sendable {
    /// "A" … "F".
    public let name: String
    public let title: String
    public let config: TrainingConfig
    /// Untimed steps first (the trainer warms caches and the model leaves its initial state).
    public let warmupSteps: Int
    /// Timed steps after the warm-up.
    public let timedSteps: Int

    public init(name: String, title: String, config: TrainingConfig, warmupSteps: Int, timedSteps: Int) {
        self.name = name; self.title = title; self.config = config
        self.warmupSteps = warmupSteps; self.timedSteps = timedSteps
    }

    /// FLOPs per instance-step (B·n·m times `flopsPerProduct`).
    public var flopsPerInstanceStep: Double {
        Double(config.batchSize) * Double(config.featureCount) * Double(config.hiddenCount) * Self.flopFactor(config.model)
    }

    /// 10 for tied models, 12 for `abs`.
    public static func flopFactor(_ model: ModelKind) -> Double { model.isTied ? 10 : 12 }

    /// The formula in words, printed with the results.
    public static let flopFormula = "dense-equivalent FLOPs per instance-step = 10·B·n·m (tied models), 12·B·n·m (abs)"

    /// The six standard configurations (issue 3), batch `batchSize`; `stepScale` multiplies the step counts.
    ///
    /// Each warms up for 1,000 steps (10 % of the standard 10,000-step run; C–F need fewer to reach steady
    /// speed, but sparse models only reach their typical output-gradient sparsity after a few hundred steps,
    /// and it keeps growing afterwards, so the rate measured after it is representative of, and if anything
    /// below, the average over a full run), then times about a second of training on two cores.
    public static func standard(batchSize: Int = 1024, stepScale: Double = 1) -> [BenchmarkConfiguration] {
        func scaled(_ s: Int) -> Int { max(1, Int((Double(s) * stepScale).rounded())) }
        func make(_ name: String, _ title: String, model: ModelKind, n: Int, m: Int, p: [Float], decay: Float,
                  warmup: Int, timed: Int) -> BenchmarkConfiguration {
            let c = TrainingConfig.standard(model: model, featureCount: n, hiddenCount: m, featureProbabilities: p,
                                            importanceDecay: decay, steps: scaled(warmup) + scaled(timed),
                                            batchSize: batchSize)
            return BenchmarkConfiguration(name: name, title: title, config: c, warmupSteps: scaled(warmup), timedSteps: scaled(timed))
        }
        var phase = TrainingConfig.standard(model: .reluOutput, featureCount: 2, hiddenCount: 1,
                                            featureProbabilities: [Float](repeating: 1, count: 400),
                                            steps: scaled(1000) + scaled(3000), batchSize: batchSize)
        // The n = 2, m = 1 phase diagram (docs/experiments.md#phase-diagram): 20 densities × 20 relative importances of the extra
        // feature, both on log grids (densities 0.01…1, importances 0.1…10).
        let densities = (0..<20).map { Float(pow(10, -2 + 2 * Double($0) / 19)) }
        let ratios = (0..<20).map { Float(pow(10, -1 + 2 * Double($0) / 19)) }
        phase.featureProbability = densities.flatMap { p in ratios.map { _ in [p, p] } }
        phase.importance = densities.flatMap { _ in ratios.map { [1, $0] } }
        return [
            make("A", "relu-output 5→2, 10 inst, p = 20^-t", model: .reluOutput, n: 5, m: 2,
                 p: TrainingConfig.geometricProbabilities(count: 10), decay: 0.9, warmup: 1000, timed: 30000),
            make("B", "relu-output 20→5, 7 inst, 1-S 1…0.001", model: .reluOutput, n: 20, m: 5,
                 p: [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001], decay: 0.7, warmup: 1000, timed: 6000),
            make("C", "relu-output 400→30, 8 inst, p = 0.01", model: .reluOutput, n: 400, m: 30,
                 p: [Float](repeating: 0.01, count: 8), decay: 1, warmup: 1000, timed: 1000),
            make("D", "abs 100→40, 8 inst, p = 0.03", model: .abs, n: 100, m: 40,
                 p: [Float](repeating: 0.03, count: 8), decay: 0.8, warmup: 1000, timed: 2000),
            BenchmarkConfiguration(name: "E", title: "relu-output 2→1, 400 inst (phase grid)", config: phase,
                                   warmupSteps: scaled(1000), timedSteps: scaled(3000)),
            make("F", "relu-output 400→30, 8 inst, p = 1 (dense)", model: .reluOutput, n: 400, m: 30,
                 p: [Float](repeating: 1, count: 8), decay: 1, warmup: 100, timed: 400),
        ]
    }
}

/// One timed training run of a configuration on a given number of threads.
public struct BenchmarkMeasurement: Sendable, Codable, Equatable {
    public let threads: Int
    /// Timed steps (after the warm-up) and their wall time.
    public let steps: Int
    public let seconds: Double
    /// instances × steps / seconds.
    public let instanceStepsPerSecond: Double
    /// The process's peak resident memory during this run (bytes), where the platform can report it.
    public let peakMemoryBytes: Int?
    /// CPU used by other processes during the timed steps, in cores (Linux; nil elsewhere). Above ~0.15 the
    /// timing is disturbed.
    public let otherProcessesCores: Double?

    public init(threads: Int, steps: Int, seconds: Double, instanceStepsPerSecond: Double, peakMemoryBytes: Int?,
                otherProcessesCores: Double?) {
        self.threads = threads; self.steps = steps; self.seconds = seconds
        self.instanceStepsPerSecond = instanceStepsPerSecond
        self.peakMemoryBytes = peakMemoryBytes; self.otherProcessesCores = otherProcessesCores
    }
}

/// One configuration's results, as printed by `tms bench --json`.
public struct BenchmarkRow: Sendable, Codable {
    public let configuration: String
    public let title: String
    public let model: ModelKind
    public let featureCount: Int
    public let hiddenCount: Int
    public let instanceCount: Int
    public let batchSize: Int
    public let warmupSteps: Int
    public let timedSteps: Int
    public let threads: Int
    /// The fastest run on all threads.
    public let instanceStepsPerSecond: Double
    /// The fastest run on one thread.
    public let singleThreadInstanceStepsPerSecond: Double?
    /// Every run on all threads, in the order run (`instanceStepsPerSecond` is the largest).
    public let everyRunInstanceStepsPerSecond: [Double]
    /// Every run on one thread, in the order run (alternating with those on all threads).
    public let everySingleThreadRunInstanceStepsPerSecond: [Double]
    /// The fastest instance-steps/s on all threads ÷ the fastest on one thread.
    public let threadScaling: Double?
    public let flopsPerInstanceStep: Double
    public let flopFormula: String
    /// Dense-equivalent GFLOP/s on all threads.
    public let gflops: Double
    /// The measured FP32 peak of this machine (GFLOP/s), one thread and all threads.
    public let peakGflopsSingleThread: Double
    public let peakGflopsAllThreads: Double
    /// `gflops` ÷ `peakGflopsAllThreads`.
    public let fractionOfPeak: Double
    public let peakMemoryBytes: Int?
    /// The most CPU other processes used during either timed run, in cores (see `BenchmarkMeasurement`).
    public let otherProcessesCores: Double?
    /// PyTorch eager on the same machine, when `--compare pytorch` ran it.
    public var pytorchInstanceStepsPerSecond: Double?
    public var pytorchThreads: Int?
    /// CPU used by other processes while PyTorch was timed, in cores.
    public var pytorchOtherProcessesCores: Double?
    /// Our instance-steps/s ÷ PyTorch's.
    public var speedupOverPytorch: Double?

    /// The row of the fastest of `all` (runs on all threads; at least one) and of `single` (runs on one
    /// thread; empty when not measured). Memory and other processes' CPU are the most over every run.
    public init(configuration c: BenchmarkConfiguration, all: [BenchmarkMeasurement], single: [BenchmarkMeasurement],
                peakSingle: Double, peakAll: Double) {
        precondition(!all.isEmpty, "a benchmark row needs at least one run on all threads")
        let best = all.max { $0.instanceStepsPerSecond < $1.instanceStepsPerSecond }!
        let bestSingle = single.max { $0.instanceStepsPerSecond < $1.instanceStepsPerSecond }
        configuration = c.name; title = c.title; model = c.config.model
        featureCount = c.config.featureCount; hiddenCount = c.config.hiddenCount
        instanceCount = c.config.instanceCount; batchSize = c.config.batchSize
        warmupSteps = c.warmupSteps; timedSteps = c.timedSteps; threads = best.threads
        instanceStepsPerSecond = best.instanceStepsPerSecond
        singleThreadInstanceStepsPerSecond = bestSingle?.instanceStepsPerSecond
        everyRunInstanceStepsPerSecond = all.map(\.instanceStepsPerSecond)
        everySingleThreadRunInstanceStepsPerSecond = single.map(\.instanceStepsPerSecond)
        threadScaling = bestSingle.map { best.instanceStepsPerSecond / $0.instanceStepsPerSecond }
        flopsPerInstanceStep = c.flopsPerInstanceStep
        flopFormula = BenchmarkConfiguration.flopFormula
        gflops = best.instanceStepsPerSecond * c.flopsPerInstanceStep / 1e9
        peakGflopsSingleThread = peakSingle; peakGflopsAllThreads = peakAll
        fractionOfPeak = gflops / peakAll
        peakMemoryBytes = (all + single).compactMap(\.peakMemoryBytes).max()
        otherProcessesCores = (all + single).compactMap(\.otherProcessesCores).max()
    }
}

/// Timing of training runs and of this machine's FP32 peak.
public enum Benchmark {
    /// Trains `c` on `threads` threads and times the steps after the warm-up (set-up and the final evaluation
    /// are not timed). Peak memory is reset before the run where the platform allows (Linux).
    public static func measure(_ c: BenchmarkConfiguration, threads: Int) throws -> BenchmarkMeasurement {
        resetPeakMemory()
        var start: (step: Int, time: UInt64, cpu: CPUTimes?)?
        var end: (step: Int, time: UInt64, cpu: CPUTimes?)?
        _ = try Trainer(config: c.config, threads: threads).train { p in
            let now = DispatchTime.now().uptimeNanoseconds
            if start == nil && p.step >= c.warmupSteps {
                start = (p.step, now, CPUTimes.now())
            } else if start != nil {
                end = (p.step, now, CPUTimes.now())
            }
        }
        guard let s = start, let e = end, e.step > s.step else {
            throw ConfigError("configuration \(c.name): too few steps to time (\(c.warmupSteps) warm-up, \(c.timedSteps) timed)")
        }
        let seconds = Double(e.time - s.time) / 1e9
        let steps = e.step - s.step
        var other: Double?
        if let a = s.cpu, let b = e.cpu {
            other = max(0, ((b.systemBusy - a.systemBusy) - (b.process - a.process)) / seconds)
        }
        return BenchmarkMeasurement(threads: threads, steps: steps, seconds: seconds,
                                    instanceStepsPerSecond: Double(steps * c.config.instanceCount) / seconds,
                                    peakMemoryBytes: peakMemoryBytes(), otherProcessesCores: other)
    }

    /// CPU seconds used by the whole system (busy, all cores) and by this process (Linux only).
    public struct CPUTimes {
        public let systemBusy: Double
        public let process: Double

        /// CPU seconds (user + system) of this process's waited-for children so far (Linux; nil elsewhere).
        public static func childrenSeconds() -> Double? {
            #if os(Linux)
            var usage = rusage()
            guard getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 else { return nil }
            return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
            #else
            return nil
            #endif
        }

        public static func now() -> CPUTimes? {
            #if os(Linux)
            guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                  let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
            let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard fields.count >= 8 else { return nil }
            // user nice system idle iowait irq softirq steal, in USER_HZ ticks (100 per second).
            let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
            var usage = rusage()
            guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
            let own = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
            return CPUTimes(systemBusy: busy / 100, process: own)
            #else
            return nil
            #endif
        }
    }

    /// The FP32 peak in GFLOP/s: every thread runs a dense SIMD FMA loop (12 independent chains of
    /// fused multiply-adds, enough to cover the FMA latency of current x86 and ARM cores) for about
    /// `seconds`; the best of three repetitions. The vectors are as wide as the dense kernels' (`peakLanes`):
    /// `SIMD16<Float>` where they run on AVX-512, which doubles the peak on processors with two 512-bit FMA
    /// pipes, `SIMD8<Float>` otherwise.
    public static func peakGflops(threads: Int, seconds: Double = 0.3) -> Double {
        let wide = Kernels.usesWideVectors
        let fmaLoopFlops = 12 * peakLanes * 2
        func fmaLoop(_ iterations: Int, seed: Float) -> Float {
            wide ? WideKernels.fmaLoop(iterations, seed: seed) : Benchmark.fmaLoop(iterations, seed: seed)
        }
        // Calibrate the iteration count on one thread.
        var iterations = 1 << 20
        while true {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = fmaLoop(iterations, seed: 1)
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if dt > seconds / 4 { iterations = Int(Double(iterations) * seconds / dt); break }
            iterations *= 4
        }
        var best = 0.0
        for _ in 0..<3 {
            let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
            defer { sink.deallocate() }
            let box = UncheckedSendableBox(sink)
            let t0 = DispatchTime.now().uptimeNanoseconds
            parallelFor(threads, threads: threads) { w in box.value[w] = fmaLoop(iterations, seed: Float(w + 1)) }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, Double(threads) * Double(iterations) * Double(fmaLoopFlops) / dt / 1e9)
        }
        return best
    }

    /// A one-line warning when the all-thread peak is below 85 % of `threads` × the one-thread peak: other
    /// processes are then using the cores and every multi-threaded timing of the run is suspect.
    public static func disturbanceWarning(peakSingle: Double, peakAll: Double, threads: Int) -> String? {
        guard threads > 1, peakAll < 0.85 * Double(threads) * peakSingle else { return nil }
        return String(format: "warning: the %d-thread FMA peak is only %.2f× the 1-thread peak; other processes are using the cores, so the timings of this run are unreliable (check `uptime` and re-run)",
                      threads, peakAll / peakSingle)
    }

    /// Lanes of the peak loop: those of the dense kernels' vectors (16 on AVX-512, else 8).
    public static var peakLanes: Int { Kernels.usesWideVectors ? 16 : 8 }

    @inline(never)
    static func fmaLoop(_ iterations: Int, seed: Float) -> Float {
        let x = SIMD8<Float>(repeating: 0.999_999), y = SIMD8<Float>(repeating: 1e-7)
        var a0 = SIMD8<Float>(repeating: seed), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5
        var a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
        // a ← a·x + y: each step depends on the last, so the compiler cannot hoist x·y out of the loop and
        // every iteration is 12 real FMAs (12 independent chains hide the 5-cycle FMA latency).
        for _ in 0..<iterations {
            a0 = y.addingProduct(a0, x); a1 = y.addingProduct(a1, x); a2 = y.addingProduct(a2, x)
            a3 = y.addingProduct(a3, x); a4 = y.addingProduct(a4, x); a5 = y.addingProduct(a5, x)
            a6 = y.addingProduct(a6, x); a7 = y.addingProduct(a7, x); a8 = y.addingProduct(a8, x)
            a9 = y.addingProduct(a9, x); a10 = y.addingProduct(a10, x); a11 = y.addingProduct(a11, x)
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).sum()
    }

    /// Resets the kernel's record of this process's peak resident memory (Linux: `/proc/self/clear_refs`).
    static func resetPeakMemory() {
        #if os(Linux)
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Foundation.Data("5".utf8))
            try? handle.close()
        }
        #endif
    }

    /// CPU model and core count, from /proc/cpuinfo where available ("unknown CPU" elsewhere).
    public static func machineDescription() -> String {
        var model = "unknown CPU"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return "\(model), \(availableProcessorCount) cores"
    }

    /// The process's peak resident memory in bytes (Linux: VmHWM; elsewhere `getrusage`'s maximum).
    public static func peakMemoryBytes() -> Int? {
        #if os(Linux)
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kB = Int(line.split(separator: " ").dropFirst().first ?? "") {
            return kB * 1024
        }
        return nil
        #else
        var usage = rusage()
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
        return Int(usage.ru_maxrss)  // bytes on Darwin
        #endif
    }
}
