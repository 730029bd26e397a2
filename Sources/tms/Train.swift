import ArgumentParser
import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSExperiments

extension ModelKind: ExpressibleByArgument {}
extension FeatureDistribution: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension Initialisation: ExpressibleByArgument {}

// Enum flags: ArgumentParser lists the allowed values in --help and in errors from `allCases`
// (ExpressibleByArgument on a CaseIterable enum), so help text never repeats them by hand.

/// A comma-separated list of numbers, e.g. `1,0.3,0.1`; an empty item (`1,,2`, a trailing comma) is an error.
struct NumberList {
    let values: [Double]

    static func parse(_ argument: String) throws -> NumberList {
        let items = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if let empty = items.firstIndex(where: \.isEmpty) {
            throw ValidationError("item \(empty + 1) of '\(argument)' is empty; give numbers separated by single commas")
        }
        var values: [Double] = []
        for item in items {
            guard let value = Double(item) else { throw ValidationError("'\(item)' is not a number") }
            values.append(value)
        }
        return NumberList(values: values)
    }
}

/// `--threads`: checked here once for every command that takes it (it never changes results, so it is not
/// part of a config).
func checkThreads(_ threads: Int) throws {
    guard (1...4096).contains(threads) else {
        throw ConfigError("--threads: \(threads) is invalid; it must be an integer in 1...4096")
    }
}

/// The memory of this machine in bytes: the smaller of the physical memory and a cgroup limit, if any.
func machineMemory() -> Double {
    var bytes = Double(ProcessInfo.processInfo.physicalMemory)
    for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
        if let text = try? String(contentsOfFile: file, encoding: .utf8),  // absent outside a cgroup: no limit
           let limit = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
            bytes = min(bytes, limit)
        }
    }
    return bytes
}

/// The output folder of `--out`, or the default; an empty `--out` is an error, not the current folder.
func outputFolder(_ out: String?, prefix: String) throws -> URL {
    if let out {
        guard !out.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError("--out: the path is empty; give a new folder path")
        }
        return URL(fileURLWithPath: out)
    }
    return URL(fileURLWithPath: defaultRunPath(prefix: prefix))
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train toy models and write a run folder.",
        discussion: """
        With no flags: the paper's intro model (ReLU-output, 5 features in 2 dimensions, I_i = 0.9^i) as 10 \
        instances with feature probability p = 20^(-t), t = 0…1.

        --config FILE re-runs a saved config.json (or a run folder's). With it, the training flags --model, \
        --steps, --batch-size, --lr, --schedule, --warmup-steps, --optimizer, --weight-decay, --best-of, --init, \
        --init-scale, --l1 and --seed apply as overrides; the flags that shape the model and its per-feature tables (--features, \
        --hidden, --instances, --feature-probability, --sparsity, --importance-decay, --distribution, --set-size) are refused.

        Errors: one line 'tms: error: …', exit status 2, no folder written (docs/errors.md).
        """)

    @Option(parsing: .unconditional, help: "Model (default relu-output).")
    var model: ModelKind?
    @Option(parsing: .unconditional, help: "Number of features n (default 5).") var features: Int?
    @Option(parsing: .unconditional, help: "Number of hidden dimensions m (default 2).") var hidden: Int?
    @Option(parsing: .unconditional,
            help: "Number of instances K (default: the length of the probability list, else 10).") var instances: Int?
    @Option(name: .customLong("feature-probability"), parsing: .unconditional,
            help: "Feature probability p per instance (comma list) or one value for all; default 20^(-t).",
            transform: NumberList.parse)
    var featureProbability: NumberList?
    @Option(parsing: .unconditional,
            help: "Sparsity S = 1 - p per instance (comma list) or one value; give this or --feature-probability.",
            transform: NumberList.parse)
    var sparsity: NumberList?
    @Option(name: .customLong("importance-decay"), parsing: .unconditional, help: "Importance I_i = R^i (default 0.9).")
    var importanceDecay: Double?
    @Option(parsing: .unconditional, help: "Feature distribution (default independent).")
    var distribution: FeatureDistribution?
    @Option(name: .customLong("set-size"), parsing: .unconditional,
            help: "Set size k for --distribution correlated-sets (consecutive sets of k features present together; must divide --features).")
    var setSize: Int?
    @Option(parsing: .unconditional, help: "Training steps, at most 10^9 (default 10000).") var steps: Int?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Batch size (default 1024).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Learning rate (default 0.001).") var lr: Double?
    @Option(parsing: .unconditional, help: "Learning-rate schedule (default constant).")
    var schedule: LearningRateSchedule?
    @Option(name: .customLong("warmup-steps"), parsing: .unconditional, help: "Warmup steps for warmup-cosine (default 0).")
    var warmupSteps: Int?
    @Option(parsing: .unconditional, help: "Optimizer (default adam).") var optimizer: OptimizerKind?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional,
            help: "Weight decay (L2 for adam, decoupled for adamw; default 0).")
    var weightDecay: Double?
    @Option(name: .customLong("best-of"), parsing: .unconditional,
            help: "Train N seeds per instance and keep the lowest-loss one (default 1).")
    var bestOf: Int?
    @Option(name: .customLong("init"), parsing: .unconditional,
            help: "Initialisation: xavier (sigma = sqrt(2/(n+m)) per instance) or reference (PyTorch's fans of the [K, ...] tensor, K-dependent; docs/models.md#initialisation) (default xavier).")
    var initialisation: Initialisation?
    @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "Factor on the initial weight scale (default 1).")
    var initScale: Double?
    @Option(name: .customLong("l1"), parsing: .unconditional,
            help: "L1 penalty lambda on the weights, gradient lambda*sign(W) (docs/models.md#loss; default 0: none).")
    var l1Penalty: Double?
    @Option(parsing: .unconditional, help: "Random seed (default 0).") var seed: UInt64?
    @Option(parsing: .unconditional, help: "Worker threads (results do not depend on it; default: all cores).")
    var threads: Int = availableProcessorCount
    @Option(parsing: .unconditional, help: "Output run folder (must not exist); default runs/train-<time>.") var out: String?
    @Option(parsing: .unconditional, help: "Re-run a saved config.json or run folder; see the discussion for other flags.")
    var config: String?
    @Flag(help: "Print only the run folder's path on stdout; no progress.") var quiet = false
    @Flag(name: .customLong("no-report"), help: "Skip figures/ and report.html.") var noReport = false

    /// The config the flags describe (not yet validated: `TrainingConfig.validate()` does that, once).
    func resolvedConfig() throws -> TrainingConfig {
        var c: TrainingConfig
        if let config {
            let shaping: [(String, Bool)] = [
                ("--features", features != nil), ("--hidden", hidden != nil), ("--instances", instances != nil),
                ("--feature-probability", featureProbability != nil), ("--sparsity", sparsity != nil),
                ("--importance-decay", importanceDecay != nil), ("--distribution", distribution != nil),
                ("--set-size", setSize != nil),
            ]
            if let flag = shaping.first(where: \.1)?.0 {
                throw ConfigError("\(flag) cannot be combined with --config: it would change the saved per-feature tables; edit the config.json instead")
            }
            c = try RunConfigFile.read(from: URL(fileURLWithPath: config)).config
        } else {
            c = try configFromFlags()
        }
        if let model { c.model = model }
        if let steps { c.steps = steps }
        if let batchSize { c.batchSize = batchSize }
        if let lr { c.learningRate = lr }
        if let schedule { c.schedule = schedule }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let optimizer { c.optimizer = optimizer }
        if let weightDecay { c.weightDecay = weightDecay }
        if let bestOf { c.bestOf = bestOf }
        if let initialisation { c.initialisation = initialisation }
        if let initScale { c.initScale = initScale }
        if let l1Penalty { c.l1Penalty = l1Penalty }
        if let seed { c.seed = seed }
        return c
    }

    /// Builds the per-instance tables from --features, --hidden, --instances, the probability list and the
    /// importance decay. Only what `validate()` cannot see is checked here: how the lists combine.
    func configFromFlags() throws -> TrainingConfig {
        let n = features ?? 5, decay = importanceDecay ?? 0.9
        if featureProbability != nil && sparsity != nil {
            throw ConfigError("--feature-probability and --sparsity were both given; give one (S = 1 - p)")
        }
        try TrainingConfig.checkShape(featureCount: n, hiddenCount: hidden ?? 2, instanceCount: instances ?? 1)
        guard decay > 0 && decay.isFinite else {
            throw ConfigError("--importance-decay: \(decay) is invalid; it must be a positive finite number")
        }
        var probabilities: [Double]
        var flag = "--feature-probability"
        if let list = featureProbability {
            probabilities = list.values
        } else if let list = sparsity {
            flag = "--sparsity"
            if let bad = list.values.first(where: { !($0 >= 0 && $0 < 1) }) {
                throw ConfigError("--sparsity: \(bad) is invalid; it must be in [0, 1) (S = 1 - p)")
            }
            probabilities = list.values.map { 1 - $0 }
        } else {
            probabilities = TrainingConfig.geometricProbabilities(count: instances ?? 10).map(Double.init)
        }
        let count = instances ?? probabilities.count
        try TrainingConfig.checkShape(featureCount: n, hiddenCount: hidden ?? 2, instanceCount: count)
        if probabilities.count == 1 { probabilities = Array(repeating: probabilities[0], count: count) }
        guard probabilities.count == count else {
            throw ConfigError("\(flag) has \(probabilities.count) values but --instances is \(count); give one value per instance or one for all")
        }
        var c = TrainingConfig.standard(model: .reluOutput, featureCount: n, hiddenCount: hidden ?? 2,
                                        featureProbabilities: probabilities.map(Float.init), importanceDecay: Float(decay),
                                        distribution: distribution ?? .independent)
        c.correlatedSetSize = setSize
        // I_i = R^i can overflow Float32 for R > 1: refused here, naming the flag (validate would name the table).
        if let i = c.importance[0].firstIndex(where: { !$0.isFinite }) {
            throw ConfigError("--importance-decay: \(decay) is invalid for \(n) features; I_\(i) = \(decay)^\(i) overflows Float32 (use R ≤ 1 or fewer features)")
        }
        return c
    }

    func run() throws {
        try checkThreads(threads)
        let config = try resolvedConfig()
        try config.validate()
        try config.checkMemory(threads: threads, available: machineMemory())
        let folder = try outputFolder(out, prefix: "train")
        try RunFolder.checkWritable(folder)
        let cleanup = PartialFolderCleanup(output: folder)
        let bar = quiet ? nil : ProgressBar(label: "train")
        let result = try Trainer(config: config, threads: threads).train(progress: bar.map { $0.update })
        let run = TrainedRun(result: result)
        var files = try run.files()
        if !noReport { files.merge(RunReport.files(run)) { $1 } }
        try RunFolder.write(files, to: folder)
        withExtendedLifetime(cleanup) {}
        print(folder.path)
        if !quiet { print(instanceTable(run)) }
    }
}

/// `runs/<prefix>-<UTC time>` (with a counter if taken).
func defaultRunPath(prefix: String) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    let base = "runs/\(prefix)-\(formatter.string(from: Date()))"
    var path = base, counter = 2
    while FileManager.default.fileExists(atPath: path) { path = "\(base)-\(counter)"; counter += 1 }
    return path
}

/// A short per-instance table: p, final loss, features represented, D*.
func instanceTable(_ run: TrainedRun) -> String {
    var lines = ["instance  1-S (p)    final loss   represented   D*"]
    for k in 0..<run.config.instanceCount {
        let p = run.config.featureProbability[k]
        let pText = p.allSatisfy({ $0 == p[0] }) ? String(format: "%-9.4g", Double(p[0])) : "varies   "
        let a = run.metrics.instances[k]
        lines.append(String(format: "%8d  %@  %11.6g   %5d / %-5d %.3g", k, pText, Double(run.metrics.finalLoss[k]),
                            a.representedFeatures, run.config.featureCount, a.dimensionsPerFeature))
    }
    return lines.joined(separator: "\n")
}
