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
    /// needs row-major `hidden`. `Kernels.sparseOutputBackward` does the work, in blocks of
    /// `sparseOutputBlockRows` rows.
    private func sparseOutputBackward(rows R: Int, workspace ws: PassWorkspace, gradDecoderT: UnsafeMutablePointer<Float>) {
        Kernels.sparseOutputBackward(features: n, rows: R, columns: mPad, blockRows: sparseOutputBlockRows,
                                     hidden: ws.hidden, hiddenGrad: ws.hiddenGrad, deltas: ws.deltasT,
                                     deltaStride: ws.laneStride, listStart: ws.deltaStart, listRows: ws.deltaRow,
                                     cursor: ws.deltaCursor, weights: decoderT, gradient: gradDecoderT)
    }

    /// Rows per block of the sparse output backward: h and ∂h of a block in 40 KB, a multiple of 16, at
    /// least 16 (`abs` 100→40: 128 rows; 400→30 takes its 128-row chunks in one block). On the Xeon of
    /// docs/performance.md#whole-job-fourth-pass, blocks of 64 and 128 rows ran alike, 512 (none) slower.
    var sparseOutputBlockRows: Int { sparseOutputBlockRowsOverride ?? max(16, 40_960 / (8 * mPad) / 16 * 16) }
}
