import Foundation
import Testing
import TMSCore
import TMSAnalysis

// ExpectedLoss.swift: the exact expected loss of the linear model.

@Test func expectedLinearLossOfTopFeaturesIsTheClosedForm() {
    // n = 20, m = 5, I_i = 0.7^i, p = 1, W = [Id_5 | 0], b_i = 1/2 for dropped features: the closed form
    // (docs/closed-forms.md) gives 0.0023232 per feature.
    var W = TMSCore.Matrix(rowCount: 5, columnCount: 20)
    for k in 0..<5 { W[k, k] = 1 }
    let bias = (0..<20).map { $0 < 5 ? Float(0) : Float(0.5) }
    let importance = (0..<20).map { Float(pow(0.7, Double($0))) }
    let loss = expectedLinearLoss(weights: W, bias: bias, featureProbability: [Float](repeating: 1, count: 20), importance: importance)
    #expect(Swift.abs(loss - 0.0023232) < 1e-6)
}

@Test func expectedLinearLossOfOneDroppedFeatureIsItsVariance() {
    // n = 1, W = 0, b = p/2: the loss is Var(x) = p/3 − p²/4 (p = 0.5: 5/48), times the importance 2.
    let W = TMSCore.Matrix(rowCount: 1, columnCount: 1)
    let loss = expectedLinearLoss(weights: W, bias: [0.25], featureProbability: [0.5], importance: [2])
    #expect(Swift.abs(loss - 2 * 5.0 / 48) < 1e-9)
    // A wrong bias adds its squared error: b = 0 adds (p/2)² = 1/16, times 2.
    let biased = expectedLinearLoss(weights: W, bias: [0], featureProbability: [0.5], importance: [2])
    #expect(Swift.abs(biased - 2 * (5.0 / 48 + 1.0 / 16)) < 1e-9)
}
