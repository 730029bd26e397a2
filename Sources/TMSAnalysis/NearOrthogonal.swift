import Foundation
import TMSCore

/// How many unit vectors a greedy random packing fits in `dimension` dimensions with pairwise cosine at most
/// `maxCosine`: a lower bound on the number of nearly orthogonal directions m dimensions allow
/// (docs/analysis.md#nearly-orthogonal-directions).
///
/// Draws random unit vectors (normalised Gaussians) and keeps each whose cosine c with every kept vector has
/// |c| ≤ ε, or c ≤ ε with `antipodes` (negative interference is free for a ReLU or JumpReLU output, so a
/// feature and its opposite can share a direction, Elhage et al. 2022 §"The Geometry of Superposition"),
/// stopping after `attempts` rejections in a row; once starting from the standard basis e_1 … e_m (with
/// `antipodes`, also −e_1 … −e_m) and once from nothing, and returns the larger count. Always ≥ m (≥ 2m with
/// antipodes); grows quickly with ε. For ε ≥ 1 every draw is kept, so ε must be below 1.
///
/// - Parameters: `dimension` m ≥ 1; `maxCosine` ε in [0, 1); `attempts` ≥ 1; `rng` the stream of draws.
public func nearOrthogonalCount(dimension m: Int, maxCosine epsilon: Double, antipodes: Bool = false,
                                attempts: Int = 2_000, rng: inout RandomStream) -> Int {
    precondition(m >= 1 && epsilon >= 0 && epsilon < 1 && attempts >= 1)
    var basis: [[Double]] = []
    for i in 0..<m {
        var e = [Double](repeating: 0, count: m); e[i] = 1
        basis.append(e)
        if antipodes { e[i] = -1; basis.append(e) }
    }
    // Below ε = 1/√m no vector is within ε of orthogonal to every e_i, so also fill from nothing and keep the larger.
    let fromBasis = greedyFill(basis, dimension: m, epsilon: epsilon, antipodes: antipodes, attempts: attempts, rng: &rng)
    let fromNothing = greedyFill([], dimension: m, epsilon: epsilon, antipodes: antipodes, attempts: attempts, rng: &rng)
    return max(fromBasis, fromNothing)
}

/// Adds random unit vectors to `start` while they fit (see ``nearOrthogonalCount(dimension:maxCosine:antipodes:attempts:rng:)``).
private func greedyFill(_ start: [[Double]], dimension m: Int, epsilon: Double, antipodes: Bool, attempts: Int,
                        rng: inout RandomStream) -> Int {
    var kept = start
    var misses = 0
    var v = [Double](repeating: 0, count: m)
    while misses < attempts {
        var norm = 0.0
        for k in 0..<m { v[k] = rng.nextNormal(); norm += v[k] * v[k] }
        norm = norm.squareRoot()
        guard norm > 0 else { continue }
        for k in 0..<m { v[k] /= norm }
        let fits = kept.allSatisfy { u in
            var c = 0.0
            for k in 0..<m { c += u[k] * v[k] }
            return (antipodes ? c : Swift.abs(c)) <= epsilon
        }
        if fits { kept.append(v); misses = 0 } else { misses += 1 }
    }
    return kept.count
}

/// The largest interference between two of the features `among`: max over i ≠ j of W_i·W_j (what feature j
/// at x_j = 1 adds to output i's pre-activation) and of the cosine Ŵ_i·Ŵ_j, and of |Ŵ_i·Ŵ_j|
/// (docs/analysis.md#nearly-orthogonal-directions). Zero-norm features have cosine 0; fewer than two features
/// give all zeros.
public func largestInterference(of W: Matrix, among features: [Int]) -> (dot: Double, cosine: Double, absoluteCosine: Double) {
    let norms = featureNorms(of: W)
    var dot = 0.0, cosine = 0.0, absolute = 0.0
    var first = true
    for a in features {
        for b in features where b != a {
            var s = 0.0
            for k in 0..<W.rowCount { s += Double(W[k, a]) * Double(W[k, b]) }
            let c = norms[a] > 0 && norms[b] > 0 ? s / (norms[a] * norms[b]) : 0
            if first { dot = s; cosine = c; absolute = Swift.abs(c); first = false }
            dot = max(dot, s); cosine = max(cosine, c); absolute = max(absolute, Swift.abs(c))
        }
    }
    return (dot, cosine, absolute)
}
