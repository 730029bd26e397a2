import Foundation
import TMSCore

// Measures for models with many features in many dimensions (n ≫ m ≫ 1; docs/analysis.md#high-dimensional
// and docs/experiments.md#high-dimensional). Nothing here forms the n×n Gram matrix: cosines are sampled
// over pairs, and every per-feature measure is O(n·m).

/// |Ŵ_i · Ŵ_j| for `pairs` pairs of distinct features drawn uniformly, with replacement, from `features`
/// (columns of W, m×n). Each pair is drawn as two uniform indices, the second redrawn until it differs from
/// the first, from `rng`; the result is a sample of the distribution of |cos| over all pairs, without the
/// n² work. Empty if fewer than two features are listed; a zero column gives cosine 0.
public func sampledAbsoluteCosines(of W: Matrix, among features: [Int], pairs: Int,
                                   rng: inout RandomStream) -> [Double] {
    let m = W.rowCount, r = features.count
    guard r >= 2, pairs > 0 else { return [] }
    // Unit columns of the listed features, contiguous [r][m].
    var unit = [Double](repeating: 0, count: r * m)
    for (j, i) in features.enumerated() {
        var s = 0.0
        for k in 0..<m { let w = Double(W[k, i]); unit[j * m + k] = w; s += w * w }
        let scale = s > 0 ? 1 / s.squareRoot() : 0
        for k in 0..<m { unit[j * m + k] *= scale }
    }
    return unit.withUnsafeBufferPointer { u in
        (0..<pairs).map { _ in
            let a = Int(rng.next() % UInt64(r))
            var b = Int(rng.next() % UInt64(r))
            while b == a { b = Int(rng.next() % UInt64(r)) }
            var dot = 0.0
            for k in 0..<m { dot += u[a * m + k] * u[b * m + k] }
            return Swift.abs(dot)
        }
    }
}

/// |û · v̂| for `pairs` pairs of independent uniformly random unit vectors in R^m (normalised Gaussian
/// vectors drawn from `rng`): the reference distribution of nearly orthogonal directions. For large m it is
/// close to |N(0, 1/m)|: mean ≈ √(2/(π·m)), 99th percentile ≈ 2.58/√m.
public func randomUnitVectorAbsoluteCosines(dimension m: Int, pairs: Int, rng: inout RandomStream) -> [Double] {
    precondition(m >= 1, "dimension must be at least 1")
    var u = [Double](repeating: 0, count: m), v = [Double](repeating: 0, count: m)
    return (0..<max(0, pairs)).map { _ in
        var uu = 0.0, vv = 0.0, uv = 0.0
        for k in 0..<m { u[k] = rng.nextNormal(); v[k] = rng.nextNormal() }
        for k in 0..<m { uu += u[k] * u[k]; vv += v[k] * v[k]; uv += u[k] * v[k] }
        return uu > 0 && vv > 0 ? Swift.abs(uv) / (uu * vv).squareRoot() : 0
    }
}

/// The participation ratio of every feature direction, PR_i = (Σ_k W_{k,i}²)² / Σ_k W_{k,i}⁴: the effective
/// number of hidden coordinates W_i uses, in [1, m]. 1 for a direction along one coordinate, m for one
/// spread equally over all, about m/3 for a random Gaussian direction; 0 for a zero column. Not rotation
/// invariant: it measures sparsity in the hidden basis (a preferred basis, e.g. from an L1 penalty).
public func participationRatios(of W: Matrix) -> [Double] {
    let m = W.rowCount
    return (0..<W.columnCount).map { i in
        var s2 = 0.0, s4 = 0.0
        for k in 0..<m { let w2 = Double(W[k, i]) * Double(W[k, i]); s2 += w2; s4 += w2 * w2 }
        return s4 > 0 ? s2 * s2 / s4 : 0
    }
}

/// The q-quantile (q in [0, 1]) of `values` by linear interpolation between order statistics (NumPy's
/// default): sorted x₀ ≤ … ≤ x_{N−1}, position q·(N − 1). NaN for an empty sample.
public func quantile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let position = min(max(q, 0), 1) * Double(sorted.count - 1)
    let lo = Int(position.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (position - Double(lo)) * (sorted[hi] - sorted[lo])
}
