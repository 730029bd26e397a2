import Testing
import TMSCore
import TMSModels
import TMSTestSupport

// The Double reference itself: hand-checked values, gradients against central finite differences, and the
// checker shown to fail on wrong gradients.

@Test func referenceLossOfLinearAndReluOutputMatchesHandComputation() {
    // h = 0.5; y = (0.5 + 0.1, −0.5 + 0.2) = (0.6, −0.3); I = (1, 2); mean over the 2 features.
    let W: [[Double]] = [[1, -1]]
    let args = (bias: [0.1, 0.2], importance: [1.0, 2.0], batch: [[0.5, 0.0]])
    let linear = ReferenceModel.loss(model: .linear, W: W, W2: nil, bias: args.bias, importance: args.importance, batch: args.batch)
    #expect(Swift.abs(linear - (0.01 + 2 * 0.09) / 2) < 1e-15)
    let relu = ReferenceModel.loss(model: .reluOutput, W: W, W2: nil, bias: args.bias, importance: args.importance, batch: args.batch)
    #expect(Swift.abs(relu - 0.01 / 2) < 1e-15)
}

@Test func referenceGradientOfOneWeightModelMatchesHandComputation() {
    // x′ = w²x + b with w = 0.5, b = 0.1, x = 0.8: x′ = 0.3, error x′ − x = −0.5;
    // L = 0.25, ∂L/∂b = 2·(−0.5) = −1, ∂L/∂w = 2·(−0.5)·2wx = −0.8.
    let r = ReferenceModel.lossAndGradients(model: .linear, W: [[0.5]], W2: nil, bias: [0.1], importance: [1], batch: [[0.8]])
    #expect(Swift.abs(r.loss - 0.25) < 1e-15)
    #expect(Swift.abs(r.gradBias[0] + 1) < 1e-15)
    #expect(Swift.abs(r.gradW[0][0] + 0.8) < 1e-15)
    #expect(r.gradW2 == nil)
}

@Test(arguments: [-0.9, -0.4, 0.0, 0.3, 1.0])
func absModelWithOneNeuronPerSignComputesAbsoluteValueExactly(x: Double) {
    // |x| = ReLU(x) + ReLU(−x): W₁ = (1, −1)ᵀ, W₂ = (1, 1), b = 0 gives zero loss and zero gradient.
    let r = ReferenceModel.lossAndGradients(model: .abs, W: [[1], [-1]], W2: [[1, 1]], bias: [0], importance: [1], batch: [[x]])
    #expect(r.loss == 0)
    #expect(r.gradBias == [0])
    #expect(r.gradW2! == [[0, 0]])
}

@Test func reluGradientIsZeroAtAKink() {
    // relu-output with y = 0 exactly for a present feature (W = 0, b = 0): the output is dead, ReLU′(0) = 0.
    let r = ReferenceModel.lossAndGradients(model: .reluOutput, W: [[0, 0]], W2: nil, bias: [0, 0], importance: [1, 1],
                                            batch: [[0.7, 0.2]])
    #expect(r.gradBias == [0, 0])
    #expect(r.gradW == [[0, 0]])
    #expect(Swift.abs(r.loss - (0.49 + 0.04) / 2) < 1e-15)
}

@Test(arguments: GradientCase.awkward)
func referenceGradientMatchesCentralFiniteDifferences(_ c: GradientCase) {
    let p = c.problem(kinkFree: true)
    let error = ReferenceModel.directionalDerivativeCheck(model: c.model, W: p.wDouble, W2: p.w2Double, bias: p.biasDouble,
                                                          importance: p.importanceDouble, batch: p.batchDouble,
                                                          seed: 11, directions: 3)
    #expect(error < 1e-6, "relative error \(error)")
}

@Test(arguments: ModelKind.allCases)
func gradientCheckerReportsLargeErrorForWrongGradients(model: ModelKind) {
    let c = GradientCase(model: model, n: 3, m: 3, batchSize: 7)
    let p = c.problem(kinkFree: true)
    let right = ReferenceModel.lossAndGradients(model: model, W: p.wDouble, W2: p.w2Double, bias: p.biasDouble,
                                                importance: p.importanceDouble, batch: p.batchDouble)
    func check(_ g: (gradW: [[Double]], gradW2: [[Double]]?, gradBias: [Double])) -> Double {
        ReferenceModel.directionalDerivativeCheck(model: model, W: p.wDouble, W2: p.w2Double, bias: p.biasDouble,
                                                  importance: p.importanceDouble, batch: p.batchDouble,
                                                  gradient: g, seed: 11, directions: 3)
    }
    // Sanity: the right gradient passes through the same call.
    #expect(check((right.gradW, right.gradW2, right.gradBias)) < 1e-6)
    // Twice the gradient (a forgotten factor of 2 in the loss scale).
    let doubled = check((right.gradW.map { $0.map { 2 * $0 } }, right.gradW2?.map { $0.map { 2 * $0 } },
                         right.gradBias.map { 2 * $0 }))
    #expect(doubled > 0.1, "doubled gradient gave only \(doubled)")
    // A missing bias gradient.
    let noBias = check((right.gradW, right.gradW2, right.gradBias.map { _ in 0 }))
    #expect(noBias > 1e-2, "zeroed bias gradient gave only \(noBias)")
    // One weight's gradient with the wrong sign.
    var flipped = right.gradW
    flipped[1][2] = -flipped[1][2] + 0.5
    let wrongEntry = check((flipped, right.gradW2, right.gradBias))
    #expect(wrongEntry > 1e-2, "perturbed weight gradient gave only \(wrongEntry)")
}
