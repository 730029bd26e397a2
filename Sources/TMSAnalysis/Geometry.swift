import Foundation
import TMSCore

/// A connected group of features in the feature geometry graph (nodes = represented features, edges where
/// |Ŵ_i·W_j| > threshold): digons, triangles, pentagons, tetrahedra and their tegum products.
public struct FeatureGroup: Sendable, Codable, Equatable {
    /// Feature indices, increasing.
    public let features: [Int]
    /// The mean feature dimensionality D_i over the group.
    public let meanDimensionality: Double
}

/// The feature geometry graph of one instance (Elhage et al. 2022, §7).
public struct FeatureGeometry: Sendable, Codable, Equatable {
    /// |Ŵ_i·W_j| for i ≠ j (0 on the diagonal and for unrepresented features), n×n.
    public let edgeWeights: [[Double]]
    /// Component id per feature, an index into `groups` (nil for a feature with ‖W_i‖ ≤ the norm threshold).
    public let groupOfFeature: [Int?]
    public let groups: [FeatureGroup]
}

/// Builds the geometry graph: represented features (‖W_i‖ > `normThreshold`) joined where
/// |Ŵ_i·W_j| > `edgeThreshold`, split into connected components.
public func featureGeometry(of W: Matrix, normThreshold: Double = 0.5, edgeThreshold: Double = 0.1) -> FeatureGeometry {
    let g = gramMatrix(of: W), n = W.columnCount
    let norms = g.indices.map { g[$0][$0].squareRoot() }
    let dims = featureDimensionality(of: W)
    let represented = norms.map { $0 > normThreshold }
    var weights = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
    for i in 0..<n where represented[i] {
        for j in 0..<n where j != i && represented[j] { weights[i][j] = Swift.abs(g[i][j]) / norms[i] }
    }
    var group = [Int?](repeating: nil, count: n)
    var groups: [FeatureGroup] = []
    for start in 0..<n where represented[start] && group[start] == nil {
        let id = groups.count
        var stack = [start], members: [Int] = []
        group[start] = id
        while let i = stack.popLast() {
            members.append(i)
            for j in 0..<n where group[j] == nil && represented[j] && max(weights[i][j], weights[j][i]) > edgeThreshold {
                group[j] = id; stack.append(j)
            }
        }
        members.sort()
        groups.append(FeatureGroup(features: members, meanDimensionality: members.reduce(0.0) { $0 + dims[$1] } / Double(members.count)))
    }
    return FeatureGeometry(edgeWeights: weights, groupOfFeature: group, groups: groups)
}

/// The reference fractions of uniform superposition (docs/analysis.md#reference-fractions): dedicated 1, tetrahedron 3/4, triangle 2/3,
/// digon 1/2, pentagon 2/5, square antiprism 3/8.
public let referenceDimensionalityFractions: [Double] = [1, 3.0 / 4, 2.0 / 3, 1.0 / 2, 2.0 / 5, 3.0 / 8]

/// The fraction of `values` lying within `tolerance` of one of `fractions` (values of exactly 0, unlearned
/// features, are excluded from the count and the total).
public func fractionNearReference(_ values: [Double], fractions: [Double] = referenceDimensionalityFractions,
                                  tolerance: Double = 0.05) -> Double {
    let learned = values.filter { $0 > 1e-3 }
    guard !learned.isEmpty else { return 0 }
    let near = learned.filter { v in fractions.contains { Swift.abs($0 - v) <= tolerance } }
    return Double(near.count) / Double(learned.count)
}
