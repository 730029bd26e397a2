import TMSCore

// The backward phases of a chunk on the general kernels, in the reverse order of the forward ones:
// output backward (pairs with decode), input backward (pairs with encode). Buffers are batch-lane
// ([features or hidden][L]) unless named row-major.

extension InstanceState {
    /// Weight gradients as lane dot products (reduced once per chunk) when chunks are long or m is small;
    /// as register-held outer products over row-major ∂h and h otherwise.
    var gradientsAlongBatch: Bool { chunkRows >= 512 || mPad <= 16 }

    /// Output backward (pairs with `decode`): ∂h = D δ, masked by h > 0 behind a hidden ReLU, and
    /// ∂D += δ hᵀ. Dense: `deltasT` [n][L] → `hiddenGradT` [m][L] (and row-major `hiddenGrad` [R][mPad] where
    /// the input backward needs it) as register-tiled products; for tied models with dense inputs ∂D is left
    /// to `inputBackward`, which adds it with ∂E in one product. Sparse: from the listed non-zero δ only,
    /// → `hiddenGrad` (and `hiddenGradT` where needed). `rowMajorHidden` says whether `hidden` [R][mPad]
    /// holds h (it is built when needed).
    func outputBackward(_ span: ChunkSpan, denseDeltas: Bool, inputsDense: Bool, rowMajorHidden: inout Bool,
                        gradDecoderT: UnsafeMutablePointer<Float>, workspace ws: PassWorkspace) {
        let R = span.R, L = ws.laneStride, alongBatch = gradientsAlongBatch
        let hT = ws.hiddenT, h = ws.hidden, dT = ws.deltasT, dhT = ws.hiddenGradT, dh = ws.hiddenGrad
        func ensureRowMajorHidden() {
            guard !rowMajorHidden else { return }
            Kernels.transpose(rows: m, columns: R, hT, sourceStride: L, into: h, destinationStride: mPad)
            rowMajorHidden = true
        }
        guard denseDeltas else {
            ensureRowMajorHidden()
            sparseOutputBackward(rows: R, workspace: ws, gradDecoderT: gradDecoderT)
            if model.hasHiddenReLU { Kernels.maskInactive(dh, by: h, count: R * mPad) }
            if inputsDense && alongBatch {
                Kernels.transpose(rows: R, columns: m, dh, sourceStride: mPad, into: dhT, destinationStride: L)
            }
            return
        }
        Kernels.project(outputs: m, depth: n, rows: R, weights: decoderT, weightStride: mPad,
                        input: dT, inputStride: L, bias: nil, output: dhT, outputStride: L)
        if model.hasHiddenReLU { Kernels.maskInactive(dhT, by: hT, count: m * L) }
        if !inputsDense || !alongBatch {
            Kernels.transpose(rows: m, columns: R, dhT, sourceStride: L, into: dh, destinationStride: mPad)
        }
        if !alongBatch { ensureRowMajorHidden() }
        guard !(model.isTied && inputsDense) else { return }
        if alongBatch {
            Kernels.accumulateDots(outputs: n, columns: m, length: R, u: dT, uStride: L, v: hT, vStride: L,
                                   into: gradDecoderT, gradStride: mPad)
        } else {
            Kernels.accumulateOuterProducts(outputs: n, vectors: mPad / 8, length: R, u: dT, uStride: L,
                                            v: h, vStride: mPad, into: gradDecoderT, gradStride: mPad)
        }
    }

    /// Input backward (pairs with `encode`): ∂E += x ∂hᵀ, from x [n][R] and `hiddenGradT` or row-major
    /// `hiddenGrad`, or one mPad-wide axpy per CSR non-zero. `withOutputProduct` (tied models with dense
    /// δ) adds δ hᵀ in the same product, the decoder's share of the one shared matrix.
    func inputBackward(_ span: ChunkSpan, _ inputs: ChunkInputs, withOutputProduct: Bool,
                       gradEncoder: UnsafeMutablePointer<Float>, workspace ws: PassWorkspace) {
        let R = span.R, L = ws.laneStride
        guard let xT = inputs.dense else {
            let dh = ws.hiddenGrad
            inputs.csr!.forEach(rows: span.rows) { r, i, v in Kernels.axpy(mPad, v, dh + r * mPad, gradEncoder + i * mPad) }
            return
        }
        let dT = withOutputProduct ? UnsafePointer(ws.deltasT) : nil
        if gradientsAlongBatch {
            Kernels.accumulateDots(outputs: n, columns: m, length: R, u: xT, uStride: inputs.denseStride,
                                   v: ws.hiddenGradT, vStride: L, u2: dT, u2Stride: L,
                                   v2: withOutputProduct ? UnsafePointer(ws.hiddenT) : nil, v2Stride: L,
                                   into: gradEncoder, gradStride: mPad)
        } else {
            Kernels.accumulateOuterProducts(outputs: n, vectors: mPad / 8, length: R, u: xT, uStride: inputs.denseStride,
                                            v: ws.hiddenGrad, vStride: mPad, u2: dT, u2Stride: L,
                                            v2: withOutputProduct ? UnsafePointer(ws.hidden) : nil,
                                            into: gradEncoder, gradStride: mPad)
        }
    }

    /// Output backward from the listed non-zero δ only: for each feature j, ∂D_j += Σ_r δ_rj h_r (held
    /// in registers across j's rows) and ∂h_r += δ_rj D_j. Writes `hiddenGrad` [R][mPad] (zeroed first);
    /// needs row-major `hidden`.
    ///
    /// The rows go in blocks of `sparseOutputBlockRows`, so that the block's h and ∂h stay in L1 while
    /// every feature's listed rows in the block are taken (a cursor per feature marks where its list
    /// stands). h and ∂h of a whole 512-row chunk are 80 KB each, and one sweep over all rows per feature
    /// waited on L2 (docs/performance.md#whole-job-fourth-pass). Every sum is the same chain as without
    /// blocks: ∂D_j takes its rows in increasing order, carried from block to block in memory, and ∂h_r
    /// its features in increasing order.
    private func sparseOutputBackward(rows R: Int, workspace ws: PassWorkspace, gradDecoderT: UnsafeMutablePointer<Float>) {
        ws.hiddenGrad.update(repeating: 0, count: R * mPad)
        // Up to 6 vectors (48 hidden units) per pass over the entries: 2 × 6 registers for ∂D_j and D_j.
        let V = mPad / 8
        let blockRows = sparseOutputBlockRows
        var kv = 0
        while kv < V {
            let tv = min(6, V - kv)
            for j in 0..<n { ws.deltaCursor[j] = ws.deltaStart[j] }
            var b0 = 0
            while b0 < R {
                let b1 = min(R, b0 + blockRows)
                switch tv {
                case 6: sparseOutputGroup(6, kv, b1, ws, gradDecoderT)
                case 5: sparseOutputGroup(5, kv, b1, ws, gradDecoderT)
                case 4: sparseOutputGroup(4, kv, b1, ws, gradDecoderT)
                case 3: sparseOutputGroup(3, kv, b1, ws, gradDecoderT)
                case 2: sparseOutputGroup(2, kv, b1, ws, gradDecoderT)
                default: sparseOutputGroup(1, kv, b1, ws, gradDecoderT)
                }
                b0 = b1
            }
            kv += tv
        }
    }

    /// Rows per block of the sparse output backward: h and ∂h of a block in 40 KB, a multiple of 16, at
    /// least 16 (`abs` 100→40: 128 rows; 400→30 takes its 128-row chunks in one block). On the Xeon of
    /// docs/performance.md#whole-job-fourth-pass, blocks of 64 and 128 rows ran alike, 512 (none) slower.
    var sparseOutputBlockRows: Int { sparseOutputBlockRowsOverride ?? max(16, 40_960 / (8 * mPad) / 16 * 16) }

    /// Hidden columns 8·kv ..< 8·(kv + tv) of the sparse output backward (tv ≤ 6), for each feature its
    /// listed rows from its cursor up to (not including) row `end`. `@_transparent`, so that each case of
    /// the caller's switch is compiled with `tv` a constant.
    @_transparent
    private func sparseOutputGroup(_ tv: Int, _ kv: Int, _ end: Int, _ ws: PassWorkspace, _ gradDecoderT: UnsafeMutablePointer<Float>) {
        let zero = SIMD8<Float>.zero
        let h = ws.hidden, dh = ws.hiddenGrad, deltaStart = ws.deltaStart, deltaRow = ws.deltaRow, cursor = ws.deltaCursor
        let stride = ws.laneStride
        @inline(__always) func load8(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> SIMD8<Float> { Kernels.load8(p, i) }
        @inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) { Kernels.store8(v, p, i) }
        for j in 0..<n {
            var e = Int(cursor[j])
            let e1 = Int(deltaStart[j &+ 1])
            if e == e1 || Int(deltaRow[e]) >= end { continue }
            let deltas = ws.deltasT + j &* stride
            let g = gradDecoderT + (j &* mPad &+ 8 &* kv), w = decoderT + (j &* mPad &+ 8 &* kv)
            var a0 = load8(g, 0), a1 = tv > 1 ? load8(g, 8) : zero, a2 = tv > 2 ? load8(g, 16) : zero
            var a3 = tv > 3 ? load8(g, 24) : zero, a4 = tv > 4 ? load8(g, 32) : zero, a5 = tv > 5 ? load8(g, 40) : zero
            let w0 = load8(w, 0), w1 = tv > 1 ? load8(w, 8) : zero, w2 = tv > 2 ? load8(w, 16) : zero
            let w3 = tv > 3 ? load8(w, 24) : zero, w4 = tv > 4 ? load8(w, 32) : zero, w5 = tv > 5 ? load8(w, 40) : zero
            var r = Int(deltaRow[e])
            repeat {
                let d = SIMD8<Float>(repeating: deltas[r])
                let hp = h + (r &* mPad &+ 8 &* kv), gp = dh + (r &* mPad &+ 8 &* kv)
                a0 = a0.addingProduct(d, load8(hp, 0)); store8(load8(gp, 0).addingProduct(d, w0), gp, 0)
                if tv > 1 { a1 = a1.addingProduct(d, load8(hp, 8)); store8(load8(gp, 8).addingProduct(d, w1), gp, 8) }
                if tv > 2 { a2 = a2.addingProduct(d, load8(hp, 16)); store8(load8(gp, 16).addingProduct(d, w2), gp, 16) }
                if tv > 3 { a3 = a3.addingProduct(d, load8(hp, 24)); store8(load8(gp, 24).addingProduct(d, w3), gp, 24) }
                if tv > 4 { a4 = a4.addingProduct(d, load8(hp, 32)); store8(load8(gp, 32).addingProduct(d, w4), gp, 32) }
                if tv > 5 { a5 = a5.addingProduct(d, load8(hp, 40)); store8(load8(gp, 40).addingProduct(d, w5), gp, 40) }
                e &+= 1
                // deltaRow holds n·R + 8 rows, so the row after a feature's last is readable.
                r = Int(deltaRow[e])
            } while e < e1 && r < end
            cursor[j] = Int32(truncatingIfNeeded: e)
            store8(a0, g, 0)
            if tv > 1 { store8(a1, g, 8) }
            if tv > 2 { store8(a2, g, 16) }
            if tv > 3 { store8(a3, g, 24) }
            if tv > 4 { store8(a4, g, 32) }
            if tv > 5 { store8(a5, g, 40) }
        }
    }
}
