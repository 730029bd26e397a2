import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// `config.json` of an SAE run folder: the SAE config (seed inside), the toy-model run it was trained on and
/// the tool version (docs/sae.md#run-folder).
public struct SAEConfigFile: Codable, Sendable {
    public var tool = "tms"
    public var version = tmsVersion
    public var kind = "sae"
    /// The toy-model run folder, as given to `--model-run` (nil inside an experiment).
    public var modelRun: String?
    /// The toy model's config (so the SAE run is self-describing even without the model folder).
    public var model: TrainingConfig
    public var sae: SAEConfig

    public init(modelRun: String?, model: TrainingConfig, sae: SAEConfig) {
        self.modelRun = modelRun; self.model = model; self.sae = sae
    }
}

/// What one SAE instance recovered, measured on `evaluationInputs` fresh activations (docs/sae.md#metrics).
public struct SAEInstanceMetrics: Codable, Sendable, Equatable {
    public var instance: Int
    public var modelInstance: Int
    public var l1Coefficient: Float
    /// The toy model's features with ‖W_i‖ > 0.5 (represented), against which MMCS is measured.
    public var representedFeatures: [Int]
    /// Max cosine similarity of every true feature with the decoder rows.
    public var maxCosine: [Double]
    public var meanMaxCosine: Double
    /// Fraction of represented features with max cosine > 0.9.
    public var recoveredFraction: Double
    public var reconstruction: SAEReconstructionMetrics
}

/// `metrics.json` of an SAE run: per-instance metrics and the training log (with resampling events).
public struct SAERunMetrics: Codable, Sendable {
    public var evaluationInputs: Int
    public var instances: [SAEInstanceMetrics]
    public var log: SAETrainingLog
}

/// A trained SAE run held in memory: what an SAE run folder stores.
public struct SAERun: Sendable {
    public var file: SAEConfigFile
    public var weights: SAEWeights
    public var metrics: SAERunMetrics

    public init(file: SAEConfigFile, weights: SAEWeights, metrics: SAERunMetrics) {
        self.file = file; self.weights = weights; self.metrics = metrics
    }

    /// Evaluates `result` on `evaluationInputs` fresh activations per instance, drawn from a stream split from
    /// the SAE seed (so the same config gives the same metrics).
    public init(result: SAETrainingResult, source: ToyActivationSource, model: TrainingConfig, modelRun: String?,
                evaluationInputs: Int = 8192) {
        file = SAEConfigFile(modelRun: modelRun, model: model, sae: result.config)
        weights = result.weights
        let c = result.config
        let instances = (0..<c.instanceCount).map { s -> SAEInstanceMetrics in
            var rng = RandomStream(seed: c.seed).split(0xE7A1, UInt64(s))
            var inputs: [Float] = []
            source.sample(modelInstance: c.modelInstance[s], batchSize: evaluationInputs, rng: &rng, into: &inputs)
            let (codes, recon, _) = SAETrainer.evaluate(result.weights, config: c, instance: s, inputs: inputs)
            let W = source.weights.weightMatrix(instance: c.modelInstance[s])
            let D = result.weights.decoderWeights(instance: s)
            let represented = featureNorms(of: W).enumerated().filter { $0.element > 0.5 }.map(\.offset)
            return SAEInstanceMetrics(
                instance: s, modelInstance: c.modelInstance[s], l1Coefficient: c.l1Coefficient[s],
                representedFeatures: represented, maxCosine: maxCosineSimilarities(features: W, dictionary: D),
                meanMaxCosine: meanMaxCosineSimilarity(features: W, dictionary: D, among: represented),
                recoveredFraction: recoveredFeatureFraction(features: W, dictionary: D, among: represented),
                reconstruction: SAEReconstructionMetrics(inputs: inputs, reconstructions: recon, codes: codes,
                                                         inputCount: c.inputCount, latentCount: c.latentCount))
        }
        metrics = SAERunMetrics(evaluationInputs: evaluationInputs, instances: instances, log: result.log)
    }

    /// `config.json`, `weights.safetensors` (W_enc [K, m, d_sae], W_dec [K, d_sae, m], b_enc [K, d_sae],
    /// b_dec [K, m]) and `metrics.json`.
    public func files() throws -> [String: Foundation.Data] {
        [
            "config.json": try RunFolder.json(file),
            "weights.safetensors": Foundation.Data(Safetensors.encode(weights.tensors, metadata: [
                "kind": "sae", "variant": weights.variant.rawValue, "tool": "tms \(tmsVersion)", "seed": String(file.sae.seed),
            ])),
            "metrics.json": try RunFolder.json(metrics),
        ]
    }

    /// The run's figures: decoder directions against the true features (2-D models), fraction active over
    /// training, and the report page.
    public func reportFiles(modelWeights: ToyModelWeights) -> [String: Foundation.Data] {
        let figures = SAEPlots.runFigures(self, modelWeights: modelWeights)
        var files: [String: Foundation.Data] = [:]
        for figure in figures { if let f = figure.file { files["figures/\(f)"] = Foundation.Data(figure.html.utf8) } }
        let c = file.sae
        let summary: [(String, String)] = [
            ("variant", c.variant.rawValue), ("latents", String(c.latentCount)), ("instances", String(c.instanceCount)),
            ("λ", c.l1Coefficient.map { fmt(Double($0), 4) }.joined(separator: ", ")), ("resampling", c.resampling.rawValue),
            ("steps", String(c.steps)), ("seed", String(c.seed)), ("tool", "tms \(tmsVersion)"),
        ]
        let links = [("config.json", "config.json"), ("weights.safetensors", "weights.safetensors"), ("metrics.json", "metrics.json")]
            + figures.compactMap { $0.file.map { ("figures/\($0)", "figures/\($0)") } }
        let html = ReportPage.html(title: "tms sae", subtitle: "sparse autoencoders on \(file.model.featureCount)→\(file.model.hiddenCount) \(file.model.model.rawValue)",
                                   summary: summary, figures: figures, checks: [], links: links)
        files["report.html"] = Foundation.Data(html.utf8)
        return files
    }
}

/// Figures of SAE runs, built from existing TMSRender figures (docs/sae.md#figures).
enum SAEPlots {
    static func runFigures(_ run: SAERun, modelWeights: ToyModelWeights) -> [ReportFigure] {
        var figures: [ReportFigure] = []
        let c = run.file.sae
        if c.inputCount == 2 {
            figures.append(ReportFigure(heading: "Decoder directions and true features",
                                        html: decoderDiagrams(run, modelWeights: modelWeights),
                                        caption: "First panel of each pair: the toy model's feature directions W_i. Second: the SAE's unit decoder rows; latents marked R were resampled, † are dead on the evaluation inputs.",
                                        file: "decoder-directions.svg"))
        }
        figures.append(ReportFigure(heading: "Fraction of inputs on which each latent fires",
                                    html: fractionActive(run, instance: 0),
                                    caption: "Instance 0 (λ = \(fmt(Double(c.l1Coefficient[0]), 4))), one line per latent; a line at 0 is a dead latent.",
                                    file: "fraction-active.svg"))
        return figures
    }

    static func decoderDiagrams(_ run: SAERun, modelWeights: ToyModelWeights) -> String {
        let c = run.file.sae
        var panels: [FeatureDiagramPanel] = []
        for s in 0..<c.instanceCount {
            let W = modelWeights.weightMatrix(instance: c.modelInstance[s])
            panels.append(FeatureDiagramPanel(title: "model \(c.modelInstance[s]) features",
                                              directions: (0..<W.columnCount).map { W.column($0).map(Double.init) },
                                              importance: [Double](repeating: 1, count: W.columnCount)))
            let D = run.weights.decoderWeights(instance: s)
            let resampled = Set(run.metrics.log.resamples.filter { $0.instance == s }.flatMap(\.latents))
            let dead = run.metrics.instances[s].reconstruction.fractionActive.map { $0 == 0 }
            panels.append(FeatureDiagramPanel(
                title: "SAE \(s), λ = \(fmt(Double(c.l1Coefficient[s]), 4))",
                directions: (0..<D.rowCount).map { D.row($0).map(Double.init) },
                importance: (0..<D.rowCount).map { dead[$0] ? 0 : 1 },
                labels: (0..<D.rowCount).map { "\($0)" + (resampled.contains($0) ? "R" : "") + (dead[$0] ? "†" : "") }))
        }
        return Figures.featureDiagram2D(panels: panels, title: "\(c.variant.rawValue) SAE, \(c.latentCount) latents", columns: 4)
    }

    /// The decoder rows (or, with `encoder`, the encoder directions scaled to unit length) of 2-D SAE instance s
    /// over training beside the true features (dark), resampled latents labelled R; nil without snapshots.
    static func directionAnimation(_ run: SAERun, modelWeights: ToyModelWeights, instance s: Int, encoder: Bool = false) -> String? {
        guard let snapshots = encoder ? run.metrics.log.encoderSnapshots : run.metrics.log.decoderSnapshots,
              !snapshots.isEmpty else { return nil }
        let c = run.file.sae
        let W = modelWeights.weightMatrix(instance: c.modelInstance[s])
        let features = (0..<W.columnCount).map { W.column($0).map(Double.init) }
        func direction(_ snapshot: [[Float]], _ j: Int) -> [Double] {
            let v = [Double(snapshot[s][2 * j]), Double(snapshot[s][2 * j + 1])]
            guard encoder else { return v }
            let norm = (v[0] * v[0] + v[1] * v[1]).squareRoot()
            return norm > 0 ? v.map { $0 / norm } : v
        }
        let frames = zip(run.metrics.log.steps, snapshots).map { step, snapshot in
            AnimationFrame(step: step, directions: features + (0..<c.latentCount).map { direction(snapshot, $0) })
        }
        let resampled = Set(run.metrics.log.resamples.filter { $0.instance == s }.flatMap(\.latents))
        let labels = (0..<W.columnCount).map { "f\($0)" } + (0..<c.latentCount).map { "\($0)" + (resampled.contains($0) ? "R" : "") }
        let importance = [Double](repeating: 0, count: W.columnCount) + (0..<c.latentCount).map { resampled.contains($0) ? 0.6 : 1 }
        let what = encoder ? "encoder directions (unit length)" : "decoder rows"
        return Figures.trainingAnimation2D(title: "SAE \(s) (λ = \(fmt(Double(c.l1Coefficient[s]), 4))) \(what) over training",
                                           frames: frames, importance: importance, labels: labels,
                                           id: "sae-anim-\(encoder ? "enc" : "dec")-\(s)")
    }

    static func fractionActive(_ run: SAERun, instance s: Int) -> String {
        let log = run.metrics.log
        let steps = log.steps.map(Double.init)
        let series = (0..<run.file.sae.latentCount).map { j in
            Series(label: "latent \(j)", steps: steps, values: log.fractionActive.map { Double($0[s][j]) })
        }
        return Figures.lossCurves(title: "Fraction active over training", series: Array(series.prefix(20)), logY: false,
                                  yLabel: "fraction of inputs")
    }
}
