import Foundation
import TMSCore

// Pairwise relations between feature directions W_i (columns of an m×n weight matrix): cosines, antipodal
// pairs and the angular layout of 2-D models (Elhage et al. 2022, §2 and §5; docs/analysis.md).

/// cos(a, b) = a·b / (‖a‖‖b‖), computed in Double; 0 when either vector is zero.
///
/// The one cosine of the package: feature phases, antipodal pairs and the experiments' orthogonality checks
/// all use it.
public func cosine(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "cosine needs vectors of equal length (\(a.count) and \(b.count))")
    var dot = 0.0, normA = 0.0, normB = 0.0
    for k in a.indices {
        let x = Double(a[k]), y = Double(b[k])
        dot += x * y; normA += x * x; normB += y * y
    }
    return normA > 0 && normB > 0 ? dot / (normA * normB).squareRoot() : 0
}

/// The cosine Ŵ_i·Ŵ_j between features i and j of W (m×n); 0 if either has zero norm.
public func featureCosine(_ W: Matrix, _ i: Int, _ j: Int) -> Double {
    cosine(W.column(i), W.column(j))
}

/// For each feature in `features`, the first other feature of `features` it is antipodal to
/// (cos(W_i, W_j) < `threshold`, default −0.9), or nil.
///
/// A digon (antipodal pair) W_j ≈ −W_i is how a 2-D model stores two sparse features in one direction.
public func antipodalPartners(of W: Matrix, among features: [Int], threshold: Double = -0.9) -> [Int?] {
    features.map { i in features.first { j in j != i && featureCosine(W, i, j) < threshold } }
}

/// Whether W (m×n) holds every feature but `dropped` as antipodal pairs with `dropped` not represented:
/// ‖W_dropped‖ < 0.5, every other ‖W_i‖ > 0.5, and each other feature has an antipodal partner
/// (``antipodalPartners(of:among:threshold:)``) among them. For the 5 → 2 model this is "two digons"
/// (Elhage et al. 2022, §5, non-uniform superposition).
public func isTwoDigons(_ W: Matrix, dropped: Int = 0) -> Bool {
    let norms = featureNorms(of: W)
    let others = (0..<W.columnCount).filter { $0 != dropped }
    return norms[dropped] < 0.5 && others.allSatisfy { norms[$0] > 0.5 }
        && antipodalPartners(of: W, among: others).allSatisfy { $0 != nil }
}

/// The mean angle, in degrees, between `feature` and its two angular neighbours among the other features
/// of a 2-D model (hiddenCount 2): (θ_next + θ_previous)/2 with θ measured around the origin either way.
/// A regular pentagon gives 72°; smaller means the others crowd towards the feature.
public func neighbourAngle(of feature: Int, in W: Matrix) -> Double {
    precondition(W.rowCount == 2, "neighbourAngle needs a 2-D model (hiddenCount 2), got \(W.rowCount)")
    precondition(W.columnCount > 1, "neighbourAngle needs at least two features")
    let angle = { (i: Int) in atan2(Double(W[1, i]), Double(W[0, i])) }
    let start = angle(feature)
    let offsets = (0..<W.columnCount).filter { $0 != feature }.map { i -> Double in
        var d = angle(i) - start
        while d < 0 { d += 2 * Double.pi }
        return d * 180 / Double.pi
    }
    return (offsets.min()! + (360 - offsets.max()!)) / 2
}
