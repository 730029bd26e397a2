import Foundation
import TMSCore
import TMSModels
import TMSAnalysis
import TMSRender

/// Sparse autoencoders on toy models (docs/sae.md#the-sae-experiment; Elhage et al. 2022, "Strategic Picture of
/// Superposition": enumerating the features a model stores in superposition).
///
/// Two toy models (5→2 at 1 − S = 0.05, a pentagon; 40→10 at 1 − S = 0.05), then SAEs on their hidden
/// activations: a λ sweep of ReLU SAEs on 5→2 with and without resampling, two dictionary sizes, a λ sweep of each
/// variant on 40→10, and unfolding (ReLU readout, lasso, OMP) across sparsity and m/n.
public struct SAEExperiment: Experiment {
    public init() {}
    public let name = "sae"
    public let mainFigure: String? = "decoder-directions-5-2.svg"
    public let reproduces = "§ \"The Strategic Picture of Superposition\": recovering the features of 5→2 and 40→10 toy models with sparse autoencoders, and unfolding"
    public let measuredRuntime = "54 s"
    public let outputs = "SAE run folders per sweep (sae/*), MMCS vs λ, Pareto plot L0 vs MSE, decoder directions, fraction active, unfolding table"

    static let smallLambdas: [Float] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
    static let largeLambdas: [Float] = [0.0003, 0.001, 0.003, 0.01, 0.03]
    static let resampleLambdas: [Float] = [0.01, 0.03, 0.1]
    /// The resampling comparison's own schedule, the same with `--quick`: with fewer steps or smaller batches the
    /// surplus latents of 40→10 die too late for a resampling to reach them (docs/sae.md#the-sae-experiment).
    static let resampleSteps = 6_000, resampleBatch = 512
    static let topKs = [1, 2, 4]

    func modelConfig(featureCount n: Int, hiddenCount m: Int, options: ExperimentOptions, seedOffset: UInt64) -> TrainingConfig {
        TrainingConfig.standard(model: .reluOutput, featureCount: n, hiddenCount: m, featureProbabilities: [0.05],
                                importanceDecay: 1, steps: options.steps(full: 10_000, quick: 4_000),
                                bestOf: options.quick ? 2 : 3, seed: options.seed &+ seedOffset)
    }

    /// The SAE sweeps: (name, model part, config).
    func sweeps(_ options: ExperimentOptions) -> [(name: String, part: String, config: SAEConfig)] {
        let steps = options.steps(full: 6_000, quick: 2_500), seed = options.seed &+ 100
        func sae(_ variant: SAEVariant, m: Int, L: Int, lambdas: [Float], resampling: SAEResampling = .none, batch: Int,
                 steps: Int = steps) -> SAEConfig {
            var c = SAEConfig(variant: variant, inputCount: m, latentCount: L, modelInstance: [Int](repeating: 0, count: lambdas.count),
                              l1Coefficient: lambdas, steps: steps, batchSize: batch, learningRate: 3e-3, resampling: resampling,
                              resampleEvery: max(1, steps / 10), seed: seed)
            c.resampleUntil = 0.8
            return c
        }
        var out: [(String, String, SAEConfig)] = [
            ("relu-5-2", "model-5-2", sae(.relu, m: 2, L: 10, lambdas: Self.smallLambdas, batch: 1024)),
            ("relu-5-2-latents-5", "model-5-2", sae(.relu, m: 2, L: 5, lambdas: Self.smallLambdas, batch: 1024)),
            ("relu-5-2-resample-anthropic", "model-5-2", sae(.relu, m: 2, L: 10, lambdas: Self.smallLambdas, resampling: .anthropic, batch: 1024)),
        ]
        // Resampling on 40→10 with the default dictionary of 2n = 80 latents: enough surplus latents die for
        // resampling to matter, and features are left to learn (in 5→2 with 20 latents they are not).
        for resampling in SAEResampling.allCases {
            out.append(("relu-40-10-latents-80-resample-\(resampling.rawValue)", "model-40-10",
                        sae(.relu, m: 10, L: 80, lambdas: Self.resampleLambdas, resampling: resampling,
                            batch: Self.resampleBatch, steps: options.steps ?? Self.resampleSteps)))
        }
        let L = options.quick ? 40 : 80, batch = options.quick ? 256 : 512
        for variant in [SAEVariant.relu, .gated, .jumprelu] {
            out.append(("\(variant.rawValue)-40-10", "model-40-10", sae(variant, m: 10, L: L, lambdas: Self.largeLambdas, batch: batch)))
        }
        // TopK has no λ: its sparsity knob is k, one run per k (a frontier of three points on the Pareto plot).
        for k in Self.topKs {
            var topk = sae(.topk, m: 10, L: L, lambdas: [0], batch: batch)
            topk.topK = k
            out.append(("topk-40-10-k\(k)", "model-40-10", topk))
        }
        return out
    }

    public func train(_ options: ExperimentOptions, progress: @escaping @Sendable (String, TrainingProgress) -> Void) throws -> ExperimentData {
        let parts = try trainParts(options, progress: progress)
        var extras: [String: Foundation.Data] = [:]
        for sweep in sweeps(options) {
            let run = parts.first { $0.name == sweep.part }!.run
            let source = ToyActivationSource(weights: run.weights, config: run.config)
            let result = try SAETrainer(config: sweep.config, source: source, threads: options.threads)
                .train { progress(sweep.name, $0) }
            let sae = SAERun(result: result, source: source, model: run.config, modelRun: nil)
            for (file, bytes) in try sae.files() { extras["sae/\(sweep.name)/\(file)"] = bytes }
        }
        return ExperimentData(parts: parts, extras: extras)
    }

    /// The toy models the SAEs read: 5→2 and 40→10 at 1 − S = 0.05.
    public func partConfigs(_ options: ExperimentOptions) -> [(name: String, config: TrainingConfig)] {
        [("model-5-2", modelConfig(featureCount: 5, hiddenCount: 2, options: options, seedOffset: 0)),
         ("model-40-10", modelConfig(featureCount: 40, hiddenCount: 10, options: options, seedOffset: 1))]
    }

    /// Each sweep's SAE run folder files (the sweep names do not depend on `--quick`).
    public var extraFiles: Set<String> {
        Set(sweeps(ExperimentOptions()).flatMap { sweep in
            ["config.json", "weights.safetensors", "metrics.json"].map { "sae/\(sweep.name)/\($0)" }
        })
    }

    /// Every stored SAE run must decode; a damaged one is refused when the folder is loaded.
    public func checkExtras(_ data: ExperimentData) throws {
        for sweep in sweeps(ExperimentOptions()) where data.extras.keys.contains(where: { $0.hasPrefix("sae/\(sweep.name)/") }) {
            _ = try saeRun(data, sweep: sweep.name)
        }
    }

    /// The SAE run of one sweep stored in `data`; throws a ``RunFolderError`` naming the file that is missing or damaged.
    func saeRun(_ data: ExperimentData, sweep name: String) throws -> SAERun {
        func file(_ leaf: String) throws -> Foundation.Data {
            guard let bytes = data.extras["sae/\(name)/\(leaf)"] else { throw RunFolderError("sae/\(name)/\(leaf) is missing") }
            return bytes
        }
        func decoding<T>(_ leaf: String, _ body: () throws -> T) throws -> T {
            do { return try body() } catch { throw RunFolderError("sae/\(name)/\(leaf): \(error)") }
        }
        let (configBytes, weightBytes, metricBytes) = (try file("config.json"), try file("weights.safetensors"), try file("metrics.json"))
        let config = try decoding("config.json") { try JSONDecoder.tms.decode(SAEConfigFile.self, from: configBytes) }
        let metrics = try decoding("metrics.json") { try JSONDecoder.tms.decode(SAERunMetrics.self, from: metricBytes) }
        let weights = try decoding("weights.safetensors") {
            try SAEWeights(variant: config.sae.variant, tensors: Safetensors.decode([UInt8](weightBytes)).tensors)
        }
        return SAERun(file: config, weights: weights, metrics: metrics)
    }

    /// The SAE runs stored in `data`, by sweep name (folders were checked by ``checkExtras(_:)`` when loaded;
    /// a sweep that is absent is left out).
    func saeRuns(_ data: ExperimentData, options: ExperimentOptions) -> [String: SAERun] {
        var out: [String: SAERun] = [:]
        for sweep in sweeps(options) {
            if let run = try? saeRun(data, sweep: sweep.name) { out[sweep.name] = run }
        }
        return out
    }

    public func analyse(_ data: ExperimentData, options: ExperimentOptions) throws -> ExperimentAnalysis {
        let runs = saeRuns(data, options: options)
        var checks: [Check] = []
        var figures: [ReportFigure] = []
        let small = try data.part("model-5-2")
        let smallW = small.weights.weightMatrix(instance: 0)
        let smallRepresented = representedFeatureCount(of: smallW)
        checks.append(Check(claim: "5→2 at 1 − S = 0.05 stores all 5 features (a pentagon), so an SAE has 5 features to find",
                            expected: "5 features with ‖W_i‖ > 0.5",
                            measured: "\(smallRepresented) represented; norms \(featureNorms(of: smallW).map { fmt($0, 2) }.joined(separator: ", "))",
                            passed: smallRepresented == 5))

        if let relu = runs["relu-5-2"] {
            let best = relu.metrics.instances.max { $0.meanMaxCosine < $1.meanMaxCosine }!
            checks.append(Check(
                claim: "At a well-chosen λ a ReLU SAE recovers every true feature of 5→2",
                expected: "for the λ with the highest MMCS: MMCS > 0.9 and all 5 features with max cos > 0.9",
                measured: "λ = \(fmt(Double(best.l1Coefficient), 4)): MMCS \(fmt(best.meanMaxCosine, 3)), recovered \(fmt(best.recoveredFraction * 5, 0))/5; MMCS per λ \(relu.metrics.instances.map { fmt($0.meanMaxCosine, 3) }.joined(separator: ", "))",
                passed: best.meanMaxCosine > 0.9 && best.recoveredFraction == 1))
            figures.append(ReportFigure(heading: "5→2: decoder directions", html: SAEPlots.decoderDiagrams(relu, modelWeights: small.weights),
                                        caption: "ReLU SAEs with 10 latents across λ (no resampling). † dead on the evaluation inputs.",
                                        file: "decoder-directions-5-2.svg"))
        }
        if let anth = runs["relu-5-2-resample-anthropic"] {
            figures.append(ReportFigure(heading: "5→2 with Anthropic resampling: decoder directions",
                                        html: SAEPlots.decoderDiagrams(anth, modelWeights: small.weights),
                                        caption: "Latents marked R were resampled at least once.", file: "decoder-directions-5-2-resampled.svg"))
            let s = anth.metrics.log.resamples.first?.instance ?? anth.file.sae.instanceCount - 1
            for encoder in [false, true] {
                guard let animation = SAEPlots.directionAnimation(anth, modelWeights: small.weights, instance: s, encoder: encoder) else { continue }
                figures.append(ReportFigure(heading: "5→2: \(encoder ? "encoder" : "decoder") directions over training (Anthropic resampling)",
                                            html: animation,
                                            caption: "True features f0–f4 dark; latents labelled R (lighter) were resampled." +
                                                (encoder ? " Encoder directions are drawn at unit length (their norms differ from the decoder's)." : "")))
            }
        }
        if let none = runs["relu-40-10-latents-80-resample-none"], let simple = runs["relu-40-10-latents-80-resample-simple"],
           let anth = runs["relu-40-10-latents-80-resample-anthropic"] {
            func dead(_ r: SAERun) -> Double {
                r.metrics.instances.reduce(0) { $0 + $1.reconstruction.deadFraction } / Double(r.metrics.instances.count)
            }
            func revived(_ r: SAERun) -> Int { r.metrics.log.resamples.reduce(0) { $0 + $1.latents.count } }
            // How many revived latents the L1 penalty kills again (those had no feature left to encode).
            func deadAgain(_ r: SAERun) -> String {
                var ever = 0, dead = 0
                for s in r.metrics.instances.indices {
                    let latents = Set(r.metrics.log.resamples.filter { $0.instance == s }.flatMap(\.latents))
                    let active = r.metrics.instances[s].reconstruction.fractionActive
                    ever += latents.count
                    dead += latents.filter { active[$0] == 0 }.count
                }
                return "\(dead) of \(ever)"
            }
            let (d0, d1, d2) = (dead(none), dead(simple), dead(anth))
            checks.append(Check(
                claim: "Resampling dead latents lowers the dead fraction (40→10, \(none.file.sae.latentCount) latents, mean over λ = \(Self.resampleLambdas.map { fmt(Double($0), 3) }.joined(separator: ", ")))",
                expected: "dead fraction (no firing on \(none.metrics.evaluationInputs) inputs) with simple and with Anthropic resampling < without",
                measured: "none \(fmt(d0, 3)), simple \(fmt(d1, 3)), anthropic \(fmt(d2, 3)); latents resampled: simple \(revived(simple)), anthropic \(revived(anth)); distinct resampled latents dead at the end: simple \(deadAgain(simple)), anthropic \(deadAgain(anth))",
                passed: d1 < d0 && d2 < d0))
            figures.append(ReportFigure(heading: "Fraction active over training (40→10, 80 latents, λ = \(fmt(Double(anth.file.sae.l1Coefficient[0]), 4)), Anthropic resampling)",
                                        html: SAEPlots.fractionActive(anth, instance: 0), caption: "One line per latent (the first 20).",
                                        file: "fraction-active-40-10.svg"))
        }
        // MMCS against λ, one line per sweep.
        let mmcsSeries = runs.keys.sorted().compactMap { name -> Series? in
            guard let r = runs[name], r.file.sae.variant != .topk else { return nil }
            return Series(label: name, steps: r.metrics.instances.map { Double($0.l1Coefficient) },
                          values: r.metrics.instances.map(\.meanMaxCosine))
        }
        figures.append(ReportFigure(heading: "MMCS against λ", html: Figures.lossCurves(title: "Mean max cosine similarity against λ",
                                    series: mmcsSeries, logY: false, logX: true, xLabel: "λ", yLabel: "MMCS"),
                                    caption: "MMCS over the toy model's represented features (‖W_i‖ > 0.5).", file: "mmcs-vs-lambda.svg"))

        // Pareto: L0 against MSE for the 40→10 variants.
        let variants: [(label: String, runs: [String])] = ["relu-40-10", "gated-40-10", "jumprelu-40-10"].map { ($0, [$0]) }
            + [("topk-40-10 (k = \(Self.topKs.map(String.init).joined(separator: ", ")))", Self.topKs.map { "topk-40-10-k\($0)" })]
        let pareto = variants.compactMap { variant -> Series? in
            let pts = variant.runs.compactMap { runs[$0] }.flatMap(\.metrics.instances)
                .map { ($0.reconstruction.meanSquaredError, $0.reconstruction.l0) }.sorted { $0.0 < $1.0 }
            return pts.isEmpty ? nil : Series(label: variant.label, steps: pts.map(\.0), values: pts.map(\.1))
        }
        figures.append(ReportFigure(heading: "Pareto: L0 against reconstruction (40→10)",
                                    html: Figures.lossCurves(title: "L0 against MSE, one point per λ", series: pareto, logY: true, logX: true,
                                                             xLabel: "reconstruction MSE", yLabel: "L0"),
                                    caption: "Lower-left is better. ReLU, Gated and JumpReLU: one point per λ; TopK: one point per k.", file: "pareto-40-10.svg"))
        if let relu = runs["relu-40-10"] {
            var measured: [String] = [], better = true
            for name in ["gated-40-10", "jumprelu-40-10"] {
                guard let other = runs[name] else { better = false; continue }
                let comparison = l0AtEqualReconstruction(other, relu)
                measured.append("\(name): \(comparison.text)")
                better = better && comparison.lower
            }
            let large = try data.part("model-40-10")
            checks.append(Check(
                claim: "Gated and JumpReLU SAEs reach a lower L0 than ReLU SAEs at equal reconstruction (40→10, \(representedFeatureCount(of: large.weights.weightMatrix(instance: 0))) of 40 features represented)",
                expected: "at every MSE both sweeps reach, L0 interpolated (log–log) on their frontier < ReLU's",
                measured: measured.joined(separator: "; "), passed: better))
        }
        let unfolding = try unfoldingTable(data.part("model-40-10"), seed: options.seed, trials: options.quick ? 100 : 200)
        figures.append(ReportFigure(heading: "Unfolding: recovering x from h", html: unfolding.html,
                                    caption: "Fraction of \(options.quick ? 100 : 200) random k-sparse inputs (magnitudes U[0.2, 1]) whose support is recovered exactly; first rows: the trained 40→10 model's W (ReLU readout with its bias); then random unit-column W with n = 40."))
        checks.append(unfolding.check)
        return ExperimentAnalysis(figures: figures, checks: checks)
    }

    /// Compares `a` with `b` at equal MSE: over the MSE range both sweeps cover, L0 interpolated log–log on each
    /// sweep's points (sorted by MSE); `lower` if a's L0 is below b's at every compared MSE (at least one).
    func l0AtEqualReconstruction(_ a: SAERun, _ b: SAERun) -> (lower: Bool, text: String) {
        func points(_ r: SAERun) -> [(Double, Double)] {
            r.metrics.instances.map { (Foundation.log(max($0.reconstruction.meanSquaredError, 1e-12)), Foundation.log(max($0.reconstruction.l0, 1e-6))) }
                .sorted { $0.0 < $1.0 }
        }
        func interpolate(_ p: [(Double, Double)], _ x: Double) -> Double? {
            guard let first = p.first, let last = p.last, x >= first.0, x <= last.0 else { return nil }
            for i in 0..<(p.count - 1) where x >= p[i].0 && x <= p[i + 1].0 {
                let w = p[i + 1].0 > p[i].0 ? (x - p[i].0) / (p[i + 1].0 - p[i].0) : 0
                return p[i].1 + w * (p[i + 1].1 - p[i].1)
            }
            return last.1
        }
        let pa = points(a), pb = points(b)
        var comparisons: [(mse: Double, la: Double, lb: Double)] = []
        for x in (pa + pb).map(\.0) {
            if let la = interpolate(pa, x), let lb = interpolate(pb, x) { comparisons.append((x, la, lb)) }
        }
        guard !comparisons.isEmpty else { return (false, "no common MSE range") }
        let lower = comparisons.allSatisfy { $0.la < $0.lb }
        let text = comparisons.sorted { $0.mse < $1.mse }.map {
            "MSE \(fmt(Foundation.exp($0.mse), 3)): L0 \(fmt(Foundation.exp($0.la), 2)) vs \(fmt(Foundation.exp($0.lb), 2))"
        }.joined(separator: ", ")
        return (lower, text)
    }

    /// Support recovery of the three unfolding methods across sparsity k and m/n.
    func unfoldingTable(_ model: TrainedRun, seed: UInt64, trials: Int) -> (html: String, check: Check) {
        let n = 40
        var rows: [String] = []
        var ompOneSparse = 0.0, readoutOneSparse = 0.0
        var cases: [(label: String, W: Matrix, bias: [Float])] = [
            ("trained 40→10", model.weights.weightMatrix(instance: 0), model.weights.bias(instance: 0)),
        ]
        for m in [5, 10, 20] {
            var rng = RandomStream(seed: seed).split(0x0F01D, UInt64(m))
            var values = [Float](repeating: 0, count: m * n)
            for c in 0..<n {
                let v = randomDirection(m, &rng)
                for r in 0..<m { values[r * n + c] = v[r] }
            }
            cases.append(("random m/n = \(m)/\(n)", Matrix(rowCount: m, columnCount: n, values: values), [Float](repeating: 0, count: n)))
        }
        for (label, W, bias) in cases {
            for k in [1, 2, 4] {
                var rng = RandomStream(seed: seed).split(0x0F01E, UInt64(W.rowCount), UInt64(k))
                var hits = [0, 0, 0]
                for _ in 0..<trials {
                    var x = [Float](repeating: 0, count: n)
                    var chosen = Set<Int>()
                    while chosen.count < k { chosen.insert(Int(rng.next() % UInt64(n))) }
                    for i in chosen { x[i] = 0.2 + 0.8 * rng.nextUnitFloat() }
                    let h = (0..<W.rowCount).map { r in (0..<n).reduce(Float(0)) { $0 + W[r, $1] * x[$1] } }
                    let estimates = [
                        Unfolding.reluReadout(W, bias: bias, hidden: h),
                        Unfolding.lasso(W, hidden: h, penalty: 0.01, iterations: 300),
                        Unfolding.orthogonalMatchingPursuit(W, hidden: h, maxAtoms: k),
                    ]
                    for (e, estimate) in estimates.enumerated() where Unfolding.accuracy(estimate: estimate, truth: x).supportRecovered {
                        hits[e] += 1
                    }
                }
                let f = hits.map { Double($0) / Double(trials) }
                if label == "random m/n = 10/40" && k == 1 { ompOneSparse = f[2]; readoutOneSparse = f[0] }
                rows.append("<tr><td>\(label)</td><td>\(k)</td><td>\(fmt(f[0], 3))</td><td>\(fmt(f[1], 3))</td><td>\(fmt(f[2], 3))</td></tr>")
            }
        }
        let html = "<table><tr><th>W</th><th>k non-zero</th><th>ReLU readout</th><th>lasso (α = 0.01)</th><th>OMP (k atoms)</th></tr>" + rows.joined() + "</table>"
        let check = Check(claim: "Compressed sensing: with known feature directions, OMP recovers a 1-sparse input from 10 of 40 dimensions where a bias-free ReLU readout cannot",
                          expected: "m/n = 10/40, k = 1, \(trials) inputs: OMP support recovery ≥ 0.95 and above the readout's",
                          measured: "OMP \(fmt(ompOneSparse, 3)), ReLU readout \(fmt(readoutOneSparse, 3))",
                          passed: ompOneSparse >= 0.95 && ompOneSparse > readoutOneSparse)
        return (html, check)
    }
}

/// A uniformly random unit vector.
private func randomDirection(_ m: Int, _ rng: inout RandomStream) -> [Float] {
    while true {
        let v = (0..<m).map { _ in Float(rng.nextNormal()) }
        let n = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        if n > 1e-6 { return v.map { $0 / n } }
    }
}

extension JSONDecoder {
    /// Decodes what `RunFolder.json` writes (non-finite numbers as strings).
    static var tms: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
