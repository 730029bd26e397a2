import Foundation
import Testing
import TMSCore
import TMSTestSupport
@testable import TMSModels

// The L1 penalty (Adam.swift `addL1Gradient`, Config.swift `l1Penalty`; docs/models.md#loss).

/// The directional derivative along d of F = L + λ·Σ|W| (W and W₂, not b): the Float pass's gradient with
/// `addL1Gradient(λ)` (or without it, `withPenalty: false`), and a central difference of the Double reference
/// loss plus the penalty. d is zero on weights within 1e-3 of 0, so the difference never crosses |w|'s kink.
private func l1Directional(_ model: ModelKind, lambda: Double, withPenalty: Bool) -> (analytic: Double, numeric: Double) {
    let c = GradientCase(model: model, n: 17, m: 3, batchSize: 7)
    let p = c.problem(kinkFree: true)
    let state = makeState(c, p)
    state.pass(computeGradients: true)
    if withPenalty { state.addL1Gradient(Float(lambda)) }
    let g = state.gradients()
    var rng = RandomStream(seed: 11)
    func direction(_ w: [[Double]]) -> [[Double]] {
        w.map { $0.map { Swift.abs($0) < 1e-3 ? 0 : rng.nextNormal() } }
    }
    let dW = direction(p.wDouble), dW2 = p.w2Double.map(direction)
    var analytic = zip(g.W.map(Double.init), dW.flatMap { $0 }).reduce(0) { $0 + $1.0 * $1.1 }
    if let gW2 = g.W2, let dW2 { analytic += zip(gW2.map(Double.init), dW2.flatMap { $0 }).reduce(0) { $0 + $1.0 * $1.1 } }
    func F(_ t: Double) -> Double {
        func moved(_ w: [[Double]], _ d: [[Double]]) -> [[Double]] { zip(w, d).map { zip($0, $1).map { $0 + t * $1 } } }
        let W = moved(p.wDouble, dW), W2 = p.w2Double.map { moved($0, dW2!) }
        let penalty = lambda * (W.flatMap { $0 } + (W2?.flatMap { $0 } ?? [])).reduce(0) { $0 + Swift.abs($1) }
        return ReferenceModel.loss(model: model, W: W, W2: W2, bias: p.biasDouble, importance: p.importanceDouble,
                                   batch: p.batchDouble) + penalty
    }
    let h = 1e-5
    return (analytic, (F(h) - F(-h)) / (2 * h))
}

@Test(arguments: ModelKind.allCases)
func l1GradientMatchesFiniteDifferencesAwayFromZero(model: ModelKind) {
    // λ = 0.1 makes the penalty's part of the directional derivative (λ·Σ sign(w)·d) comparable to the loss's.
    let r = l1Directional(model, lambda: 0.1, withPenalty: true)
    #expect(Swift.abs(r.analytic - r.numeric) <= 1e-4 * max(1e-3, Swift.abs(r.numeric)), "analytic \(r.analytic) vs numeric \(r.numeric)")
    // The check is not vacuous: leaving the penalty's gradient out fails it by far.
    let without = l1Directional(model, lambda: 0.1, withPenalty: false)
    #expect(Swift.abs(without.analytic - without.numeric) > 1e-2 * max(1e-3, Swift.abs(without.numeric)))
}

@Test func l1GradientIsSignTimesLambdaAndZeroAtZero() {
    // With all-zero data the loss gradient of W is zero, so the gradient is exactly λ·sign(W), 0 where W = 0.
    let W: [Float] = [0.5, -2, 0, 1e-30]
    let sampler = FeatureSampler(featureCount: 2, probability: [1, 1], distribution: .independent, signed: false)
    let state = InstanceState(model: .reluOutput, featureCount: 2, hiddenCount: 2, importance: [1, 1], sampler: sampler,
                              dataStream: RandomStream(seed: 1), W: W, W2: nil, bias: [-1, -1], batchSize: 1)
    state.batch = SparseBatch(dense: [[0, 0]])
    state.pass(computeGradients: true)
    state.addL1Gradient(0.25)
    #expect(state.gradients().W == [0.25, -0.25, 0, 0.25])
    #expect(state.gradients().bias == [0, 0])
}

@Test func l1PenaltyIsValidatedAndDefaultsToZeroInOlderConfigs() throws {
    var c = TrainingConfig.standard(featureCount: 5, hiddenCount: 2, featureProbabilities: [0.1])
    #expect(c.l1Penalty == 0)
    for bad in [-1e-9, .infinity, .nan, 2e6] {
        c.l1Penalty = bad
        #expect(throws: ConfigError("--l1 / l1Penalty: \(bad) is invalid; it must be a finite number in [0, 1e6] (0: no penalty)")) { try c.validate() }
    }
    c.l1Penalty = 1e-4
    try c.validate()
    let data = try JSONEncoder().encode(c)
    var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(object["l1Penalty"] as? Double == 1e-4)
    object["l1Penalty"] = nil
    let old = try JSONDecoder().decode(TrainingConfig.self, from: try JSONSerialization.data(withJSONObject: object))
    #expect(old.l1Penalty == 0)
}

@Test func l1PenaltyShrinksWeightsThatTheLossDoesNotUse() throws {
    // Features that never occur (p tiny) get almost no loss gradient through the input; the penalty then
    // drives their weights towards 0 much faster than training without it.
    var c = TrainingConfig.standard(featureCount: 8, hiddenCount: 4, featureProbabilities: [0.05], steps: 300, batchSize: 32)
    let plain = try Trainer(config: c, threads: 1).train()
    c.l1Penalty = 1e-3
    let penalised = try Trainer(config: c, threads: 1).train()
    let l1 = { (w: [Float]) in w.reduce(0) { $0 + Swift.abs($1) } }
    #expect(l1(penalised.weights.W) < 0.8 * l1(plain.weights.W), "Σ|W| \(l1(penalised.weights.W)) vs \(l1(plain.weights.W))")
}
