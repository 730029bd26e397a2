import Foundation
import TMSCore

/// The expected loss of the tied ReLU-output model x′ = ReLU(WᵀW x + b) on independent features
/// x_i = Bernoulli(p_i)·U[0, 1], per feature (divided by n as the training loss is), summed over the inputs with
/// at most `maxActive` (0, 1 or 2) active features, each term integrated exactly or nearly so:
///
/// - no feature: Σ_j I_j ReLU(b_j)²;
/// - one feature i = u: Σ_j I_j ∫₀¹ (ReLU(G_ji u + b_j) − [j = i] u)² du, piecewise quadratic in u, integrated
///   exactly (Simpson's rule on each side of the ReLU's kink);
/// - two features i = u, k = v: the same over the unit square, by a `grid`×`grid` midpoint rule.
///
/// `truncation` bounds what the inputs with more active features could add: their probability times the
/// largest loss any input in [0, 1]ⁿ can have, (1/n) Σ_j I_j max(ReLU(Σ_i max(G_ji, 0) + b_j), 1)². At high
/// sparsity (Σ p_i ≪ 1) this is far below the differences that matter, and unlike a sampled loss the
/// result has no noise (docs/analysis.md; Elhage et al. 2022, §2).
public func expectedReLUOutputLoss(weights W: Matrix, bias: [Float], featureProbability p: [Float], importance: [Float],
                                   maxActive: Int = 2, grid: Int = 48) -> (loss: Double, truncation: Double) {
    let n = W.columnCount
    precondition(bias.count == n && p.count == n && importance.count == n && (0...2).contains(maxActive))
    precondition(p.allSatisfy { $0 >= 0 && $0 < 1 }, "the expansion in the number of active features needs p < 1")
    let G = gramMatrix(of: W), b = bias.map(Double.init), I = importance.map(Double.init), q = p.map(Double.init)
    // P(no feature), and P(exactly i) etc. via the product of (1 − p_j).
    let none = q.reduce(1.0) { $0 * (1 - $1) }
    let odds = q.map { $0 / (1 - $0) }   // p_i / (1 − p_i); p_i = 1 gives ∞ (dense: the expansion does not apply)
    var total = 0.0
    for j in 0..<n { total += none * I[j] * pow(max(0, b[j]), 2) }

    /// ∫₀¹ (ReLU(a u + c) − t u)² du, exact: split at the kink u = −c/a and apply Simpson to each quadratic piece.
    func lineIntegral(_ a: Double, _ c: Double, _ t: Double) -> Double {
        let f = { (u: Double) -> Double in let e = max(0, a * u + c) - t * u; return e * e }
        var cuts = [0.0, 1.0]
        if a != 0 { let k = -c / a; if k > 0 && k < 1 { cuts.insert(k, at: 1) } }
        var s = 0.0
        for (x0, x1) in zip(cuts, cuts.dropFirst()) { s += (x1 - x0) / 6 * (f(x0) + 4 * f((x0 + x1) / 2) + f(x1)) }
        return s
    }
    if maxActive >= 1 {
        for i in 0..<n where q[i] > 0 {
            var s = 0.0
            for j in 0..<n { s += I[j] * lineIntegral(G[j][i], b[j], j == i ? 1 : 0) }
            total += none * odds[i] * s
        }
    }
    if maxActive >= 2 {
        let nodes = (0..<grid).map { (Double($0) + 0.5) / Double(grid) }
        for i in 0..<n where q[i] > 0 {
            for k in (i + 1)..<n where q[k] > 0 {
                var s = 0.0
                for j in 0..<n {
                    let gi = G[j][i], gk = G[j][k], tj = j == i ? 1.0 : 0.0, tk = j == k ? 1.0 : 0.0
                    var acc = 0.0
                    for u in nodes { for v in nodes { let e = max(0, gi * u + gk * v + b[j]) - tj * u - tk * v; acc += e * e } }
                    s += I[j] * acc / Double(grid * grid)
                }
                total += none * odds[i] * odds[k] * s
            }
        }
    }
    // P(more than maxActive active) = 1 − Σ_{k ≤ maxActive} P(k).
    var covered = none
    if maxActive >= 1 { covered += none * odds.reduce(0, +) }
    if maxActive >= 2 {
        var pairs = 0.0
        for i in 0..<n { for k in (i + 1)..<n { pairs += odds[i] * odds[k] } }
        covered += none * pairs
    }
    var worst = 0.0
    for j in 0..<n {
        let top = max(0, (0..<n).reduce(b[j]) { $0 + max(0, G[j][$1]) })
        worst += I[j] * pow(max(top, 1), 2)
    }
    return (total / Double(n), max(0, 1 - covered) * worst / Double(n))
}
