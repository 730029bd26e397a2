import TMSCore

// The fused kernel's block-by-block gradient sums (`InstanceState.fusedRows` for models with many sums):
// each vector's h and δ are recorded, then a block's sums are taken a few at a time, in registers, over its
// vectors in row order, the order of the vector-by-vector sums, so the results are the same bit for bit
// (docs/performance.md#whole-job-third-pass).

extension InstanceState {
    /// Whether the fused kernel sums a chunk's gradients block by block (`fusedBlockSums`) rather than
    /// vector by vector: when its lane-wise sums (n·m, or 2·n·m untied, plus n) outnumber what 16 vector
    /// registers hold beside a vector's values, summed vector by vector they were spilled and reloaded on every
    /// vector. Except 6→3, measured faster vector by vector (docs/performance.md#whole-job-third-pass).
    @inline(__always)
    static func sumsByBlock(n: Int, m: Int, tied: Bool) -> Bool { (tied ? 1 : 2) * n * m + n > 10 && !(n == 6 && m == 3) }

    /// Vectors of 8 rows per block: up to 16, and records ((2m + n) SIMD8 each) of at most 16 KB in all.
    static func blockVectors(n: Int, m: Int) -> Int { max(1, min(16, 512 / (2 * m + n))) }

    /// Adds a block of `count` vectors to the lane-wise sums in `s`, from their records (h [m], ∂h [m], δ [n]
    /// per vector at `records` + b·(2m + n); ∂h is filled in here first) and x: ∂b_i += δ_i; tied:
    /// ∂W_ki += x_i ∂h_k + δ_i h_k; untied: ∂E_ki += x_i ∂h_k, ∂D_ik += δ_i h_k. Up to 10 sums at a time stay
    /// in registers across the block, each taking the vectors in order.
    @inline(__always)
    func fusedBlockSums<F: ModelFlags, S: FusedScratch>(_ flags: F.Type, _ s: inout S, count: Int, x: UnsafePointer<Float>,
                                                        xs: Int, records: UnsafeMutablePointer<SIMD8<Float>>) {
        let n = s.n, m = s.m, size = 2 * m + n
        // ∂h_k = Σ_i D_ik δ_i (masked behind a hidden ReLU) of every vector: independent chains, one per vector.
        for b in 0..<count {
            let r = records + b &* size
            for k in 0..<m {
                var a = SIMD8<Float>.zero
                for i in 0..<n { a = a.addingProduct(SIMD8(repeating: s.decoderWeight(i, k)), r[2 * m + i]) }
                r[m + k] = F.reluHidden ? a.replacing(with: 0, where: r[k] .<= 0) : a
            }
        }
        // Groups of at most `cap` features, as even as can be (6 → 3 + 3, not 5 + 1: a group of one sum waits
        // on its own chain of FMAs).
        @inline(__always) func width(_ i: Int, cap: Int) -> Int {
            let left = n - i, groups = (left + cap - 1) / cap
            return (left + groups - 1) / groups
        }
        var i = 0
        while i < n { let w = width(i, cap: 6); blockSumGroup(BiasSums.self, w, &s, k: 0, i, count, x, xs, records); i += w }
        var k = 0
        while k < m {
            let pair = F.tied && k + 1 < m
            i = 0
            while i < n {
                let w = width(i, cap: F.tied && !pair ? 6 : 5)
                if !F.tied {
                    blockSumGroup(InputSums.self, w, &s, k: k, i, count, x, xs, records)
                    blockSumGroup(OutputSums.self, w, &s, k: k, i, count, x, xs, records)
                } else if pair {
                    blockSumGroup(TiedPairSums.self, w, &s, k: k, i, count, x, xs, records)
                } else {
                    blockSumGroup(TiedSums.self, w, &s, k: k, i, count, x, xs, records)
                }
                i += w
            }
            k += pair ? 2 : 1
        }
    }

    /// The sums of features i ..< i + w (w ≤ 6; ≤ 5 for pairs) of one kind, for hidden unit k (and k + 1 for
    /// pairs), over a block's vectors.
    @inline(__always)
    func blockSumGroup<K: BlockSumKind, S: FusedScratch>(_ kind: K.Type, _ w: Int, _ s: inout S, k: Int, _ i: Int, _ count: Int,
                                                         _ x: UnsafePointer<Float>, _ xs: Int,
                                                         _ records: UnsafeMutablePointer<SIMD8<Float>>) {
        switch w {
        case 6: blockSums(K.self, 6, &s, k, i, count, x, xs, records)
        case 5: blockSums(K.self, 5, &s, k, i, count, x, xs, records)
        case 4: blockSums(K.self, 4, &s, k, i, count, x, xs, records)
        case 3: blockSums(K.self, 3, &s, k, i, count, x, xs, records)
        case 2: blockSums(K.self, 2, &s, k, i, count, x, xs, records)
        default: blockSums(K.self, 1, &s, k, i, count, x, xs, records)
        }
    }

    @inline(__always)
    private func blockSums<K: BlockSumKind, S: FusedScratch>(_ kind: K.Type, _ w: Int, _ s: inout S, _ k: Int, _ i: Int, _ count: Int,
                                                             _ x: UnsafePointer<Float>, _ xs: Int,
                                                             _ records: UnsafeMutablePointer<SIMD8<Float>>) {
        let n = s.n, m = s.m, size = 2 * m + n, zero = SIMD8<Float>.zero, pair = K.kind == .tiedPair
        @inline(__always) func get(_ j: Int, _ kk: Int) -> SIMD8<Float> {
            guard j < w && (kk == 0 || pair) else { return zero }
            switch K.kind {
            case .bias: return s[gradBias: i + j]
            case .tied, .tiedPair, .input: return s[gradW: k + kk, i + j]
            case .output: return s[gradW2: i + j, k + kk]
            }
        }
        @inline(__always) func set(_ j: Int, _ kk: Int, _ v: SIMD8<Float>) {
            guard j < w && (kk == 0 || pair) else { return }
            switch K.kind {
            case .bias: s[gradBias: i + j] = v
            case .tied, .tiedPair, .input: s[gradW: k + kk, i + j] = v
            case .output: s[gradW2: i + j, k + kk] = v
            }
        }
        var a0 = get(0, 0), a1 = get(1, 0), a2 = get(2, 0), a3 = get(3, 0), a4 = get(4, 0), a5 = get(5, 0)
        var c0 = get(0, 1), c1 = get(1, 1), c2 = get(2, 1), c3 = get(3, 1), c4 = get(4, 1)
        for b in 0..<count {
            let r = records + b &* size, xb = x + 8 &* b
            let h0 = r[k], dh0 = r[m + k], h1 = pair ? r[k + 1] : zero, dh1 = pair ? r[m + k + 1] : zero
            @inline(__always) func add(_ a: inout SIMD8<Float>, _ j: Int, _ h: SIMD8<Float>, _ dh: SIMD8<Float>) {
                let delta = r[2 * m + i + j]
                switch K.kind {
                case .bias: a += delta
                case .tied, .tiedPair: a = a.addingProduct(Kernels.load8(xb + (i + j) &* xs, 0), dh).addingProduct(delta, h)
                case .input: a = a.addingProduct(Kernels.load8(xb + (i + j) &* xs, 0), dh)
                case .output: a = a.addingProduct(delta, h)
                }
            }
            add(&a0, 0, h0, dh0)
            if w > 1 { add(&a1, 1, h0, dh0) }
            if w > 2 { add(&a2, 2, h0, dh0) }
            if w > 3 { add(&a3, 3, h0, dh0) }
            if w > 4 { add(&a4, 4, h0, dh0) }
            if w > 5 { add(&a5, 5, h0, dh0) }
            if pair {
                add(&c0, 0, h1, dh1)
                if w > 1 { add(&c1, 1, h1, dh1) }
                if w > 2 { add(&c2, 2, h1, dh1) }
                if w > 3 { add(&c3, 3, h1, dh1) }
                if w > 4 { add(&c4, 4, h1, dh1) }
            }
        }
        set(0, 0, a0); set(1, 0, a1); set(2, 0, a2); set(3, 0, a3); set(4, 0, a4); set(5, 0, a5)
        set(0, 1, c0); set(1, 1, c1); set(2, 1, c2); set(3, 1, c3); set(4, 1, c4)
    }
}

/// Which lane-wise sums a group of `InstanceState.blockSums` adds to, as a type (so that each kind's loop is
/// compiled on its own): ∂b; tied ∂W for one hidden unit or two; untied ∂E (x ∂h) or ∂D (δ h).
enum BlockSum { case bias, tied, tiedPair, input, output }
protocol BlockSumKind { static var kind: BlockSum { get } }
enum BiasSums: BlockSumKind { static var kind: BlockSum { .bias } }
enum TiedSums: BlockSumKind { static var kind: BlockSum { .tied } }
enum TiedPairSums: BlockSumKind { static var kind: BlockSum { .tiedPair } }
enum InputSums: BlockSumKind { static var kind: BlockSum { .input } }
enum OutputSums: BlockSumKind { static var kind: BlockSum { .output } }
