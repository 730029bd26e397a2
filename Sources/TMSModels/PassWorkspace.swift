import TMSCore

/// Scratch for one worker's passes over chunks of instances of one shape; allocated once, before training.
///
/// Buffers, for a chunk of R = `chunkRows` rows (batch-lane buffers are [features or hidden][laneStride],
/// laneStride = R + 16):
/// `inputsT` [n][R] (a CSR chunk made dense), `hiddenT` [m][R] and `hidden` [R][mPad] (h both ways),
/// `outputsT` [n][R] (y), `deltasT` [n][R] (∂L/∂y), `hiddenGradT` [m][R] and `hiddenGrad` [R][mPad] (∂L/∂h),
/// a CSR chunk (a dense chunk made sparse), the non-zero output gradients grouped by feature, and one
/// gradient block.
final class PassWorkspace: @unchecked Sendable {
    let n: Int, m: Int, mPad: Int, rows: Int
    /// Row stride of the batch-lane buffers.
    let laneStride: Int
    /// [n][laneStride], zero between chunks: a CSR chunk scattered for the dense kernels or as loss targets.
    let inputsT: UnsafeMutablePointer<Float>
    /// [n·R + 1]: the row of each entry of a CSR chunk scattered into `inputsT` (`CSRView.listEntryRows`).
    let entryRows: UnsafeMutablePointer<Int32>
    /// One chunk's gradient block.
    let gradients: UnsafeMutablePointer<Float>
    /// The number of non-zero δ of the last chunk this workspace passed. Per workspace, not per instance:
    /// when workers share a batch, each chunk's count must reach `chunkDeltaCounts` from its own worker (an
    /// instance-wide field was overwritten by another worker's chunk in between, and the wrong δ density
    /// then chose another output path for the next batch, so results depended on the thread count).
    var lastDeltaCount = 0
    /// The Gram path's row target [nPad], zero between rows (InstanceState+Gram.swift).
    let gramTarget: UnsafeMutablePointer<Float>
    /// The Gram path's chunk buffers (`prepareGramBuffers`), for `gramChunks` chunks (`BatchPlan.gramPairChunks`):
    /// δ of their rows [chunks·rows][nPad], and their non-zero inputs grouped by feature (`pairStart` [n + 2],
    /// `pairRow` and `pairValue` [n·rows·chunks]).
    private(set) var gramDeltas: UnsafeMutablePointer<Float>?
    private(set) var pairStart, pairRow: UnsafeMutablePointer<Int32>?
    private(set) var pairValue: UnsafeMutablePointer<Float>?
    private var gramChunks = 0
    /// A dense batch [n][denseStride] for the instances a training worker steps (when they sample densely and
    /// are not drawn chunk by chunk).
    let batch: UnsafeMutablePointer<Float>?
    /// One chunk of a lane-drawn batch [n][laneStride], for the instances a training worker steps when they
    /// are drawn chunk by chunk (`InstanceState.drawsTrainingChunks`).
    let chunkBatch: UnsafeMutablePointer<Float>?
    /// Scratch of the fused small-model kernel (`WorkspaceScratch`: h [m], δ [n], ∂W [m][n], ∂W₂ [n][m],
    /// ∂b [n], then `fusedRecords`, SIMD8 each; one vector for models above `InstanceState.fusedModelLimit`).
    let fused: UnsafeMutablePointer<SIMD8<Float>>
    /// The fused kernel's records of a block of vectors (h [m], ∂h [m], δ [n] each; `InstanceState.fusedBlockSums`),
    /// the end of `fused`.
    let fusedRecords: UnsafeMutablePointer<SIMD8<Float>>
    // The general kernels' buffers, allocated by `prepareGeneralBuffers` (small models only ever use the fused
    // kernel, and an evaluation workspace per instance of a 400-instance grid would otherwise cost ~50 MB):
    // hT [m][L], h [R][mPad], yT, δT [n][L], ∂hT [m][L], ∂h [R][mPad]; a CSR chunk (row starts [R + 1],
    // columns and values [n·R]); rows of the non-zero δ by feature (`deltaRow[deltaStart[j]..<deltaStart[j+1]]`)
    // and a cursor into each feature's rows [n].
    private struct GeneralBuffers {
        let storage, hiddenT, hidden, outputsT, deltasT, hiddenGradT, hiddenGrad, csrValues: UnsafeMutablePointer<Float>
        let csrRowStart, csrColumns, deltaStart, deltaRow, deltaCursor: UnsafeMutablePointer<Int32>
    }
    private var general: GeneralBuffers?
    private let generalCount: Int
    var hiddenT: UnsafeMutablePointer<Float> { general!.hiddenT }
    var hidden: UnsafeMutablePointer<Float> { general!.hidden }
    var outputsT: UnsafeMutablePointer<Float> { general!.outputsT }
    var deltasT: UnsafeMutablePointer<Float> { general!.deltasT }
    var hiddenGradT: UnsafeMutablePointer<Float> { general!.hiddenGradT }
    var hiddenGrad: UnsafeMutablePointer<Float> { general!.hiddenGrad }
    var csrValues: UnsafeMutablePointer<Float> { general!.csrValues }
    var csrRowStart: UnsafeMutablePointer<Int32> { general!.csrRowStart }
    var csrColumns: UnsafeMutablePointer<Int32> { general!.csrColumns }
    var deltaStart: UnsafeMutablePointer<Int32> { general!.deltaStart }
    var deltaRow: UnsafeMutablePointer<Int32> { general!.deltaRow }
    var deltaCursor: UnsafeMutablePointer<Int32> { general!.deltaCursor }

    /// A workspace for passes over instances shaped like `state`; `training` adds the dense batch buffer and
    /// allocates everything up front.
    init(for state: InstanceState, training: Bool = false) {
        n = state.n; m = state.m; mPad = state.mPad; rows = state.chunkRows
        let R = rows, L = InstanceState.laneStride(rows: rows)
        laneStride = L
        inputsT = .allocate(capacity: max(1, state.n * L))
        inputsT.initialize(repeating: 0, count: max(1, state.n * L))
        entryRows = .allocate(capacity: state.n * R + 1)
        gradients = .allocate(capacity: state.gradientCount)
        gradients.initialize(repeating: 0, count: state.gradientCount)
        gramTarget = .allocate(capacity: state.nPad)
        gramTarget.initialize(repeating: 0, count: state.nPad)
        let n = state.n, m = state.m, fusesRows = n * m <= InstanceState.fusedModelLimit
        let fusedCount = fusesRows ? 2 * n + m + 2 * n * m + InstanceState.blockVectors(n: n, m: m) * (2 * m + n) : 1
        fused = .allocate(capacity: fusedCount)
        fused.initialize(repeating: .zero, count: fusedCount)
        fusedRecords = fusesRows ? fused + (2 * n + m + 2 * n * m) : fused
        batch = training && state.samplesTrainingBatchesDensely && !state.drawsTrainingChunks
            ? .allocate(capacity: max(1, state.n * state.denseStride)) : nil
        // For any model on the general kernels: the instances one worker steps may differ in how they draw.
        chunkBatch = training && !state.plan.fusedKernel ? .allocate(capacity: max(1, state.n * L)) : nil
        generalCount = 2 * state.m * L + 2 * R * state.mPad + 2 * state.n * L + state.m * L + state.n * R
        if training { prepareGeneralBuffers() }
    }

    /// Allocates the Gram path's buffers for `chunks` chunks (once, or again for more chunks than before: the
    /// instances a worker steps may group different numbers of chunks).
    func prepareGramBuffers(chunks: Int = 1) {
        guard chunks > gramChunks else { return }
        gramDeltas?.deallocate(); pairStart?.deallocate(); pairRow?.deallocate(); pairValue?.deallocate()
        gramChunks = chunks
        let nPad = roundUp(n, toMultipleOf: 16), entries = max(1, n * rows * chunks)
        gramDeltas = .allocate(capacity: rows * chunks * nPad)
        pairStart = .allocate(capacity: n + 2)
        pairRow = .allocate(capacity: entries)
        pairValue = .allocate(capacity: entries)
    }

    /// Allocates the general kernels' buffers (once).
    func prepareGeneralBuffers() {
        guard general == nil else { return }
        let R = rows, L = laneStride
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: generalCount)
        storage.initialize(repeating: 0, count: generalCount)
        var cursor = storage
        func take(_ count: Int) -> UnsafeMutablePointer<Float> { defer { cursor += count }; return cursor }
        let rowStart = UnsafeMutablePointer<Int32>.allocate(capacity: R + 1)
        rowStart.initialize(repeating: 0, count: R + 1)
        general = GeneralBuffers(storage: storage, hiddenT: take(m * L), hidden: take(R * mPad), outputsT: take(n * L),
                                 deltasT: take(n * L), hiddenGradT: take(m * L), hiddenGrad: take(R * mPad),
                                 csrValues: take(n * R), csrRowStart: rowStart, csrColumns: .allocate(capacity: max(1, n * R)),
                                 deltaStart: .allocate(capacity: n + 1),
                                 deltaRow: .allocate(capacity: n * R + 8),  // + 8: compaction stores 8 rows at a time
                                 deltaCursor: .allocate(capacity: max(1, n)))
    }

    deinit {
        inputsT.deallocate(); entryRows.deallocate(); gradients.deallocate(); gramTarget.deallocate(); fused.deallocate()
        gramDeltas?.deallocate(); pairStart?.deallocate(); pairRow?.deallocate(); pairValue?.deallocate()
        batch?.deallocate(); chunkBatch?.deallocate()
        if let general {
            general.storage.deallocate()
            general.csrRowStart.deallocate(); general.csrColumns.deallocate()
            general.deltaStart.deallocate(); general.deltaRow.deallocate(); general.deltaCursor.deallocate()
        }
    }
}
