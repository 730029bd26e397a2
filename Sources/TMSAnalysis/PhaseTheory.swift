import Foundation
import TMSCore

/// The phase of an extra feature in the paper's phase-change study (Elhage et al. 2022, "Superposition as a Phase Change"; docs/analysis.md#phase-of-a-feature).
public enum FeaturePhase: Int, Sendable, Codable, CaseIterable {
    /// ‖W_extra‖ < 0.5.
    case notLearned = 0
    /// Represented in a dimension of its own (no interference).
    case dedicated = 1
    /// Represented with interference, e.g. antipodal to another feature.
    case superposition = 2

    public var label: String {
        switch self {
        case .notLearned: return "not learned"
        case .dedicated: return "dedicated dimension"
        case .superposition: return "superposition"
        }
    }
}

/// Classifies feature `extra` of W (m×n): not learned if ‖W_extra‖ < 0.5; superposition if some other
/// represented feature j has |Ŵ_extra·Ŵ_j| > 0.5; dedicated otherwise.
public func phaseOfFeature(_ extra: Int, in W: Matrix) -> FeaturePhase {
    let norms = featureNorms(of: W)
    guard norms[extra] >= 0.5 else { return .notLearned }
    for j in 0..<W.columnCount where j != extra && norms[j] >= 0.5 {
        if Swift.abs(featureCosine(W, extra, j)) > 0.5 { return .superposition }
    }
    return .dedicated
}

/// Closed-form expected losses of the candidate solutions of the phase-change study (docs/closed-forms.md#the-phase-diagrams), with feature
/// density p, the extra feature's relative importance r (others 1), data x_i = Bernoulli(p)·U[0, 1] and
/// each candidate's optimal bias. Losses are summed over the features affected (not divided by n).
///
/// Derivation (one feature, E[x] = p/2, E[x²] = p/3):
/// - A dropped feature is best predicted by its mean, b = p/2: loss Var(x) = p/3 − p²/4, times its importance.
/// - A dedicated feature (its own direction, unit norm, b = 0) is reconstructed exactly: loss 0.
/// - Two features antipodal in one direction, W = [1, −1], b = 0: x′₁ = ReLU(x₁ − x₂). When only one is
///   present it is recovered exactly; when both are present (probability p²) the error is
///   E[(x₁ − ReLU(x₁ − x₂))²] = E[min(x₁, x₂)²] = 1/6 for each feature, giving (I₁ + I₂)·p²/6.
///   (Ignoring the small bias correction, as the paper's idealised theory does.)
public enum PhaseTheory {
    /// Var(x_i) = p/3 − p²/4: the loss of a dropped feature of importance 1.
    public static func droppedLoss(p: Double) -> Double { p / 3 - p * p / 4 }

    /// n = 2, m = 1 candidates: W = [1, 0] (extra ignored), [0, 1] (the other ignored, extra dedicated),
    /// [1, −1] (antipodal).
    public static func twoFeatureLosses(p: Double, r: Double) -> (ignoreExtra: Double, ignoreOther: Double, antipodal: Double) {
        (r * droppedLoss(p: p), droppedLoss(p: p), (1 + r) * p * p / 6)
    }

    /// The theoretical phase of the extra feature for n = 2, m = 1: the lowest-loss candidate.
    public static func twoFeaturePhase(p: Double, r: Double) -> FeaturePhase {
        let l = twoFeatureLosses(p: p, r: r)
        if l.antipodal < l.ignoreExtra && l.antipodal < l.ignoreOther { return .superposition }
        return l.ignoreOther < l.ignoreExtra ? .dedicated : .notLearned
    }

    /// n = 3, m = 2 candidates (features 0, 1 of importance 1, feature 2 the extra of importance r):
    /// W ⊥ [0,0,1] (extra ignored, 0 and 1 dedicated), W ⊥ [1,0,0] (feature 0 ignored, extra dedicated),
    /// W ⊥ [0,1,1] (extra antipodal with feature 1, feature 0 dedicated), W ⊥ [1,1,0] (features 0 and 1
    /// antipodal, extra dedicated).
    public static func threeFeatureLosses(p: Double, r: Double)
        -> (ignoreExtra: Double, ignoreOther: Double, extraAntipodal: Double, othersAntipodal: Double) {
        (r * droppedLoss(p: p), droppedLoss(p: p), (1 + r) * p * p / 6, p * p / 3)
    }

    /// The theoretical phase of the extra feature for n = 3, m = 2.
    public static func threeFeaturePhase(p: Double, r: Double) -> FeaturePhase {
        let l = threeFeatureLosses(p: p, r: r)
        let best = min(l.ignoreExtra, l.ignoreOther, l.extraAntipodal, l.othersAntipodal)
        if best == l.extraAntipodal { return .superposition }
        if best == l.ignoreExtra { return .notLearned }
        return .dedicated
    }

    /// Antipodal beats ignoring the extra feature iff r > 2p/(4 − 5p) (n = 2).
    public static func superpositionVersusIgnoreBoundary(p: Double) -> Double { 2 * p / (4 - 5 * p) }
    /// Antipodal beats dedicating the extra feature iff r < 2/p − 5/2 (n = 2).
    public static func superpositionVersusDedicatedBoundary(p: Double) -> Double { 2 / p - 2.5 }
}
