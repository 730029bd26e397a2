import Foundation
import Testing
import TMSCore
import TMSAnalysis

// Adversarial.swift: the attack pieces on hand-written models.

@Suite struct AdversarialAnalysisTests {
    /// Two features in one dimension as an antipodal pair, bias 0, unit importance: G = [[1, −1], [−1, 1]].
    let digon = ReLUOutputProbe(weights: Matrix(rows: [[1, -1]]), bias: [0, 0], importance: [1, 1])
    /// Two features on orthogonal axes: G = I, so the model is exact on non-negative inputs.
    let orthogonal = ReLUOutputProbe(weights: Matrix(rows: [[1, 0], [0, 1]]), bias: [0, 0], importance: [1, 1])

    @Test func lossAndGradientMatchHandValues() {
        // x = (0.5, 0): z = (0.5, −0.5) → x′ = (0.5, 0), exact.
        #expect(digon.loss(input: [0.5, 0], target: [0.5, 0]) == 0)
        // x + δ = (0.5, −0.2): z = (0.7, −0.7); error (0.2, 0) → 0.04 / 2.
        #expect(Swift.abs(digon.loss(input: [0.5, -0.2], target: [0.5, 0]) - 0.02) < 1e-12)
        // Exact output: the gradient vanishes (masking).
        #expect(digon.lossGradient(input: [0.5, 0], target: [0.5, 0]) == [0, 0])
        // r = (2·0.2/2, 0) = (0.2, 0); G r = (0.2, −0.2).
        let g = digon.lossGradient(input: [0.5, -0.2], target: [0.5, 0])
        #expect(Swift.abs(g[0] - 0.2) < 1e-12 && Swift.abs(g[1] + 0.2) < 1e-12)
    }

    @Test func analyticAttackIsTheNormalisedGramRow() {
        let d = digon.analyticAttack(feature: 0, size: 0.1)
        #expect(Swift.abs(d[0] - 0.1 / 2.0.squareRoot()) < 1e-12 && Swift.abs(d[1] + 0.1 / 2.0.squareRoot()) < 1e-12)
        // The same δ on every input: mean of the per-input losses.
        let inputs: [[Double]] = [[0.5, 0], [0, 0.5]]
        let direct = inputs.reduce(0.0) { $0 + digon.loss(input: zip($1, d).map { $0 + $1 }, target: $1) } / 2
        #expect(Swift.abs(digon.meanLoss(inputs, perturbedBy: d) - direct) < 1e-12)
    }

    @Test func superpositionIsMoreVulnerableThanOrthogonal() {
        let inputs: [[Double]] = [[0.5, 0], [0, 0.5], [0.3, 0]]
        let lambda = 0.1
        let sup = digon.worstAnalyticAttack(inputs, size: lambda).loss - digon.meanLoss(inputs)
        let ref = orthogonal.worstAnalyticAttack(inputs, size: lambda).loss - orthogonal.meanLoss(inputs)
        // Orthogonal: δ = 0.1·e_i shifts one output by 0.1 on every input: 0.01 / 2.
        #expect(Swift.abs(ref - 0.005) < 1e-12)
        // The closed form for a model without superposition: λ²·max I / n = 0.01 · 1 / 2.
        #expect(Swift.abs(noSuperpositionAttackIncrease(size: lambda, importance: [1, 1]) - ref) < 1e-12)
        #expect(Swift.abs(noSuperpositionAttackIncrease(size: 0.2, importance: [0.5, 2, 1, 1]) - 0.04 * 2 / 4) < 1e-12)
        #expect(adversarialVulnerability(clean: 0, attacked: sup, referenceClean: 0, referenceAttacked: ref) > 1)
        // From δ = 0 the digon's gradient is zero on exact inputs: the gradient attack finds nothing.
        #expect(digon.gradientAttackLoss(inputs, size: lambda) == digon.meanLoss(inputs))
    }

    @Test func samplingNormsAndCorrelation() {
        let xs = sampleSparseInputs(count: 4000, probability: [0.5, 0.5, 0.5], seed: 3)
        let nonzero = Double(xs.flatMap { $0 }.filter { $0 != 0 }.count) / 12_000
        #expect(Swift.abs(nonzero - 0.5) < 0.03)
        #expect(xs == sampleSparseInputs(count: 4000, probability: [0.5, 0.5, 0.5], seed: 3))
        #expect(Swift.abs(meanNorm([[3, 4], [0, 0]]) - 2.5) < 1e-12)
        #expect(Swift.abs(pearsonCorrelation([1, 2, 3], [2, 4, 6]) - 1) < 1e-12)
        #expect(Swift.abs(pearsonCorrelation([1, 2, 3], [3, 2, 1]) + 1) < 1e-12)
        #expect(pearsonCorrelation([1, 1], [1, 2]).isNaN)
    }
}
