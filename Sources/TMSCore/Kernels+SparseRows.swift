// Sparse rows times a row-major matrix: the CSR encoder products.

extension Kernels {
    /// out[r][0..<8·V] = act(Σ_e values[e] · w[columns[e]][0..<8·V]) over the entries e ∈ rowStart[r] ..<
    /// rowStart[r + 1] of each row r < `rows` (CSR), act = ReLU (max(·, 0)) when `relu`, else the identity.
    ///
    /// - `w`: [columns][weightStride], `out`: [rows][outputStride], both with at least 8·V floats per row.
    /// Each output row is held in registers (4 vectors at a time) while its entries are added, so the row is
    /// written once, instead of being zeroed, read and written back by one `axpy` per entry and read and
    /// written again by `relu`. The terms are added in entry order from +0 by fused multiply-adds: bit for
    /// bit what zeroing the row, one `axpy` per entry and `relu` give (docs/performance.md#profile-of-the-abs-model-bench-d).
    public static func sparseRowProduct(rows: Int, rowStart: UnsafePointer<Int32>, columns: UnsafePointer<Int32>,
                                        values: UnsafePointer<Float>, weights w: UnsafePointer<Float>, weightStride ws: Int,
                                        vectors V: Int, relu: Bool, output out: UnsafeMutablePointer<Float>, outputStride os: Int) {
        // Four vectors at a time, then one: two loops with their vector counts fixed (a count passed at run
        // time kept the accumulators' guards as branches in the inner loop).
        var kv = 0
        while kv + 4 <= V { sparseRowQuad(kv, rows, rowStart, columns, values, w, ws, relu, out, os); kv += 4 }
        while kv < V { sparseRowSingle(kv, rows, rowStart, columns, values, w, ws, relu, out, os); kv += 1 }
    }

    /// Vectors kv ..< kv + 4 of every output row of `sparseRowProduct`.
    static func sparseRowQuad(_ kv: Int, _ rows: Int, _ rowStart: UnsafePointer<Int32>, _ columns: UnsafePointer<Int32>,
                              _ values: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ ws: Int, _ relu: Bool,
                              _ out: UnsafeMutablePointer<Float>, _ os: Int) {
        for r in 0..<rows {
            var a0 = SIMD8<Float>.zero, a1 = a0, a2 = a0, a3 = a0
            for e in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                let v = SIMD8<Float>(repeating: values[e]), p = w + Int(columns[e]) * ws + 8 * kv
                a0 = a0.addingProduct(v, load8(p, 0)); a1 = a1.addingProduct(v, load8(p, 8))
                a2 = a2.addingProduct(v, load8(p, 16)); a3 = a3.addingProduct(v, load8(p, 24))
            }
            let row = out + r * os + 8 * kv
            if relu {
                a0 = a0.replacing(with: 0, where: a0 .< 0); a1 = a1.replacing(with: 0, where: a1 .< 0)
                a2 = a2.replacing(with: 0, where: a2 .< 0); a3 = a3.replacing(with: 0, where: a3 .< 0)
            }
            store8(a0, row, 0); store8(a1, row, 8); store8(a2, row, 16); store8(a3, row, 24)
        }
    }

    /// Vector kv of every output row of `sparseRowProduct`.
    static func sparseRowSingle(_ kv: Int, _ rows: Int, _ rowStart: UnsafePointer<Int32>, _ columns: UnsafePointer<Int32>,
                                _ values: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ ws: Int, _ relu: Bool,
                                _ out: UnsafeMutablePointer<Float>, _ os: Int) {
        for r in 0..<rows {
            var a = SIMD8<Float>.zero
            for e in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                a = a.addingProduct(SIMD8<Float>(repeating: values[e]), load8(w + Int(columns[e]) * ws + 8 * kv, 0))
            }
            store8(relu ? a.replacing(with: 0, where: a .< 0) : a, out + r * os + 8 * kv, 0)
        }
    }
}
