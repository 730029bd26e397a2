import TMSCore

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

/// Where the fused kernel keeps the parameters it reads and the per-vector values and lane-wise gradient
/// sums it writes. Two kinds: `FixedScratch` (n and m known at compile time: loops unroll and everything
/// lives in registers) and `WorkspaceScratch` (any n·m up to `InstanceState.fusedModelLimit`, in L1).
/// The kernel's arithmetic is written once, in `InstanceState.fusedVector`, for both.
protocol FusedScratch {
    associatedtype Vectors: FusedVectors
    var n: Int { get }
    var m: Int { get }
    /// Storage for one vector of 8 rows' h and δ (fresh per vector: for fixed shapes, registers).
    func makeVectors() -> Vectors
    /// E_ik (encoder row i, hidden unit k), D_ik (decoder row i), b_i, I_i.
    func encoderWeight(_ i: Int, _ k: Int) -> Float
    func decoderWeight(_ i: Int, _ k: Int) -> Float
    func bias(_ i: Int) -> Float
    func importance(_ i: Int) -> Float
    /// Lane-wise sums: ∂W [m][n] (tied: both products; `abs`: x·∂hᵀ), ∂W₂ [n][m] (`abs`), ∂b [n].
    subscript(gradW k: Int, i: Int) -> SIMD8<Float> { get set }
    subscript(gradW2 i: Int, k: Int) -> SIMD8<Float> { get set }
    subscript(gradBias i: Int) -> SIMD8<Float> { get set }
}

/// Eight rows' h_k, δ_i. (x_i is read from the batch where it is used, an L1 load folded into the product:
/// kept here, the compiler left it partly in memory and re-read its lanes, docs/performance.md#fused-kernel.)
protocol FusedVectors {
    subscript(h k: Int) -> SIMD8<Float> { get set }
    subscript(delta i: Int) -> SIMD8<Float> { get set }
}

struct FixedVectors<let N: Int, let M: Int>: FusedVectors {
    private var dv = InlineArray<N, SIMD8<Float>>(repeating: .zero), hv = InlineArray<M, SIMD8<Float>>(repeating: .zero)
    subscript(h k: Int) -> SIMD8<Float> { @inline(__always) get { hv[k] } @inline(__always) set { hv[k] = newValue } }
    subscript(delta i: Int) -> SIMD8<Float> { @inline(__always) get { dv[i] } @inline(__always) set { dv[i] = newValue } }
}

struct WorkspaceVectors: FusedVectors {
    let hv, dv: UnsafeMutablePointer<SIMD8<Float>>
    subscript(h k: Int) -> SIMD8<Float> { @inline(__always) get { hv[k] } @inline(__always) nonmutating set { hv[k] = newValue } }
    subscript(delta i: Int) -> SIMD8<Float> { @inline(__always) get { dv[i] } @inline(__always) nonmutating set { dv[i] = newValue } }
}

/// n = N, m = M at compile time: parameters copied into inline arrays, everything else in registers.
struct FixedScratch<let N: Int, let M: Int>: FusedScratch {
    var n: Int { N }
    var m: Int { M }
    private var enc = InlineArray<M, InlineArray<N, Float>>(repeating: InlineArray(repeating: 0))
    private var dec = InlineArray<N, InlineArray<M, Float>>(repeating: InlineArray(repeating: 0))
    private var b = InlineArray<N, Float>(repeating: 0), imp = InlineArray<N, Float>(repeating: 0)
    private var gW = InlineArray<M, InlineArray<N, SIMD8<Float>>>(repeating: InlineArray(repeating: .zero))
    private var gW2 = InlineArray<N, InlineArray<M, SIMD8<Float>>>(repeating: InlineArray(repeating: .zero))
    private var gb = InlineArray<N, SIMD8<Float>>(repeating: .zero)

    @inline(__always) init(_ state: InstanceState) {
        for i in 0..<N {
            for k in 0..<M { enc[k][i] = state.encoder[i * state.mPad + k]; dec[i][k] = state.decoderT[i * state.mPad + k] }
            b[i] = state.bias[i]; imp[i] = state.importance[i]
        }
    }
    @inline(__always) func makeVectors() -> FixedVectors<N, M> { FixedVectors() }
    @inline(__always) func encoderWeight(_ i: Int, _ k: Int) -> Float { enc[k][i] }
    @inline(__always) func decoderWeight(_ i: Int, _ k: Int) -> Float { dec[i][k] }
    @inline(__always) func bias(_ i: Int) -> Float { b[i] }
    @inline(__always) func importance(_ i: Int) -> Float { imp[i] }
    subscript(gradW k: Int, i: Int) -> SIMD8<Float> { @inline(__always) get { gW[k][i] } @inline(__always) set { gW[k][i] = newValue } }
    subscript(gradW2 i: Int, k: Int) -> SIMD8<Float> { @inline(__always) get { gW2[i][k] } @inline(__always) set { gW2[i][k] = newValue } }
    subscript(gradBias i: Int) -> SIMD8<Float> { @inline(__always) get { gb[i] } @inline(__always) set { gb[i] = newValue } }
}

/// Any n and m: parameters read in place, values and sums in the workspace's `fused` buffer
/// (h [m], δ [n], ∂W [m][n], ∂W₂ [n][m], ∂b [n], SIMD8 each), the sums zeroed on creation.
struct WorkspaceScratch: FusedScratch {
    let n: Int, m: Int, mPad: Int
    let encoder, decoderT, biasValues, importanceValues: UnsafeMutablePointer<Float>
    let hv, dv, gW, gW2, gb: UnsafeMutablePointer<SIMD8<Float>>

    @inline(__always) init(_ state: InstanceState, _ ws: PassWorkspace) {
        n = state.n; m = state.m; mPad = state.mPad
        encoder = state.encoder; decoderT = state.decoderT; biasValues = state.bias; importanceValues = state.importance
        hv = ws.fused; dv = hv + m; gW = dv + n; gW2 = gW + m * n; gb = gW2 + n * m
        gW.update(repeating: .zero, count: 2 * m * n + n)
    }
    @inline(__always) func makeVectors() -> WorkspaceVectors { WorkspaceVectors(hv: hv, dv: dv) }
    @inline(__always) func encoderWeight(_ i: Int, _ k: Int) -> Float { encoder[i * mPad + k] }
    @inline(__always) func decoderWeight(_ i: Int, _ k: Int) -> Float { decoderT[i * mPad + k] }
    @inline(__always) func bias(_ i: Int) -> Float { biasValues[i] }
    @inline(__always) func importance(_ i: Int) -> Float { importanceValues[i] }
    subscript(gradW k: Int, i: Int) -> SIMD8<Float> {
        @inline(__always) get { gW[k * n + i] } @inline(__always) nonmutating set { gW[k * n + i] = newValue }
    }
    subscript(gradW2 i: Int, k: Int) -> SIMD8<Float> {
        @inline(__always) get { gW2[i * m + k] } @inline(__always) nonmutating set { gW2[i * m + k] = newValue }
    }
    subscript(gradBias i: Int) -> SIMD8<Float> { @inline(__always) get { gb[i] } @inline(__always) nonmutating set { gb[i] = newValue } }
}

extension InstanceState {
    /// The largest n·m the fused kernel accepts (its per-row scratch lives in L1).
    static let fusedModelLimit = 256

    /// The fused small-model kernel for one chunk (same contract as `generalChunk`): every step of a row's
    /// forward and backward pass in registers or L1 scratch, with no intermediate buffers, transposes or
    /// per-product calls (for n·m of a few dozen those cost more than the arithmetic). The paper's small
    /// shapes get n and m at compile time (4–5× faster than the general loops for n = 2, m = 1).
    func fusedChunk<F: ModelFlags>(_ flags: F.Type, _ span: ChunkSpan, gradientBlock grads: UnsafeMutablePointer<Float>?,
                                   workspace ws: PassWorkspace, csr batchCSR: CSRView?, blockSums: Bool?) -> Double {
        grads?.update(repeating: 0, count: gradientCount)
        ws.lastDeltaCount = span.rows * n
        let inputs = scatterInputs(span, dense: true, workspace: ws, csr: batchCSR)
        defer { clearScatteredInputs(inputs, span, workspace: ws) }
        let x = inputs.dense!, xs = inputs.denseStride
        switch (n, m) {
        case (2, 1): return fusedRows(F.self, FixedScratch<2, 1>(self), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        case (3, 2): return fusedRows(F.self, FixedScratch<3, 2>(self), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        case (4, 2): return fusedRows(F.self, FixedScratch<4, 2>(self), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        case (5, 2): return fusedRows(F.self, FixedScratch<5, 2>(self), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        case (6, 2): return fusedRows(F.self, FixedScratch<6, 2>(self), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        case (6, 3): return fusedRows(F.self, FixedScratch<6, 3>(self), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        case (3, 6): return fusedRows(F.self, FixedScratch<3, 6>(self), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        default: return fusedRows(F.self, WorkspaceScratch(self, ws), x: x, xs: xs, span, grads, records: ws.fusedRecords, byBlock: blockSums)
        }
    }

    /// The fused kernel's loop over a chunk's vectors of 8 rows [n][xs] (batch-lane), `fusedVector` for each
    /// (block by block with `fusedBlockSums` for models with many gradient sums), then the lane-wise gradient
    /// sums reduced into `grads`. Returns the chunk's Σ_rows Σ_i I_i (x′_i − t_i)².
    @inline(__always)
    func fusedRows<F: ModelFlags, S: FusedScratch>(_ flags: F.Type, _ scratch: S, x: UnsafePointer<Float>, xs: Int,
                                                   _ span: ChunkSpan, _ grads: UnsafeMutablePointer<Float>?,
                                                   records: UnsafeMutablePointer<SIMD8<Float>>, byBlock: Bool?) -> Double {
        // A local copy: the compiler keeps a local's sums in registers, where through an `inout` it loaded and
        // stored them on every update (measured: 15 % more instructions for 5→2).
        var s = scratch
        let n = s.n, m = s.m
        var loss = (SIMD8<Float>.zero, SIMD8<Float>.zero)
        // Whole vectors need no mask, so they get a loop of their own (`padded: nil` folds away after inlining;
        // an optional mask tested per vector cost ~25 instructions of each 5→2 vector, one mask applied to every
        // vector ~7; docs/performance.md#fused-kernel). The last vector or two hold the padded rows, masked out
        // of the loss and δ.
        let full = span.rows / 8, vectors = span.R / 8
        let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        @inline(__always) func padding(_ v: Int) -> SIMDMask<SIMD8<Int32>> {
            lane .>= SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: span.rows - 8 * v))
        }
        let gradients = grads != nil
        if gradients && byBlock ?? Self.sumsByBlock(n: n, m: m, tied: F.tied) {
            // Block by block: each vector's h and δ to a record, then the block's ∂h and lane-wise sums, a few
            // sums at a time in registers (`fusedBlockSums`): each sum takes the block's vectors in row order,
            // as vector by vector does, so the results are the same, bit for bit.
            let size = 2 * m + n, perBlock = Self.blockVectors(n: n, m: m)
            var v0 = 0
            while v0 < full {
                let count = min(perBlock, full &- v0)
                for b in 0..<count {
                    fusedVector(F.self, &s, x: x + 8 &* (v0 &+ b), xs: xs, span.scale2, padded: nil, &loss, gradients: true,
                                record: records + b &* size)
                }
                fusedBlockSums(F.self, &s, count: count, x: x + 8 &* v0, xs: xs, records: records)
                v0 += count
            }
        } else {
            for v in 0..<full {
                fusedVector(F.self, &s, x: x + 8 &* v, xs: xs, span.scale2, padded: nil, &loss, gradients: gradients, record: nil)
            }
        }
        // The padded vectors (after the whole ones in every sum, blocked or not) vector by vector.
        for v in full..<vectors {
            fusedVector(F.self, &s, x: x + 8 * v, xs: xs, span.scale2, padded: padding(v), &loss, gradients: gradients, record: nil)
        }
        if let grads {
            let gradDecoderT = grads + (F.tied ? 0 : n * mPad), gradBias = grads + n * mPad * (F.tied ? 1 : 2)
            for k in 0..<m { for i in 0..<n { grads[i * mPad + k] = s[gradW: k, i].sum() } }
            if !F.tied { for i in 0..<n { for k in 0..<m { gradDecoderT[i * mPad + k] = s[gradW2: i, k].sum() } } }
            for i in 0..<n { gradBias[i] = s[gradBias: i].sum() }
        }
        return Double((loss.0 + loss.1).sum())
    }

    /// One vector of 8 rows (x_i read from `x + i·xs` where used): h = act(E x) (m), y = Dᵀh + b, the loss,
    /// δ (n), ∂h = D δ (m, masked behind a hidden ReLU) and every weight gradient, summed lane-wise into `s`;
    /// the rows whose lane is set in `padded` count for nothing. Adds I_i (x′_i − t_i)² to `loss` (even i to .0,
    /// odd to .1). One function of ~50 lines on purpose: encode, decode + loss and backward share the
    /// vector's registers, which separate (non-inlined) phases would spill. With `record` (block by block),
    /// the backward pass stops at δ: h and δ go to the record for `fusedBlockSums`.
    ///
    /// `@_transparent`, not `@inline(__always)`: with three call sites the optimiser left it a call, where the
    /// flags and the optional mask and record became tests at run time and the sums went through memory
    /// (5→2: 1.3× the time of the whole run; docs/performance.md#whole-job-third-pass).
    @_transparent
    func fusedVector<F: ModelFlags, S: FusedScratch>(_ flags: F.Type, _ s: inout S, x: UnsafePointer<Float>, xs: Int,
                                                     _ scale2: Float, padded: SIMDMask<SIMD8<Int32>>?,
                                                     _ loss: inout (SIMD8<Float>, SIMD8<Float>), gradients: Bool,
                                                     record: UnsafeMutablePointer<SIMD8<Float>>?) {
        let n = s.n, m = s.m, zero = SIMD8<Float>.zero
        var vec = s.makeVectors()
        @inline(__always) func xi(_ i: Int) -> SIMD8<Float> { Kernels.load8(x + i &* xs, 0) }
        // Encode: h_k = act(Σ_i E_ik x_i), two FMA chains.
        for k in 0..<m {
            var a0 = zero, a1 = zero
            var i = 0
            while i + 1 < n {
                a0 = a0.addingProduct(SIMD8(repeating: s.encoderWeight(i, k)), xi(i))
                a1 = a1.addingProduct(SIMD8(repeating: s.encoderWeight(i + 1, k)), xi(i + 1))
                i += 2
            }
            if i < n { a0 = a0.addingProduct(SIMD8(repeating: s.encoderWeight(i, k)), xi(i)) }
            let pre = a0 + a1
            vec[h: k] = F.reluHidden ? pre.replacing(with: 0, where: pre .< 0) : pre
        }
        // Decode and loss: y_i = b_i + Σ_k D_ik h_k, x′ = act(y), δ_i = 2 s I_i (x′ − t)·act′(y).
        for i in 0..<n {
            var y = SIMD8<Float>(repeating: s.bias(i))
            for k in 0..<m { y = y.addingProduct(SIMD8(repeating: s.decoderWeight(i, k)), vec[h: k]) }
            let out = F.reluOut ? y.replacing(with: 0, where: y .< 0) : y
            let t = F.signed ? absoluteValue(xi(i)) : xi(i)
            var diff = out - t
            if let padded { diff = diff.replacing(with: 0, where: padded) }
            let imp = s.importance(i)
            if i & 1 == 0 { loss.0 = loss.0.addingProduct(SIMD8(repeating: imp) * diff, diff) } else { loss.1 = loss.1.addingProduct(SIMD8(repeating: imp) * diff, diff) }
            var d = SIMD8<Float>(repeating: scale2 * imp) * diff
            if F.reluOut { d = d.replacing(with: 0, where: y .<= 0) }
            vec[delta: i] = d
        }
        guard gradients else { return }
        if let record {
            // Blocked: h and δ recorded for `fusedBlockSums`, which computes ∂h for the block's vectors together
            // (here each vector's n-long chain of FMAs for ∂h waited on its δ).
            for k in 0..<m { record[k] = vec[h: k] }
            for i in 0..<n { record[2 * m + i] = vec[delta: i] }
            return
        }
        // Backward: ∂b += δ; ∂h_k = Σ_i D_ik δ_i (masked behind a hidden ReLU); ∂E_ik += x_i ∂h_k, and
        // (paired with it) ∂D_ik += δ_i h_k.
        for i in 0..<n { s[gradBias: i] += vec[delta: i] }
        for k in 0..<m {
            var a = zero
            for i in 0..<n { a = a.addingProduct(SIMD8(repeating: s.decoderWeight(i, k)), vec[delta: i]) }
            let dh = F.reluHidden ? a.replacing(with: 0, where: vec[h: k] .<= 0) : a
            if F.tied {
                for i in 0..<n { s[gradW: k, i] = s[gradW: k, i].addingProduct(xi(i), dh).addingProduct(vec[delta: i], vec[h: k]) }
            } else {
                for i in 0..<n { s[gradW: k, i] = s[gradW: k, i].addingProduct(xi(i), dh) }
            }
        }
        if !F.tied {
            for i in 0..<n { for k in 0..<m { s[gradW2: i, k] = s[gradW2: i, k].addingProduct(vec[delta: i], vec[h: k]) } }
        }
    }
}
