import Foundation
import TMSCore

// A config's instance states and the final evaluation of trained states (the trainer's and `Trainer.evaluate`'s).

extension TrainingConfig {
    /// Instance k's training state: its importance and feature sampler, the given PyTorch-layout parameters
    /// (W or W₁ [m][n], W₂ [n][m] for `abs`, b [n]) and data stream, batches of `batchSize` rows.
    func instanceState(instance k: Int, W: [Float], W2: [Float]?, bias: [Float], dataStream: RandomStream) -> InstanceState {
        InstanceState(model: model, featureCount: featureCount, hiddenCount: hiddenCount, importance: importance[k],
                      sampler: FeatureSampler(featureCount: featureCount, probability: featureProbability[k],
                                              distribution: distribution, signed: model.usesSignedInputs,
                                              setSize: correlatedSetSize),
                      dataStream: dataStream, W: W, W2: W2, bias: bias, batchSize: batchSize)
    }

    /// The mean loss of `state`'s current parameters over `batches` fresh batches of `batchSize` rows drawn
    /// from `stream` (no gradients, no update): the trainer's final evaluation and `evaluate`.
    func evaluationLoss(of state: InstanceState, batches: Int, stream: inout RandomStream) -> Double {
        var total = 0.0
        for _ in 0..<batches {
            state.sampler.sample(batchSize: batchSize, into: &state.batch, rng: &stream)
            total += state.pass(computeGradients: false)
        }
        return total / Double(batches)
    }

    /// Whether the final evaluation of an instance drawn by `sampler` keeps only the non-empty rows of its
    /// batches: skip draws (one probability p < `BatchPlan.skipBelow`) with at least half the rows empty,
    /// (1 − p)ⁿ ≥ 0.5. Every empty row has the same loss, so it is counted, not passed.
    func evaluatesOnNonEmptyRows(_ sampler: FeatureSampler) -> Bool {
        guard sampler.drawing == .skips, let p = sampler.uniformProbability else { return false }
        return pow(1 - Double(p), Double(featureCount)) >= 0.5
    }

    /// `evaluationLosses` for lane-drawn batches of models on the fused small-model kernel: each batch is
    /// lane-drawn straight into a dense buffer, as in training, instead of as CSR that the kernel then
    /// scatters back into a dense chunk. Same values, same kernel, same sums: bit-identical losses, at a
    /// fraction of the drawing cost (CSR drawing was most of the evaluation of the default 5→2 run).
    private func denseEvaluationLosses(of states: [InstanceState], batches: Int, stream: RandomStream) -> [Double] {
        let first = states[0]
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: featureCount * first.denseStride)
        defer {
            // No state may keep pointing into the buffer.
            for state in states { state.releaseDenseBatch() }
            buffer.deallocate()
        }
        var stream = stream
        var totals = [Double](repeating: 0, count: states.count)
        for _ in 0..<batches {
            first.sampler.sampleDense(batchSize: batchSize, into: buffer, stride: first.denseStride, rng: &stream)
            for (i, state) in states.enumerated() {
                state.useDenseBatch(buffer)
                totals[i] += state.pass(computeGradients: false)
            }
        }
        return totals.map { $0 / Double(batches) }
    }

    /// The mean loss of each of `states`' current parameters (runs of one instance: same importance and
    /// sampler) over the same `batches` fresh batches of `batchSize` rows drawn from `stream`.
    ///
    /// For very sparse instances (`evaluatesOnNonEmptyRows`) the batches are drawn with the same draws, but
    /// only their non-empty rows are kept, packed into batches of at most `batchSize` rows and passed once
    /// per state; an empty row's loss, Σ_i I_i·act(b_i)², is measured once (a one-row pass) and counted for
    /// every empty row. The mean is the same sum over the same rows; only the float summation grouping
    /// differs (rounding, ~1e-7 relative), and the cost is ∝ non-zeros instead of batches × rows
    /// (docs/performance.md#final-evaluation).
    func evaluationLosses(of states: [InstanceState], batches: Int, stream: RandomStream) -> [Double] {
        guard let first = states.first else { return [] }
        let B = batchSize, n = featureCount
        guard evaluatesOnNonEmptyRows(first.sampler) else {
            if first.plan.fusedKernel && first.sampler.drawsLanes && B == first.trainingBatchSize {
                return denseEvaluationLosses(of: states, batches: batches, stream: stream)
            }
            if states.count == 1 {
                var s = stream
                return [evaluationLoss(of: first, batches: batches, stream: &s)]
            }
            // Each batch drawn once and passed by every state: the same passes as `evaluationLoss` per state.
            var stream = stream, batch = SparseBatch(batchSize: B, featureCount: n)
            let placeholder = SparseBatch(batchSize: 1, featureCount: n)
            var totals = [Double](repeating: 0, count: states.count)
            for _ in 0..<batches {
                first.sampler.sample(batchSize: B, into: &batch, rng: &stream)
                for (i, state) in states.enumerated() {
                    state.batch = batch
                    totals[i] += state.pass(computeGradients: false)
                    state.batch = placeholder  // so that `batch` is uniquely held again (no copy on the next draw)
                }
            }
            return totals.map { $0 / Double(batches) }
        }
        var stream = stream
        let emptyRowLoss = states.map { state -> Double in
            state.batch = SparseBatch(batchSize: 1, featureCount: n)
            return state.pass(computeGradients: false) * Double(n)
        }
        var sums = [Double](repeating: 0, count: states.count)
        var pending = SparseBatch(batchSize: 0, featureCount: n)
        var drawn = SparseBatch(batchSize: 0, featureCount: n)
        var nonEmptyRows = 0
        func flush() {
            guard pending.batchSize > 0 else { return }
            for (i, state) in states.enumerated() {
                state.batch = pending
                sums[i] += state.pass(computeGradients: false) * Double(pending.batchSize * n)
            }
            pending = SparseBatch(batchSize: 0, featureCount: n)
        }
        for _ in 0..<batches {
            drawn.batchSize = 0
            drawn.rowStart.removeAll(keepingCapacity: true); drawn.rowStart.append(0)
            drawn.columns.removeAll(keepingCapacity: true); drawn.values.removeAll(keepingCapacity: true)
            nonEmptyRows += first.sampler.appendNonEmptyRows(batchSize: B, to: &drawn, rng: &stream)
            if pending.batchSize + drawn.batchSize > B { flush() }
            let offset = Int32(pending.columns.count)
            for r in 1..<(drawn.batchSize + 1) { pending.rowStart.append(offset + drawn.rowStart[r]) }
            pending.columns.append(contentsOf: drawn.columns)
            pending.values.append(contentsOf: drawn.values)
            pending.batchSize += drawn.batchSize
        }
        flush()
        let emptyRows = Double(batches * B - nonEmptyRows)
        return states.indices.map { (sums[$0] + emptyRows * emptyRowLoss[$0]) / Double(batches * B * n) }
    }

    /// The mean loss of `weights` on `batches` fresh batches per instance drawn from `seed` (no training):
    /// instance k's batches come from `RandomStream(seed).split(k)`.
    public func evaluate(_ weights: ToyModelWeights, batches: Int, seed: UInt64) -> [Float] {
        let root = RandomStream(seed: seed)
        return (0..<instanceCount).map { k in
            let stream = root.split(UInt64(k))
            let state = instanceState(instance: k, W: weights.weightMatrix(instance: k).values,
                                      W2: weights.outputMatrix(instance: k)?.values, bias: weights.bias(instance: k),
                                      dataStream: stream)
            return Float(evaluationLosses(of: [state], batches: batches, stream: stream)[0])
        }
    }
}
