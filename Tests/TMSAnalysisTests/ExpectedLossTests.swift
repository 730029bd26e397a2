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
    // The same number from the closed form of the optimum, which this W with these biases attains.
    #expect(Swift.abs(optimalLinearLoss(featureProbability: 1, importance: importance, hiddenCount: 5) - loss) < 1e-9)
}

@Test func optimalLinearLossHandWorked() {
    // n = 3, m = 1, I = (1, 0.5, 0.25), p = 0.5: σ² = 1/6 − 1/16 = 5/48; (5/48)·0.75/3 = 5/192.
    #expect(Swift.abs(optimalLinearLoss(featureProbability: 0.5, importance: [1, 0.5, 0.25], hiddenCount: 1) - 5.0 / 192) < 1e-12)
    // m = n: nothing is dropped.
    #expect(optimalLinearLoss(featureProbability: 0.5, importance: [1, 0.5], hiddenCount: 2) == 0)
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
