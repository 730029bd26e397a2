import TMSCore

/// The exact expected loss of the linear model x′ = WᵀW x + b on independent features
/// x_i = Bernoulli(p_i)·U[0, 1], per feature (divided by n as the training loss is):
///
/// E L = (1/n) Σ_i I_i (Var(r_i) + E[r_i]²), r = (WᵀW − Id) x + b,
/// E[r_i] = Σ_j M_ij p_j/2 + b_i, Var(r_i) = Σ_j M_ij² (p_j/3 − p_j²/4), M = WᵀW − Id.
///
/// With the optimal bias this is the σ²(p)·[Σ_i I_i (1 − ‖W_i‖²)² + Σ_{i≠j} I_i (W_i·W_j)²] / n of docs/closed-forms.md#the-linear-model, whose
/// minimum keeps the top-m features orthonormal: σ²(p)·Σ_{i≥m} I_i / n. Unlike a sampled loss it has no noise,
/// which matters at high sparsity.
public func expectedLinearLoss(weights W: Matrix, bias: [Float], featureProbability p: [Float], importance: [Float]) -> Double {
    let g = gramMatrix(of: W), n = W.columnCount
    var total = 0.0
    for i in 0..<n {
        var mean = Double(bias[i]), variance = 0.0
        for j in 0..<n {
            let mij = g[i][j] - (i == j ? 1 : 0)
            let pj = Double(p[j])
            mean += mij * pj / 2
            variance += mij * mij * (pj / 3 - pj * pj / 4)
        }
        total += Double(importance[i]) * (variance + mean * mean)
    }
    return total / Double(n)
}

/// The lowest expected loss of the linear model on n independent features of equal density p, per feature:
/// σ²(p)·Σ_{i≥m} I_i / n with σ²(p) = p/3 − p²/4 (docs/closed-forms.md; Elhage et al. 2022, §2). The optimum
/// represents the m most important features orthonormally and predicts every other feature by its mean;
/// `importance` must be sorted in decreasing order, and n = `importance.count` ≥ m.
public func optimalLinearLoss(featureProbability p: Double, importance: [Float], hiddenCount m: Int) -> Double {
    precondition(m <= importance.count, "optimalLinearLoss needs hiddenCount \(m) ≤ featureCount \(importance.count)")
    let sigma2 = p / 3 - p * p / 4
    return sigma2 * importance[m...].reduce(0.0) { $0 + Double($1) } / Double(importance.count)
}
