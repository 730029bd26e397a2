import Foundation
import TMSCore

/// A snapshot of training, passed to the progress closure between chunks of steps.
public struct TrainingProgress: Sendable {
    /// Steps completed so far.
    public let step: Int
    public let totalSteps: Int
    /// Mean over all trained models (instances × seeds) of the latest batch loss.
    public let meanLoss: Double
}

/// A sampled loss curve: `values[instance][j]` is the batch loss at step `steps[j]`.
public struct LossCurve: Sendable, Codable, Equatable {
    public var steps: [Int]
    public var values: [[Float]]
}

/// Weights saved during training (for animations of 2-D models).
public struct WeightSnapshot: Sendable {
    public let step: Int
    public let weights: ToyModelWeights

    public init(step: Int, weights: ToyModelWeights) {
        self.step = step
        self.weights = weights
    }
}

/// Why training stopped early; `description` is one line.
public enum TrainingError: Swift.Error, CustomStringConvertible, Equatable {
    case nonFiniteLoss(instance: Int, seedIndex: Int, step: Int)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let k, let r, let t):
            return "training diverged: the loss of instance \(k) (seed \(r)) became NaN or infinite at step \(t); try a smaller --lr"
        }
    }
}

/// The outcome of a training run.
public struct TrainingResult: Sendable {
    public let config: TrainingConfig
    /// The kept model of every instance (the lowest evaluation loss of its `bestOf` seeds).
    public let weights: ToyModelWeights
    /// Evaluation loss of the kept model, per instance.
    public let finalLoss: [Float]
    /// Evaluation loss of every seed, `[instance][seed]`.
    public let seedLosses: [[Float]]
    /// The seed index kept for each instance.
    public let keptSeed: [Int]
    /// Loss curve of the kept models.
    public let lossCurve: LossCurve
    /// Snapshots of the kept models, if requested.
    public let snapshots: [WeightSnapshot]
}

/// Trains every instance of a config (times `bestOf` seeds) side by side.
///
/// Determinism: instance k's seed r draws its initial weights from `RandomStream(seed).split(k, r, 0)` and its
/// batches from `split(k, r, 1)`; each model is stepped by one worker, so the weights are bit-identical for
/// any thread count. Evaluation batches come from `split(k, 2^40)`, shared by all seeds of an instance so
/// that their losses compare on the same data.
public struct Trainer: Sendable {
    public let config: TrainingConfig
    public let threads: Int
    /// Warm start: every seed of instance k starts from instance k of these weights instead of the Xavier
    /// initialisation (used to follow a solution branch, e.g. the pentagon as one feature's density varies).
    public var initialWeights: ToyModelWeights?

    public init(config: TrainingConfig, threads: Int = availableProcessorCount, initialWeights: ToyModelWeights? = nil) {
        self.config = config
        self.threads = max(1, threads)
        self.initialWeights = initialWeights
    }

    /// Steps at which the loss is recorded: `lossLogPoints` evenly spaced, first and last included.
    public var loggedSteps: [Int] {
        let T = config.steps, P = min(config.lossLogPoints, T)
        if P == 1 { return [T - 1] }
        return (0..<P).map { Int((Double($0) * Double(T - 1) / Double(P - 1)).rounded()) }
    }

    /// Trains every instance and seed. With `snapshotEvery: N`, the kept models' weights are also recorded at
    /// step 0 (the initialisation), after every N steps, and after the last step. `progress` is called on the
    /// calling thread after each chunk of steps.
    public func train(snapshotEvery: Int? = nil,
                      progress: ((TrainingProgress) -> Void)? = nil) throws -> TrainingResult {
        try config.validate()
        let c = config
        if let start = initialWeights {
            guard start.model == c.model, start.featureCount == c.featureCount, start.hiddenCount == c.hiddenCount,
                  start.instanceCount == c.instanceCount else {
                throw ConfigError("initial weights (\(start.model.rawValue), \(start.instanceCount)×\(start.hiddenCount)×\(start.featureCount)) do not match the config (\(c.model.rawValue), \(c.instanceCount)×\(c.hiddenCount)×\(c.featureCount))")
            }
        }
        let K = c.instanceCount, N = c.bestOf, slots = K * N
        let root = RandomStream(seed: c.seed)
        let states: [InstanceState] = (0..<slots).map { s in
            let k = s / N, r = s % N
            var initStream = root.split(UInt64(k), UInt64(r), 0)
            var (w, w2) = ToyModelWeights.initialParameters(model: c.model, featureCount: c.featureCount,
                                                             hiddenCount: c.hiddenCount, instanceCount: K,
                                                             initialisation: c.initialisation, scale: c.initScale,
                                                             rng: &initStream)
            var b = [Float](repeating: 0, count: c.featureCount)
            if let start = initialWeights {
                w = start.weightMatrix(instance: k).values
                w2 = start.outputMatrix(instance: k)?.values
                b = start.bias(instance: k)
            }
            return InstanceState(model: c.model, featureCount: c.featureCount, hiddenCount: c.hiddenCount,
                                 importance: c.importance[k],
                                 sampler: FeatureSampler(featureCount: c.featureCount, probability: c.featureProbability[k],
                                                         distribution: c.distribution, signed: c.model.usesSignedInputs),
                                 dataStream: root.split(UInt64(k), UInt64(r), 1), W: w, W2: w2,
                                 bias: b, batchSize: c.batchSize)
        }
        let logSteps = loggedSteps
        var curves = [[Float]](repeating: [Float](repeating: .nan, count: logSteps.count), count: slots)
        var lastLoss = [Double](repeating: 0, count: slots)
        var failedStep = [Int](repeating: -1, count: slots)
        var snapshots: [(step: Int, params: [(W: [Float], W2: [Float]?, bias: [Float])])] = []
        let chunk = max(1, min(c.steps / 100, snapshotEvery ?? Int.max))
        let rates = (0..<c.steps).map { c.schedule.rate(base: c.learningRate, step: $0, total: c.steps, warmup: c.warmupSteps) }

        let stepper = Stepper(states: states, config: c, threads: threads, rates: rates, logSteps: logSteps)
        if snapshotEvery != nil { snapshots.append((0, states.map { $0.parameters() })) }
        var step = 0
        while step < c.steps {
            // Chunks end at every multiple of the snapshot interval so no snapshot is skipped.
            let end = min(c.steps, step + chunk, snapshotEvery.map { (step / $0 + 1) * $0 } ?? Int.max)
            curves.withUnsafeMutableBufferPointer { curvesBuf in
            lastLoss.withUnsafeMutableBufferPointer { lossBuf in
            failedStep.withUnsafeMutableBufferPointer { failBuf in
                stepper.run(from: step, to: end, curves: curvesBuf, lastLoss: lossBuf, failedStep: failBuf)
            }}}
            if let s = failedStep.firstIndex(where: { $0 >= 0 }) {
                throw TrainingError.nonFiniteLoss(instance: s / N, seedIndex: s % N, step: failedStep[s])
            }
            step = end
            if let every = snapshotEvery, step % every == 0 || step == c.steps {
                snapshots.append((step, states.map { $0.parameters() }))
            }
            progress?(TrainingProgress(step: step, totalSteps: c.steps, meanLoss: lastLoss.reduce(0, +) / Double(slots)))
        }

        // Evaluate every seed on the same fresh batches per instance; keep the lowest.
        var evalLoss = [Double](repeating: 0, count: slots)
        evalLoss.withUnsafeMutableBufferPointer { buf in
            let out = UncheckedSendableBox(buf)
            parallelFor(slots, threads: threads) { s in
                let state = states[s]
                var stream = root.split(UInt64(s / N), 1 << 40)
                let batches = c.evaluationBatchCount(instance: s / N)
                var total = 0.0
                for _ in 0..<batches {
                    state.sampler.sample(batchSize: c.batchSize, into: &state.batch, rng: &stream)
                    total += state.pass(computeGradients: false)
                }
                out.value[s] = total / Double(batches)
            }
        }
        let seedLosses = (0..<K).map { k in (0..<N).map { Float(evalLoss[k * N + $0]) } }
        let kept = seedLosses.map { losses in losses.indices.min { losses[$0] < losses[$1] }! }
        func gather(_ params: [(W: [Float], W2: [Float]?, bias: [Float])]) -> ToyModelWeights {
            let chosen = (0..<K).map { params[$0 * N + kept[$0]] }
            return ToyModelWeights(model: c.model, featureCount: c.featureCount, hiddenCount: c.hiddenCount,
                                   instanceCount: K, W: chosen.flatMap(\.W),
                                   W2: c.model.isTied ? nil : chosen.flatMap { $0.W2! }, bias: chosen.flatMap(\.bias))
        }
        return TrainingResult(config: c, weights: gather(states.map { $0.parameters() }),
                              finalLoss: (0..<K).map { seedLosses[$0][kept[$0]] }, seedLosses: seedLosses, keptSeed: kept,
                              lossCurve: LossCurve(steps: logSteps, values: (0..<K).map { curves[$0 * N + kept[$0]] }),
                              snapshots: snapshots.map { WeightSnapshot(step: $0.step, weights: gather($0.params)) })
    }
}

/// The stepping loop: sample, fused pass, Adam, record; with per-worker scratch allocated once, before
/// training.
///
/// Workers take every `workers`-th slot (instance × seed) and run several steps per dispatch (a dispatch
/// costs ~10–25 µs, more than a step of a small model). When slots are fewer than threads and a batch has
/// several chunks, each step is split instead: every slot samples its batch, workers share the (slot,
/// chunk) pairs, and each slot sums its chunk gradients in chunk order and updates. Both ways do the same
/// arithmetic (see `InstanceState`), so the weights never depend on the thread count.
private struct Stepper {
    let states: [InstanceState]
    let config: TrainingConfig
    let rates: [Double]
    let logSteps: [Int]
    let workers: Int
    let splitsBatches: Bool
    let chunks: Int
    let workspaces: [PassWorkspace]

    init(states: [InstanceState], config: TrainingConfig, threads: Int, rates: [Double], logSteps: [Int]) {
        self.states = states; self.config = config; self.rates = rates; self.logSteps = logSteps
        let slots = states.count
        chunks = states[0].chunkCount(batchSize: config.batchSize)
        splitsBatches = slots < threads && chunks > 1
        workers = splitsBatches ? threads : max(1, min(threads, slots))
        workspaces = (0..<workers).map { _ in PassWorkspace(for: states[0], training: true) }
        if splitsBatches {
            for state in states { state.prepareForTraining(); state.prepareSplitBatch() }
        }
    }

    /// Steps `step..<end` of every slot that has not failed.
    func run(from step: Int, to end: Int, curves: UnsafeMutableBufferPointer<[Float]>,
             lastLoss: UnsafeMutableBufferPointer<Double>, failedStep: UnsafeMutableBufferPointer<Int>) {
        let shared = UncheckedSendableBox((curves, lastLoss, failedStep))
        let slots = states.count
        if !splitsBatches {
            parallelFor(workers, threads: workers) { w in
                let (_, _, failBuf) = shared.value
                // Round-robin, not contiguous ranges: sweeps order instances by density or size, so
                // neighbours cost alike and contiguous ranges left one worker idle (the 2→1 phase grid).
                for s in stride(from: w, to: slots, by: workers) {
                    let state = states[s]
                    for t in step..<end where failBuf[s] < 0 {
                        state.sampleTrainingBatch(workspace: workspaces[w])
                        finish(slot: s, step: t, loss: state.pass(computeGradients: true, workspace: workspaces[w]), shared.value)
                    }
                }
            }
            return
        }
        let tasks = slots * chunks
        for t in step..<end {
            parallelFor(slots, threads: slots) { s in
                if shared.value.2[s] < 0 { states[s].sampleTrainingBatch() }
            }
            parallelFor(workers, threads: workers) { w in
                for task in (tasks * w / workers)..<(tasks * (w + 1) / workers) where shared.value.2[task / chunks] < 0 {
                    states[task / chunks].passChunkOfSplitBatch(task % chunks, workspace: workspaces[w])
                }
            }
            parallelFor(slots, threads: slots) { s in
                if shared.value.2[s] < 0 { finish(slot: s, step: t, loss: states[s].finishSplitPass(), shared.value) }
            }
        }
    }

    /// After a pass of slot `s` at step `t`: stop on a non-finite loss, else update and record the loss.
    private func finish(slot s: Int, step t: Int, loss: Double,
                        _ buffers: (UnsafeMutableBufferPointer<[Float]>, UnsafeMutableBufferPointer<Double>, UnsafeMutableBufferPointer<Int>)) {
        let (curves, lastLoss, failedStep) = buffers
        guard loss.isFinite else { failedStep[s] = t; return }
        let c = config
        states[s].adamUpdate(learningRate: rates[t], beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon,
                             weightDecay: c.weightDecay, decoupled: c.optimizer == .adamw)
        lastLoss[s] = loss
        if let index = logIndex(of: t) { curves[s][index] = Float(loss) }
    }

    /// The position of step `t` in the (increasing) logged steps, if it is logged.
    private func logIndex(of t: Int) -> Int? {
        var lo = 0, hi = logSteps.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if logSteps[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo < logSteps.count && logSteps[lo] == t ? lo : nil
    }
}

extension TrainingConfig {
    /// The mean loss of `weights` on `batches` fresh batches per instance drawn from `seed` (no training).
    public func evaluate(_ weights: ToyModelWeights, batches: Int, seed: UInt64) -> [Float] {
        let root = RandomStream(seed: seed)
        return (0..<instanceCount).map { k in
            let state = InstanceState(model: model, featureCount: featureCount, hiddenCount: hiddenCount,
                                      importance: importance[k],
                                      sampler: FeatureSampler(featureCount: featureCount, probability: featureProbability[k],
                                                              distribution: distribution, signed: model.usesSignedInputs),
                                      dataStream: root.split(UInt64(k)),
                                      W: weights.weightMatrix(instance: k).values,
                                      W2: weights.outputMatrix(instance: k)?.values, bias: weights.bias(instance: k),
                                      batchSize: batchSize)
            var total = 0.0
            for _ in 0..<batches {
                state.sampler.sample(batchSize: batchSize, into: &state.batch, rng: &state.dataStream)
                total += state.pass(computeGradients: false)
            }
            return Float(total / Double(batches))
        }
    }
}
