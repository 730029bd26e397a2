import Foundation
import TMSCore

/// Recovering the sparse features x from a hidden vector h = W x when the feature directions (columns of the
/// m×n matrix W) are known: the compressed-sensing view of superposition (docs/sae.md#unfolding; Elhage et al.
/// 2022, "Superposition and compressed sensing" in the related work).
public enum Unfolding {
    /// The toy model's own readout x̂ = ReLU(Wᵀh + b).
    public static func reluReadout(_ W: Matrix, bias: [Float], hidden h: [Float]) -> [Double] {
        (0..<W.columnCount).map { i in
            max(0, (0..<W.rowCount).reduce(Double(bias[i])) { $0 + Double(W[$1, i]) * Double(h[$1]) })
        }
    }

    /// L1-regularised least squares, argmin_x ½‖h − W x‖² + α‖x‖₁ (with x ≥ 0 when `nonNegative`), by FISTA
    /// (Beck & Teboulle 2009) with step 1/‖W‖₂² for `iterations` iterations from x = 0.
    public static func lasso(_ W: Matrix, hidden h: [Float], penalty alpha: Double, nonNegative: Bool = true,
                             iterations: Int = 500) -> [Double] {
        let m = W.rowCount, n = W.columnCount
        let A = W.values.map(Double.init), y = h.map(Double.init)
        let lipschitz = max(spectralNormSquared(A, m: m, n: n), 1e-12)
        var x = [Double](repeating: 0, count: n), z = x, t = 1.0
        var residual = [Double](repeating: 0, count: m)
        for _ in 0..<iterations {
            for r in 0..<m { residual[r] = -y[r]; for c in 0..<n { residual[r] += A[r * n + c] * z[c] } }
            var next = x
            for c in 0..<n {
                var grad = 0.0
                for r in 0..<m { grad += A[r * n + c] * residual[r] }
                let v = z[c] - grad / lipschitz, k = alpha / lipschitz
                next[c] = nonNegative ? max(0, v - k) : (v > k ? v - k : (v < -k ? v + k : 0))
            }
            let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
            for c in 0..<n { z[c] = next[c] + (t - 1) / tNext * (next[c] - x[c]) }
            x = next; t = tNext
        }
        return x
    }

    /// Orthogonal matching pursuit (Pati et al. 1993): repeatedly add the column most correlated with the
    /// residual (columns normalised for the choice) and refit x on the chosen columns by least squares, until
    /// `maxAtoms` columns are chosen or ‖residual‖ ≤ `tolerance`. Zero-norm columns are never chosen.
    public static func orthogonalMatchingPursuit(_ W: Matrix, hidden h: [Float], maxAtoms: Int,
                                                 tolerance: Double = 1e-6) -> [Double] {
        let m = W.rowCount, n = W.columnCount
        let cols = (0..<n).map { W.column($0).map(Double.init) }
        let norms = cols.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let y = h.map(Double.init)
        var support: [Int] = [], coefficients: [Double] = [], residual = y
        while support.count < min(maxAtoms, m, n) {
            let rNorm = residual.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if rNorm <= tolerance { break }
            var best: Int? = nil, bestScore = 1e-12
            for c in 0..<n where norms[c] > 1e-9 && !support.contains(c) {
                let score = Swift.abs((0..<m).reduce(0.0) { $0 + cols[c][$1] * residual[$1] }) / norms[c]
                if score > bestScore { bestScore = score; best = c }
            }
            guard let chosen = best else { break }
            support.append(chosen)
            coefficients = leastSquares(support.map { cols[$0] }, y)
            residual = y
            for (k, c) in support.enumerated() { for r in 0..<m { residual[r] -= coefficients[k] * cols[c][r] } }
        }
        var x = [Double](repeating: 0, count: n)
        for (k, c) in support.enumerated() { x[c] = coefficients[k] }
        return x
    }

    /// Accuracy of an estimate x̂ of x: relative error ‖x̂ − x‖/‖x‖ (‖x̂‖ when x = 0), and whether the support
    /// {i : x̂_i > threshold} equals {i : x_i ≠ 0}.
    public static func accuracy(estimate: [Double], truth: [Float], threshold: Double = 0.1)
        -> (relativeError: Double, supportRecovered: Bool) {
        var diff = 0.0, norm = 0.0, same = true
        for i in truth.indices {
            let t = Double(truth[i])
            diff += (estimate[i] - t) * (estimate[i] - t); norm += t * t
            if (Swift.abs(estimate[i]) > threshold) != (t != 0) { same = false }
        }
        return (norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot(), same)
    }

    /// Solves min ‖Σ_k c_k a_k − y‖ by the normal equations (Gaussian elimination with partial pivoting).
    static func leastSquares(_ a: [[Double]], _ y: [Double]) -> [Double] {
        let k = a.count
        var M = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
        for p in 0..<k {
            for q in 0..<k { M[p][q] = zip(a[p], a[q]).reduce(0) { $0 + $1.0 * $1.1 } }
            M[p][k] = zip(a[p], y).reduce(0) { $0 + $1.0 * $1.1 }
        }
        for col in 0..<k {
            let pivot = (col..<k).max { Swift.abs(M[$0][col]) < Swift.abs(M[$1][col]) }!
            M.swapAt(col, pivot)
            guard Swift.abs(M[col][col]) > 1e-12 else { continue }
            for r in 0..<k where r != col {
                let f = M[r][col] / M[col][col]
                for c in col...k { M[r][c] -= f * M[col][c] }
            }
        }
        return (0..<k).map { Swift.abs(M[$0][$0]) > 1e-12 ? M[$0][k] / M[$0][$0] : 0 }
    }

    /// ‖A‖₂² (largest eigenvalue of AᵀA) by 100 power iterations from an uneven start (a uniform start is
    /// in the null space of a tight frame whose columns sum to 0); the Frobenius norm² (an upper bound, still a
    /// safe step) if the iteration collapses.
    static func spectralNormSquared(_ A: [Double], m: Int, n: Int) -> Double {
        var v = (0..<n).map { 1 / Double($0 + 1) }, lambda = 0.0
        let frobenius = A.reduce(0) { $0 + $1 * $1 }
        for _ in 0..<100 {
            var u = [Double](repeating: 0, count: m)
            for r in 0..<m { for c in 0..<n { u[r] += A[r * n + c] * v[c] } }
            var w = [Double](repeating: 0, count: n)
            for c in 0..<n { for r in 0..<m { w[c] += A[r * n + c] * u[r] } }
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return frobenius }
            lambda = norm
            v = w.map { $0 / norm }
        }
        return lambda
    }
}
