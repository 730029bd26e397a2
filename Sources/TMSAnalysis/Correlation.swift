import Foundation
import TMSCore

// Correlated and anticorrelated features (Elhage et al. 2022, §"Superposition with Correlated Features";
// docs/analysis.md). W is m×n; column i is feature i's direction W_i.

/// How a pair of features (a, b) is embedded.
public struct PairEmbedding: Sendable, Equatable {
    public let a: Int
    public let b: Int
    /// cos(W_a, W_b) (0 when either is zero).
    public let cosine: Double
    public let normA: Double
    public let normB: Double
    /// The angle, in degrees, between the pair's reading direction (‖W_a‖, ‖W_b‖)/‖·‖ in the (a, b) feature plane
    /// and (1, 1)/√2: 0° when the collapsed pair reads (x_a + x_b)/√2, the pair's first principal component.
    public let angleToSum: Double
    /// Whether the pair has collapsed onto one direction: both represented above `minNorm` and cos ≥ `threshold`.
    public let collapsed: Bool
}

/// The embedding of pair (a, b) of W; collapsed when ‖W_a‖, ‖W_b‖ > `minNorm` and cos(W_a, W_b) ≥ `threshold`.
public func pairEmbedding(of W: Matrix, _ a: Int, _ b: Int, threshold: Double = 0.9, minNorm: Double = 0.25) -> PairEmbedding {
    let norms = featureNorms(of: W)
    let c = featureCosine(W, a, b)
    let (na, nb) = (norms[a], norms[b])
    let length = (na * na + nb * nb).squareRoot()
    let angle = length == 0 ? 90 : acos(min(1, (na + nb) / (2.0.squareRoot() * length))) * 180 / Double.pi
    return PairEmbedding(a: a, b: b, cosine: c, normA: na, normB: nb, angleToSum: angle,
                         collapsed: na > minNorm && nb > minNorm && c >= threshold)
}

/// Block structure of WᵀW for feature sets (e.g. two correlated sets of 10): the largest |cos(W_i, W_j)| of two
/// represented features (‖W‖ > 0.5) in the same set, and the mean |cos| over pairs of represented features in
/// different sets. A set spanning a local orthogonal basis has `maxWithin` ≈ 0 while the sets overlap
/// (`meanBetween` > 0) when they share dimensions.
public func blockStructure(of W: Matrix, sets: [[Int]]) -> (maxWithin: Double, meanBetween: Double, represented: Int) {
    let norms = featureNorms(of: W)
    let kept = sets.map { $0.filter { norms[$0] > 0.5 } }
    var maxWithin = 0.0, between = 0.0, count = 0
    for set in kept {
        for (x, i) in set.enumerated() { for j in set[(x + 1)...] { maxWithin = max(maxWithin, Swift.abs(featureCosine(W, i, j))) } }
    }
    for s in kept.indices { for t in kept.indices where t > s {
        for i in kept[s] { for j in kept[t] { between += Swift.abs(featureCosine(W, i, j)); count += 1 } }
    } }
    return (maxWithin, count == 0 ? 0 : between / Double(count), kept.map(\.count).reduce(0, +))
}
