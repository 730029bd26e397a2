import TMSCore

// The Gram path of a tied model without a hidden ReLU (linear, relu-output) on CSR batches
// (docs/models.md#gram-path). With G = WᵀW [n][n] and a row x with k non-zeros,
//   y = act(Wᵀ(W x) + b) = act(Σ_{i: x_i≠0} x_i G_i + b)          (k axpys of length n, not 2·n·m FMAs),
// and with A = Σ_rows x δᵀ [n][n], the whole weight gradient of the batch is
//   ∂W = Σ_rows (h δᵀ + (W δ) xᵀ) = W (A + Aᵀ)                     (k axpys per row, then one product),
// in place of the decode, the output backward and the input backward (3·n·m FMAs per row). G costs n²·m
// FMAs per update and W (A + Aᵀ) n²·m per batch: the path pays when rows are sparse and batches long
// (`BatchPlan.gramPays`). Rows are taken one at a time, row-major: y, the target and δ of a row stay in L1.
//
// Bits: every A[i][j] gets one FMA per row with x_i ≠ 0, in batch order, whether one worker passes the
// batch (`pass`, A accumulated chunk by chunk) or several share it (each chunk keeps its rows' δ in
// `splitDeltas`; `finishSplitPass` sums A from them). ∂b and the loss are summed per chunk and the chunks in
// order, as on the other paths.

extension InstanceState {
    /// Whether this pass takes the Gram path: an instance with it, a CSR batch, the sparse input kernels'
    /// density, and not refused by `paths`.
    func usesGramPath(_ paths: PassPaths) -> Bool {
        gramProducts && paths.gram != false && !denseBatchIsCurrent && !usesDenseInputs(paths)
    }

    /// G = WᵀW [n][nPad] from `decoder` [m][nPad] (one dense product; padding stays zero).
    func refreshGram() {
        guard let gram else { return }
        Kernels.project(outputs: n, depth: m, rows: nPad, weights: decoder, weightStride: nPad,
                        input: decoder, inputStride: nPad, bias: nil, output: gram, outputStride: nPad)
    }

    /// One chunk on the Gram path, rows of `csr` (the chunk's rows 0..<span.rows). Returns the chunk's
    /// Σ_rows Σ_i I_i (x′_i − t_i)². With `grads` (zeroed here): ∂b into its bias part, δ of row r into
    /// `deltas` + r·nPad and, with `pairs`, A += x δᵀ over the chunk's rows (`accumulatePairs`).
    func gramChunk(_ span: ChunkSpan, csr: CSRView, gradientBlock grads: UnsafeMutablePointer<Float>?,
                   deltas: UnsafeMutablePointer<Float>, pairs: UnsafeMutablePointer<Float>?,
                   workspace ws: PassWorkspace) -> Double {
        grads?.update(repeating: 0, count: gradientCount)
        let gradBias = grads.map { $0 + n * mPad }
        let (loss, nonZero) = model.hasOutputReLU
            ? gramRows(Relu.self, span, csr, gradBias, deltas, ws)
            : gramRows(Linear.self, span, csr, gradBias, deltas, ws)
        lastDeltaCount = nonZero
        if let pairs, grads != nil { accumulatePairs(csr, rows: span.rows, deltas: deltas, into: pairs, workspace: ws) }
        return loss
    }

    /// y = act(Σ x_i G_i + b) row by row, the loss, and (with `gradBias`) δ into `deltas` [rows][nPad] and ∂b.
    /// A row is taken in blocks of 64 outputs held in registers: b, one FMA per non-zero (k independent
    /// loads of G, four chains), then the loss and δ of the block, so y never goes to memory.
    private func gramRows<Kind: SweepKind>(_ kind: Kind.Type, _ span: ChunkSpan, _ csr: CSRView,
                                           _ gradBias: UnsafeMutablePointer<Float>?, _ deltas: UnsafeMutablePointer<Float>,
                                           _ ws: PassWorkspace) -> (loss: Double, nonZero: Int) {
        let G = UnsafePointer(gram!), b = UnsafePointer(bias), imp = UnsafePointer(importance)
        let t = ws.gramTarget, N = nPad
        let scale2 = SIMD16<Float>(repeating: span.scale2)
        var loss = 0.0
        var nonZero = SIMD16<Int32>.zero
        for r in 0..<span.rows {
            let first = Int(csr.rowStart[r]), end = Int(csr.rowStart[r &+ 1])
            for e in first..<end { t[Int(csr.columns[e])] = csr.values[e] }
            var lossAcc0 = SIMD16<Float>.zero, lossAcc1 = SIMD16<Float>.zero
            let d = deltas + r &* N
            @inline(__always) func sweep(_ pre: SIMD16<Float>, _ q: Int, _ lossAcc: inout SIMD16<Float>) {
                let out = Kind.reluOut ? pre.replacing(with: 0, where: pre .< 0) : pre
                let diff = out - Kernels.load16(t, q)
                let iv = Kernels.load16(imp, q)
                lossAcc = lossAcc.addingProduct(iv * diff, diff)
                guard let gradBias else { return }
                var dv = (scale2 * iv) * diff
                if Kind.reluOut { dv = dv.replacing(with: 0, where: pre .<= 0) }
                Kernels.store16(dv, d, q)
                Kernels.store16(Kernels.load16(gradBias, q) + dv, gradBias, q)
                nonZero &-= SIMD16<Int32>.zero.replacing(with: -1, where: dv .!= 0)
            }
            var q = 0
            while q &+ 64 <= N {
                var y0 = Kernels.load16(b, q), y1 = Kernels.load16(b, q &+ 16), y2 = Kernels.load16(b, q &+ 32), y3 = Kernels.load16(b, q &+ 48)
                for e in first..<end {
                    let v = SIMD16<Float>(repeating: csr.values[e]), g = G + (Int(csr.columns[e]) &* N &+ q)
                    y0 = y0.addingProduct(v, Kernels.load16(g, 0)); y1 = y1.addingProduct(v, Kernels.load16(g, 16))
                    y2 = y2.addingProduct(v, Kernels.load16(g, 32)); y3 = y3.addingProduct(v, Kernels.load16(g, 48))
                }
                sweep(y0, q, &lossAcc0); sweep(y1, q &+ 16, &lossAcc1)
                sweep(y2, q &+ 32, &lossAcc0); sweep(y3, q &+ 48, &lossAcc1)
                q &+= 64
            }
            while q < N {
                var y0 = Kernels.load16(b, q)
                for e in first..<end {
                    y0 = y0.addingProduct(SIMD16<Float>(repeating: csr.values[e]), Kernels.load16(G + (Int(csr.columns[e]) &* N &+ q), 0))
                }
                sweep(y0, q, &lossAcc0)
                q &+= 16
            }
            loss += Double((lossAcc0 + lossAcc1).sum())
            for e in first..<end { t[Int(csr.columns[e])] = 0 }
        }
        return (loss, Int(nonZero.wrappedSum()))
    }

    /// A += Σ_r x_r δ_rᵀ over rows 0..<rows of `csr`, δ_r at `deltas` + r·nPad. The non-zeros are grouped
    /// by feature (rows in order within a feature), and A is taken in blocks of 64 columns: a block of A's
    /// row i is loaded once, gets one FMA per non-zero of feature i in row order, and is stored once, while
    /// the block's δ columns (rows × 256 bytes) stay in L1. Every A[i][j] gets the FMAs of its rows in
    /// increasing order, so the bits are the same for any grouping of rows into calls.
    func accumulatePairs(_ csr: CSRView, rows: Int, deltas: UnsafePointer<Float>, into A: UnsafeMutablePointer<Float>,
                         workspace ws: PassWorkspace) {
        ws.prepareGramBuffers()
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
        var j0 = 0
        while j0 &+ 64 <= N {
            for i in 0..<n where start[i] < start[i &+ 1] {
                let a = A + (i &* N &+ j0)
                var a0 = Kernels.load16(a, 0), a1 = Kernels.load16(a, 16), a2 = Kernels.load16(a, 32), a3 = Kernels.load16(a, 48)
                for p in Int(start[i])..<Int(start[i &+ 1]) {
                    let v = SIMD16<Float>(repeating: entryValue[p]), d = deltas + (Int(entryRow[p]) &* N &+ j0)
                    a0 = a0.addingProduct(v, Kernels.load16(d, 0)); a1 = a1.addingProduct(v, Kernels.load16(d, 16))
                    a2 = a2.addingProduct(v, Kernels.load16(d, 32)); a3 = a3.addingProduct(v, Kernels.load16(d, 48))
                }
                Kernels.store16(a0, a, 0); Kernels.store16(a1, a, 16); Kernels.store16(a2, a, 32); Kernels.store16(a3, a, 48)
            }
            j0 &+= 64
        }
        while j0 < N {
            for i in 0..<n where start[i] < start[i &+ 1] {
                let a = A + (i &* N &+ j0)
                var a0 = Kernels.load16(a, 0)
                for p in Int(start[i])..<Int(start[i &+ 1]) {
                    a0 = a0.addingProduct(SIMD16<Float>(repeating: entryValue[p]), Kernels.load16(deltas + (Int(entryRow[p]) &* N &+ j0), 0))
                }
                Kernels.store16(a0, a, 0)
            }
            j0 &+= 16
        }
    }

    /// A = Σ_rows x δᵀ of a split batch from its rows' δ (`splitDeltas`), chunk by chunk as `pass` sums it.
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
