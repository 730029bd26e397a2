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

    @Test(arguments: [(Float(0.15), Float(0), Float(0), Float?.none), (Float(0), Float(0.07), Float(0), Float?.none),
                      (Float(0), Float(0), Float(0.07), Float?.none), (Float(0.15), Float(0), Float(0), Float?.some(0.09))])
    func tolerantStepMatchesFiniteDifferenceGradient(threshold: Float, tolerance: Float, interference: Float, kernel: Float?) {
        // The pre-activations are 0.256, 0.505, 0.102, 0.1, 0.05, −0.02, −0.031, −0.083, −0.29. θ = 0.15: two on,
        // all ≥ 0.048 from θ, so central differences with h = 1e-3 never cross the jump and see exactly the gradient
        // 1[z > θ]·∂L/∂x′ (b_2 has none: output 2 never fires, although its target 0.4 is missed). ε = 0.07 (ReLU
        // output): the errors are −0.444, −0.298, −0.395, 0.1, 0.05 and 0, all ≥ 0.02 from ±ε, the kinks of
        // max(0, |e| − ε)²; ε_I = 0.07 the same on the target-0 outputs only (errors 0.1 and 0.05). Adam's first
        // step moves each parameter by −lr·sign(∂L/∂p), and by 0 where it is 0. A straight-through kernel of width
        // κ = 0.09 at θ = 0.15 covers (0.105, 0.195), which no pre-activation is in, so the gradient is still exact.
        let W0 = Matrix(rowCount: 2, columnCount: 3, values: [0.5, -0.3, 0.2, 0.1, 0.6, -0.4])
        let b0: [Float] = [0.05, 0.1, -0.02]
        let importance: [Float] = [1, 0.7, 0.49]
        var trainer = DirectTrainer(featureCount: 3, hiddenCount: 2, importance: importance, steps: 1, learningRate: 1e-4)
        trainer.outputThreshold = threshold; trainer.errorTolerance = tolerance; trainer.interferenceTolerance = interference
        trainer.jumpKernelWidth = kernel
        let r = trainer.train(initialW: W0, initialBias: b0) { _ in rows }
        let loss = { (W: [Float], b: [Float]) in
            DirectTrainer.loss(W: Matrix(rowCount: 2, columnCount: 3, values: W), bias: b, importance: importance, rows: rows,
                               outputThreshold: threshold, errorTolerance: tolerance, interferenceTolerance: interference)
        }
        let h: Float = 1e-3
        for i in 0..<9 {
            var plusW = W0.values, minusW = W0.values, plusB = b0, minusB = b0
            if i < 6 { plusW[i] += h; minusW[i] -= h } else { plusB[i - 6] += h; minusB[i - 6] -= h }
            let g = (loss(plusW, plusB) - loss(minusW, minusB)) / Double(2 * h)
            let moved = i < 6 ? Double(r.W.values[i] - W0.values[i]) : Double(r.bias[i - 6] - b0[i - 6])
            if Swift.abs(g) < 1e-9 {
                #expect(moved == 0, "parameter \(i): moved \(moved) without a gradient")
            } else {
                #expect(Swift.abs(moved + 1e-4 * (g > 0 ? 1 : -1)) < 2e-6, "parameter \(i): moved \(moved), finite-difference gradient \(g)")
            }
        }
        if threshold > 0 { #expect(r.bias[2] == b0[2]) }
        #expect(Swift.abs(Double(r.losses[0]) - loss(W0.values, b0)) < 1e-6)
    }

    @Test func straightThroughDerivativeMatchesHandValues() {
        // θ = 0.5, κ = 0.2: the band is (0.4, 0.6), the kernel's height θ/κ = 2.5.
        let d = { (z: Double) in DirectTrainer.outputDerivative(z: z, threshold: 0.5, kernelWidth: 0.2) }
        #expect(d(0.3) == 0 && d(0.39) == 0 && d(0.45) == 2.5 && d(0.55) == 3.5 && d(0.61) == 1 && d(0.9) == 1)
        // θ = 0: no jump, the ReLU's 1[z > 0] whatever κ.
        #expect(DirectTrainer.outputDerivative(z: 0.01, threshold: 0, kernelWidth: 0.2) == 1)
        #expect(DirectTrainer.outputDerivative(z: -0.01, threshold: 0, kernelWidth: 0.2) == 0)
    }

    @Test(arguments: [(Float(0.09), -2.5, -3.0), (Float(0.19), -0.45 * 3.5, -0.45 * 3.5 * 1.2), (Float(0.34), -0.3, -0.36), (Float(-0.06), 0, 0)])
    func straightThroughStepMatchesHandGradient(bias0: Float, gradBias0: Double, gradW0: Double) {
        // m = 1, n = 2, W = [0.6, 0], b = (b_0, 0.55), one row x = (1, 0): h = 0.6, z_0 = 0.36 + b_0, z_1 = 0.55.
        // θ = 0.5, κ = 0.2; ∂L/∂x′_j = 2e_j/n = e_j. z_0 = 0.45 (in the band, below θ): x′_0 = 0, e_0 = −1,
        // ∂L/∂z_0 = −1·2.5; z_0 = 0.55 (in the band, above): e_0 = −0.45, ·(1 + 2.5); z_0 = 0.7 (above the band):
        // −0.3, the exact gradient; z_0 = 0.3 (below the band): 0. ∂L/∂W_0 = ∂L/∂z_0 · 2W_0 = ·1.2. The interference
        // z_1 = 0.55 (target 0, in the band): e_1 = 0.55, ∂L/∂b_1 = 0.55·3.5 = 1.925, ∂L/∂W_1 = 1.925·h = 1.155.
        // With lr = Adam's ε = 1e6 the first step is g/(1 + |g|·1e-6) ≈ g itself: plain gradient descent, lr 1.
        var trainer = DirectTrainer(featureCount: 2, hiddenCount: 1, steps: 1, learningRate: 1e6)
        trainer.epsilon = 1e6; trainer.outputThreshold = 0.5; trainer.jumpKernelWidth = 0.2
        let W0 = Matrix(rowCount: 1, columnCount: 2, values: [0.6, 0]), b0: [Float] = [bias0, 0.55]
        let r = trainer.train(initialW: W0, initialBias: b0) { _ in [SparseRow(features: [0], values: [1])] }
        let moved = [Double(r.W.values[0] - 0.6), Double(r.W.values[1]), Double(r.bias[0] - bias0), Double(r.bias[1] - 0.55)]
        let expected = [gradW0, 1.925 * 0.6, gradBias0, 1.925]
        for (got, want) in zip(moved, expected) { #expect(Swift.abs(got + want) < 2e-5, "moved \(moved), gradient \(expected)") }
        // Without the kernel the masked gradient: W_1, b_1 get 0.55 and 0.33; W_0, b_0 only above θ (b_0 = 0.19, 0.34).
        trainer.jumpKernelWidth = nil
        let masked = trainer.train(initialW: W0, initialBias: b0) { _ in [SparseRow(features: [0], values: [1])] }
        let e0 = bias0 > 0.1 ? Double(0.36 + bias0) - 1 : 0
        #expect(Swift.abs(Double(masked.bias[0] - bias0) + e0) < 2e-5 && Swift.abs(Double(masked.W.values[0] - 0.6) + e0 * 1.2) < 2e-5)
        #expect(Swift.abs(Double(masked.bias[1] - 0.55) + 0.55) < 2e-5 && Swift.abs(Double(masked.W.values[1]) + 0.33) < 2e-5)
    }

    @Test func jumpReLUIgnoresInterferenceBelowTheThreshold() {
        // m = 1, W = [1, 0.3], b = 0. x = (1, 0): z = (1, 0.3); the ReLU outputs the interference 0.3 on feature 1,
        // loss 0.3²/2, while θ = 0.5 ignores it, loss 0. x = (0.4, 0): z = (0.4, 0.12); θ = 0.5 also drops the
        // feature's own 0.4, loss 0.4²/2, where the ReLU's error is only the interference, 0.12²/2.
        let W = Matrix(rowCount: 1, columnCount: 2, values: [1, 0.3])
        let strong = [SparseRow(features: [0], values: [1])], weak = [SparseRow(features: [0], values: [0.4])]
        let ones: [Float] = [1, 1]
        #expect(Swift.abs(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: strong) - 0.09 / 2) < 1e-7)
        #expect(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: strong, outputThreshold: 0.5) == 0)
        #expect(Swift.abs(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: weak, outputThreshold: 0.5) - 0.16 / 2) < 1e-7)
        #expect(Swift.abs(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: weak) - 0.0144 / 2) < 1e-7)
        // The ε-insensitive loss at ε = 0.2 counts only the interference beyond ε: (0.3 − 0.2)²/2; at ε = 0.3 nothing.
        #expect(Swift.abs(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: strong, errorTolerance: 0.2) - 0.01 / 2) < 1e-7)
        #expect(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: weak, errorTolerance: 0.2) == 0)
        // Forgiving only interference (target-0 outputs) at 0.2: the same 0.01/2 on the strong row; on the weak row
        // the active output is exact and the interference 0.12 is forgiven, loss 0; with W_0 = 0.5 instead the active
        // feature's error 0.4 − 0.1 = 0.3 still counts in full, 0.09/2.
        #expect(Swift.abs(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: strong, interferenceTolerance: 0.2) - 0.01 / 2) < 1e-7)
        #expect(DirectTrainer.loss(W: W, bias: [0, 0], importance: ones, rows: weak, interferenceTolerance: 0.2) == 0)
        let half = Matrix(rowCount: 1, columnCount: 2, values: [0.5, 0.3])
        #expect(Swift.abs(DirectTrainer.loss(W: half, bias: [0, 0], importance: ones, rows: weak, interferenceTolerance: 0.2) - 0.09 / 2) < 1e-7)
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
