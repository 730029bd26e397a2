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

/// A comma-separated list of numbers, e.g. `1,0.3,0.1`.
struct NumberList: ExpressibleByArgument {
    let values: [Double]
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        values = parts.map { $0! }
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train toy models and write a run folder.",
        discussion: """
        With no flags: the paper's intro model (ReLU-output, 5 features in 2 dimensions, I_i = 0.9^i) as 10 \
        instances with feature probability p = 20^(-t), t = 0…1.
        """)

    @Option(help: "Model: \(ModelKind.allCases.map(\.rawValue).joined(separator: "|")).")
    var model: ModelKind = .reluOutput
    @Option(help: "Number of features n.") var features: Int = 5
    @Option(help: "Number of hidden dimensions m.") var hidden: Int = 2
    @Option(help: "Number of instances K (default: the length of the probability list, else 10).") var instances: Int?
    @Option(name: .customLong("feature-probability"),
            help: "Feature probability p per instance (comma list) or one value for all; default 20^(-t).")
    var featureProbability: NumberList?
    @Option(help: "Sparsity S = 1 - p per instance (comma list) or one value; give this or --feature-probability.")
    var sparsity: NumberList?
    @Option(name: .customLong("importance-decay"), help: "Importance I_i = R^i.") var importanceDecay: Double = 0.9
    @Option(help: "Feature distribution: \(FeatureDistribution.allCases.map(\.rawValue).joined(separator: "|")).")
    var distribution: FeatureDistribution = .independent
    @Option(help: "Training steps.") var steps: Int = 10_000
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize: Int = 1024
    @Option(help: "Learning rate.") var lr: Double = 1e-3
    @Option(help: "LR schedule: \(LearningRateSchedule.allCases.map(\.rawValue).joined(separator: "|")).")
    var schedule: LearningRateSchedule = .constant
    @Option(name: .customLong("warmup-steps"), help: "Warmup steps for warmup-cosine.") var warmupSteps: Int = 0
    @Option(help: "Optimizer: adam|adamw.") var optimizer: OptimizerKind = .adam
    @Option(name: .customLong("weight-decay"), help: "Weight decay (L2 for adam, decoupled for adamw).")
    var weightDecay: Double = 0
    @Option(name: .customLong("best-of"), help: "Train N seeds per instance and keep the lowest-loss one.")
    var bestOf: Int = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Worker threads (results do not depend on it).") var threads: Int = availableProcessorCount
    @Option(help: "Output run folder (must not exist); default runs/train-<time>.") var out: String?
    @Option(help: "Re-run the config.json of an earlier run (other config flags are ignored).") var config: String?
    @Flag(help: "Print only the run folder's path on stdout.") var quiet = false
    @Flag(name: .customLong("no-report"), help: "Skip figures/ and report.html.") var noReport = false

    func resolvedConfig() throws -> TrainingConfig {
        if let config {
            return try RunFolder.decodeJSON(RunConfigFile.self, from: URL(fileURLWithPath: config)).config
        }
        guard features > 0 else { throw ConfigError("--features \(features) is invalid; it must be a positive integer") }
        guard hidden > 0 else { throw ConfigError("--hidden \(hidden) is invalid; it must be a positive integer") }
        if let instances, instances <= 0 {
            throw ConfigError("--instances \(instances) is invalid; it must be a positive integer")
        }
        guard importanceDecay > 0 && importanceDecay.isFinite else {
            throw ConfigError("--importance-decay \(importanceDecay) is invalid; it must be a positive finite number")
        }
        if featureProbability != nil && sparsity != nil {
            throw ConfigError("--feature-probability and --sparsity were both given; give one (S = 1 - p)")
        }
        var probabilities: [Double]
        var flag = "--feature-probability"
        if let list = featureProbability {
            probabilities = list.values
        } else if let list = sparsity {
            flag = "--sparsity"
            if let bad = list.values.first(where: { !($0 >= 0 && $0 < 1) }) {
                throw ConfigError("--sparsity \(bad) is invalid; it must be in [0, 1) (S = 1 - p)")
            }
            probabilities = list.values.map { 1 - $0 }
        } else {
            probabilities = TrainingConfig.geometricProbabilities(count: instances ?? 10).map(Double.init)
        }
        if let bad = probabilities.first(where: { !($0 > 0 && $0 <= 1) }) {
            throw ConfigError("\(flag) value p = \(bad) is invalid; p must be in (0, 1]")
        }
        let count = instances ?? probabilities.count
        if probabilities.count == 1 { probabilities = Array(repeating: probabilities[0], count: count) }
        guard probabilities.count == count else {
            throw ConfigError("\(flag) has \(probabilities.count) values but --instances is \(count); give one value per instance or one for all")
        }
        var c = TrainingConfig.standard(model: model, featureCount: features, hiddenCount: hidden,
                                        featureProbabilities: probabilities.map(Float.init),
                                        importanceDecay: Float(importanceDecay), distribution: distribution,
                                        steps: steps, batchSize: batchSize, learningRate: lr, bestOf: bestOf, seed: seed)
        c.schedule = schedule
        c.warmupSteps = warmupSteps
        c.optimizer = optimizer
        c.weightDecay = weightDecay
        return c
    }

    func run() throws {
        try reportingErrors {
            guard threads > 0 else { throw ConfigError("--threads \(threads) is invalid; it must be a positive integer") }
            let config = try resolvedConfig()
            try config.validate()
            let folder = URL(fileURLWithPath: out ?? defaultRunPath(prefix: "train"))
            try RunFolder.checkWritable(folder)
            let bar = ProgressBar(label: "train")
            let result = try Trainer(config: config, threads: threads).train(progress: bar.update)
            let run = TrainedRun(result: result)
            var files = try run.files()
            if !noReport { files.merge(RunReport.files(run)) { $1 } }
            try RunFolder.write(files, to: folder)
            print(folder.path)
            if !quiet { print(instanceTable(run)) }
        }
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
