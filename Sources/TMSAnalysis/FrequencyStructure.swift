import Foundation
import TMSCore

/// The small polytope a represented feature belongs to, read off its
/// [geometry-graph](docs/analysis.md#feature-geometry-graph) component: a component of s features whose mean
/// feature dimensionality is within a tolerance of the fraction of the polytope of s vertices (1 → dedicated,
/// 1; 2 → digon, 1/2; 3 → triangle, 2/3; 4 → tetrahedron, 3/4; 5 → pentagon, 2/5), otherwise `other`
/// (Elhage et al. 2022, §7 "The Geometry of Superposition").
public enum PolytopeKind: String, CaseIterable, Sendable, Codable {
    case dedicated, digon, triangle, tetrahedron, pentagon, other

    /// The kind of a component of `size` features with mean dimensionality `meanDimensionality`.
    public init(size: Int, meanDimensionality: Double, tolerance: Double = 0.05) {
        let candidates: [Int: (PolytopeKind, Double)] = [1: (.dedicated, 1), 2: (.digon, 1.0 / 2), 3: (.triangle, 2.0 / 3),
                                                         4: (.tetrahedron, 3.0 / 4), 5: (.pentagon, 2.0 / 5)]
        if let (kind, fraction) = candidates[size], Swift.abs(meanDimensionality - fraction) < tolerance {
            self = kind
        } else {
            self = .other
        }
    }
}

/// The number of represented features (‖W_i‖ > `normThreshold`) in each kind of polytope
/// (docs/analysis.md#polytope-census); every kind is present, 0 when none. The counts add up to the
/// represented count. `W` is m×n (hidden × feature).
public func polytopeCensus(of W: Matrix, normThreshold: Double = 0.5, edgeThreshold: Double = 0.1,
                           tolerance: Double = 0.05) -> [PolytopeKind: Int] {
    var counts = Dictionary(uniqueKeysWithValues: PolytopeKind.allCases.map { ($0, 0) })
    for group in featureGeometry(of: W, normThreshold: normThreshold, edgeThreshold: edgeThreshold).groups {
        let kind = PolytopeKind(size: group.features.count, meanDimensionality: group.meanDimensionality, tolerance: tolerance)
        counts[kind, default: 0] += group.features.count
    }
    return counts
}

/// How far the represented features are the most frequent ones (docs/analysis.md#frequency-order-agreement):
/// with R = the number of features with `norms[i] > threshold`, the fraction of them that are among the R
/// features of largest `probabilities` (ties in probability broken by the lower index). 1 when exactly the R
/// most frequent features are represented; about R/n when representation ignores frequency; 0 when no
/// feature is represented.
public func frequencyOrderAgreement(norms: [Double], probabilities: [Double], threshold: Double = 0.5) -> Double {
    precondition(norms.count == probabilities.count,
                 "frequencyOrderAgreement needs one probability per feature (\(norms.count) norms, \(probabilities.count) probabilities)")
    let represented = norms.indices.filter { norms[$0] > threshold }
    guard !represented.isEmpty else { return 0 }
    let byFrequency = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
    let top = Set(byFrequency.prefix(represented.count))
    return Double(represented.filter(top.contains).count) / Double(represented.count)
}
