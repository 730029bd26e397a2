import Foundation
import TMSCore

// Analysis of the `abs` model's neurons (Elhage et al. 2022, §"Computation in Superposition";
// docs/analysis.md). W₁ is m×n (row j: neuron j's input loadings), W₂ is n×m (column j: its output loadings).

/// The pair of neurons that computes |x_i| = ReLU(x_i) + ReLU(−x_i) for one feature.
public struct AbsNeuronPair: Sendable, Equatable {
    public let feature: Int
    /// The neuron with W₁[j, i] > 0 (ReLU(x_i)).
    public let positiveNeuron: Int
    /// The neuron with W₁[j, i] < 0 (ReLU(−x_i)).
    public let negativeNeuron: Int
}

/// For each feature, its dedicated ReLU(x)/ReLU(−x) pair if it has one: two distinct neurons, each
/// monosemantic for feature i (at least `threshold` of Σ_k W₁[j, k]² on feature i), with opposite W₁ signs on
/// i and positive output weights W₂[i, j]. `nil` where feature i has no such pair.
public func absNeuronPairs(W1: Matrix, W2: Matrix, threshold: Double = 0.9) -> [AbsNeuronPair?] {
    let summary = neuronSummary(of: W1, threshold: threshold)
    return (0..<W1.columnCount).map { i in
        let mono = (0..<W1.rowCount).filter {
            summary.dominantFeature[$0] == i && summary.monosemanticity[$0] >= threshold && W2[i, $0] > 0
        }
        guard let plus = mono.first(where: { W1[$0, i] > 0 }), let minus = mono.first(where: { W1[$0, i] < 0 }) else { return nil }
        return AbsNeuronPair(feature: i, positiveNeuron: plus, negativeNeuron: minus)
    }
}

/// The share of live neurons of W (m×n) that are polysemantic: monosemanticity below `threshold`
/// (``neuronSummary(of:threshold:)``); dead neurons (Σ_i W_{k,i}² < 1e-6) are left out. 0 when all are dead.
public func polysemanticFraction(of W: Matrix, threshold: Double = 0.9) -> (polysemantic: Int, live: Int, fraction: Double) {
    let s = neuronSummary(of: W, threshold: threshold)
    let live = s.dominantFeature.compactMap { $0 }.count
    let poly = live - s.monosemanticCount
    return (poly, live, live == 0 ? 0 : Double(poly) / Double(live))
}

/// One instance of the asymmetric superposition motif: neuron `neuron` reads feature `strong` with a large
/// weight and feature `weak` with a small one (W₁ like [2, −½]) but writes `weak` strongly and `strong`
/// weakly (W₂ like [½, 2]), so each feature is reconstructed at about unit gain; the interference it puts on
/// `weak` whenever `strong` is active is cancelled by `inhibitor`, a neuron that also reads `strong` and
/// writes `weak` negatively.
public struct AsymmetricMotif: Sendable, Equatable {
    public let neuron: Int
    public let strong: Int
    public let weak: Int
    public let inhibitor: Int
    /// |W₁[neuron, strong] / W₁[neuron, weak]|.
    public let inputRatio: Double
    /// W₂[weak, neuron] / W₂[strong, neuron].
    public let outputRatio: Double
}

/// Finds every asymmetric motif in an `abs` model (``AsymmetricMotif``). Neuron j, features a (strong) and
/// b (weak) form one when
/// - |W₁[j, a]| ≥ `ratio`·|W₁[j, b]| > 0 and W₂[b, j] ≥ `ratio`·W₂[a, j] > 0 (both features written positively);
/// - both are carried at a useful gain: |W₁[j, a]|·W₂[a, j] ≥ `minGain` and |W₁[j, b]|·W₂[b, j] ≥ `minGain`;
/// - some other neuron j′ reads a with the same sign (W₁[j′, a]·W₁[j, a] > 0) and writes b negatively, cancelling
///   at least a quarter of the interference: |W₁[j′, a]|·(−W₂[b, j′]) ≥ ¼·|W₁[j, a]|·W₂[b, j].
/// For each (j, a, b) the inhibitor with the largest cancellation is reported. Ordered by neuron, then strong.
public func asymmetricMotifs(W1: Matrix, W2: Matrix, ratio: Double = 2, minGain: Double = 0.25) -> [AsymmetricMotif] {
    let m = W1.rowCount, n = W1.columnCount
    var found: [AsymmetricMotif] = []
    for j in 0..<m {
        for a in 0..<n {
            let inA = Double(W1[j, a]), outA = Double(W2[a, j])
            guard inA != 0, outA > 0, Swift.abs(inA) * outA >= minGain else { continue }
            for b in 0..<n where b != a {
                let inB = Double(W1[j, b]), outB = Double(W2[b, j])
                guard inB != 0, Swift.abs(inA) >= ratio * Swift.abs(inB), outB >= ratio * outA,
                      Swift.abs(inB) * outB >= minGain else { continue }
                let interference = Swift.abs(inA) * outB
                var best: (neuron: Int, cancel: Double)? = nil
                for i in 0..<m where i != j {
                    let reads = Double(W1[i, a]), writes = Double(W2[b, i])
                    guard reads * inA > 0, writes < 0 else { continue }
                    let cancel = Swift.abs(reads) * -writes
                    if cancel >= 0.25 * interference && cancel > (best?.cancel ?? 0) { best = (i, cancel) }
                }
                if let best {
                    found.append(AsymmetricMotif(neuron: j, strong: a, weak: b, inhibitor: best.neuron,
                                                 inputRatio: Swift.abs(inA / inB), outputRatio: outB / outA))
                }
            }
        }
    }
    return found
}

/// The neurons that carry feature i of W (m×n) in a privileged basis: the fewest neurons whose W_{k,i}²
/// sum to at least `share` of ‖W_i‖², largest first (Elhage et al. 2022, §"Privileged Basis": when sparse,
/// each of 10 features in 5 neurons is carried by its own pair). Empty for a zero column.
public func carryingNeurons(of W: Matrix, feature i: Int, share: Double = 0.9) -> [Int] {
    let squares = (0..<W.rowCount).map { Double(W[$0, i]) * Double(W[$0, i]) }
    let total = squares.reduce(0, +)
    guard total > 0 else { return [] }
    var carried = 0.0, neurons: [Int] = []
    for k in squares.indices.sorted(by: { squares[$0] > squares[$1] || squares[$0] == squares[$1] && $0 < $1 }) {
        neurons.append(k); carried += squares[k]
        if carried >= share * total { break }
    }
    return neurons
}
