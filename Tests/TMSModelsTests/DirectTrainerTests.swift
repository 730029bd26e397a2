import Foundation
import Testing
import TMSCore
@testable import TMSModels

// DirectTrainer.swift: loss and gradient against finite differences; determinism; AdamW decay.

@Suite struct DirectTrainerTests {
    let rows = [SparseRow(features: [0, 2], values: [0.7, 0.4]), SparseRow(features: [1], values: [0.9]), SparseRow(features: [], values: [])]

    @Test func oneStepMatchesFiniteDifferenceGradient() {
        // With lr tiny and Adam's first step being lr·sign(g) (|g| ≫ ε), each parameter moves by −lr·sign(∂L/∂p).
        let W0 = Matrix(rowCount: 2, columnCount: 3, values: [0.5, -0.3, 0.2, 0.1, 0.6, -0.4])
        let b0: [Float] = [0.05, 0.1, -0.02]
        let importance: [Float] = [1, 0.7, 0.49]
        var trainer = DirectTrainer(featureCount: 3, hiddenCount: 2, importance: importance, steps: 1, learningRate: 1e-4)
        trainer.beta1 = 0.9
        let r = trainer.train(initialW: W0, initialBias: b0) { _ in rows }
        let h: Float = 1e-3
        for i in 0..<6 {
            var plus = W0.values, minus = W0.values
            plus[i] += h; minus[i] -= h
            let g = (DirectTrainer.loss(W: Matrix(rowCount: 2, columnCount: 3, values: plus), bias: b0, importance: importance, rows: rows)
                - DirectTrainer.loss(W: Matrix(rowCount: 2, columnCount: 3, values: minus), bias: b0, importance: importance, rows: rows)) / Double(2 * h)
            let moved = Double(r.W.values[i] - W0.values[i])
            #expect(Swift.abs(moved + 1e-4 * (g > 0 ? 1 : -1)) < 2e-6, "W[\(i)]: moved \(moved), finite-difference gradient \(g)")
        }
        // The recorded loss before the step is the exact loss of the start.
        let exact = DirectTrainer.loss(W: W0, bias: b0, importance: importance, rows: rows)
        #expect(Swift.abs(Double(r.losses[0]) - exact) < 1e-6)
    }

    @Test func lossMatchesAHandValue() {
        // W = [[1, 0]], b = 0, x = (0.5, 0): h = 0.5, z = (0.5, 0) → exact; x = (0, 0.5): h = 0, z = 0 → error 0.5² on feature 1.
        let W = Matrix(rowCount: 1, columnCount: 2, values: [1, 0])
        let l = DirectTrainer.loss(W: W, bias: [0, 0], importance: [1, 1],
                                   rows: [SparseRow(features: [0], values: [0.5]), SparseRow(features: [1], values: [0.5])])
        #expect(Swift.abs(l - 0.25 / 2 / 2) < 1e-12)
    }

    @Test func deterministicAndLearns() {
        var t = DirectTrainer(featureCount: 4, hiddenCount: 2, steps: 300, learningRate: 1e-2)
        t.seed = 5
        let a = t.train(snapshotEvery: 100) { _ in rows + [SparseRow(features: [3], values: [0.8])] }
        let b = t.train(snapshotEvery: 100) { _ in rows + [SparseRow(features: [3], values: [0.8])] }
        #expect(a.W == b.W && a.bias == b.bias)
        #expect(a.snapshots.map(\.step) == [0, 100, 200, 300])
        #expect(a.losses.count == 301 && a.losses.last! < a.losses.first! / 2)
    }

    @Test func adamWDecaysWithoutGradient() {
        // No rows: zero gradient, so AdamW only shrinks every parameter by (1 − lr·λ) per step.
        var t = DirectTrainer(featureCount: 2, hiddenCount: 1, steps: 10, learningRate: 0.1)
        t.optimizer = .adamw; t.weightDecay = 0.5
        let W0 = Matrix(rowCount: 1, columnCount: 2, values: [1, -2])
        let r = t.train(initialW: W0, initialBias: [0.3, 0]) { _ in [] }
        let f = Float(pow(1 - 0.1 * 0.5, 10.0))
        #expect(Swift.abs(r.W.values[0] - f) < 1e-5 && Swift.abs(r.W.values[1] + 2 * f) < 1e-5 && Swift.abs(r.bias[0] - 0.3 * f) < 1e-5)
    }
}
