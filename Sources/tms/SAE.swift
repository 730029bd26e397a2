import ArgumentParser
import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSExperiments

extension SAEVariant: ExpressibleByArgument {}
extension SAEResampling: ExpressibleByArgument {}

struct SAE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Train sparse autoencoders on the hidden activations of a saved toy-model run.",
        discussion: """
        One SAE instance per toy-model instance and λ (instance-major: model instance 0 with every λ, then 1, …), \
        or the first --instances of them. Writes a run folder with config.json, weights.safetensors (W_enc \
        [K, m, d_sae], W_dec [K, d_sae, m], b_enc [K, d_sae], b_dec [K, m]), metrics.json, figures and report.html. \
        See docs/sae.md.
        """)

    @Option(name: .customLong("model-run"), parsing: .unconditional, help: "A toy-model run folder written by tms train or tms run.") var modelRun: String
    @Option(parsing: .unconditional, help: "Output run folder (must not exist); default runs/sae-<time>.") var out: String?
    @Option(parsing: .unconditional, help: "Latents per SAE (dictionary size d_sae); default 2 × the model's features.") var latents: Int?
    @Option(parsing: .unconditional, help: "L1 coefficients λ (comma list); one SAE per model instance and λ; default 0.03.",
            transform: NumberList.parse) var l1: NumberList?
    @Option(parsing: .unconditional, help: "Variant: \(SAEVariant.allCases.map(\.rawValue).joined(separator: "|")).") var variant: SAEVariant = .relu
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "k of the topk variant.") var topK: Int = 1
    @Option(parsing: .unconditional, help: "Dead-latent resampling: \(SAEResampling.allCases.map(\.rawValue).joined(separator: "|")).")
    var resample: SAEResampling = .none
    @Option(name: .customLong("resample-every"), parsing: .unconditional, help: "Steps between resamplings.") var resampleEvery: Int = 1_000
    @Option(parsing: .unconditional, help: "Number of SAE instances K (default: model instances × λ values).") var instances: Int?
    @Option(parsing: .unconditional, help: "Training steps.") var steps: Int = 5_000
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Batch size.") var batchSize: Int = 1024
    @Option(parsing: .unconditional, help: "Adam learning rate.") var lr: Double = 1e-3
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Worker threads (results do not depend on it).") var threads: Int = availableProcessorCount
    @Flag(name: .customLong("no-report"), help: "Skip figures/ and report.html.") var noReport = false
    @Flag(help: "Print only the run folder's path on stdout; no progress, no table.") var quiet = false

    func run() throws {
        try reportingErrors {
            guard threads > 0 else { throw ConfigError("--threads \(threads) is invalid; it must be a positive integer") }
            let lambdas = l1?.values ?? [0.03]
            if let bad = lambdas.first(where: { !($0 >= 0 && $0.isFinite) }) {
                throw ConfigError("--l1 value \(bad) is invalid; each λ must be a finite number ≥ 0")
            }
            let modelFolder = URL(fileURLWithPath: modelRun)
            let (modelConfig, weights) = try TrainedRun.loadWeights(from: modelFolder)
            let pairs = (0..<weights.instanceCount).flatMap { k in lambdas.map { (k, Float($0)) } }
            let count = instances ?? pairs.count
            guard count >= 1 && count <= pairs.count else {
                throw ConfigError("--instances \(count) is invalid; it must be in 1…\(pairs.count) (model instances × λ values)")
            }
            let chosen = Array(pairs.prefix(count))
            let config = SAEConfig(variant: variant, inputCount: weights.hiddenCount,
                                   latentCount: latents ?? 2 * weights.featureCount,
                                   modelInstance: chosen.map(\.0), l1Coefficient: chosen.map(\.1), topK: topK,
                                   steps: steps, batchSize: batchSize, learningRate: lr, resampling: resample,
                                   resampleEvery: resampleEvery, seed: seed)
            try config.validate()
            let folder = URL(fileURLWithPath: out ?? defaultRunPath(prefix: "sae"))
            try RunFolder.checkWritable(folder)
            let source = ToyActivationSource(weights: weights, config: modelConfig)
            let bar = quiet ? nil : ProgressBar(label: "sae")
            let result = try SAETrainer(config: config, source: source, threads: threads).train { bar?.update($0) }
            let run = SAERun(result: result, source: source, model: modelConfig, modelRun: modelRun)
            var files = try run.files()
            if !noReport { files.merge(run.reportFiles(modelWeights: weights)) { $1 } }
            try RunFolder.write(files, to: folder)
            print(folder.path)
            if quiet { return }
            print("instance  model  λ          L0      MSE         FVE     dead   MMCS    recovered")
            for m in run.metrics.instances {
                print(String(format: "%8d  %5d  %-9.4g  %6.3f  %-10.4g  %6.3f  %5.2f  %6.3f  %5.2f", m.instance, m.modelInstance,
                             Double(m.l1Coefficient), m.reconstruction.l0, m.reconstruction.meanSquaredError,
                             m.reconstruction.fractionOfVarianceExplained, m.reconstruction.deadFraction,
                             m.meanMaxCosine, m.recoveredFraction))
            }
        }
    }
}
