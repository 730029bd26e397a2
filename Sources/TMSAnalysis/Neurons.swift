import Foundation
import TMSCore

/// Neuron-level measures for models with a privileged basis (a hidden ReLU): `relu-hidden` and `abs`.
///
/// For neuron k (row k of W, m×n), its loadings W_{k,i} on each feature; its monosemanticity is the share of
/// the largest loading, max_i W_{k,i}² / Σ_i W_{k,i}² (1: one feature only). Not invariant under rotations of
/// the hidden space, unlike the feature measures.
public struct NeuronSummary: Sendable, Codable, Equatable {
    /// max_i W_{k,i}² / Σ_i W_{k,i}² per neuron (0 for a dead neuron with all-zero loadings).
    public let monosemanticity: [Double]
    /// 1 − monosemanticity per neuron, the colour of the paper's stacked neuron bars.
    public let polysemanticity: [Double]
    /// The dominant feature of each neuron (nil for a dead neuron).
    public let dominantFeature: [Int?]
    /// The number of neurons whose monosemanticity is at least `threshold`.
    public let monosemanticCount: Int
    /// The threshold used.
    public let threshold: Double
}

/// Summarises every neuron of W (m×n). A neuron counts as monosemantic when one feature carries at least
/// `threshold` (default 0.9) of Σ_i W_{k,i}²; a neuron with Σ below 1e-6 is dead and counts as neither.
public func neuronSummary(of W: Matrix, threshold: Double = 0.9) -> NeuronSummary {
    var mono: [Double] = [], dominant: [Int?] = []
    for k in 0..<W.rowCount {
        let squares = (0..<W.columnCount).map { Double(W[k, $0]) * Double(W[k, $0]) }
        let total = squares.reduce(0, +)
        if total < 1e-6 { mono.append(0); dominant.append(nil); continue }
        let top = squares.indices.max { squares[$0] < squares[$1] }!
        mono.append(squares[top] / total); dominant.append(top)
    }
    return NeuronSummary(monosemanticity: mono, polysemanticity: mono.enumerated().map { dominant[$0.offset] == nil ? 0 : 1 - $0.element },
                         dominantFeature: dominant, monosemanticCount: mono.filter { $0 >= threshold }.count,
                         threshold: threshold)
}
