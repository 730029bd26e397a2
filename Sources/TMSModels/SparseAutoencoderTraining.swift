import Foundation
import TMSCore

/// Hidden activations of a trained toy model, drawn fresh for every batch: x from the model's own feature
/// distribution (instance k's probabilities), h = W x, or ReLU(W x) for models with a hidden ReLU
/// (docs/models.md#models).
public struct ToyActivationSource: Sendable {
    public let weights: ToyModelWeights
    let samplers: [FeatureSampler]
    /// W per instance transposed to [k][feature][hidden], so that adding a feature's column reads contiguous memory.
    let columns: [Float]

    public init(weights: ToyModelWeights, config: TrainingConfig) {
        self.weights = weights
        let (K, n, m) = (weights.instanceCount, weights.featureCount, weights.hiddenCount)
        var columns = [Float](repeating: 0, count: K * n * m)
        for k in 0..<K { for i in 0..<m { for c in 0..<n { columns[(k * n + c) * m + i] = weights.W[(k * m + i) * n + c] } } }
        self.columns = columns
        samplers = (0..<weights.instanceCount).map {
            FeatureSampler(featureCount: weights.featureCount, probability: config.featureProbability[$0],
                           distribution: config.distribution, signed: weights.model.usesSignedInputs,
                           setSize: config.correlatedSetSize)
        }
    }

    public var hiddenCount: Int { weights.hiddenCount }

    /// Fills `out` [B][m] with B activations of model instance `k`, drawn from `rng`.
    public func sample(modelInstance k: Int, batchSize B: Int, rng: inout RandomStream, into out: inout [Float]) {
        let m = weights.hiddenCount, n = weights.featureCount
        let batch = samplers[k].sample(batchSize: B, rng: &rng)
        if out.count != B * m { out = [Float](repeating: 0, count: B * m) }
        let base = k * n * m, relu = weights.model.hasHiddenReLU
        columns.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { o in
                for b in 0..<B {
                    let row = o.baseAddress! + b * m
                    for i in 0..<m { row[i] = 0 }
                    for e in Int(batch.rowStart[b])..<Int(batch.rowStart[b + 1]) {
                        let column = w.baseAddress! + base + Int(batch.columns[e]) * m, v = batch.values[e]
                        for i in 0..<m { row[i] += column[i] * v }
                    }
                    if relu { for i in 0..<m { row[i] = max(row[i], 0) } }
                }
            }
        }
    }
}

/// A resampling event: at `step`, SAE instance `instance` had `latents` revived.
public struct SAEResampleEvent: Codable, Sendable, Equatable {
    public var step: Int
    public var instance: Int
    public var latents: [Int]
}

/// The training log: one point every steps/logPoints steps, each the mean over the steps since the last.
public struct SAETrainingLog: Codable, Sendable, Equatable {
    public var steps: [Int] = []
    /// `[point][instance]`.
    public var loss: [[Float]] = []
    public var meanSquaredError: [[Float]] = []
    public var l0: [[Float]] = []
    /// Fraction of latents that fired on no input since the previous point, `[point][instance]`.
    public var deadFraction: [[Float]] = []
    /// Fraction of inputs on which each latent fired, `[point][instance][latent]`.
    public var fractionActive: [[[Float]]] = []
    public var resamples: [SAEResampleEvent] = []
    /// For 2-D inputs only (m = 2, for animations): the decoder rows at each point, `[point][instance][latent·2]`.
    public var decoderSnapshots: [[[Float]]]? = nil
    /// For 2-D inputs only: each latent's encoder direction (W_enc[·, j]) at each point, `[point][instance][latent·2]`.
    public var encoderSnapshots: [[[Float]]]? = nil
}

/// Trained SAEs and their log.
public struct SAETrainingResult: Sendable {
    public let config: SAEConfig
    public let weights: SAEWeights
    public let log: SAETrainingLog
}

/// One instance's parameters, gradient and Adam moments (mutated by one worker only).
final class SAEInstanceState: @unchecked Sendable {
    var parameters: [Float]
    var gradient: [Float]
    var firstMoment: [Float]
    var secondMoment: [Float]
    var dataStream: RandomStream
    var resampleStream: RandomStream
    var batch: [Float] = []
    var fired: [Int32]
    /// Inputs each latent fired on since the last resampling, and `fired` after the previous step.
    var firedSinceResample: [Int32]
    var firedAtLastStep: [Int32]
    var stepsSinceResample = 0
    var sums = (loss: 0.0, mse: 0.0, l0: 0.0, steps: 0)
    var resamples: [SAEResampleEvent] = []

    init(parameters: [Float], latents: Int, stream: RandomStream) {
        self.parameters = parameters
        gradient = [Float](repeating: 0, count: parameters.count)
        firstMoment = gradient; secondMoment = gradient
        dataStream = stream.split(1); resampleStream = stream.split(2)
        fired = [Int32](repeating: 0, count: latents); firedSinceResample = fired; firedAtLastStep = fired
    }
}

/// Trains K SAE instances side by side (docs/sae.md#training). Each instance owns a random stream split from
/// `config.seed` by its index, so its result does not depend on K, on the other instances or on the thread count.
public struct SAETrainer: Sendable {
    public let config: SAEConfig
    public let source: ToyActivationSource
    public let threads: Int

    public init(config: SAEConfig, source: ToyActivationSource, threads: Int = availableProcessorCount) {
        self.config = config; self.source = source; self.threads = threads
    }

    /// The initial parameters of instance s: decoder rows random unit directions, W_enc = W_decᵀ, biases 0,
    /// gated r_mag = b_mag = 0, JumpReLU θ = `jumpInitialThreshold`.
    public static func initialWeights(_ config: SAEConfig) -> SAEWeights {
        let lay = config.layout
        let params = (0..<config.instanceCount).map { s -> [Float] in
            var rng = RandomStream(seed: config.seed).split(UInt64(s), 0)
            var p = [Float](repeating: 0, count: lay.count)
            for j in 0..<lay.L {
                let v = randomUnitVector(lay.m, &rng)
                for i in 0..<lay.m { p[lay.wDec + j * lay.m + i] = v[i]; p[lay.wEnc + i * lay.L + j] = v[i] }
            }
            if config.variant == .jumprelu {
                for j in 0..<lay.L { p[lay.extra + j] = Foundation.log(config.jumpInitialThreshold) }
            }
            return p
        }
        return SAEWeights(variant: config.variant, inputCount: config.inputCount, latentCount: config.latentCount, parameters: params)
    }

    public func train(progress: (TrainingProgress) -> Void = { _ in }) throws -> SAETrainingResult {
        try config.validate()
        guard source.hiddenCount == config.inputCount else {
            throw ConfigError("SAE input size \(config.inputCount) does not match the model's hidden size \(source.hiddenCount)")
        }
        if let bad = config.modelInstance.first(where: { $0 < 0 || $0 >= source.weights.instanceCount }) {
            throw ConfigError("model instance \(bad) does not exist; the model has \(source.weights.instanceCount) instances")
        }
        let initial = Self.initialWeights(config)
        let states = (0..<config.instanceCount).map {
            SAEInstanceState(parameters: initial.parameters[$0], latents: config.latentCount,
                             stream: RandomStream(seed: config.seed).split(UInt64($0)))
        }
        let T = config.steps
        let logEvery = max(1, T / max(1, config.logPoints))
        var log = SAETrainingLog()
        var t = 0
        while t < T {
            let end = min(T, (t / logEvery + 1) * logEvery)
            let startStep = t
            parallelFor(config.instanceCount, threads: threads) { s in
                for step in startStep..<end { self.step(states[s], instance: s, step: step) }
            }
            t = end
            if t % logEvery == 0 || t == T {
                log.steps.append(t)
                log.loss.append(states.map { Float($0.sums.loss / Double(max(1, $0.sums.steps))) })
                log.meanSquaredError.append(states.map { Float($0.sums.mse / Double(max(1, $0.sums.steps))) })
                log.l0.append(states.map { Float($0.sums.l0 / Double(max(1, $0.sums.steps))) })
                log.deadFraction.append(states.map { st in Float(st.fired.filter { $0 == 0 }.count) / Float(config.latentCount) })
                if config.inputCount == 2 {
                    let lay = config.layout
                    log.decoderSnapshots = (log.decoderSnapshots ?? []) + [states.map { Array($0.parameters[lay.wDec..<(lay.wDec + 2 * lay.L)]) }]
                    // W_enc is [m, L] row-major: latent j's direction is (W_enc[0, j], W_enc[1, j]).
                    log.encoderSnapshots = (log.encoderSnapshots ?? []) + [states.map { st in
                        (0..<lay.L).flatMap { j in [st.parameters[lay.wEnc + j], st.parameters[lay.wEnc + lay.L + j]] }
                    }]
                }
                log.fractionActive.append(states.map { st in
                    st.fired.map { Float($0) / Float(max(1, st.sums.steps * config.batchSize)) }
                })
                for st in states {
                    st.sums = (0, 0, 0, 0)
                    for j in st.fired.indices { st.fired[j] = 0; st.firedAtLastStep[j] = 0 }
                }
            }
            let latest = log.loss.last ?? []
            let mean = latest.reduce(0.0) { $0 + Double($1) } / Double(max(1, latest.count))
            progress(TrainingProgress(step: t, totalSteps: T, meanLoss: mean))
        }
        log.resamples = states.flatMap(\.resamples).sorted { ($0.step, $0.instance) < ($1.step, $1.instance) }
        return SAETrainingResult(config: config,
                                 weights: SAEWeights(variant: config.variant, inputCount: config.inputCount,
                                                     latentCount: config.latentCount, parameters: states.map(\.parameters)),
                                 log: log)
    }

    /// One Adam step of instance s (0-based `step`), preceded by resampling when it is due.
    func step(_ st: SAEInstanceState, instance s: Int, step: Int) {
        let c = config, lay = c.layout, m = lay.m, L = lay.L
        if c.resampling != .none && step > 0 && step % c.resampleEvery == 0 && Double(step) <= c.resampleUntil * Double(c.steps) {
            resample(st, instance: s, step: step)
        }
        source.sample(modelInstance: c.modelInstance[s], batchSize: c.batchSize, rng: &st.dataStream, into: &st.batch)
        st.gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        let stats = st.parameters.withUnsafeBufferPointer { p in
            st.batch.withUnsafeBufferPointer { x in
                st.gradient.withUnsafeMutableBufferPointer { g in
                    st.fired.withUnsafeMutableBufferPointer { f in
                        SAEPass.run(c.variant, layout: lay, lambda: c.l1Coefficient[s], topK: c.topK, bandwidth: c.jumpBandwidth,
                                    parameters: p.baseAddress!, inputs: x.baseAddress!, batchSize: c.batchSize,
                                    gradient: g.baseAddress!, fired: f.baseAddress!)
                    }
                }
            }
        }
        if c.resampling != .none {
            for j in 0..<L { st.firedSinceResample[j] += st.fired[j] - st.firedAtLastStep[j] }
            for j in 0..<L { st.firedAtLastStep[j] = st.fired[j] }
        }
        st.stepsSinceResample += 1
        st.sums.loss += stats.loss; st.sums.mse += stats.meanSquaredError; st.sums.l0 += stats.l0; st.sums.steps += 1
        // Through raw pointers: element accesses to a class's arrays each pay a dynamic exclusivity check.
        let b1: Float = 0.9, b2: Float = 0.999, eps: Float = 1e-8
        let tt = Float(step + 1)
        let lr = Float(c.learningRate), c1 = 1 - Foundation.pow(b1, tt), c2 = 1 - Foundation.pow(b2, tt)
        st.parameters.withUnsafeMutableBufferPointer { pb in
            st.gradient.withUnsafeMutableBufferPointer { gb in
                st.firstMoment.withUnsafeMutableBufferPointer { mb in
                    st.secondMoment.withUnsafeMutableBufferPointer { vb in
                        let p = pb.baseAddress!, g = gb.baseAddress!, m1 = mb.baseAddress!, m2 = vb.baseAddress!
                        // Remove the gradient's component along each unit decoder row.
                        for j in 0..<L {
                            let w = lay.wDec + j * m
                            var d: Float = 0
                            for i in 0..<m { d += g[w + i] * p[w + i] }
                            for i in 0..<m { g[w + i] -= d * p[w + i] }
                        }
                        // Adam (PyTorch's form, bias-corrected with the global step count).
                        for i in 0..<lay.count {
                            let gi = g[i]
                            m1[i] = b1 * m1[i] + (1 - b1) * gi
                            m2[i] = b2 * m2[i] + (1 - b2) * gi * gi
                            p[i] -= lr * (m1[i] / c1) / ((m2[i] / c2).squareRoot() + eps)
                        }
                    }
                }
            }
        }
        Self.normaliseDecoder(&st.parameters, layout: lay)
    }

    static func normaliseDecoder(_ p: inout [Float], layout lay: SAELayout) {
        for j in 0..<lay.L {
            let w = lay.wDec + j * lay.m
            var n: Float = 0
            for i in 0..<lay.m { n += p[w + i] * p[w + i] }
            guard n > 0 else { continue }
            let inv = 1 / n.squareRoot()
            for i in 0..<lay.m { p[w + i] *= inv }
        }
    }

    /// Revives the latents that fired on no input since the last resampling.
    func resample(_ st: SAEInstanceState, instance s: Int, step: Int) {
        let c = config, lay = c.layout, m = lay.m, L = lay.L
        let inputs = Double(max(1, st.stepsSinceResample * c.batchSize))
        let dead = (0..<L).filter { Double(st.firedSinceResample[$0]) / inputs < c.resampleBelowFrequency }
        for j in 0..<L { st.firedSinceResample[j] = 0 }
        st.stepsSinceResample = 0
        guard !dead.isEmpty else { return }
        var rng = st.resampleStream.split(UInt64(step))
        var directions: [[Float]] = []
        var encoderNorm: Float = 1
        if c.resampling == .anthropic {
            var inputs: [Float] = []
            source.sample(modelInstance: c.modelInstance[s], batchSize: c.batchSize, rng: &rng, into: &inputs)
            var errors = [Float](repeating: 0, count: c.batchSize)
            _ = st.parameters.withUnsafeBufferPointer { p in
                inputs.withUnsafeBufferPointer { x in
                    errors.withUnsafeMutableBufferPointer { e in
                        SAEPass.run(c.variant, layout: lay, lambda: c.l1Coefficient[s], topK: c.topK, bandwidth: c.jumpBandwidth,
                                    parameters: p.baseAddress!, inputs: x.baseAddress!, batchSize: c.batchSize,
                                    gradient: nil, fired: nil, squaredErrors: e.baseAddress!)
                    }
                }
            }
            let weights = errors.map { Double($0) * Double($0) }
            let total = weights.reduce(0, +)
            let live = (0..<L).filter { !dead.contains($0) }
            if !live.isEmpty {
                encoderNorm = live.reduce(Float(0)) { acc, j in
                    acc + (0..<m).reduce(Float(0)) { $0 + st.parameters[lay.wEnc + $1 * L + j] * st.parameters[lay.wEnc + $1 * L + j] }.squareRoot()
                } / Float(live.count)
            }
            encoderNorm *= c.resampleEncoderScale
            for _ in dead {
                var v = [Float](repeating: 0, count: m)
                if total > 0 {
                    var u = rng.nextUnitDouble() * total, pick = 0
                    while pick < weights.count - 1 && u >= weights[pick] { u -= weights[pick]; pick += 1 }
                    for i in 0..<m { v[i] = inputs[pick * m + i] - st.parameters[lay.bDec + i] }
                }
                let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                directions.append(norm > 0 ? v.map { $0 / norm } : randomUnitVector(m, &rng))
            }
        } else {
            directions = dead.map { _ in randomUnitVector(m, &rng) }
        }
        for (d, j) in dead.enumerated() {
            var touched: [Int] = [lay.bEnc + j]
            for i in 0..<m {
                st.parameters[lay.wDec + j * m + i] = directions[d][i]
                st.parameters[lay.wEnc + i * L + j] = directions[d][i] * encoderNorm
                touched += [lay.wDec + j * m + i, lay.wEnc + i * L + j]
            }
            st.parameters[lay.bEnc + j] = 0
            if c.variant == .gated {
                st.parameters[lay.extra + j] = 0; st.parameters[lay.extra2 + j] = 0
                touched += [lay.extra + j, lay.extra2 + j]
            } else if c.variant == .jumprelu {
                st.parameters[lay.extra + j] = Foundation.log(c.jumpInitialThreshold)
                touched.append(lay.extra + j)
            }
            for i in touched { st.firstMoment[i] = 0; st.secondMoment[i] = 0 }
        }
        st.resamples.append(SAEResampleEvent(step: step, instance: s, latents: dead))
    }

    /// Codes [B][L], reconstructions [B][m] and statistics of SAE instance s on `inputs` [B][m].
    public static func evaluate(_ weights: SAEWeights, config: SAEConfig, instance s: Int, inputs: [Float])
        -> (codes: [Float], reconstructions: [Float], statistics: SAEBatchStatistics) {
        let lay = weights.layout, B = inputs.count / lay.m
        var codes = [Float](repeating: 0, count: B * lay.L), recon = [Float](repeating: 0, count: B * lay.m)
        let stats = weights.parameters[s].withUnsafeBufferPointer { p in
            inputs.withUnsafeBufferPointer { x in
                codes.withUnsafeMutableBufferPointer { z in
                    recon.withUnsafeMutableBufferPointer { r in
                        SAEPass.run(weights.variant, layout: lay, lambda: config.l1Coefficient[s], topK: config.topK,
                                    bandwidth: config.jumpBandwidth, parameters: p.baseAddress!, inputs: x.baseAddress!,
                                    batchSize: B, gradient: nil, fired: nil, codes: z.baseAddress!, reconstructions: r.baseAddress!)
                    }
                }
            }
        }
        return (codes, recon, stats)
    }
}

/// A uniformly random unit vector (normalised Gaussian draws).
func randomUnitVector(_ m: Int, _ rng: inout RandomStream) -> [Float] {
    while true {
        let v = (0..<m).map { _ in Float(rng.nextNormal()) }
        let n = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        if n > 1e-6 { return v.map { $0 / n } }
    }
}
