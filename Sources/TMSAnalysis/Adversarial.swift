import Foundation
import TMSCore

// Adversarial vulnerability of tied ReLU-output models (Elhage et al. 2022, §"Superposition and Adversarial
// Examples"; docs/experiments.md#adversarial). The model is x′ = ReLU(WᵀW x + b); an attack adds δ to the
// input and keeps the clean input as the target, so L′ = E Σ_j I_j (ReLU(WᵀW(x + δ) + b)_j − x_j)² / n.
// Everything here computes in Double.

/// A tied ReLU-output model in the form an attack needs: the n×n matrix G = WᵀW, the bias and the importance.
public struct ReLUOutputProbe: Sendable {
    public let gram: [[Double]]
    public let bias: [Double]
    public let importance: [Double]
    public var featureCount: Int { bias.count }

    public init(weights W: Matrix, bias: [Float], importance: [Float]) {
        precondition(bias.count == W.columnCount && importance.count == W.columnCount, "bias and importance need one entry per feature")
        gram = gramMatrix(of: W)
        self.bias = bias.map(Double.init)
        self.importance = importance.map(Double.init)
    }

    /// WᵀW·x + b, the output pre-activation.
    func preActivation(_ x: [Double]) -> [Double] {
        (0..<featureCount).map { j in
            var s = bias[j]
            let row = gram[j]
            for i in 0..<featureCount where x[i] != 0 { s += row[i] * x[i] }
            return s
        }
    }

    /// The importance-weighted squared error of the output for `input` against `target`, mean over features.
    public func loss(input: [Double], target: [Double]) -> Double {
        let z = preActivation(input)
        var s = 0.0
        for j in 0..<featureCount { let e = max(0, z[j]) - target[j]; s += importance[j] * e * e }
        return s / Double(featureCount)
    }

    /// ∂loss/∂input = G·(2 I ⊙ (x′ − target) ⊙ 1[z > 0]) / n (G is symmetric). Zero wherever every output
    /// ReLU is off or exact: the gradient masking that hides superposition's vulnerability from gradient attacks.
    public func lossGradient(input: [Double], target: [Double]) -> [Double] {
        let z = preActivation(input), n = featureCount
        var r = [Double](repeating: 0, count: n)
        for j in 0..<n where z[j] > 0 { r[j] = 2 * importance[j] * (z[j] - target[j]) / Double(n) }
        return (0..<n).map { i in (0..<n).reduce(0.0) { $0 + gram[i][$1] * r[$1] } }
    }

    /// The mean clean loss over `inputs`.
    public func meanLoss(_ inputs: [[Double]]) -> Double {
        inputs.isEmpty ? 0 : inputs.reduce(0.0) { $0 + loss(input: $1, target: $1) } / Double(inputs.count)
    }

    /// The mean loss with the same δ added to every input (targets stay clean). G(x + δ) = Gx + Gδ, so Gδ is
    /// computed once.
    public func meanLoss(_ inputs: [[Double]], perturbedBy delta: [Double]) -> Double {
        meanLoss(cleanPreActivations: inputs.map(preActivation), targets: inputs, shift: shift(delta))
    }

    /// Gδ.
    func shift(_ delta: [Double]) -> [Double] {
        (0..<featureCount).map { j in (0..<featureCount).reduce(0.0) { $0 + gram[j][$1] * delta[$1] } }
    }

    func meanLoss(cleanPreActivations z: [[Double]], targets: [[Double]], shift: [Double]) -> Double {
        guard !targets.isEmpty else { return 0 }
        var total = 0.0
        for (zx, x) in zip(z, targets) {
            var s = 0.0
            for j in 0..<featureCount { let e = max(0, zx[j] + shift[j]) - x[j]; s += importance[j] * e * e }
            total += s / Double(featureCount)
        }
        return total / Double(targets.count)
    }

    /// The analytic L2 attack on feature i: δ = λ·(WᵀW)_i / ‖(WᵀW)_i‖ (zero if that row is zero).
    public func analyticAttack(feature i: Int, size lambda: Double) -> [Double] {
        let row = gram[i], norm = row.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? row.map { lambda * $0 / norm } : [Double](repeating: 0, count: featureCount)
    }

    /// The analytic attack on the feature whose attack raises the mean loss most: (feature, attacked loss).
    public func worstAnalyticAttack(_ inputs: [[Double]], size lambda: Double) -> (feature: Int, loss: Double) {
        var best = (feature: 0, loss: -Double.infinity)
        let z = inputs.map(preActivation)
        for i in 0..<featureCount {
            let l = meanLoss(cleanPreActivations: z, targets: inputs, shift: shift(analyticAttack(feature: i, size: lambda)))
            if l > best.loss { best = (i, l) }
        }
        return best
    }

    /// A per-input gradient attack: from δ = 0, `steps` normalised gradient-ascent steps of size λ/4, projected
    /// onto ‖δ‖ ≤ λ; the highest loss met is kept. A zero gradient ends the search (nothing to follow).
    public func gradientAttackLoss(_ inputs: [[Double]], size lambda: Double, steps: Int = 10) -> Double {
        guard !inputs.isEmpty else { return 0 }
        var total = 0.0
        for x in inputs {
            var delta = [Double](repeating: 0, count: featureCount)
            var best = loss(input: x, target: x)
            for _ in 0..<steps {
                let g = lossGradient(input: zip(x, delta).map { $0 + $1 }, target: x)
                let gn = g.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
                if gn == 0 { break }
                for i in 0..<featureCount { delta[i] += lambda / 4 * g[i] / gn }
                let dn = delta.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
                if dn > lambda { for i in 0..<featureCount { delta[i] *= lambda / dn } }
                best = max(best, loss(input: zip(x, delta).map { $0 + $1 }, target: x))
            }
            total += best
        }
        return total / Double(inputs.count)
    }
}

/// Vulnerability (L′ − L)/(L′₀ − L₀): a model's loss increase under attack relative to a reference model's
/// (one without superposition) under an attack of the same size on the same inputs.
public func adversarialVulnerability(clean: Double, attacked: Double, referenceClean: Double, referenceAttacked: Double) -> Double {
    (attacked - clean) / (referenceAttacked - referenceClean)
}

/// L′₀ − L₀ of a model without superposition under its worst attack of size λ, exactly and for any inputs
/// x ≥ 0: such a model represents features along orthonormal directions (WᵀW = 1 on them, 0 elsewhere) with
/// zero output bias on them, so output j is ReLU(x_j + δ_j) = x_j + δ_j for δ_j ≥ 0 and an attack δ raises the
/// loss by at most Σ_j I_j δ_j²/n ≤ λ²·max_j I_j/n, reached by δ = λ·e_i on the most important represented
/// feature (the analytic attack on it; the best a gradient attack can find). The reference of the vulnerability
/// (L′ − L)/(L′₀ − L₀) (Elhage et al. 2022, §"Superposition and Adversarial Examples"; docs/experiments.md#adversarial).
public func noSuperpositionAttackIncrease(size lambda: Double, importance: [Double]) -> Double {
    guard let top = importance.max(), !importance.isEmpty else { return 0 }
    return lambda * lambda * top / Double(importance.count)
}

/// `count` inputs x_i = Bernoulli(p_i)·U[0, 1] (independent features), drawn from `seed`.
public func sampleSparseInputs(count: Int, probability: [Float], seed: UInt64) -> [[Double]] {
    var rng = RandomStream(seed: seed)
    return (0..<count).map { _ in
        probability.map { p in rng.nextUnitDouble() < Double(p) ? rng.nextUnitDouble() : 0 }
    }
}

/// The mean L2 norm of `inputs`.
public func meanNorm(_ inputs: [[Double]]) -> Double {
    inputs.isEmpty ? 0 : inputs.reduce(0.0) { $0 + $1.reduce(0.0) { $0 + $1 * $1 }.squareRoot() } / Double(inputs.count)
}

/// Pearson correlation of two equally long series (NaN if either is constant or shorter than 2).
public func pearsonCorrelation(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "series of different lengths")
    guard a.count >= 2 else { return .nan }
    let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
    return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : .nan
}
