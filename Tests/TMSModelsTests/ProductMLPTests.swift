import Foundation
import Testing
import TMSCore
@testable import TMSModels

// ProductMLP.swift: the 2 → k → 1 ReLU MLP trained on x·y.

@Suite struct ProductMLPTests {
    @Test func lossAndGradientOfOneNeuronByHand() {
        // k = 1, a = (1, 0), b = 0, c = 1, d = 0: f(2, 3) = ReLU(2) = 2, target 6, r = −4, L = 16, g = 2r = −8;
        // ∂d = −8, ∂c = −8·2 = −16, ∂a = −8·1·(2, 3), ∂b = −8.
        let (loss, grad) = ProductMLP.lossAndGradient(parameters: [1, 0, 0, 1, 0], hiddenCount: 1, inputs: [(2, 3)])
        #expect(loss == 16)
        #expect(grad == [-16, -24, -8, -16, -8])
        // An inactive neuron passes no gradient to a, b or c.
        let off = ProductMLP.lossAndGradient(parameters: [-1, 0, 0, 1, 0.5], hiddenCount: 1, inputs: [(2, 3)])
        #expect(off.loss == 5.5 * 5.5 && off.gradient == [0, 0, 0, 0, -11])
    }

    /// The largest |analytic − central difference| over every parameter, relative to the gradient's scale.
    static func gradientError(_ p: [Double], k: Int, inputs: [(x: Double, y: Double)], gradient: [Double]) -> Double {
        let h = 1e-6
        var worst = 0.0
        for i in p.indices {
            var plus = p, minus = p
            plus[i] += h; minus[i] -= h
            let numeric = (ProductMLP.lossAndGradient(parameters: plus, hiddenCount: k, inputs: inputs).loss
                - ProductMLP.lossAndGradient(parameters: minus, hiddenCount: k, inputs: inputs).loss) / (2 * h)
            worst = max(worst, Swift.abs(numeric - gradient[i]))
        }
        return worst / max(1e-12, gradient.map { Swift.abs($0) }.max()!)
    }

    @Test(arguments: [1, 3, 17])
    func gradientMatchesCentralDifferences(hiddenCount k: Int) {
        var rng = RandomStream(seed: 7).split(UInt64(k))
        let p = ProductMLP(hiddenCount: k, rng: &rng).parameters
        let inputs = ProductMLPTrainer.inputs(count: 7, rng: &rng)
        let (_, grad) = ProductMLP.lossAndGradient(parameters: p, hiddenCount: k, inputs: inputs)
        #expect(Self.gradientError(p, k: k, inputs: inputs, gradient: grad) < 1e-6)
        // The checker catches a wrong gradient: one entry off by 1 % of the largest.
        var wrong = grad
        wrong[p.count / 2] += 0.01 * grad.map { Swift.abs($0) }.max()!
        #expect(Self.gradientError(p, k: k, inputs: inputs, gradient: wrong) > 1e-3)
    }

    @Test func trainingIsDeterministicAndLowersTheLoss() {
        let trainer = ProductMLPTrainer(hiddenCount: 4, steps: 300, batchSize: 32, learningRate: 1e-2, seed: 3)
        let a = trainer.train(), b = trainer.train()
        #expect(a.model == b.model && a.losses == b.losses)
        #expect(a.losses.count == 300)
        var other = trainer; other.seed = 4
        #expect(other.train().model != a.model)
        // Mean of the last 50 batch losses well below the first 50 (E[(xy)²] = 1 at the start's scale).
        let first = a.losses.prefix(50).reduce(0, +) / 50, last = a.losses.suffix(50).reduce(0, +) / 50
        #expect(last < 0.7 * first, "first \(first), last \(last)")
    }

    @Test func initialisationFollowsNNLinearBounds() {
        var rng = RandomStream(seed: 0)
        let m = ProductMLP(hiddenCount: 16, rng: &rng)
        let bound1 = Float(1 / 2.0.squareRoot()), bound2 = Float(0.25)
        #expect((m.inputWeights + m.inputBias).allSatisfy { Swift.abs($0) <= bound1 })
        #expect((m.outputWeights + [m.outputBias]).allSatisfy { Swift.abs($0) <= bound2 })
        #expect(ProductMLP(hiddenCount: 16, parameters: m.parameters) == m)
    }
}
