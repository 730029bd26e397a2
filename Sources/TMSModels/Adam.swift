import Foundation
import TMSCore

/// The hyper-parameters of one Adam step, folded into the constants the element-wise update reads.
struct AdamHyper {
    /// lr / (1 − β₁ᵗ)
    var stepSize: Float
    var beta1, beta2: Float
    /// 1 / √(1 − β₂ᵗ)
    var invSqrtC2: Float
    var epsilon: Float
    /// λ for `adam` (added to the gradient), 0 for `adamw`.
    var l2: Float
    /// 1 − lr·λ for `adamw` (decoupled decay), 1 for `adam`.
    var shrink: Float

    /// The Adam update of `count` (a multiple of 8) parameters, eight lanes at a time; each lane computes
    /// exactly what the scalar formula does (no fused multiply-adds).
    @inline(__always)
    func update(count: Int, param: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>,
                m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) {
        let l2 = SIMD8<Float>(repeating: l2), b1 = SIMD8<Float>(repeating: beta1), b2 = SIMD8<Float>(repeating: beta2)
        let ob1 = SIMD8<Float>(repeating: 1 - beta1), ob2 = SIMD8<Float>(repeating: 1 - beta2)
        let shrink = SIMD8<Float>(repeating: shrink), step = SIMD8<Float>(repeating: stepSize)
        let invSqrtC2 = SIMD8<Float>(repeating: invSqrtC2), eps = SIMD8<Float>(repeating: epsilon)
        var i = 0
        while i < count {
            let p = Kernels.load8(param, i)
            let g = Kernels.load8(grad, i) + l2 * p
            let mi = b1 * Kernels.load8(m, i) + ob1 * g
            let vi = b2 * Kernels.load8(v, i) + ob2 * g * g
            Kernels.store8(mi, m, i); Kernels.store8(vi, v, i)
            Kernels.store8(p * shrink - step * mi / (vi.squareRoot() * invSqrtC2 + eps), param, i)
            i += 8
        }
    }
}

extension InstanceState {
    /// Adds the gradient λ·sign(w) of an L1 penalty λ·Σ|w| to the weight gradients (W, or W₁ and W₂ for
    /// `abs`; not the biases), with sign(0) = 0, so that the next update descends the penalised loss
    /// (docs/models.md#loss). Call after a pass with gradients and before `adamUpdate`; the trainer calls it
    /// only when λ > 0, so runs without a penalty do exactly the arithmetic they did before.
    func addL1Gradient(_ lambda: Float) {
        func add(_ grad: UnsafeMutablePointer<Float>, _ param: UnsafeMutablePointer<Float>) {
            // Padding lanes hold w = 0, so they get 0 and stay zero.
            for i in 0..<(n * mPad) {
                let w = param[i]
                grad[i] += w > 0 ? lambda : (w < 0 ? -lambda : 0)
            }
        }
        add(gradEncoder, encoder)
        if !model.isTied { add(gradDecoderT, decoderT) }
    }

    /// One Adam/AdamW update of every parameter from the current gradients (PyTorch's formulas):
    /// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε).
    /// `adam` adds λp to g (L2); `adamw` first shrinks p ← p(1 − lr·λ) (decoupled). Biases are decayed too,
    /// as `torch.optim.AdamW(model.parameters())` does.
    func adamUpdate(learningRate lr: Double, beta1: Double, beta2: Double, epsilon: Double,
                    weightDecay: Double, decoupled: Bool) {
        adamStep += 1
        // β₁ᵗ and β₂ᵗ as running products (two `pow` calls per step were a few % of a small model's step).
        if adamStep == 1 || beta1 != adamBetas.beta1 || beta2 != adamBetas.beta2 {
            let t = Double(adamStep)
            adamBetaPowers = (pow(beta1, t), pow(beta2, t))
            adamBetas = (beta1, beta2)
        } else {
            adamBetaPowers = (adamBetaPowers.beta1 * beta1, adamBetaPowers.beta2 * beta2)
        }
        let c1 = 1 - adamBetaPowers.beta1, c2 = 1 - adamBetaPowers.beta2
        let h = AdamHyper(stepSize: Float(lr / c1), beta1: Float(beta1), beta2: Float(beta2),
                          invSqrtC2: Float(1 / c2.squareRoot()), epsilon: Float(epsilon),
                          l2: decoupled ? 0 : Float(weightDecay), shrink: decoupled ? Float(1 - lr * weightDecay) : 1)
        h.update(count: n * mPad, param: encoder, grad: gradEncoder, m: mEncoder, v: vEncoder)
        if !model.isTied { h.update(count: n * mPad, param: decoderT, grad: gradDecoderT, m: mDecoderT, v: vDecoderT) }
        h.update(count: nPad, param: bias, grad: gradBias, m: mBias, v: vBias)
        refreshDecoder()
    }
}
