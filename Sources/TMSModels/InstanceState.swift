import Foundation
import TMSCore

/// One model instance's parameters, gradients, Adam moments and current batch, in layouts chosen for the
/// fused training pass; owned by exactly one worker at a time (or, when instances are fewer than threads, its
/// batch chunks by several workers, each writing only its own chunk's gradient block).
///
/// Layouts (mPad = m rounded up to 8, nPad = n rounded up to 16; padding is zero and stays zero):
/// - `encoder` [n][mPad]: row i is feature i's encoder direction (tied: W_i; `abs`: column i of W₁).
/// - `decoderT` [n][mPad]: row i is feature i's decoder direction (tied: the same buffer as `encoder`;
///   `abs`: row i of W₂).
/// - `decoder` [m][nPad]: a copy of `decoderT` transposed, refreshed after every update (with G = WᵀW on
///   the Gram path).
/// - `bias` [nPad].
/// Gradients use the same layouts in one contiguous block [encoder | decoderT (untied) | bias], so for tied
/// models the encoder and decoder contributions land in one buffer, and a chunk's gradient block is summed
/// into the total with one loop.
///
/// The batch is held either as CSR (`batch`, set by tests, the evaluation loop or skip sampling) or, for
/// lane-drawn batches, as a dense feature-major buffer [n][denseStride] (`sampleTrainingBatch`). A pass
/// works through the batch in chunks of `chunkRows` rows, a number fixed by the batch size and n alone;
/// each chunk's gradient is computed from zero and the chunk gradients are summed in chunk order, so the
/// result is the same whether one worker does all chunks or several share them.
final class InstanceState: @unchecked Sendable {
    let model: ModelKind
    let n: Int, m: Int, mPad: Int, nPad: Int
    let sampler: FeatureSampler
    /// How this instance's batches are drawn and passed, decided once.
    let plan: BatchPlan
    /// Whether CSR passes take the Gram path (`plan.gramProducts`, or as the creator forced it), with its
    /// buffers: `gram` G = WᵀW [n][nPad] (refreshed with `decoder`), `pairSums` A = Σ_rows x δᵀ [n][nPad]
    /// (then A + Aᵀ), `gramProduct` W (A + Aᵀ) [m][nPad]; nil without it.
    let gramProducts: Bool
    let gram, pairSums, gramProduct: UnsafeMutablePointer<Float>?
    /// Whether `gram` holds WᵀW of the current weights (`refreshGram` skips it while the output gradients
    /// are sparse, when no pass takes the Gram path).
    var gramIsCurrent = false
    /// δ of every row of a split batch [B][nPad] on the Gram path (allocated by `prepareSplitBatch`).
    private(set) var splitDeltas: UnsafeMutablePointer<Float>?
    var dataStream: RandomStream
    /// Adam step count t (1-based after the first update), β₁ᵗ and β₂ᵗ, and the betas they were built from.
    var adamStep = 0
    var adamBetaPowers = (beta1: 1.0, beta2: 1.0)
    var adamBetas = (beta1: 0.0, beta2: 0.0)

    /// The batch as CSR. Writing it (including in place, through `sampler.sample(into: &state.batch, …)`)
    /// makes it the current batch.
    var batch: SparseBatch {
        get { csrBatch }
        set { csrBatch = newValue; denseBatchIsCurrent = false }
        _modify { denseBatchIsCurrent = false; yield &csrBatch }
    }
    private(set) var csrBatch: SparseBatch
    /// The current dense batch [n][denseStride] (rows ≥ the batch size zero): a worker's buffer (its
    /// workspace's, reused by every instance the worker steps, so it stays in L1/L2) or this instance's own.
    private(set) var denseInputs: UnsafeMutablePointer<Float>?
    /// This instance's own dense batch buffer, for batches that several workers share; allocated on first use.
    private var ownDenseInputs: UnsafeMutablePointer<Float>?
    /// The workspace whose buffer `denseInputs` points into, kept alive with it.
    private var denseInputsOwner: PassWorkspace?
    let denseStride: Int
    /// Whether `denseInputs` (rather than `batch`) holds the current batch, of `trainingBatchSize` rows.
    private(set) var denseBatchIsCurrent = false
    /// The batch size given at creation (lane-drawn batches always have it).
    let trainingBatchSize: Int
    /// Rows per chunk of a pass: a multiple of 16 depending only on the batch size and n.
    let chunkRows: Int

    private let storage: UnsafeMutablePointer<Float>
    let encoder, decoderT, decoder, bias: UnsafeMutablePointer<Float>
    /// The gradient block [encoder | decoderT if untied | bias], `gradientCount` floats.
    let gradientBlock: UnsafeMutablePointer<Float>
    let gradientCount: Int
    let gradEncoder, gradDecoderT, gradBias: UnsafeMutablePointer<Float>
    let mEncoder, vEncoder, mDecoderT, vDecoderT, mBias, vBias: UnsafeMutablePointer<Float>
    /// [nPad] importance, zero padded.
    let importance: UnsafeMutablePointer<Float>
    /// Chunk gradient blocks and losses when a batch is split across workers (allocated on first use).
    private(set) var chunkGradients: UnsafeMutablePointer<Float>?
    var chunkLosses: [Double] = []
    var chunkDeltaCounts: [Int] = []
    /// The δ density of the last batch with gradients (1 before any: dense). (Each chunk's count of non-zero
    /// δ goes to its worker's `PassWorkspace.lastDeltaCount`: workers sharing a split batch each count their
    /// own chunks.)
    var outputGradientDensity = 1.0
    /// Rows per block of the sparse output backward in place of `sparseOutputBlockRows`'s choice (tests:
    /// every block size gives the same bits).
    var sparseOutputBlockRowsOverride: Int?
    private var ownWorkspace: PassWorkspace?

    init(model: ModelKind, featureCount n: Int, hiddenCount m: Int, importance: [Float],
         sampler: FeatureSampler, dataStream: RandomStream, W: [Float], W2: [Float]?, bias b: [Float], batchSize: Int,
         gramProducts forced: Bool? = nil) {
        self.model = model
        self.n = n; self.m = m
        mPad = roundUp(m, toMultipleOf: 8); nPad = roundUp(n, toMultipleOf: 16)
        self.sampler = sampler
        plan = BatchPlan(model: model, featureCount: n, hiddenCount: m, batchSize: batchSize, drawing: sampler.drawing,
                         uniformProbability: sampler.uniformProbability)
        precondition(forced != true || (model.isTied && !model.hasHiddenReLU), "the Gram path needs a tied model without a hidden ReLU")
        gramProducts = forced ?? plan.gramProducts
        if gramProducts {
            let square = n * nPad
            gram = .allocate(capacity: square); pairSums = .allocate(capacity: square)
            gramProduct = .allocate(capacity: m * nPad)
            gram!.initialize(repeating: 0, count: square); pairSums!.initialize(repeating: 0, count: square)
            gramProduct!.initialize(repeating: 0, count: m * nPad)
        } else {
            gram = nil; pairSums = nil; gramProduct = nil
        }
        self.dataStream = dataStream
        csrBatch = SparseBatch(batchSize: batchSize, featureCount: n)
        trainingBatchSize = batchSize
        denseStride = Self.laneStride(rows: batchSize)
        chunkRows = Self.chunkRows(batchSize: batchSize, featureCount: n)
        let nm = n * mPad, tied = model.isTied
        gradientCount = nm * (tied ? 1 : 2) + nPad
        let sizes = [nm, tied ? 0 : nm, m * nPad, nPad,      // encoder, decoderT, decoder, bias
                     nm, tied ? 0 : nm, nPad,                // gradients (contiguous)
                     nm, nm, tied ? 0 : nm, tied ? 0 : nm, nPad, nPad,  // Adam moments
                     nPad]                                   // importance
        let storageCount = sizes.reduce(0, +)
        storage = .allocate(capacity: storageCount)
        storage.initialize(repeating: 0, count: storageCount)
        var offsets: [UnsafeMutablePointer<Float>] = []
        var cursor = storage
        for s in sizes { offsets.append(cursor); cursor += s }
        encoder = offsets[0]; decoderT = tied ? offsets[0] : offsets[1]; decoder = offsets[2]; bias = offsets[3]
        gradientBlock = offsets[4]
        gradEncoder = offsets[4]; gradDecoderT = tied ? offsets[4] : offsets[5]; gradBias = offsets[6]
        mEncoder = offsets[7]; vEncoder = offsets[8]
        mDecoderT = tied ? offsets[7] : offsets[9]; vDecoderT = tied ? offsets[8] : offsets[10]
        mBias = offsets[11]; vBias = offsets[12]
        self.importance = offsets[13]
        for i in 0..<n { self.importance[i] = importance[i] }
        setParameters(W: W, W2: W2, bias: b)
    }

    deinit {
        storage.deallocate()
        ownDenseInputs?.deallocate()
        chunkGradients?.deallocate()
        gram?.deallocate(); pairSums?.deallocate(); gramProduct?.deallocate(); splitDeltas?.deallocate()
    }

    /// The row stride of a batch-lane buffer of `rows` rows: rounded up to 16, plus 16 so that consecutive
    /// rows never sit a power of two apart (which maps a tile's rows to the same few L1 sets and made the
    /// dense kernels ~2× slower).
    static func laneStride(rows: Int) -> Int { roundUp(rows, toMultipleOf: 16) + 16 }

    /// Chunk rows for a batch: about 64k floats of a [n][rows] activation buffer (it and two like it stay in
    /// L2), at least 128 rows, at most the whole batch, a multiple of 16. A function of the shape alone,
    /// never of the thread count. (Smaller chunks that keep row-major h and ∂h in L1 measured slower: the
    /// per-chunk costs grew more than the sparse output backward gained.)
    static func chunkRows(batchSize: Int, featureCount n: Int) -> Int {
        var rows = 128
        while rows * 2 * n <= 65_536 { rows *= 2 }
        return min(roundUp(batchSize, toMultipleOf: 16), rows)
    }

    /// The current batch's size.
    var currentBatchSize: Int { denseBatchIsCurrent ? trainingBatchSize : csrBatch.batchSize }

    /// Number of chunks of a batch of `B` rows.
    func chunkCount(batchSize B: Int) -> Int { (B + chunkRows - 1) / chunkRows }

    /// Whether training batches go straight into the dense buffer (`BatchPlan.denseTrainingBatches`).
    var samplesTrainingBatchesDensely: Bool { plan.denseTrainingBatches }

    /// Whether every parameter (weights and biases) is finite.
    var parametersAreFinite: Bool {
        func finite(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> Bool {
            UnsafeBufferPointer(start: p, count: count).allSatisfy { $0.isFinite }
        }
        return finite(encoder, n * mPad) && (model.isTied || finite(decoderT, n * mPad)) && finite(bias, nPad)
    }

    /// Allocates this instance's own dense batch buffer up front (for batches split across workers).
    func prepareForTraining() {
        if samplesTrainingBatchesDensely && ownDenseInputs == nil { ownDenseInputs = .allocate(capacity: max(1, n * denseStride)) }
    }

    /// Draws the next training batch from `dataStream`: into a dense buffer where the dense kernels will
    /// take it (the given workspace's, else this instance's own), otherwise as CSR; the values are the same
    /// either way.
    func sampleTrainingBatch(workspace: PassWorkspace? = nil) {
        if samplesTrainingBatchesDensely {
            if let workspace, let buffer = workspace.batch {
                denseInputs = buffer
                if denseInputsOwner !== workspace { denseInputsOwner = workspace }
            } else {
                prepareForTraining()
                denseInputs = ownDenseInputs
                denseInputsOwner = nil
            }
            sampler.sampleDense(batchSize: trainingBatchSize, into: denseInputs!, stride: denseStride, rng: &dataStream)
            denseBatchIsCurrent = true
        } else {
            sampler.sample(batchSize: trainingBatchSize, into: &csrBatch, rng: &dataStream)
            denseBatchIsCurrent = false
        }
    }

    /// Makes `buffer` [n][denseStride], filled by `sampler.sampleDense` with `trainingBatchSize` rows, the
    /// current batch; the caller keeps it alive and unchanged while it is.
    func useDenseBatch(_ buffer: UnsafeMutablePointer<Float>) {
        denseInputs = buffer
        denseInputsOwner = nil
        denseBatchIsCurrent = true
    }

    /// Forgets a batch set by `useDenseBatch` (before its buffer is freed); the next pass needs a new batch.
    func releaseDenseBatch() {
        denseInputs = nil
        denseBatchIsCurrent = false
    }

    /// The workspace used when a pass is given none (tests, evaluation), created on first use.
    var defaultWorkspace: PassWorkspace {
        if let ownWorkspace { return ownWorkspace }
        let w = PassWorkspace(for: self)
        ownWorkspace = w
        return w
    }

    /// `chunks` gradient blocks for split batches, allocated once.
    func chunkGradientBlocks(_ chunks: Int) -> UnsafeMutablePointer<Float> {
        if chunkGradients == nil || chunkLosses.count < chunks {
            chunkGradients?.deallocate()
            chunkGradients = .allocate(capacity: chunks * gradientCount)
            chunkLosses = [Double](repeating: 0, count: chunks)
            chunkDeltaCounts = [Int](repeating: 0, count: chunks)
            if gramProducts {
                splitDeltas?.deallocate()
                splitDeltas = .allocate(capacity: chunks * chunkRows * nPad)
            }
        }
        return chunkGradients!
    }

    /// Loads PyTorch-layout parameters: W (or W₁) [m][n], W₂ [n][m], b [n].
    func setParameters(W: [Float], W2: [Float]?, bias b: [Float]) {
        for k in 0..<m {
            for i in 0..<n { encoder[i * mPad + k] = W[k * n + i] }
        }
        if let W2 {
            for i in 0..<n {
                for k in 0..<m { decoderT[i * mPad + k] = W2[i * m + k] }
            }
        }
        for i in 0..<n { bias[i] = b[i] }
        refreshDecoder()
    }

    /// The parameters in PyTorch layout: (W or W₁ [m][n], W₂ [n][m] or nil, b [n]).
    func parameters() -> (W: [Float], W2: [Float]?, bias: [Float]) {
        pytorchLayout(encoder: encoder, decoderT: decoderT, bias: bias)
    }

    /// The gradients of the last `pass(computeGradients: true)` in PyTorch layout (tests).
    func gradients() -> (W: [Float], W2: [Float]?, bias: [Float]) {
        pytorchLayout(encoder: gradEncoder, decoderT: gradDecoderT, bias: gradBias)
    }

    /// Buffers in this state's layouts ([n][mPad] rows, [nPad] bias) as PyTorch-layout arrays:
    /// (W or W₁ [m][n], W₂ [n][m] or nil for tied models, b [n]).
    private func pytorchLayout(encoder: UnsafeMutablePointer<Float>, decoderT: UnsafeMutablePointer<Float>,
                               bias: UnsafeMutablePointer<Float>) -> (W: [Float], W2: [Float]?, bias: [Float]) {
        var W = [Float](repeating: 0, count: m * n)
        for k in 0..<m { for i in 0..<n { W[k * n + i] = encoder[i * mPad + k] } }
        var W2: [Float]? = nil
        if !model.isTied {
            var w2 = [Float](repeating: 0, count: m * n)
            for i in 0..<n { for k in 0..<m { w2[i * m + k] = decoderT[i * mPad + k] } }
            W2 = w2
        }
        return (W, W2, Array(UnsafeBufferPointer(start: bias, count: n)))
    }

    /// decoder[k][i] = decoderT[i][k].
    func refreshDecoder() {
        for i in 0..<n {
            let row = decoderT + i * mPad
            for k in 0..<m { decoder[k * nPad + i] = row[k] }
        }
        refreshGram()
    }
}
