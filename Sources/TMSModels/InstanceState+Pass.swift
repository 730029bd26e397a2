import TMSCore

/// Which kernels a pass uses: chosen per batch (inputs) and per chunk (output gradients) from the measured
/// density, or forced (tests check every combination against the reference).
enum PathChoice: Sendable { case automatic, dense, sparse }

struct PassPaths: Sendable {
    /// Dense: h = W x and ∂W += x·∂hᵀ as register-tiled products over a dense chunk. Sparse: both from the
    /// CSR non-zeros only. Automatic: dense batches dense, CSR ones by `BatchPlan.takesDenseInputs`.
    var inputs = PathChoice.automatic
    /// Dense: ∂h = W δ and ∂W_out += δ hᵀ as register-tiled products. Sparse: only from the non-zero δ_i.
    /// Automatic: per chunk, sparse below `BatchPlan.denseOutputGradientDensity`.
    var outputGradients = PathChoice.automatic
    /// Dense: the fused small-model kernel (all of a row's forward and backward in registers), when the
    /// inputs and output gradients are dense and the model small. Sparse: never. Automatic: for models of at
    /// most `BatchPlan.tinyModelSize` weights (`BatchPlan.fusedKernel`).
    var fusedSmallModel = PathChoice.automatic
    /// Whether the fused kernel sums gradients block by block (true) or vector by vector (false); the same
    /// sums either way, bit for bit. Nil: by `InstanceState.sumsByBlock`.
    var fusedBlockSums: Bool? = nil
    /// Whether CSR passes of an instance with the Gram path take it whatever the δ density (true), as
    /// `usesGramPath` decides (nil) or never (false).
    var gram: Bool? = nil
    static let automatic = PassPaths()
}

extension InstanceState {
    /// Whether the current batch takes the dense input kernels: always when it is held densely (making it
    /// sparse costs more than the dense products save), otherwise by its measured density.
    func usesDenseInputs(_ paths: PassPaths) -> Bool {
        switch paths.inputs {
        case .dense: return true
        case .sparse: return false
        case .automatic:
            return denseBatchIsCurrent
                || plan.takesDenseInputs(nonZeros: csrBatch.nonZeroCount, entries: currentBatchSize * n)
        }
    }

    /// One fused pass over the current batch: forward, loss and (optionally) backward, with no allocation
    /// (after the workspace's first use).
    ///
    /// For each batch row x, with B = batch size and s = 1/(B·n):
    /// - forward: h = Σ_{i: x_i≠0} x_i·E_i (then ReLU for `relu-hidden`/`abs`), y = Dᵀh + b, x′ = act(y);
    /// - loss: s · Σ_i I_i (x′_i − t_i)², t = x (or |x| for `abs`);
    /// - backward: δ_i = 2 s I_i (x′_i − t_i)·act′(y_i); ∂b_i += δ_i; ∂D_i += δ_i h; g = Σ_i δ_i D_i
    ///   (masked by h > 0 behind a hidden ReLU); ∂E_i += x_i g.
    /// The batch is processed in chunks of `chunkRows` rows; each chunk's gradient is computed from zero
    /// and added to the total in chunk order (so splitting chunks across workers changes nothing).
    /// Returns the instance's mean loss over the batch and features.
    @discardableResult
    func pass(computeGradients: Bool, workspace: PassWorkspace? = nil, paths: PassPaths = .automatic) -> Double {
        let ws = workspace ?? defaultWorkspace
        let B = currentBatchSize
        let inputsDense = usesDenseInputs(paths), gramPass = usesGramPath(paths)
        if computeGradients { gradientBlock.update(repeating: 0, count: gradientCount) }
        if gramPass && !gramIsCurrent { computeGram() }
        if computeGradients && gramPass { pairSums!.update(repeating: 0, count: n * nPad) }
        var total = 0.0
        var deltas = 0
        withCurrentCSR { csr in
            for c in 0..<chunkCount(batchSize: B) {
                let grads = computeGradients ? ws.gradients : nil
                if gramPass {
                    // δ of `plan.gramPairChunks` chunks side by side, then their rows' x δᵀ into A at once.
                    let span = ChunkSpan(chunk: c, chunkRows: chunkRows, batchSize: B, featureCount: n)
                    let group = plan.gramPairChunks, slot = c % group
                    ws.prepareGramBuffers(chunks: group)
                    total += gramChunk(span, csr: csr!.rows(from: span.r0), gradientBlock: grads,
                                       deltas: ws.gramDeltas! + slot * chunkRows * nPad, workspace: ws)
                    if computeGradients && (slot == group - 1 || c == chunkCount(batchSize: B) - 1) {
                        let r0 = (c - slot) * chunkRows
                        accumulatePairs(csr!.rows(from: r0), rows: span.r0 + span.rows - r0, deltas: ws.gramDeltas!,
                                        into: pairSums!, workspace: ws)
                    }
                } else {
                    total += runChunk(c, batchSize: B, inputsDense: inputsDense, paths: paths, gradientBlock: grads,
                                      workspace: ws, csr: csr)
                }
                deltas += ws.lastDeltaCount
                if computeGradients { Kernels.add(gradientCount, ws.gradients, into: gradientBlock) }
            }
        }
        if computeGradients {
            if gramPass { finishGramGradient() }
            recordOutputGradientDensity(deltas, batchSize: B)
        }
        return total / Double(B * n)
    }

    /// Whether the trainer draws this instance's training batches chunk by chunk into the worker's
    /// `chunkBatch`, each right before its pass (`passDrawingChunks`): lane-drawn batches of models that take
    /// the general kernels. A whole 400-feature batch (1.6 MB) does not fit a 1 MB L2, so drawing it first
    /// sent every chunk's x through L3 (docs/performance.md#dense-path-and-thread-scaling).
    var drawsTrainingChunks: Bool { plan.drawing == .lanes && plan.denseTrainingBatches && !plan.fusedKernel }

    /// Draws the next training batch from `dataStream` and passes it with gradients, chunk by chunk: each
    /// chunk's rows are lane-drawn into `workspace.chunkBatch` [n][laneStride] right before the chunk is
    /// passed. The same values (`FeatureSampler.drawDense` draws groups of 8 rows in row order) and the same
    /// arithmetic as `sampleTrainingBatch` followed by `pass(computeGradients: true)`, so bit-identical to
    /// it. Requires `drawsTrainingChunks` and a training workspace. Returns the mean loss.
    func passDrawingChunks(workspace ws: PassWorkspace) -> Double {
        let B = trainingBatchSize, x = ws.chunkBatch!, L = ws.laneStride
        gradientBlock.update(repeating: 0, count: gradientCount)
        var lanes = LaneRandomStream(seededBy: &dataStream)
        // A local copy of the sampler: read through `self`, the drawing took 1.9× the instructions of
        // `FeatureSampler.drawDense` (callgrind; the class property may alias the stores to x).
        let sampler = self.sampler
        var total = 0.0
        var deltas = 0
        for c in 0..<chunkCount(batchSize: B) {
            let span = ChunkSpan(chunk: c, chunkRows: chunkRows, batchSize: B, featureCount: n)
            sampler.drawRows(span.rows, into: x, stride: L, zeroedUpTo: span.R, lanes: &lanes)
            let inputs = ChunkInputs(dense: UnsafePointer(x), denseStride: L, csr: nil, scattered: false,
                                     targets: UnsafePointer(x), targetStride: L)
            total += generalChunk(span, inputs, outputGradients: .automatic, gradientBlock: ws.gradients, workspace: ws)
            deltas += ws.lastDeltaCount
            Kernels.add(gradientCount, ws.gradients, into: gradientBlock)
        }
        recordOutputGradientDensity(deltas, batchSize: B)
        return total / Double(B * n)
    }

    /// For a batch split across workers: chunk `c` of the current batch into chunk gradient block `c`.
    /// Every chunk, then `finishSplitPass`, gives bit for bit what `pass(computeGradients: true)` gives.
    func passChunkOfSplitBatch(_ c: Int, workspace: PassWorkspace) {
        let B = currentBatchSize
        let block = chunkGradients! + c * gradientCount
        let inputsDense = usesDenseInputs(.automatic), gramPass = usesGramPath(.automatic)
        withCurrentCSR { csr in
            if gramPass {
                // Current: `refreshGram` and `usesGramPath` test the same δ density, which no chunk changes.
                precondition(gramIsCurrent, "a split Gram pass needs G of the current weights")
                let span = ChunkSpan(chunk: c, chunkRows: chunkRows, batchSize: B, featureCount: n)
                chunkLosses[c] = gramChunk(span, csr: csr!.rows(from: span.r0), gradientBlock: block,
                                           deltas: splitDeltas! + span.r0 * nPad, workspace: workspace)
            } else {
                chunkLosses[c] = runChunk(c, batchSize: B, inputsDense: inputsDense, paths: .automatic,
                                          gradientBlock: block, workspace: workspace, csr: csr)
            }
        }
        chunkDeltaCounts[c] = workspace.lastDeltaCount
    }

    /// Allocates the chunk blocks of a split batch (once; call before any `passChunkOfSplitBatch`).
    func prepareSplitBatch() { _ = chunkGradientBlocks(chunkCount(batchSize: trainingBatchSize)) }

    /// Sums the chunk gradient blocks in chunk order; returns the mean loss.
    func finishSplitPass() -> Double {
        let B = currentBatchSize
        gradientBlock.update(repeating: 0, count: gradientCount)
        var total = 0.0
        var deltas = 0
        for c in 0..<chunkCount(batchSize: B) {
            total += chunkLosses[c]
            deltas += chunkDeltaCounts[c]
            Kernels.add(gradientCount, chunkGradients! + c * gradientCount, into: gradientBlock)
        }
        if usesGramPath(.automatic) {
            withCurrentCSR { sumGramPairsOfSplitBatch($0!, rows: B) }
            finishGramGradient()
        }
        recordOutputGradientDensity(deltas, batchSize: B)
        return total / Double(B * n)
    }

    /// Whether the next pass should list its non-zero δ while sweeping (so it can take the sparse output
    /// path): the last batch's δ density, a deterministic function of the training so far.
    var expectsSparseOutputGradients: Bool { outputGradientDensity < plan.denseOutputGradientDensity }

    private func recordOutputGradientDensity(_ count: Int, batchSize B: Int) {
        outputGradientDensity = Double(count) / Double(max(1, B * n))
    }

    /// Runs `body` with raw views of the CSR batch (nil when the dense buffer holds the current batch).
    func withCurrentCSR(_ body: (CSRView?) -> Void) {
        if denseBatchIsCurrent { body(nil); return }
        csrBatch.rowStart.withUnsafeBufferPointer { rs in
        csrBatch.columns.withUnsafeBufferPointer { cols in
        csrBatch.values.withUnsafeBufferPointer { vals in
            // Empty arrays have no base address; their entries are never read.
            let none = UnsafeRawPointer(rs.baseAddress!)
            body(CSRView(rowStart: rs.baseAddress!, columns: cols.baseAddress ?? none.assumingMemoryBound(to: Int32.self),
                         values: vals.baseAddress ?? UnsafePointer(bitPattern: 4)!))
        }}}
    }

    /// Whether chunks take the fused small-model kernel.
    func usesFusedKernel(inputsDense: Bool, _ paths: PassPaths) -> Bool {
        guard inputsDense && paths.outputGradients != .sparse && n * m <= Self.fusedModelLimit else { return false }
        switch paths.fusedSmallModel {
        case .dense: return true
        case .sparse: return false
        case .automatic: return plan.fusedKernel
        }
    }

    /// One chunk, on the fused kernel or the general ones.
    private func runChunk(_ chunk: Int, batchSize B: Int, inputsDense: Bool, paths: PassPaths,
                          gradientBlock grads: UnsafeMutablePointer<Float>?, workspace ws: PassWorkspace,
                          csr: CSRView?) -> Double {
        let span = ChunkSpan(chunk: chunk, chunkRows: chunkRows, batchSize: B, featureCount: n)
        guard usesFusedKernel(inputsDense: inputsDense, paths) else {
            return generalChunk(span, inputsDense: inputsDense, outputGradients: paths.outputGradients,
                                gradientBlock: grads, workspace: ws, csr: csr)
        }
        let byBlock = paths.fusedBlockSums
        switch model {
        case .linear: return fusedChunk(LinearModel.self, span, gradientBlock: grads, workspace: ws, csr: csr, blockSums: byBlock)
        case .reluOutput: return fusedChunk(ReluOutputModel.self, span, gradientBlock: grads, workspace: ws, csr: csr, blockSums: byBlock)
        case .reluHidden: return fusedChunk(ReluHiddenModel.self, span, gradientBlock: grads, workspace: ws, csr: csr, blockSums: byBlock)
        case .abs: return fusedChunk(AbsModel.self, span, gradientBlock: grads, workspace: ws, csr: csr, blockSums: byBlock)
        }
    }

    /// One chunk on the general kernels, phase by phase (InstanceState+Forward.swift, +Backward.swift):
    /// scatter inputs, encode, decode, loss and δ, output backward, input backward. Writes the chunk's
    /// gradient into `grads` (zeroed first) when given; returns the chunk's Σ_rows Σ_i I_i (x′_i − t_i)².
    private func generalChunk(_ span: ChunkSpan, inputsDense: Bool, outputGradients: PathChoice,
                              gradientBlock grads: UnsafeMutablePointer<Float>?, workspace ws: PassWorkspace,
                              csr batchCSR: CSRView?) -> Double {
        ws.prepareGeneralBuffers()
        let inputs = scatterInputs(span, dense: inputsDense, workspace: ws, csr: batchCSR)
        defer { clearScatteredInputs(inputs, span, workspace: ws) }
        return generalChunk(span, inputs, outputGradients: outputGradients, gradientBlock: grads, workspace: ws)
    }

    /// `generalChunk` on inputs already in place.
    private func generalChunk(_ span: ChunkSpan, _ inputs: ChunkInputs, outputGradients: PathChoice,
                              gradientBlock grads: UnsafeMutablePointer<Float>?, workspace ws: PassWorkspace) -> Double {
        grads?.update(repeating: 0, count: gradientCount)
        var rowMajorHidden = encode(inputs, span, workspace: ws)
        decode(span, workspace: ws)
        // The non-zero δ are listed while sweeping when the sparse output path is expected (the previous
        // batch's δ density).
        let listing = grads != nil && (outputGradients == .sparse
            || (outputGradients == .automatic && model.hasOutputReLU && expectsSparseOutputGradients))
        let tied = model.isTied
        let (loss, deltaCount) = lossAndOutputGradients(span, inputs, gradBias: grads.map { $0 + n * mPad * (tied ? 1 : 2) },
                                                        listing: listing, workspace: ws)
        ws.lastDeltaCount = deltaCount
        guard let grads else { return loss }
        let denseDeltas = switch outputGradients {
        case .dense: true
        case .sparse: false
        case .automatic: !listing || Double(deltaCount) >= plan.denseOutputGradientDensity * Double(span.rows * n)
        }
        outputBackward(span, denseDeltas: denseDeltas, inputsDense: inputs.dense != nil, rowMajorHidden: &rowMajorHidden,
                       gradDecoderT: grads + (tied ? 0 : n * mPad), workspace: ws)
        inputBackward(span, inputs, withOutputProduct: tied && denseDeltas, gradEncoder: grads, workspace: ws)
        return loss
    }
}
