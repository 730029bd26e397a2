import Foundation
import TMSCore

/// Which kernels a pass uses: chosen per batch (inputs) and per chunk (output gradients) from the measured
/// density, or forced (tests check every combination against the reference).
enum PathChoice: Sendable { case automatic, dense, sparse }

struct PassPaths: Sendable {
    /// Dense: h = W x and ∂W += x·∂hᵀ as register-tiled products over a dense chunk. Sparse: both from the
    /// CSR non-zeros only.
    var inputs = PathChoice.automatic
    /// Dense: ∂h = W δ and ∂W_out += δ hᵀ as register-tiled products. Sparse: only from the non-zero δ_i.
    var outputGradients = PathChoice.automatic
    /// Dense: the fused small-model kernel (all of a row's forward and backward in registers), when the
    /// inputs and output gradients are dense and the model small. Sparse: never. Automatic: for models of at
    /// most `InstanceState.tinyModelSize` weights.
    var fusedSmallModel = PathChoice.automatic
    static let automatic = PassPaths()
}

@inline(__always) private func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
}
@inline(__always) private func load8(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
}
@inline(__always) private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
}
/// y[0..<count] += a · x[0..<count]; `count` a multiple of 8.
@inline(__always) private func axpy(_ count: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    let av = SIMD8<Float>(repeating: a)
    var i = 0
    while i < count { store8(load8(y, i).addingProduct(av, load8(x, i)), y, i); i += 8 }
}
/// p[0..<count] = max(p, 0); `count` a multiple of 8.
@inline(__always) private func relu(_ p: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i < count { let v = load8(p, i); store8(v.replacing(with: 0, where: v .< 0), p, i); i += 8 }
}
/// g[i] = 0 where h[i] ≤ 0 (the gradient through a ReLU, with ReLU′(0) = 0); `count` a multiple of 8.
@inline(__always) private func maskInactive(_ g: UnsafeMutablePointer<Float>, by h: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i < count { store8(load8(g, i).replacing(with: 0, where: load8(h, i) .<= 0), g, i); i += 8 }
}

/// A model's structure as compile-time constants, for the fused small-model kernel.
protocol ModelFlags { static var tied: Bool { get }; static var reluHidden: Bool { get }; static var reluOut: Bool { get }; static var signed: Bool { get } }
// Computed, not `static let`: stored statics are lazily initialised globals, checked on every access.
enum LinearModel: ModelFlags {
    static var tied: Bool { true }; static var reluHidden: Bool { false }; static var reluOut: Bool { false }; static var signed: Bool { false }
}
enum ReluOutputModel: ModelFlags {
    static var tied: Bool { true }; static var reluHidden: Bool { false }; static var reluOut: Bool { true }; static var signed: Bool { false }
}
enum ReluHiddenModel: ModelFlags {
    static var tied: Bool { true }; static var reluHidden: Bool { true }; static var reluOut: Bool { true }; static var signed: Bool { false }
}
enum AbsModel: ModelFlags {
    static var tied: Bool { false }; static var reluHidden: Bool { true }; static var reluOut: Bool { true }; static var signed: Bool { true }
}
/// n and m as compile-time constants.
enum Shape<let N: Int, let M: Int> {}

/// Compile-time choices of the loss sweep: output ReLU, and |x| as the target (`abs`).
protocol SweepKind { static var reluOut: Bool { get }; static var signed: Bool { get } }
enum Linear: SweepKind { static var reluOut: Bool { false }; static var signed: Bool { false } }
enum Relu: SweepKind { static var reluOut: Bool { true }; static var signed: Bool { false } }
enum ReluSigned: SweepKind { static var reluOut: Bool { true }; static var signed: Bool { true } }

/// |v| lane-wise by clearing the sign bits (a select on v < 0 was scalarised by LLVM in some kernels).
@inline(__always) private func absolute(_ v: SIMD8<Float>) -> SIMD8<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
}

/// Whether any lane is non-zero (−0 counts as zero): one `vptest` (a compare-and-`any` shared with other
/// uses of the compare can compile to eight lane extracts).
@inline(__always) private func anyNonZero(_ d: SIMD8<Float>) -> Bool {
    unsafeBitCast(d, to: SIMD4<UInt64>.self) & SIMD4<UInt64>(repeating: 0x7FFF_FFFF_7FFF_FFFF) != .zero
}

/// For each 8-bit mask, the positions of its set bits in increasing order, one per byte (for compacting
/// the rows of non-zero lanes). Written once, then only read.
nonisolated(unsafe) private let laneCompaction: UnsafePointer<UInt64> = {
    let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 256)
    for mask in 0..<256 {
        var packed: UInt64 = 0, k: UInt64 = 0
        for lane in 0..<8 where mask & (1 << lane) != 0 { packed |= UInt64(lane) << (8 * k); k += 1 }
        table[mask] = packed
    }
    return UnsafePointer(table)
}()

/// Raw views of a CSR batch: entries of row r at `rowStart[r]..<rowStart[r+1]`.
struct CSRView {
    let rowStart: UnsafePointer<Int32>
    let columns: UnsafePointer<Int32>
    let values: UnsafePointer<Float>
}

extension InstanceState {
    /// The input density of a CSR batch above which the dense input kernels win: their two products cost
    /// 2·n·m per row at near-peak speed, the sparse ones an mPad-wide axpy (~3× slower per FMA) per
    /// non-zero plus two small transposes. (400→30: sparse inputs 2.6× faster at p = 0.04.)
    var denseInputThreshold: Double { 0.4 * Double(m) / Double(mPad) }
    /// The output-gradient density above which the dense output-side kernels win, measured with
    /// `tms train` on the benchmark shapes: for 400→30 at p = 0.01 the sparse path is ~5×
    /// cheaper at 2–5 % density but loses at 14 % (factor 0.1 beat 0.3 by ~10 %); for `abs` 100→40 at
    /// p = 0.03 it still wins at 17–22 % (factor 0.3 beat 0.1 by ~10 %), its dense output side being two
    /// separate products.
    var denseOutputGradientThreshold: Double {
        guard model.hasOutputReLU else { return 0 }
        return (model.isTied ? 0.1 : 0.3) * Double(m) / Double(mPad)
    }
    /// Weight gradients as lane dot products (reduced once per chunk) when chunks are long or m is small;
    /// as register-held outer products over row-major ∂h and h otherwise.
    var gradientsAlongBatch: Bool { chunkRows >= 512 || mPad <= 16 }

    /// Models this small take the dense kernels at any density: a dense row costs less than the sparse
    /// path's bookkeeping (lists, transposes, zeroing).
    static let tinyModelSize = 64

    /// Whether the dense input kernels win at input density `density`.
    func prefersDenseInputs(density: Double) -> Bool {
        n * m <= Self.tinyModelSize || density >= denseInputThreshold
    }

    /// Whether the current batch takes the dense input kernels: always when it is held densely (making it
    /// sparse costs more than the dense products save), otherwise by its measured density.
    func usesDenseInputs(_ paths: PassPaths) -> Bool {
        switch paths.inputs {
        case .dense: return true
        case .sparse: return false
        case .automatic:
            if denseBatchIsCurrent { return true }
            return prefersDenseInputs(density: Double(csrBatch.nonZeroCount) / Double(max(1, currentBatchSize * n)))
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
        let inputsDense = usesDenseInputs(paths)
        if computeGradients { gradientBlock.update(repeating: 0, count: gradientCount) }
        var total = 0.0
        var deltas = 0
        withCurrentCSR { csr in
            for c in 0..<chunkCount(batchSize: B) {
                total += runChunk(c, batchSize: B, inputsDense: inputsDense, paths: paths,
                                  gradientBlock: computeGradients ? ws.gradients : nil, workspace: ws, csr: csr)
                deltas += lastDeltaCount
                if computeGradients { addBlock(ws.gradients) }
            }
        }
        if computeGradients { recordOutputGradientDensity(deltas, batchSize: B) }
        return total / Double(B * n)
    }

    /// For a batch split across workers: chunk `c` of the current batch into chunk gradient block `c`.
    /// Every chunk, then `finishSplitPass`, gives bit for bit what `pass(computeGradients: true)` gives.
    func passChunkOfSplitBatch(_ c: Int, workspace: PassWorkspace) {
        let B = currentBatchSize
        let block = chunkGradients! + c * gradientCount
        let inputsDense = usesDenseInputs(.automatic)
        withCurrentCSR { csr in
            chunkLosses[c] = runChunk(c, batchSize: B, inputsDense: inputsDense, paths: .automatic,
                                      gradientBlock: block, workspace: workspace, csr: csr)
        }
        chunkDeltaCounts[c] = lastDeltaCount
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
            addBlock(chunkGradients! + c * gradientCount)
        }
        recordOutputGradientDensity(deltas, batchSize: B)
        return total / Double(B * n)
    }

    /// Whether the next pass should list its non-zero δ while sweeping (so it can take the sparse output
    /// path): the last batch's δ density, a deterministic function of the training so far.
    var expectsSparseOutputGradients: Bool { outputGradientDensity < denseOutputGradientThreshold }

    private func recordOutputGradientDensity(_ count: Int, batchSize B: Int) {
        outputGradientDensity = Double(count) / Double(max(1, B * n))
    }

    /// gradientBlock += block (element-wise, `gradientCount` a multiple of 8).
    private func addBlock(_ block: UnsafePointer<Float>) {
        var i = 0
        while i < gradientCount { store8(load8(gradientBlock, i) + load8(block, i), gradientBlock, i); i += 8 }
    }

    /// Runs `body` with raw views of the CSR batch (nil when the dense buffer holds the current batch).
    private func withCurrentCSR(_ body: (CSRView?) -> Void) {
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
        case .automatic: return n * m <= Self.tinyModelSize
        }
    }

    /// The largest n·m the fused kernel accepts (its per-row scratch lives in L1).
    static let fusedModelLimit = 256

    private func runChunk(_ chunk: Int, batchSize B: Int, inputsDense: Bool, paths: PassPaths,
                          gradientBlock grads: UnsafeMutablePointer<Float>?, workspace ws: PassWorkspace,
                          csr: CSRView?) -> Double {
        if usesFusedKernel(inputsDense: inputsDense, paths) {
            switch model {
            case .linear: return fusedChunk(LinearModel.self, chunk, batchSize: B, gradientBlock: grads, workspace: ws, csr: csr)
            case .reluOutput: return fusedChunk(ReluOutputModel.self, chunk, batchSize: B, gradientBlock: grads, workspace: ws, csr: csr)
            case .reluHidden: return fusedChunk(ReluHiddenModel.self, chunk, batchSize: B, gradientBlock: grads, workspace: ws, csr: csr)
            case .abs: return fusedChunk(AbsModel.self, chunk, batchSize: B, gradientBlock: grads, workspace: ws, csr: csr)
            }
        }
        return passChunk(chunk, batchSize: B, inputsDense: inputsDense, outputGradients: paths.outputGradients,
                         gradientBlock: grads, workspace: ws, csr: csr)
    }

    /// The fused small-model kernel for one chunk (same contract as `passChunk`): for each vector of 8 rows,
    /// x (n vectors), h = act(W x) (m), y = Dᵀh + b, the loss, δ (n), ∂h = D δ (m, masked behind a hidden
    /// ReLU) and every weight gradient, accumulated lane-wise in L1 scratch and reduced once at the end. No
    /// intermediate buffers, transposes or per-product calls: for n·m of a few dozen those cost more than
    /// the arithmetic.
    private func fusedChunk<F: ModelFlags>(_ flags: F.Type, _ chunk: Int, batchSize B: Int,
                                           gradientBlock grads: UnsafeMutablePointer<Float>?,
                                           workspace ws: PassWorkspace, csr batchCSR: CSRView?) -> Double {
        let r0 = chunk * chunkRows, rows = min(chunkRows, B - r0), R = roundUp(rows, toMultipleOf: 16)
        let L = ws.laneStride
        let tied = F.tied, reluHidden = F.reluHidden, reluOut = F.reluOut, signed = F.signed
        let scale2 = 2 * Float(1 / Double(B * n))
        grads?.update(repeating: 0, count: gradientCount)
        lastDeltaCount = rows * n
        // Inputs: the dense batch, or the CSR rows scattered into the zero buffer (cleared on the way out).
        var x = UnsafePointer(ws.inputsT), xs = L
        if let dense = denseInputs, denseBatchIsCurrent {
            x = UnsafePointer(dense + r0); xs = denseStride
        } else if let batchCSR {
            for r in 0..<rows {
                for e in Int(batchCSR.rowStart[r0 + r])..<Int(batchCSR.rowStart[r0 + r + 1]) {
                    ws.inputsT[Int(batchCSR.columns[e]) * L + r] = batchCSR.values[e]
                }
            }
        }
        defer {
            if !denseBatchIsCurrent, let batchCSR {
                for r in 0..<rows {
                    for e in Int(batchCSR.rowStart[r0 + r])..<Int(batchCSR.rowStart[r0 + r + 1]) {
                        ws.inputsT[Int(batchCSR.columns[e]) * L + r] = 0
                    }
                }
            }
        }
        // The paper's small shapes get a copy with n and m known at compile time: loops unroll and the
        // scratch lives in registers (4–5× faster than the loops below for n = 2, m = 1).
        switch (n, m) {
        case (2, 1): return fixedShape(F.self, Shape<2, 1>.self, x, xs, rows, R, scale2, grads)
        case (3, 2): return fixedShape(F.self, Shape<3, 2>.self, x, xs, rows, R, scale2, grads)
        case (4, 2): return fixedShape(F.self, Shape<4, 2>.self, x, xs, rows, R, scale2, grads)
        case (5, 2): return fixedShape(F.self, Shape<5, 2>.self, x, xs, rows, R, scale2, grads)
        case (6, 2): return fixedShape(F.self, Shape<6, 2>.self, x, xs, rows, R, scale2, grads)
        case (6, 3): return fixedShape(F.self, Shape<6, 3>.self, x, xs, rows, R, scale2, grads)
        case (3, 6): return fixedShape(F.self, Shape<3, 6>.self, x, xs, rows, R, scale2, grads)
        default: break
        }
        // Scratch (SIMD8 each): x [n], h [m], δ [n], ∂h [m], ∂W [m][n] (tied: both products; abs: x·∂hᵀ),
        // ∂W₂ [n][m] (abs), ∂b [n].
        let xv = ws.fused, hv = xv + n, dv = hv + m, dhv = dv + n, gW = dhv + m, gW2 = gW + m * n, gb = gW2 + n * m
        let zero = SIMD8<Float>.zero
        if grads != nil { (gW).update(repeating: zero, count: 2 * m * n + n) }
        let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        var loss0 = zero, loss1 = zero
        let full = rows / 8
        for v in 0..<(R / 8) {
            for i in 0..<n { xv[i] = load8(x + i * xs, 8 * v) }
            // h_k = act(Σ_i E_ik x_i): encoder row i holds E_i.
            for k in 0..<m {
                var a0 = zero, a1 = zero
                var i = 0
                while i + 1 < n {
                    a0 = a0.addingProduct(SIMD8(repeating: encoder[i * mPad + k]), xv[i])
                    a1 = a1.addingProduct(SIMD8(repeating: encoder[(i + 1) * mPad + k]), xv[i + 1])
                    i += 2
                }
                if i < n { a0 = a0.addingProduct(SIMD8(repeating: encoder[i * mPad + k]), xv[i]) }
                let pre = a0 + a1
                hv[k] = reluHidden ? pre.replacing(with: 0, where: pre .< 0) : pre
            }
            let valid = v < full ? nil : lane .>= SIMD8<Int32>(repeating: Int32(rows - 8 * v))
            for i in 0..<n {
                var y = SIMD8<Float>(repeating: bias[i])
                let w = decoderT + i * mPad
                for k in 0..<m { y = y.addingProduct(SIMD8(repeating: w[k]), hv[k]) }
                let out = reluOut ? y.replacing(with: 0, where: y .< 0) : y
                let t = signed ? absolute(xv[i]) : xv[i]
                var diff = out - t
                if let valid { diff = diff.replacing(with: 0, where: valid) }
                let imp = importance[i]
                if i & 1 == 0 { loss0 = loss0.addingProduct(SIMD8(repeating: imp) * diff, diff) } else { loss1 = loss1.addingProduct(SIMD8(repeating: imp) * diff, diff) }
                var d = SIMD8<Float>(repeating: scale2 * imp) * diff
                if reluOut { d = d.replacing(with: 0, where: y .<= 0) }
                dv[i] = d
            }
            guard grads != nil else { continue }
            for i in 0..<n { gb[i] += dv[i] }
            // ∂h_k = Σ_i D_ik δ_i (masked behind a hidden ReLU), then the weight gradients.
            for k in 0..<m {
                var a = zero
                for i in 0..<n { a = a.addingProduct(SIMD8(repeating: decoderT[i * mPad + k]), dv[i]) }
                dhv[k] = reluHidden ? a.replacing(with: 0, where: hv[k] .<= 0) : a
            }
            for k in 0..<m {
                let g = gW + k * n, dh = dhv[k], h = hv[k]
                if tied {
                    for i in 0..<n { g[i] = g[i].addingProduct(xv[i], dh).addingProduct(dv[i], h) }
                } else {
                    for i in 0..<n { g[i] = g[i].addingProduct(xv[i], dh) }
                }
            }
            if !tied {
                for i in 0..<n {
                    let g = gW2 + i * m, d = dv[i]
                    for k in 0..<m { g[k] = g[k].addingProduct(d, hv[k]) }
                }
            }
        }
        if let grads {
            let gradDecoderT = grads + (tied ? 0 : n * mPad), gradBias = grads + n * mPad * (tied ? 1 : 2)
            for k in 0..<m {
                for i in 0..<n { grads[i * mPad + k] = gW[k * n + i].sum() }
            }
            if !tied {
                for i in 0..<n { for k in 0..<m { gradDecoderT[i * mPad + k] = gW2[i * m + k].sum() } }
            }
            for i in 0..<n { gradBias[i] = gb[i].sum() }
        }
        return Double((loss0 + loss1).sum())
    }

    /// `fusedChunk` for n = N, m = M known at compile time (same arithmetic, same order).
    private func fixedShape<F: ModelFlags, let N: Int, let M: Int>(
        _ flags: F.Type, _ shape: Shape<N, M>.Type, _ x: UnsafePointer<Float>, _ xs: Int, _ rows: Int, _ R: Int,
        _ scale2: Float, _ grads: UnsafeMutablePointer<Float>?) -> Double {
        let zero = SIMD8<Float>.zero
        var gW = InlineArray<M, InlineArray<N, SIMD8<Float>>>(repeating: InlineArray(repeating: zero))
        var gW2 = InlineArray<N, InlineArray<M, SIMD8<Float>>>(repeating: InlineArray(repeating: zero))
        var gb = InlineArray<N, SIMD8<Float>>(repeating: zero)
        var enc = InlineArray<M, InlineArray<N, Float>>(repeating: InlineArray(repeating: 0))
        var dec = InlineArray<N, InlineArray<M, Float>>(repeating: InlineArray(repeating: 0))
        var b = InlineArray<N, Float>(repeating: 0), imp = InlineArray<N, Float>(repeating: 0)
        for i in 0..<N {
            for k in 0..<M { enc[k][i] = encoder[i * mPad + k]; dec[i][k] = decoderT[i * mPad + k] }
            b[i] = bias[i]; imp[i] = importance[i]
        }
        let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        var loss0 = zero, loss1 = zero
        let full = rows / 8
        for v in 0..<(R / 8) {
            var xv = InlineArray<N, SIMD8<Float>>(repeating: zero)
            for i in 0..<N { xv[i] = load8(x + i * xs, 8 * v) }
            var hv = InlineArray<M, SIMD8<Float>>(repeating: zero)
            for k in 0..<M {
                var a0 = zero, a1 = zero
                var i = 0
                while i + 1 < N {
                    a0 = a0.addingProduct(SIMD8(repeating: enc[k][i]), xv[i])
                    a1 = a1.addingProduct(SIMD8(repeating: enc[k][i + 1]), xv[i + 1])
                    i += 2
                }
                if i < N { a0 = a0.addingProduct(SIMD8(repeating: enc[k][i]), xv[i]) }
                let pre = a0 + a1
                hv[k] = F.reluHidden ? pre.replacing(with: 0, where: pre .< 0) : pre
            }
            let valid = v < full ? nil : lane .>= SIMD8<Int32>(repeating: Int32(rows - 8 * v))
            var dv = InlineArray<N, SIMD8<Float>>(repeating: zero)
            for i in 0..<N {
                var y = SIMD8<Float>(repeating: b[i])
                for k in 0..<M { y = y.addingProduct(SIMD8(repeating: dec[i][k]), hv[k]) }
                let out = F.reluOut ? y.replacing(with: 0, where: y .< 0) : y
                let t = F.signed ? absolute(xv[i]) : xv[i]
                var diff = out - t
                if let valid { diff = diff.replacing(with: 0, where: valid) }
                if i & 1 == 0 { loss0 = loss0.addingProduct(SIMD8(repeating: imp[i]) * diff, diff) } else { loss1 = loss1.addingProduct(SIMD8(repeating: imp[i]) * diff, diff) }
                var d = SIMD8<Float>(repeating: scale2 * imp[i]) * diff
                if F.reluOut { d = d.replacing(with: 0, where: y .<= 0) }
                dv[i] = d
            }
            guard grads != nil else { continue }
            for i in 0..<N { gb[i] += dv[i] }
            for k in 0..<M {
                var a = zero
                for i in 0..<N { a = a.addingProduct(SIMD8(repeating: dec[i][k]), dv[i]) }
                let dh = F.reluHidden ? a.replacing(with: 0, where: hv[k] .<= 0) : a
                if F.tied {
                    for i in 0..<N { gW[k][i] = gW[k][i].addingProduct(xv[i], dh).addingProduct(dv[i], hv[k]) }
                } else {
                    for i in 0..<N { gW[k][i] = gW[k][i].addingProduct(xv[i], dh) }
                }
            }
            if !F.tied {
                for i in 0..<N { for k in 0..<M { gW2[i][k] = gW2[i][k].addingProduct(dv[i], hv[k]) } }
            }
        }
        if let grads {
            let gradDecoderT = grads + (F.tied ? 0 : n * mPad), gradBias = grads + n * mPad * (F.tied ? 1 : 2)
            for k in 0..<M { for i in 0..<N { grads[i * mPad + k] = gW[k][i].sum() } }
            if !F.tied { for i in 0..<N { for k in 0..<M { gradDecoderT[i * mPad + k] = gW2[i][k].sum() } } }
            for i in 0..<N { gradBias[i] = gb[i].sum() }
        }
        return Double((loss0 + loss1).sum())
    }

    /// One chunk: rows r0 ..< r0 + rows of the current batch, R = rows rounded up to 16 (padded rows count
    /// for nothing). Writes the chunk's gradient into `gradientBlock` (zeroed first) when given; returns the
    /// chunk's Σ_rows Σ_i I_i (x′_i − t_i)².
    private func passChunk(_ chunk: Int, batchSize B: Int, inputsDense: Bool, outputGradients: PathChoice,
                           gradientBlock grads: UnsafeMutablePointer<Float>?, workspace ws: PassWorkspace,
                           csr batchCSR: CSRView?) -> Double {
        ws.prepareGeneralBuffers()
        let r0 = chunk * chunkRows, rows = min(chunkRows, B - r0), R = roundUp(rows, toMultipleOf: 16)
        let L = ws.laneStride
        let tied = model.isTied, reluHidden = model.hasHiddenReLU, reluOut = model.hasOutputReLU
        let signed = model.usesSignedInputs
        let scale2 = 2 * Float(1 / Double(B * n))
        grads?.update(repeating: 0, count: gradientCount)

        // Inputs: batch-lane dense `xT` [n][xs], or CSR rows 0..<rows.
        var xT: UnsafePointer<Float>? = nil
        var xs = L
        var csr = CSRView(rowStart: ws.csrRowStart, columns: ws.csrColumns, values: ws.csrValues)
        if inputsDense {
            if let dense = denseInputs, denseBatchIsCurrent {
                xT = UnsafePointer(dense + r0); xs = denseStride
            } else if let batchCSR {
                xT = UnsafePointer(ws.inputsT)
                csr = CSRView(rowStart: batchCSR.rowStart + r0, columns: batchCSR.columns, values: batchCSR.values)
            }
        } else if let batchCSR {
            csr = CSRView(rowStart: batchCSR.rowStart + r0, columns: batchCSR.columns, values: batchCSR.values)
        } else if let dense = denseInputs {
            var count: Int32 = 0
            ws.csrRowStart[0] = 0
            for r in 0..<rows {
                for i in 0..<n {
                    let v = dense[i * denseStride + r0 + r]
                    if v != 0 { ws.csrColumns[Int(count)] = Int32(i); ws.csrValues[Int(count)] = v; count += 1 }
                }
                ws.csrRowStart[r + 1] = count
            }
        }

        // A CSR chunk is also scattered into the zero buffer `inputsT`: as the inputs of the dense kernels, or
        // as the targets of the loss sweep. The buffer is cleared again on the way out.
        let scattered = !(inputsDense && denseBatchIsCurrent)
        if scattered {
            for r in 0..<rows {
                for e in Int(csr.rowStart[r])..<Int(csr.rowStart[r + 1]) { ws.inputsT[Int(csr.columns[e]) * L + r] = csr.values[e] }
            }
        }
        defer {
            if scattered {
                for r in 0..<rows {
                    for e in Int(csr.rowStart[r])..<Int(csr.rowStart[r + 1]) { ws.inputsT[Int(csr.columns[e]) * L + r] = 0 }
                }
            }
        }
        let targets = UnsafePointer(scattered ? ws.inputsT : denseInputs! + r0), targetStride = scattered ? L : denseStride

        // Encode: h = W x (batch-lane hT [m][R]; row-major h [R][mPad] when built from CSR).
        let hT = ws.hiddenT, h = ws.hidden
        var rowMajorHidden = false
        if let xT {
            Kernels.project(outputs: m, depth: n, rows: R, weights: encoder, weightStride: mPad,
                            input: xT, inputStride: xs, bias: nil, output: hT, outputStride: L)
            if reluHidden { relu(hT, count: m * L) }
        } else {
            for r in 0..<R {
                let hr = h + r * mPad
                hr.update(repeating: 0, count: mPad)
                guard r < rows else { continue }
                for e in Int(csr.rowStart[r])..<Int(csr.rowStart[r + 1]) {
                    axpy(mPad, csr.values[e], encoder + Int(csr.columns[e]) * mPad, hr)
                }
            }
            if reluHidden { relu(h, count: R * mPad) }
            Kernels.transpose(rows: R, columns: m, h, sourceStride: mPad, into: hT, destinationStride: L)
            rowMajorHidden = true
        }

        // Decode: y = Dᵀh + b, batch-lane yT [n][R].
        let yT = ws.outputsT, dT = ws.deltasT
        Kernels.project(outputs: n, depth: m, rows: R, weights: decoder, weightStride: nPad,
                        input: hT, inputStride: L, bias: bias, output: yT, outputStride: L)

        // Loss and δ in one sweep per feature: the loss, δ, ∂b, the number of non-zero δ and, when the
        // sparse output path is expected (the previous batch's δ density), the rows of the non-zero δ.
        let gradBias = grads.map { $0 + n * mPad * (tied ? 1 : 2) }
        let listing = grads != nil
            && (outputGradients == .sparse || (outputGradients == .automatic && reluOut && expectsSparseOutputGradients))
        var listCount = 0
        var loss = 0.0
        var deltaCount = 0
        for j in 0..<n {
            if listing { ws.deltaStart[j] = Int32(truncatingIfNeeded: listCount) }
            let yj = UnsafePointer(yT + j * L), tj = targets + j * targetStride, dj = grads == nil ? nil : dT + j * L
            let lj = listing ? ws.deltaRow : nil, imp = importance[j]
            let s = switch (reluOut, signed) {
            case (true, true): Self.sweep(ReluSigned.self, y: yj, target: tj, delta: dj, rows: rows, paddedRows: R,
                                          importance: imp, scale2: scale2, list: lj, listCount: &listCount)
            case (true, false): Self.sweep(Relu.self, y: yj, target: tj, delta: dj, rows: rows, paddedRows: R,
                                           importance: imp, scale2: scale2, list: lj, listCount: &listCount)
            default: Self.sweep(Linear.self, y: yj, target: tj, delta: dj, rows: rows, paddedRows: R,
                                importance: imp, scale2: scale2, list: lj, listCount: &listCount)
            }
            loss += Double(s.loss)
            if let gradBias { gradBias[j] = s.deltaSum; deltaCount += s.nonZero }
        }
        if listing { ws.deltaStart[n] = Int32(truncatingIfNeeded: listCount) }
        lastDeltaCount = deltaCount
        guard let grads else { return loss }
        let gradEncoder = grads, gradDecoderT = grads + (tied ? 0 : n * mPad)

        // Output side: ∂h = W δ and ∂W_out += δ hᵀ, dense or from the non-zero δ only (when their list is
        // at hand and they are few).
        let denseDeltas: Bool
        switch outputGradients {
        case .dense: denseDeltas = true
        case .sparse: denseDeltas = false
        case .automatic:
            denseDeltas = !listing || Double(deltaCount) >= denseOutputGradientThreshold * Double(rows * n)
        }
        let alongBatch = gradientsAlongBatch
        let dhT = ws.hiddenGradT, dh = ws.hiddenGrad
        if denseDeltas {
            Kernels.project(outputs: m, depth: n, rows: R, weights: decoderT, weightStride: mPad,
                            input: dT, inputStride: L, bias: nil, output: dhT, outputStride: L)
            if reluHidden { maskInactive(dhT, by: hT, count: m * L) }
            if xT == nil || !alongBatch {
                Kernels.transpose(rows: m, columns: R, dhT, sourceStride: L, into: dh, destinationStride: mPad)
            }
            if !alongBatch && !rowMajorHidden {
                Kernels.transpose(rows: m, columns: R, hT, sourceStride: L, into: h, destinationStride: mPad)
                rowMajorHidden = true
            }
            if !(tied && xT != nil) {
                if alongBatch {
                    Kernels.accumulateDots(outputs: n, columns: m, length: R, u: dT, uStride: L, v: hT, vStride: L,
                                           into: gradDecoderT, gradStride: mPad)
                } else {
                    Kernels.accumulateOuterProducts(outputs: n, vectors: mPad / 8, length: R, u: dT, uStride: L,
                                                    v: h, vStride: mPad, into: gradDecoderT, gradStride: mPad)
                }
            }
        } else {
            if !rowMajorHidden {
                Kernels.transpose(rows: m, columns: R, hT, sourceStride: L, into: h, destinationStride: mPad)
                rowMajorHidden = true
            }
            sparseOutputBackward(rows: R, workspace: ws, gradDecoderT: gradDecoderT)
            if reluHidden { maskInactive(dh, by: h, count: R * mPad) }
            if xT != nil && alongBatch {
                Kernels.transpose(rows: R, columns: m, dh, sourceStride: mPad, into: dhT, destinationStride: L)
            }
        }

        // Input side: ∂W_in += x ∂hᵀ (for tied models fused with δ hᵀ when both are dense).
        if let xT {
            let fused = tied && denseDeltas
            if alongBatch {
                Kernels.accumulateDots(outputs: n, columns: m, length: R, u: xT, uStride: xs, v: dhT, vStride: L,
                                       u2: fused ? UnsafePointer(dT) : nil, u2Stride: L,
                                       v2: fused ? UnsafePointer(hT) : nil, v2Stride: L,
                                       into: gradEncoder, gradStride: mPad)
            } else {
                Kernels.accumulateOuterProducts(outputs: n, vectors: mPad / 8, length: R, u: xT, uStride: xs,
                                                v: dh, vStride: mPad, u2: fused ? UnsafePointer(dT) : nil, u2Stride: L,
                                                v2: fused ? UnsafePointer(h) : nil, into: gradEncoder, gradStride: mPad)
            }
        } else {
            for r in 0..<rows {
                for e in Int(csr.rowStart[r])..<Int(csr.rowStart[r + 1]) {
                    axpy(mPad, csr.values[e], dh + r * mPad, gradEncoder + Int(csr.columns[e]) * mPad)
                }
            }
        }
        return loss
    }

    /// Loss and output gradient of one feature j over a chunk (batch-lane): returns Σ_r I_j (x′ − t)² over
    /// the real rows, writes δ = 2 s I_j (x′ − t)·act′(y) (zero on padded rows) when `delta` is given, with
    /// its sum and number of non-zeros, and appends the rows of the non-zero δ to `list` when given.
    /// `Kind` fixes the output ReLU and the target's absolute value at compile time.
    static func sweep<Kind: SweepKind>(_ kind: Kind.Type, y: UnsafePointer<Float>, target: UnsafePointer<Float>,
                                       delta: UnsafeMutablePointer<Float>?, rows: Int, paddedRows R: Int,
                                       importance: Float, scale2: Float,
                                       list: UnsafeMutablePointer<Int32>?, listCount: inout Int)
        -> (loss: Float, deltaSum: Float, nonZero: Int) {
        let imp = SIMD8<Float>(repeating: importance), gradScale = SIMD8<Float>(repeating: scale2 * importance)
        let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        var lossAcc0 = SIMD8<Float>.zero, lossAcc1 = SIMD8<Float>.zero, deltaAcc = SIMD8<Float>.zero
        var nonZero = SIMD8<Int32>.zero
        var count = listCount
        let fullVectors = rows / 8
        let compaction = laneCompaction
        for v in 0..<(R / 8) {
            let yv = load8(y, 8 * v)
            let out = Kind.reluOut ? yv.replacing(with: 0, where: yv .< 0) : yv
            var t = load8(target, 8 * v)
            if Kind.signed { t = absolute(t) }
            var diff = out - t
            if v >= fullVectors {
                diff = diff.replacing(with: 0, where: lane .>= SIMD8<Int32>(repeating: Int32(rows - 8 * v)))
            }
            // Two accumulators (even and odd vectors) halve the FMA latency chain.
            if v & 1 == 0 { lossAcc0 = lossAcc0.addingProduct(imp * diff, diff) } else { lossAcc1 = lossAcc1.addingProduct(imp * diff, diff) }
            guard let delta else { continue }
            var d = gradScale * diff
            if Kind.reluOut { d = d.replacing(with: 0, where: yv .<= 0) }
            store8(d, delta, 8 * v)
            deltaAcc += d
            nonZero &+= SIMD8<Int32>.zero.replacing(with: 1, where: d .!= 0)
            guard let list, anyNonZero(d) else { continue }
            // Branchless compaction: the 8-bit mask of non-zero lanes selects, from a table, their positions;
            // all 8 candidate rows are stored at once and the count advances by the number of non-zeros.
            // (Swift has no movemask: `any` on a SIMDMask and loops over its lanes compiled to per-lane
            // extracts and branches, 3–4× the cost of the whole sweep; compacting every vector without the
            // test measured slower still.)
            let laneBits = SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)
            let m = SIMD8<UInt32>.zero.replacing(with: laneBits, where: d .!= 0)
            let half = m.lowHalf | m.highHalf, quarter = half.lowHalf | half.highHalf
            let mask = Int(quarter[0] | quarter[1])
            let positions = SIMD8<Int32>(truncatingIfNeeded: unsafeBitCast(compaction[mask], to: SIMD8<UInt8>.self))
            UnsafeMutableRawPointer(list + count).storeBytes(of: positions &+ Int32(truncatingIfNeeded: 8 * v),
                                                             as: SIMD8<Int32>.self)
            count &+= mask.nonzeroBitCount
        }
        listCount = count
        return ((lossAcc0 + lossAcc1).sum(), deltaAcc.sum(), Int(nonZero.wrappedSum()))
    }

    /// Output-side backward from the listed non-zero δ only: for each feature j, ∂D_j += Σ_r δ_rj h_r (held
    /// in registers across j's rows) and ∂h_r += δ_rj D_j. Writes `hiddenGrad` [R][mPad] (zeroed first);
    /// needs row-major `hidden`.
    private func sparseOutputBackward(rows R: Int, workspace ws: PassWorkspace, gradDecoderT: UnsafeMutablePointer<Float>) {
        ws.hiddenGrad.update(repeating: 0, count: R * mPad)
        // Up to 6 vectors (48 hidden units) per pass over the entries: 2 × 6 registers for ∂D_j and D_j.
        let V = mPad / 8
        var kv = 0
        while kv < V {
            let tv = min(6, V - kv)
            switch tv {
            case 6: sparseOutputGroup(6, kv, ws, gradDecoderT)
            case 5: sparseOutputGroup(5, kv, ws, gradDecoderT)
            case 4: sparseOutputGroup(4, kv, ws, gradDecoderT)
            case 3: sparseOutputGroup(3, kv, ws, gradDecoderT)
            case 2: sparseOutputGroup(2, kv, ws, gradDecoderT)
            default: sparseOutputGroup(1, kv, ws, gradDecoderT)
            }
            kv += tv
        }
    }

    /// Hidden columns 8·kv ..< 8·(kv + tv) of the sparse output backward (tv ≤ 6).
    @inline(__always)
    private func sparseOutputGroup(_ tv: Int, _ kv: Int, _ ws: PassWorkspace, _ gradDecoderT: UnsafeMutablePointer<Float>) {
        let zero = SIMD8<Float>.zero
        let h = ws.hidden, dh = ws.hiddenGrad, deltaStart = ws.deltaStart, deltaRow = ws.deltaRow
        let stride = ws.laneStride
        for j in 0..<n {
            let e0 = Int(deltaStart[j]), e1 = Int(deltaStart[j + 1])
            if e0 == e1 { continue }
            let deltas = ws.deltasT + j * stride
            let g = gradDecoderT + j * mPad + 8 * kv, w = decoderT + j * mPad + 8 * kv
            var a0 = load8(g, 0), a1 = tv > 1 ? load8(g, 8) : zero, a2 = tv > 2 ? load8(g, 16) : zero
            var a3 = tv > 3 ? load8(g, 24) : zero, a4 = tv > 4 ? load8(g, 32) : zero, a5 = tv > 5 ? load8(g, 40) : zero
            let w0 = load8(w, 0), w1 = tv > 1 ? load8(w, 8) : zero, w2 = tv > 2 ? load8(w, 16) : zero
            let w3 = tv > 3 ? load8(w, 24) : zero, w4 = tv > 4 ? load8(w, 32) : zero, w5 = tv > 5 ? load8(w, 40) : zero
            for e in e0..<e1 {
                let r = Int(deltaRow[e])
                let d = SIMD8<Float>(repeating: deltas[r])
                let hp = h + r * mPad + 8 * kv, gp = dh + r * mPad + 8 * kv
                a0 = a0.addingProduct(d, load8(hp, 0)); store8(load8(gp, 0).addingProduct(d, w0), gp, 0)
                if tv > 1 { a1 = a1.addingProduct(d, load8(hp, 8)); store8(load8(gp, 8).addingProduct(d, w1), gp, 8) }
                if tv > 2 { a2 = a2.addingProduct(d, load8(hp, 16)); store8(load8(gp, 16).addingProduct(d, w2), gp, 16) }
                if tv > 3 { a3 = a3.addingProduct(d, load8(hp, 24)); store8(load8(gp, 24).addingProduct(d, w3), gp, 24) }
                if tv > 4 { a4 = a4.addingProduct(d, load8(hp, 32)); store8(load8(gp, 32).addingProduct(d, w4), gp, 32) }
                if tv > 5 { a5 = a5.addingProduct(d, load8(hp, 40)); store8(load8(gp, 40).addingProduct(d, w5), gp, 40) }
            }
            store8(a0, g, 0)
            if tv > 1 { store8(a1, g, 8) }
            if tv > 2 { store8(a2, g, 16) }
            if tv > 3 { store8(a3, g, 24) }
            if tv > 4 { store8(a4, g, 32) }
            if tv > 5 { store8(a5, g, 40) }
        }
    }

    /// One Adam/AdamW update of every parameter from the current gradients (PyTorch's formulas):
    /// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε).
    /// `adam` adds λp to g (L2); `adamw` first shrinks p ← p(1 − lr·λ) (decoupled). Biases are decayed too,
    /// as `torch.optim.AdamW(model.parameters())` does.
    func adamUpdate(learningRate lr: Double, beta1: Double, beta2: Double, epsilon: Double,
                    weightDecay: Double, decoupled: Bool) {
        adamStep += 1
        // β₁ᵗ and β₂ᵗ as running products (two `pow` calls per step were a few % of a small model's step).
        if adamStep == 1 || beta1 != adamBetas.beta1 || beta2 != adamBetas.beta2 {
            let t = Double(adamStep)
            adamBetaPowers = (pow(beta1, t), pow(beta2, t))
            adamBetas = (beta1, beta2)
        } else {
            adamBetaPowers = (adamBetaPowers.beta1 * beta1, adamBetaPowers.beta2 * beta2)
        }
        let c1 = 1 - adamBetaPowers.beta1, c2 = 1 - adamBetaPowers.beta2
        let h = AdamHyper(stepSize: Float(lr / c1), beta1: Float(beta1), beta2: Float(beta2),
                          invSqrtC2: Float(1 / c2.squareRoot()), epsilon: Float(epsilon),
                          l2: decoupled ? 0 : Float(weightDecay), shrink: decoupled ? Float(1 - lr * weightDecay) : 1)
        Self.adam(count: n * mPad, param: encoder, grad: gradEncoder, m: mEncoder, v: vEncoder, h)
        if !model.isTied { Self.adam(count: n * mPad, param: decoderT, grad: gradDecoderT, m: mDecoderT, v: vDecoderT, h) }
        Self.adam(count: nPad, param: bias, grad: gradBias, m: mBias, v: vBias, h)
        refreshDecoder()
    }

    struct AdamHyper { var stepSize, beta1, beta2, invSqrtC2, epsilon, l2, shrink: Float }

    /// The Adam update of `count` (a multiple of 8) parameters, eight lanes at a time; each lane computes
    /// exactly what the scalar formula does (no fused multiply-adds).
    @inline(__always)
    static func adam(count: Int, param: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>,
                     m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, _ h: AdamHyper) {
        let l2 = SIMD8<Float>(repeating: h.l2), b1 = SIMD8<Float>(repeating: h.beta1), b2 = SIMD8<Float>(repeating: h.beta2)
        let ob1 = SIMD8<Float>(repeating: 1 - h.beta1), ob2 = SIMD8<Float>(repeating: 1 - h.beta2)
        let shrink = SIMD8<Float>(repeating: h.shrink), step = SIMD8<Float>(repeating: h.stepSize)
        let invSqrtC2 = SIMD8<Float>(repeating: h.invSqrtC2), eps = SIMD8<Float>(repeating: h.epsilon)
        var i = 0
        while i < count {
            let p = load8(param, i)
            let g = load8(grad, i) + l2 * p
            let mi = b1 * load8(m, i) + ob1 * g
            let vi = b2 * load8(v, i) + ob2 * g * g
            store8(mi, m, i); store8(vi, v, i)
            store8(p * shrink - step * mi / (vi.squareRoot() * invSqrtC2 + eps), param, i)
            i += 8
        }
    }
}
