import Foundation
import TMSCore

/// For each true feature i (column i of the toy model's m×n matrix `features`), the largest cosine similarity
/// between W_i and any row of the SAE's d_sae×m `dictionary` (decoder rows). A zero-norm feature or row gives 0
/// (docs/sae.md#metrics; Sharkey et al. 2022, "Taking features out of superposition with sparse autoencoders").
public func maxCosineSimilarities(features: Matrix, dictionary: Matrix) -> [Double] {
    precondition(features.rowCount == dictionary.columnCount, "features are \(features.rowCount)-dimensional, dictionary rows \(dictionary.columnCount)")
    let m = features.rowCount
    let rows = (0..<dictionary.rowCount).map { j -> [Double] in
        let r = dictionary.row(j).map(Double.init)
        let n = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? r.map { $0 / n } : r.map { _ in 0 }
    }
    return (0..<features.columnCount).map { i in
        let f = features.column(i).map(Double.init)
        let n = f.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard n > 0, !rows.isEmpty else { return 0 }
        return rows.map { r in (0..<m).reduce(0.0) { $0 + r[$1] * f[$1] } / n }.max()!
    }
}

/// Mean max cosine similarity (MMCS) over the listed features (all by default): 1 when every feature has an
/// exactly aligned decoder row.
public func meanMaxCosineSimilarity(features: Matrix, dictionary: Matrix, among indices: [Int]? = nil) -> Double {
    let all = maxCosineSimilarities(features: features, dictionary: dictionary)
    let chosen = indices ?? Array(all.indices)
    return chosen.isEmpty ? 0 : chosen.reduce(0) { $0 + all[$1] } / Double(chosen.count)
}

/// The fraction of the listed features whose max cosine similarity exceeds `threshold` (0.9 by default).
public func recoveredFeatureFraction(features: Matrix, dictionary: Matrix, among indices: [Int]? = nil,
                                     threshold: Double = 0.9) -> Double {
    let all = maxCosineSimilarities(features: features, dictionary: dictionary)
    let chosen = indices ?? Array(all.indices)
    return chosen.isEmpty ? 0 : Double(chosen.filter { all[$0] > threshold }.count) / Double(chosen.count)
}

/// How well an SAE reconstructs a set of inputs and how sparsely (docs/sae.md#metrics).
public struct SAEReconstructionMetrics: Codable, Sendable, Equatable {
    /// Mean number of non-zero latents per input.
    public var l0: Double
    /// Mean over inputs of the mean over coordinates of (ĥ − h)² (the training loss's reconstruction term).
    public var meanSquaredError: Double
    /// 1 − Σ‖h − ĥ‖² / Σ‖h − h̄‖² with h̄ the mean input; 1 is perfect, 0 no better than the mean. Inputs with no
    /// variance give 1 when reconstructed exactly and 0 otherwise.
    public var fractionOfVarianceExplained: Double
    /// Fraction of latents non-zero on no input.
    public var deadFraction: Double
    /// Per latent: the fraction of inputs on which it is non-zero.
    public var fractionActive: [Double]

    /// Computes the metrics from `inputs` [B][m], `reconstructions` [B][m] and `codes` [B][d_sae].
    public init(inputs: [Float], reconstructions: [Float], codes: [Float], inputCount m: Int, latentCount L: Int) {
        precondition(inputs.count == reconstructions.count && inputs.count % m == 0)
        let B = inputs.count / m
        precondition(codes.count == B * L)
        var mean = [Double](repeating: 0, count: m)
        for b in 0..<B { for i in 0..<m { mean[i] += Double(inputs[b * m + i]) } }
        if B > 0 { mean = mean.map { $0 / Double(B) } }
        var err = 0.0, variance = 0.0
        for b in 0..<B {
            for i in 0..<m {
                let h = Double(inputs[b * m + i]), r = Double(reconstructions[b * m + i])
                err += (r - h) * (r - h)
                variance += (h - mean[i]) * (h - mean[i])
            }
        }
        var active = [Int](repeating: 0, count: L), nonZero = 0
        for b in 0..<B { for j in 0..<L where codes[b * L + j] != 0 { active[j] += 1; nonZero += 1 } }
        l0 = B > 0 ? Double(nonZero) / Double(B) : 0
        meanSquaredError = B > 0 ? err / Double(B * m) : 0
        fractionOfVarianceExplained = variance > 0 ? 1 - err / variance : (err == 0 ? 1 : 0)
        deadFraction = L > 0 ? Double(active.filter { $0 == 0 }.count) / Double(L) : 0
        fractionActive = active.map { B > 0 ? Double($0) / Double(B) : 0 }
    }
}
