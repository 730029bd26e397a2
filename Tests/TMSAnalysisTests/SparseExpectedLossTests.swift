import Foundation
import Testing
import TMSCore
import TMSAnalysis

// SparseExpectedLoss.swift: the expansion in the number of active features against closed forms and sampling.

@Suite struct SparseExpectedLossTests {
    @Test func zeroWeightsGiveTheClosedForm() {
        // W = 0, b = 0: each feature's error is x_j, E x_j² = p/3; the expansion misses only ≥ 3 active.
        let W = Matrix(rowCount: 2, columnCount: 4), p: [Float] = [0.01, 0.01, 0.01, 0.01]
        let r = expectedReLUOutputLoss(weights: W, bias: [0, 0, 0, 0], featureProbability: p, importance: [1, 1, 1, 1])
        #expect(Swift.abs(r.loss - 0.01 / 3) <= r.truncation + 1e-12)
        #expect(r.truncation < 1e-5)
    }

    @Test func orthonormalFeaturesAreExact() {
        let W = Matrix(rows: [[1, 0], [0, 1]])
        let r = expectedReLUOutputLoss(weights: W, bias: [0, 0], featureProbability: [0.3, 0.2], importance: [1, 1])
        #expect(Swift.abs(r.loss) < 1e-12 && r.truncation < 1e-12)   // two features: nothing is truncated
    }

    @Test func matchesSamplingOnAnAntipodalPair() {
        // Two features, one dimension, antipodal, negative bias: every input is covered (≤ 2 active).
        let W = Matrix(rows: [[1, -1]]), b: [Float] = [-0.1, -0.1], p: [Float] = [0.3, 0.3], I: [Float] = [1, 0.5]
        let r = expectedReLUOutputLoss(weights: W, bias: b, featureProbability: p, importance: I, grid: 200)
        let probe = ReLUOutputProbe(weights: W, bias: b, importance: I)
        let sampled = probe.meanLoss(sampleSparseInputs(count: 200_000, probability: p, seed: 11))
        #expect(Swift.abs(r.loss - sampled) / sampled < 0.01, "expansion \(r.loss), sampled \(sampled)")
        #expect(r.truncation < 1e-12)
    }
}
