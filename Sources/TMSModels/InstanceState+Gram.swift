import TMSCore

// The Gram path of a tied model without a hidden ReLU (linear, relu-output) on CSR batches
// (docs/models.md#gram-path). With G = WᵀW [n][n] and a row x with k non-zeros,
//   y = act(Wᵀ(W x) + b) = act(Σ_{i: x_i≠0} x_i G_i + b)          (k axpys of length n, not 2·n·m FMAs),
// and with A = Σ_rows x δᵀ [n][n], the whole weight gradient of the batch is
//   ∂W = Σ_rows (h δᵀ + (W δ) xᵀ) = W (A + Aᵀ)                     (k axpys per row, then one product),
// in place of the decode, the output backward and the input backward (3·n·m FMAs per row). G costs n²·m
// FMAs per update and W (A + Aᵀ) n²·m per batch: the path pays when rows are sparse and batches long
// (`BatchPlan.gramPays`). Rows are taken one at a time, row-major (`Kernels.gramRows`): y, the target and δ
// of a row stay in L1; A is summed per chunk, or per group of chunks (`BatchPlan.gramPairChunks`), with the
// non-zeros grouped by feature (`Kernels.gramPairs`).
//
// Bits: every A[i][j] gets one FMA per row with x_i ≠ 0, in batch order, whether one worker passes the
// batch (`pass`, A accumulated chunk by chunk or group by group) or several share it (each chunk keeps its rows' δ in
// `splitDeltas`; `finishSplitPass` sums A from them). ∂b and the loss are summed per chunk and the chunks in
// order, as on the other paths.

extension InstanceState {
    /// Whether this pass takes the Gram path: an instance with it, a CSR batch, the sparse input kernels'
    /// density, output gradients that the general kernels would take densely (the last batch's δ density,
    /// as `expectsSparseOutputGradients`: with few non-zero δ their sparse output backward is cheaper), and
    /// not refused by `paths`. Like the output-gradient path, a deterministic function of the training so far.
    func usesGramPath(_ paths: PassPaths) -> Bool {
        gramProducts && paths.gram != false && !denseBatchIsCurrent && !usesDenseInputs(paths)
            && (paths.gram == true || !expectsSparseOutputGradients)
    }

    /// After W changed: G for the next pass when `usesGramPath` can take it (the last batch's δ density is
    /// what it tests, and no pass records another before the next one), else marked stale.
    func refreshGram() {
        guard gram != nil else { return }
        if expectsSparseOutputGradients { gramIsCurrent = false } else { computeGram() }
    }

    /// G = WᵀW [n][nPad] from `decoder` [m][nPad] (one dense product; padding stays zero).
    func computeGram() {
        Kernels.project(outputs: n, depth: m, rows: nPad, weights: decoder, weightStride: nPad,
                        input: decoder, inputStride: nPad, bias: nil, output: gram!, outputStride: nPad)
        gramIsCurrent = true
    }

    /// One chunk on the Gram path, rows of `csr` (the chunk's rows 0..<span.rows). Returns the chunk's
    /// Σ_rows Σ_i I_i (x′_i − t_i)². With `grads` (zeroed here): ∂b into its bias part and δ of row r into
    /// `deltas` + r·nPad, for the callers' `accumulatePairs` (A += x δᵀ, over one chunk or several).
    func gramChunk(_ span: ChunkSpan, csr: CSRView, gradientBlock grads: UnsafeMutablePointer<Float>?,
                   deltas: UnsafeMutablePointer<Float>, workspace ws: PassWorkspace) -> Double {
        grads?.update(repeating: 0, count: gradientCount)
        let gradBias = grads.map { $0 + n * mPad }
        let (loss, nonZero) = Kernels.gramRows(relu: model.hasOutputReLU, rows: span.rows, rowStart: csr.rowStart,
                                               columns: csr.columns, values: csr.values, gram: gram!, stride: nPad,
                                               bias: bias, importance: importance, scale2: span.scale2,
                                               target: ws.gramTarget, deltas: deltas, gradBias: gradBias)
        ws.lastDeltaCount = nonZero
        return loss
    }

    /// A += Σ_r x_r δ_rᵀ over rows 0..<rows of `csr`, δ_r at `deltas` + r·nPad. The non-zeros are grouped
    /// by feature (rows in order within a feature), then `Kernels.gramPairs` takes A in blocks of 64
    /// columns: a block of A's row i is loaded once, gets one FMA per non-zero of feature i in row order,
    /// and is stored once, while the block's δ columns (rows × 256 bytes) stay in L1 or L2. Every A[i][j] gets
    /// the FMAs of its rows in increasing order, so the bits are the same for any grouping of rows into calls.
    func accumulatePairs(_ csr: CSRView, rows: Int, deltas: UnsafePointer<Float>, into A: UnsafeMutablePointer<Float>,
                         workspace ws: PassWorkspace) {
        ws.prepareGramBuffers(chunks: (rows + chunkRows - 1) / chunkRows)  // room for every non-zero of the rows
        let start = ws.pairStart!, entryRow = ws.pairRow!, entryValue = ws.pairValue!, N = nPad
        start.update(repeating: 0, count: n + 2)
        for e in Int(csr.rowStart[0])..<Int(csr.rowStart[rows]) { start[Int(csr.columns[e]) &+ 2] &+= 1 }
        for i in 0..<n { start[i &+ 2] &+= start[i &+ 1] }
        for r in 0..<rows {
            for e in Int(csr.rowStart[r])..<Int(csr.rowStart[r &+ 1]) {
                let slot = csr.columns[e] &+ 1, position = Int(start[Int(slot)])
                entryRow[position] = Int32(truncatingIfNeeded: r); entryValue[position] = csr.values[e]
                start[Int(slot)] &+= 1
            }
        }
        // Feature i's non-zeros are now start[i] ..< start[i + 1].
        Kernels.gramPairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue, deltas: deltas, into: A)
    }

    /// A = Σ_rows x δᵀ of a split batch from its rows' δ (`splitDeltas`), chunk by chunk (the same bits as
    /// `pass`, which may sum several chunks at once).
    func sumGramPairsOfSplitBatch(_ csr: CSRView, rows B: Int) {
        let A = pairSums!, ws = defaultWorkspace
        A.update(repeating: 0, count: n * nPad)
        for c in 0..<chunkCount(batchSize: B) {
            let span = ChunkSpan(chunk: c, chunkRows: chunkRows, batchSize: B, featureCount: n)
            accumulatePairs(csr.rows(from: span.r0), rows: span.rows, deltas: splitDeltas! + span.r0 * nPad, into: A, workspace: ws)
        }
    }

    /// ∂W = W (A + Aᵀ) into the encoder gradient, from `pairSums` (A, made A + Aᵀ in place, in 16 × 16 tiles).
    func finishGramGradient() {
        let A = pairSums!, N = nPad
        var i0 = 0
        while i0 < n {
            var j0 = i0
            while j0 < n {
                for i in i0..<min(i0 &+ 16, n) {
                    for j in max(j0, i)..<min(j0 &+ 16, n) {
                        let s = A[i &* N &+ j] + A[j &* N &+ i]
                        A[i &* N &+ j] = s
                        A[j &* N &+ i] = s
                    }
                }
                j0 &+= 16
            }
            i0 &+= 16
        }
        // gramProduct[c][j] = Σ_k W[c][k] S[k][j]: `decoderT` [n][mPad] holds W[c][k] at [k][c].
        Kernels.project(outputs: m, depth: n, rows: N, weights: decoderT, weightStride: mPad,
                        input: A, inputStride: N, bias: nil, output: gramProduct!, outputStride: N)
        Kernels.transpose(rows: m, columns: n, gramProduct!, sourceStride: N, into: gradEncoder, destinationStride: mPad)
    }
}
