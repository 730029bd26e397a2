import Foundation
import TMSCore

// Feature-level measures of superposition (Elhage et al. 2022, "Demonstrating Superposition" and "The Geometry of Superposition"; docs/analysis.md). Every function takes one
// instance's weight matrix W (m×n: hiddenCount rows, featureCount columns; column i is feature i's direction
// W_i) and computes in Double. All but the neuron measures are invariant under W → OW for orthogonal O.

/// The n×n Gram matrix WᵀW: entry (i, j) is W_i·W_j.
public func gramMatrix(of W: Matrix) -> [[Double]] {
    let n = W.columnCount, m = W.rowCount
    // Columns as contiguous Double vectors (W is row-major, so a column is strided); each entry is still the
    // same sum in k order.
    var columns = [Double](repeating: 0, count: n * m)
    for k in 0..<m { for i in 0..<n { columns[i * m + k] = Double(W.values[k * n + i]) } }
    var g = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
    guard m > 0 else { return g }
    columns.withUnsafeBufferPointer { c in
        for i in 0..<n {
            let a = c.baseAddress! + i * m
            for j in i..<n {
                let b = c.baseAddress! + j * m
                var s = 0.0
                for k in 0..<m { s += a[k] * b[k] }
                g[i][j] = s; g[j][i] = s
            }
        }
    }
    return g
}

/// ‖W_i‖ for every feature: how much each feature is represented (≈1 represented, ≈0 not).
public func featureNorms(of W: Matrix) -> [Double] {
    (0..<W.columnCount).map { i in (0..<W.rowCount).reduce(0.0) { $0 + Double(W[$1, i]) * Double(W[$1, i]) }.squareRoot() }
}

/// Interference of feature i with all others, Σ_{j≠i} (Ŵ_i·W_j)² with Ŵ_i = W_i/‖W_i‖ (0 for a zero-norm
/// feature). The paper's "superposition" colour of the norm bars is its square root clipped to [0, 1].
///
/// Above `FeatureMetricsLimits.gramFreeAbove` features it is computed without the n×n Gram matrix, in
/// O(n·m²) time and O(n·m) memory, as Σ_{j≠i}(W_i·W_j)² = W_iᵀ(WWᵀ)W_i − ‖W_i‖⁴ (docs/analysis.md#large-n);
/// the two forms agree to Double rounding.
public func interference(of W: Matrix) -> [Double] {
    if W.columnCount > FeatureMetricsLimits.gramFreeAbove {
        let (norm2, sums) = squaredOverlapSums(of: W)
        return norm2.indices.map { i in norm2[i] > 0 ? max(0, sums[i] / norm2[i] - norm2[i]) : 0 }
    }
    let g = gramMatrix(of: W)
    return g.indices.map { i in
        let norm2 = g[i][i]
        guard norm2 > 0 else { return 0 }
        return g.indices.reduce(0.0) { $1 == i ? $0 : $0 + g[i][$1] * g[i][$1] / norm2 }
    }
}

/// The norm-bar colour value of the paper's figures: √interference clipped to [0, 1].
public func superpositionColourValue(of W: Matrix) -> [Double] {
    interference(of: W).map { min(1, max(0, $0.squareRoot())) }
}

/// Feature dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)² (the sum includes j = i), in [0, 1].
///
/// Reference values: a dedicated dimension 1, tetrahedron 3/4, triangle 2/3, antipodal pair 1/2, pentagon
/// 2/5, square antiprism 3/8; a zero-norm feature 0 (Elhage et al. 2022, §7).
///
/// Above `FeatureMetricsLimits.gramFreeAbove` features it is computed without the n×n Gram matrix, as
/// ‖W_i‖⁴ / W_iᵀ(WWᵀ)W_i (docs/analysis.md#large-n).
public func featureDimensionality(of W: Matrix) -> [Double] {
    if W.columnCount > FeatureMetricsLimits.gramFreeAbove {
        let (norm2, sums) = squaredOverlapSums(of: W)
        return norm2.indices.map { i in norm2[i] > 1e-12 && sums[i] > 0 ? norm2[i] * norm2[i] / sums[i] : 0 }
    }
    let g = gramMatrix(of: W)
    return g.indices.map { i in
        let norm2 = g[i][i]
        guard norm2 > 1e-12 else { return 0 }
        let denominator = g.indices.reduce(0.0) { $0 + g[i][$1] * g[i][$1] / norm2 }
        return norm2 / denominator
    }
}

/// Dimensions per feature D* = m / ‖W‖_F² (Elhage et al. 2022, §7): 1 when m features are learned
/// orthogonally, 1/2 for antipodal pairs filling every dimension. Infinite for W = 0.
public func dimensionsPerFeature(of W: Matrix) -> Double {
    let f = W.values.reduce(0.0) { $0 + Double($1) * Double($1) }
    return Double(W.rowCount) / f
}

/// The number of features with ‖W_i‖ above `threshold` (default 0.5, docs/analysis.md#represented-features).
public func representedFeatureCount(of W: Matrix, threshold: Double = 0.5) -> Int {
    featureNorms(of: W).filter { $0 > threshold }.count
}

/// Angles in degrees between consecutive represented features of a 2-D model, sorted by angle around the
/// origin (a regular pentagon gives five angles of 72°). Features with ‖W_i‖ ≤ `threshold` are ignored.
public func adjacentAngles2D(of W: Matrix, threshold: Double = 0.5) -> [Double] {
    precondition(W.rowCount == 2, "adjacentAngles2D needs a 2-D model (hiddenCount 2)")
    let norms = featureNorms(of: W)
    let angles = (0..<W.columnCount).filter { norms[$0] > threshold }
        .map { atan2(Double(W[1, $0]), Double(W[0, $0])) * 180 / Double.pi }.sorted()
    guard angles.count > 1 else { return angles.isEmpty ? [] : [360] }
    return angles.indices.map { j in
        j + 1 < angles.count ? angles[j + 1] - angles[j] : angles[0] + 360 - angles[j]
    }
}

/// Sizes at which the feature measures change method (docs/analysis.md#large-n).
public enum FeatureMetricsLimits {
    /// Up to this many features, `interference(of:)` and `featureDimensionality(of:)` sum over the n×n Gram
    /// matrix (n² Doubles: 8 MB at 1,024); above it they use the m×m matrix WWᵀ instead (the n×n form took
    /// ~31 min and 800 MB per instance at n = 10,000). Every run of the paper's experiments is below it, so
    /// their stored analyses are unchanged.
    public static let gramFreeAbove = 1024
}

/// ‖W_i‖² and Σ_j (W_i·W_j)² (j = i included) for every feature, through M = WWᵀ (m×m):
/// Σ_j (W_i·W_j)² = W_iᵀ M W_i. O(n·m²) time, O(n·m + m²) memory, in Double.
func squaredOverlapSums(of W: Matrix) -> (norm2: [Double], sums: [Double]) {
    let n = W.columnCount, m = W.rowCount
    // Columns as contiguous Double rows [n][m].
    var columns = [Double](repeating: 0, count: n * m)
    for k in 0..<m { for i in 0..<n { columns[i * m + k] = Double(W[k, i]) } }
    var M = [Double](repeating: 0, count: m * m)
    var norm2 = [Double](repeating: 0, count: n), sums = [Double](repeating: 0, count: n)
    columns.withUnsafeBufferPointer { c in
        M.withUnsafeMutableBufferPointer { M in
            for i in 0..<n {
                let w = c.baseAddress! + i * m
                for a in 0..<m {
                    let wa = w[a]
                    if wa == 0 { continue }
                    let row = M.baseAddress! + a * m
                    for b in 0..<m { row[b] += wa * w[b] }
                }
            }
        }
        M.withUnsafeBufferPointer { M in
            for i in 0..<n {
                let w = c.baseAddress! + i * m
                var q = 0.0, s2 = 0.0
                for a in 0..<m {
                    let row = M.baseAddress! + a * m
                    var t = 0.0
                    for b in 0..<m { t += row[b] * w[b] }
                    q += w[a] * t
                    s2 += w[a] * w[a]
                }
                norm2[i] = s2; sums[i] = q
            }
        }
    }
    return (norm2, sums)
}
