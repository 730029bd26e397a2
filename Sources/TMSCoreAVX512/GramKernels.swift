/// The Gram path's two row kernels (TMSModels' InstanceState+Gram.swift, docs/models.md#gram-path),
/// written once in 16-lane vectors and compiled twice: `TMSCore`'s `Kernels.gramRows`/`gramPairs` inline
/// these bodies into TMSCore (built for AVX2: each vector two 8-lane halves), and
/// `WideKernels.gramRows`/`gramPairs` (`@inline(never)`, this module, built for AVX-512) compile them as one
/// zmm register per vector. Element-wise FMAs and the same reductions give the same bits either way.
/// `@_transparent` (always inlined), so that TMSCore never calls a copy compiled here (see `LaneDraws`).
///
/// Layouts: rows of nPad (`stride`, a multiple of 16) floats, padding zero; CSR rows as in TMSModels.
public enum GramKernels {
    @usableFromInline @_transparent static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }
    @usableFromInline @_transparent static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// For rows r < `rows` of a CSR chunk: y = Σ_{i: x_i≠0} x_i G_i + b, x′ = ReLU(y) (`relu`) or y, and the
    /// loss Σ_j I_j (x′_j − x_j)² (returned, summed per row in Float, then in Double); with `gradBias`, δ_j =
    /// 2s I_j (x′_j − x_j)·act′(y_j) into `deltas` + r·stride, ∂b += δ, and the count of non-zero δ.
    /// A row goes in blocks of 64 outputs held in registers (b, one FMA per non-zero, four chains, then the
    /// block's loss and δ), so y never goes to memory. `target` [stride] is zero on entry and on return.
    @_transparent
    public static func rows(relu: Bool, rows: Int, rowStart: UnsafePointer<Int32>, columns: UnsafePointer<Int32>,
                            values: UnsafePointer<Float>, gram G: UnsafePointer<Float>, stride N: Int,
                            bias b: UnsafePointer<Float>, importance imp: UnsafePointer<Float>, scale2 s2: Float,
                            target t: UnsafeMutablePointer<Float>, deltas: UnsafeMutablePointer<Float>,
                            gradBias: UnsafeMutablePointer<Float>?) -> (loss: Double, nonZero: Int) {
        let scale2 = SIMD16<Float>(repeating: s2)
        var loss = 0.0
        var nonZero = SIMD16<Int32>.zero
        for r in 0..<rows {
            let first = Int(rowStart[r]), end = Int(rowStart[r &+ 1])
            for e in first..<end { t[Int(columns[e])] = values[e] }
            var lossAcc0 = SIMD16<Float>.zero, lossAcc1 = SIMD16<Float>.zero
            let d = deltas + r &* N
            @inline(__always) func sweep(_ pre: SIMD16<Float>, _ q: Int, _ lossAcc: inout SIMD16<Float>) {
                let out = relu ? pre.replacing(with: 0, where: pre .< 0) : pre
                let diff = out - load(t, q)
                let iv = load(imp, q)
                lossAcc = lossAcc.addingProduct(iv * diff, diff)
                guard let gradBias else { return }
                var dv = (scale2 * iv) * diff
                if relu { dv = dv.replacing(with: 0, where: pre .<= 0) }
                store(dv, d, q)
                store(load(gradBias, q) + dv, gradBias, q)
                nonZero &-= SIMD16<Int32>.zero.replacing(with: -1, where: dv .!= 0)
            }
            var q = 0
            while q &+ 64 <= N {
                var y0 = load(b, q), y1 = load(b, q &+ 16), y2 = load(b, q &+ 32), y3 = load(b, q &+ 48)
                for e in first..<end {
                    let v = SIMD16<Float>(repeating: values[e]), g = G + (Int(columns[e]) &* N &+ q)
                    y0 = y0.addingProduct(v, load(g, 0)); y1 = y1.addingProduct(v, load(g, 16))
                    y2 = y2.addingProduct(v, load(g, 32)); y3 = y3.addingProduct(v, load(g, 48))
                }
                sweep(y0, q, &lossAcc0); sweep(y1, q &+ 16, &lossAcc1)
                sweep(y2, q &+ 32, &lossAcc0); sweep(y3, q &+ 48, &lossAcc1)
                q &+= 64
            }
            while q < N {
                var y0 = load(b, q)
                for e in first..<end {
                    y0 = y0.addingProduct(SIMD16<Float>(repeating: values[e]), load(G + (Int(columns[e]) &* N &+ q), 0))
                }
                sweep(y0, q, &lossAcc0)
                q &+= 16
            }
            loss += Double((lossAcc0 + lossAcc1).sum())
            for e in first..<end { t[Int(columns[e])] = 0 }
        }
        return (loss, Int(nonZero.wrappedSum()))
    }

    /// A[i] += Σ_p value[p]·δ[row[p]] over feature i's non-zeros p ∈ start[i] ..< start[i + 1] (rows in
    /// increasing order), for i < `features`, δ rows at `deltas` + row·stride. A is taken in blocks of 64
    /// columns: a block of A's row i is loaded once, gets one FMA per non-zero of i, and is stored once.
    @_transparent
    public static func pairs(features n: Int, stride N: Int, start: UnsafePointer<Int32>, entryRow: UnsafePointer<Int32>,
                             entryValue: UnsafePointer<Float>, deltas: UnsafePointer<Float>, into A: UnsafeMutablePointer<Float>) {
        var j0 = 0
        while j0 &+ 64 <= N {
            for i in 0..<n where start[i] < start[i &+ 1] {
                let a = A + (i &* N &+ j0)
                var a0 = load(a, 0), a1 = load(a, 16), a2 = load(a, 32), a3 = load(a, 48)
                for p in Int(start[i])..<Int(start[i &+ 1]) {
                    let v = SIMD16<Float>(repeating: entryValue[p]), d = deltas + (Int(entryRow[p]) &* N &+ j0)
                    a0 = a0.addingProduct(v, load(d, 0)); a1 = a1.addingProduct(v, load(d, 16))
                    a2 = a2.addingProduct(v, load(d, 32)); a3 = a3.addingProduct(v, load(d, 48))
                }
                store(a0, a, 0); store(a1, a, 16); store(a2, a, 32); store(a3, a, 48)
            }
            j0 &+= 64
        }
        while j0 < N {
            for i in 0..<n where start[i] < start[i &+ 1] {
                let a = A + (i &* N &+ j0)
                var a0 = load(a, 0)
                for p in Int(start[i])..<Int(start[i &+ 1]) {
                    a0 = a0.addingProduct(SIMD16<Float>(repeating: entryValue[p]), load(deltas + (Int(entryRow[p]) &* N &+ j0), 0))
                }
                store(a0, a, 0)
            }
            j0 &+= 16
        }
    }
}

extension WideKernels {
    /// `GramKernels.rows` compiled for AVX-512.
    @inline(never)
    public static func gramRows(relu: Bool, rows: Int, rowStart: UnsafePointer<Int32>, columns: UnsafePointer<Int32>,
                                values: UnsafePointer<Float>, gram G: UnsafePointer<Float>, stride N: Int,
                                bias b: UnsafePointer<Float>, importance imp: UnsafePointer<Float>, scale2: Float,
                                target t: UnsafeMutablePointer<Float>, deltas: UnsafeMutablePointer<Float>,
                                gradBias: UnsafeMutablePointer<Float>?) -> (loss: Double, nonZero: Int) {
        GramKernels.rows(relu: relu, rows: rows, rowStart: rowStart, columns: columns, values: values, gram: G, stride: N,
                         bias: b, importance: imp, scale2: scale2, target: t, deltas: deltas, gradBias: gradBias)
    }

    /// `GramKernels.pairs` compiled for AVX-512.
    @inline(never)
    public static func gramPairs(features n: Int, stride N: Int, start: UnsafePointer<Int32>, entryRow: UnsafePointer<Int32>,
                                 entryValue: UnsafePointer<Float>, deltas: UnsafePointer<Float>, into A: UnsafeMutablePointer<Float>) {
        GramKernels.pairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue, deltas: deltas, into: A)
    }
}
