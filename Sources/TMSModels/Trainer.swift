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

/// Why training failed; `description` is one line naming the instance, the best-of run and the step.
///
/// `run` is 1-based, out of `runs` (`bestOf`); the run's own seeds are split from the config's seed, so the
/// config's `seed`, `instance` and `run` identify it.
public enum TrainingError: Swift.Error, CustomStringConvertible, Equatable {
    /// The batch loss became NaN or infinite at (0-based) step `step`; training stopped there.
    case nonFiniteLoss(instance: Int, run: Int, runs: Int, step: Int)
    /// A weight or bias was NaN or infinite after the last of `steps` steps.
    case nonFiniteWeights(instance: Int, run: Int, runs: Int, steps: Int)
    /// After the last of `steps` steps, the evaluation loss `finalLoss` is more than
    /// `Trainer.divergenceFactor` times `reference`: the larger of the first step's batch loss and the loss of
    /// the all-zero model (see `Trainer.divergenceReference`). Also when `finalLoss` is NaN or infinite.
    case lossExploded(instance: Int, run: Int, runs: Int, steps: Int, finalLoss: Double, reference: Double)

    public var description: String {
        func who(_ k: Int, _ r: Int, _ n: Int) -> String { n > 1 ? "instance \(k) (best-of run \(r) of \(n))" : "instance \(k)" }
        switch self {
        case .nonFiniteLoss(let k, let r, let n, let t):
            return "training diverged: the loss of \(who(k, r, n)) became NaN or infinite at step \(t); try a smaller --lr"
        case .nonFiniteWeights(let k, let r, let n, let t):
            return "training diverged: the weights of \(who(k, r, n)) became NaN or infinite by step \(t); try a smaller --lr"
        case .lossExploded(let k, let r, let n, let t, let final, let reference):
            return "training diverged: the final loss of \(who(k, r, n)) after \(t) steps is \(final), more than "
                + "\(Int(Trainer.divergenceFactor))× max(first-step loss, all-zero model's loss) = \(reference); try a smaller --lr"
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
        // The last point is T − 1 itself: Double(T − 1) rounds up to 2^63 for T near Int.max.
        return (0..<P).map { (j: Int) -> Int in j == P - 1 ? T - 1 : Int((Double(j) * Double(T - 1) / Double(P - 1)).rounded()) }
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
        let states = makeStates()
        let N = c.bestOf, slots = states.count
        let logSteps = loggedSteps
        var curves = [[Float]](repeating: [Float](repeating: .nan, count: logSteps.count), count: slots)
        var lastLoss = [Double](repeating: 0, count: slots)
        var firstLoss = [Double](repeating: 0, count: slots)
        var failedStep = [Int?](repeating: nil, count: slots)
        var snapshots: [(step: Int, params: [(W: [Float], W2: [Float]?, bias: [Float])])] = []
        // Steps per chunk: 1 % of the run to start with, doubled (up to 1/8 of the run) while a chunk takes
        // under 20 ms. Each chunk ends in a wait for the slowest worker and starts with waking the others
        // (~10 ms of 100 chunks of 5→2 × 10 on 2 threads, docs/performance.md#whole-job-third-pass).
        // Chunks never change the arithmetic, only when progress is reported and work is handed out.
        var chunk = max(1, min(c.steps / 100, snapshotEvery ?? Int.max))

        let stepper = Stepper(states: states, config: c, threads: threads, logSteps: logSteps)
        if snapshotEvery != nil { snapshots.append((0, states.map { $0.parameters() })) }
        var step = 0
        while step < c.steps {
            // Chunks end at every multiple of the snapshot interval so no snapshot is skipped (written so that
            // nothing overflows for any `steps` up to Int.max).
            let end = step + min(chunk, c.steps - step, snapshotEvery.map { $0 - step % $0 } ?? Int.max)
            let started = monotonicSeconds()
            curves.withUnsafeMutableBufferPointer { curvesBuf in
            lastLoss.withUnsafeMutableBufferPointer { lossBuf in
            firstLoss.withUnsafeMutableBufferPointer { firstBuf in
            failedStep.withUnsafeMutableBufferPointer { failBuf in
                stepper.run(from: step, to: end, records: StepRecords(curves: curvesBuf, lastLoss: lossBuf,
                                                                      firstLoss: firstBuf, failedStep: failBuf))
            }}}}
            if let s = failedStep.firstIndex(where: { $0 != nil }) {
                throw TrainingError.nonFiniteLoss(instance: s / N, run: s % N + 1, runs: N, step: failedStep[s]!)
            }
            if monotonicSeconds() - started < 0.02 { chunk = min(2 * chunk, max(chunk, c.steps / 8)) }
            step = end
            if let every = snapshotEvery, step % every == 0 || step == c.steps {
                snapshots.append((step, states.map { $0.parameters() }))
            }
            progress?(TrainingProgress(step: step, totalSteps: c.steps, meanLoss: lastLoss.reduce(0, +) / Double(slots)))
        }

        let evaluationLoss = evaluate(states)
        try checkDivergence(states: states, firstLoss: firstLoss, evaluationLoss: evaluationLoss)
        return result(evaluationLoss: evaluationLoss, parameters: states.map { $0.parameters() }, curves: curves,
                      logSteps: logSteps, snapshots: snapshots)
    }

    /// The training state of every slot s = k·bestOf + r (instance k, best-of run r): weights from
    /// `split(k, r, 0)` (or instance k of `initialWeights`), batches from `split(k, r, 1)`.
    private func makeStates() -> [InstanceState] {
        let c = config, N = c.bestOf
        let root = RandomStream(seed: c.seed)
        return (0..<(c.instanceCount * N)).map { s in
            let k = s / N, r = s % N
            var initStream = root.split(UInt64(k), UInt64(r), 0)
            var (w, w2) = ToyModelWeights.initialParameters(model: c.model, featureCount: c.featureCount,
                                                             hiddenCount: c.hiddenCount, instanceCount: c.instanceCount,
                                                             initialisation: c.initialisation, scale: c.initScale,
                                                             rng: &initStream)
            var b = [Float](repeating: 0, count: c.featureCount)
            if let start = initialWeights {
                w = start.weightMatrix(instance: k).values
                w2 = start.outputMatrix(instance: k)?.values
                b = start.bias(instance: k)
            }
            return c.instanceState(instance: k, W: w, W2: w2, bias: b, dataStream: root.split(UInt64(k), UInt64(r), 1))
        }
    }

    /// The evaluation loss of every slot, on the same fresh batches (`split(k, 2^40)`) for every run of an
    /// instance. An instance is one work item (its runs share the draws) when it is evaluated on compacted
    /// rows (`evaluatesOnNonEmptyRows`) or when instances are at least as many as threads; otherwise each run
    /// is one (the same draws, made once per run). Either way each run's loss is the same, bit for bit.
    private func evaluate(_ states: [InstanceState]) -> [Double] {
        let c = config, N = c.bestOf
        let root = RandomStream(seed: c.seed)
        let items: [(k: Int, runs: Range<Int>)] = (0..<c.instanceCount).flatMap { k -> [(k: Int, runs: Range<Int>)] in
            c.evaluatesOnNonEmptyRows(states[k * N].sampler) || c.instanceCount >= threads
                ? [(k, 0..<N)] : (0..<N).map { (k, $0..<($0 + 1)) }
        }
        var loss = [Double](repeating: 0, count: states.count)
        loss.withUnsafeMutableBufferPointer { buf in
            let out = UncheckedSendableBox(buf)
            parallelFor(items.count, threads: threads) { i in
                let (k, runs) = items[i]
                let slots = runs.map { k * N + $0 }
                let losses = c.evaluationLosses(of: slots.map { states[$0] }, batches: c.evaluationBatchCount(instance: k),
                                                stream: root.split(UInt64(k), 1 << 40))
                for (s, l) in zip(slots, losses) { out.value[s] = l }
            }
        }
        return loss
    }

    /// Keeps, for every instance, the run with the lowest evaluation loss, and gathers its weights, curve and
    /// snapshots.
    private func result(evaluationLoss: [Double], parameters: [(W: [Float], W2: [Float]?, bias: [Float])],
                        curves: [[Float]], logSteps: [Int],
                        snapshots: [(step: Int, params: [(W: [Float], W2: [Float]?, bias: [Float])])]) -> TrainingResult {
        let c = config, K = c.instanceCount, N = c.bestOf
        let seedLosses = (0..<K).map { k in (0..<N).map { Float(evaluationLoss[k * N + $0]) } }
        let kept = seedLosses.map { losses in losses.indices.min { losses[$0] < losses[$1] }! }
        func gather(_ params: [(W: [Float], W2: [Float]?, bias: [Float])]) -> ToyModelWeights {
            let chosen = (0..<K).map { params[$0 * N + kept[$0]] }
            return ToyModelWeights(model: c.model, featureCount: c.featureCount, hiddenCount: c.hiddenCount,
                                   instanceCount: K, W: chosen.flatMap(\.W),
                                   W2: c.model.isTied ? nil : chosen.flatMap { $0.W2! }, bias: chosen.flatMap(\.bias))
        }
        return TrainingResult(config: c, weights: gather(parameters),
                              finalLoss: (0..<K).map { seedLosses[$0][kept[$0]] }, seedLosses: seedLosses, keptSeed: kept,
                              lossCurve: LossCurve(steps: logSteps, values: (0..<K).map { curves[$0 * N + kept[$0]] }),
                              snapshots: snapshots.map { WeightSnapshot(step: $0.step, weights: gather($0.params)) })
    }
}

/// Per-slot records the stepping loop writes (each slot's entries by the one worker stepping it): the
/// sampled loss curve, the latest and the first batch loss, and the step whose loss was not finite, if any.
private struct StepRecords {
    let curves: UnsafeMutableBufferPointer<[Float]>
    let lastLoss, firstLoss: UnsafeMutableBufferPointer<Double>
    let failedStep: UnsafeMutableBufferPointer<Int?>
}

/// Per-slot timings of the last chunk of steps, written by the worker that ran the slot.
private final class SlotTimes: @unchecked Sendable {
    let seconds: UnsafeMutableBufferPointer<Double>
    init(count: Int) {
        seconds = .allocate(capacity: count)
        seconds.initialize(repeating: 0)
    }
    deinit { seconds.deallocate() }
}

/// The stepping loop: sample, fused pass, Adam, record; with per-worker scratch allocated once, before
/// training. Lane-drawn batches of models on the general kernels are drawn chunk by chunk, each chunk right
/// before its pass, so a chunk's x is still in L2 when the products read it
/// (`InstanceState.passDrawingChunks`, docs/performance.md#dense-path-and-thread-scaling).
///
/// Workers claim slots (instance × seed) one at a time and run several steps of each per claim (a dispatch
/// costs ~10–25 µs, more than a step of a small model), the slots that took longest in the previous chunk
/// of steps first: slots differ in cost (density, size), and a fixed split left one worker idle for the
/// difference at the end of every chunk. Each slot's steps of a chunk are cut into pieces that go back in
/// line (`parallelForPieces`), so that two cores of unequal speed also finish together. When slots are
/// fewer than threads and a batch has several chunks, each step is split instead: every slot samples its
/// batch, workers share the (slot, chunk) pairs, and each slot sums its chunk gradients in chunk order and
/// updates. Both ways do the same arithmetic (see `InstanceState`), so the weights never depend on the
/// thread count.
private struct Stepper {
    let states: [InstanceState]
    let config: TrainingConfig
    let logSteps: [Int]
    let workers: Int
    let splitsBatches: Bool
    let chunks: Int
    let workspaces: [PassWorkspace]
    /// Seconds each slot took in the last chunk of steps (only the claiming order depends on it).
    let times: SlotTimes

    init(states: [InstanceState], config: TrainingConfig, threads: Int, logSteps: [Int]) {
        self.states = states; self.config = config; self.logSteps = logSteps
        let slots = states.count
        chunks = states[0].chunkCount(batchSize: config.batchSize)
        splitsBatches = slots < threads && chunks > 1
        workers = splitsBatches ? threads : max(1, min(threads, slots))
        workspaces = (0..<workers).map { _ in PassWorkspace(for: states[0], training: true) }
        times = SlotTimes(count: slots)
        if splitsBatches {
            for state in states { state.prepareForTraining(); state.prepareSplitBatch() }
        }
    }

    /// Steps `step..<end` of every slot that has not failed.
    func run(from step: Int, to end: Int, records: StepRecords) {
        let shared = UncheckedSendableBox(records)
        let slots = states.count
        if !splitsBatches {
            // Costliest first; equal costs (the first chunk) in slot order.
            let seconds = times.seconds
            let order = (0..<slots).sorted { seconds[$0] > seconds[$1] || (seconds[$0] == seconds[$1] && $0 < $1) }
            for s in 0..<slots { seconds[s] = 0 }
            let pieces = piecesPerSlot(steps: end - step)
            parallelForPieces(order, pieces: pieces, threads: workers) { w, s, k in
                let records = shared.value
                let state = states[s]
                let byChunk = state.drawsTrainingChunks
                let start = monotonicSeconds()
                let from = step + (end - step) * k / pieces, to = step + (end - step) * (k + 1) / pieces
                for t in from..<to where records.failedStep[s] == nil {
                    if byChunk {
                        finish(slot: s, step: t, loss: state.passDrawingChunks(workspace: workspaces[w]), records)
                        continue
                    }
                    state.sampleTrainingBatch(workspace: workspaces[w])
                    finish(slot: s, step: t, loss: state.pass(computeGradients: true, workspace: workspaces[w]), records)
                }
                seconds[s] += monotonicSeconds() - start
            }
            return
        }
        let tasks = slots * chunks
        for t in step..<end {
            parallelFor(slots, threads: slots) { s in
                if shared.value.failedStep[s] == nil { states[s].sampleTrainingBatch() }
            }
            parallelFor(workers, threads: workers) { w in
                for task in (tasks * w / workers)..<(tasks * (w + 1) / workers) where shared.value.failedStep[task / chunks] == nil {
                    states[task / chunks].passChunkOfSplitBatch(task % chunks, workspace: workspaces[w])
                }
            }
            parallelFor(slots, threads: slots) { s in
                if shared.value.failedStep[s] == nil { finish(slot: s, step: t, loss: states[s].finishSplitPass(), shared.value) }
            }
        }
    }

    /// Pieces each slot's steps of a chunk are cut into, so that every worker claims about 16 pieces per
    /// chunk (4 for 8 slots on 2 workers, 1 from 32 slots on), never more pieces than steps.
    func piecesPerSlot(steps: Int) -> Int {
        let slots = states.count
        guard workers > 1 else { return 1 }
        return max(1, min(steps, (16 * workers + slots - 1) / slots))
    }

    /// After a pass of slot `s` at step `t`: stop on a non-finite loss, else update and record the loss.
    private func finish(slot s: Int, step t: Int, loss: Double, _ records: StepRecords) {
        guard loss.isFinite else { records.failedStep[s] = t; return }
        let c = config
        // The rate is computed per step (a table would grow by 8 bytes a step).
        let rate = c.schedule.rate(base: c.learningRate, step: t, total: c.steps, warmup: c.warmupSteps)
        if c.l1Penalty > 0 { states[s].addL1Gradient(Float(c.l1Penalty)) }
        states[s].adamUpdate(learningRate: rate, beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon,
                             weightDecay: c.weightDecay, decoupled: c.optimizer == .adamw)
        records.lastLoss[s] = loss
        if t == 0 { records.firstLoss[s] = loss }
        if let index = logIndex(of: t) { records.curves[s][index] = Float(loss) }
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

extension Trainer {
    /// A finite final loss counts as divergence above this multiple of `divergenceReference`.
    public static let divergenceFactor = 10.0

    /// What a final loss is compared with: the larger of the first step's batch loss and the loss of the
    /// all-zero model, E[Σ_i I_i x_i²]/n = Σ_i I_i p_i / (3n) (E[x²] = 1/3 for x ~ U[0, 1) or U[−1, 1), see
    /// docs/models.md#loss). The floor keeps a sparse instance whose first batch happened to be nearly empty
    /// (first loss ≈ 0) from being called diverged; a trained model is never 10× worse than predicting zero,
    /// a diverged one (lr 1e3 and up) ends 10^20 and more above it.
    public static func divergenceReference(firstStepLoss: Double, config c: TrainingConfig, instance k: Int) -> Double {
        let zeroModel = zip(c.importance[k], c.featureProbability[k]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            / (3 * Double(c.featureCount))
        return max(firstStepLoss, zeroModel)
    }

    /// Throws for the first slot (instance × best-of run) whose weights are not all finite, or whose
    /// evaluation loss exceeds `divergenceFactor` × `divergenceReference` (or is not finite).
    private func checkDivergence(states: [InstanceState], firstLoss: [Double], evaluationLoss: [Double]) throws {
        let N = config.bestOf
        for (s, state) in states.enumerated() {
            let k = s / N, r = s % N + 1
            guard state.parametersAreFinite else {
                throw TrainingError.nonFiniteWeights(instance: k, run: r, runs: N, steps: config.steps)
            }
            let reference = Self.divergenceReference(firstStepLoss: firstLoss[s], config: config, instance: k)
            guard evaluationLoss[s] <= Self.divergenceFactor * reference else {
                throw TrainingError.lossExploded(instance: k, run: r, runs: N, steps: config.steps,
                                                 finalLoss: evaluationLoss[s], reference: reference)
            }
        }
    }
}
