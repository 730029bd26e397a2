import Foundation
import TMSCore

extension InstanceState {
    /// One fused pass over `batch`: forward, loss and (optionally) backward, with no allocation.
    ///
    /// For each batch row x (sparse), with B = batch size and s = 1/(B·n):
    /// - forward: h = Σ_{i: x_i≠0} x_i·E_i (then ReLU for `relu-hidden`/`abs`), y = Dᵀh + b, x′ = act(y);
    /// - loss: s · Σ_i I_i (x′_i − t_i)², t = x (or |x| for `abs`);
    /// - backward: δ_i = 2 s I_i (x′_i − t_i)·act′(y_i); ∂b_i += δ_i; ∂D_i += δ_i h; g = Σ_i δ_i D_i
    ///   (masked by h > 0 behind a hidden ReLU); ∂E_i += x_i g.
    /// Rows are decoded four at a time by a register-tiled kernel. Only outputs with δ_i ≠ 0 (ReLU active or
    /// linear) do output-side backward work, and only non-zero inputs do encoder-side work.
    /// Returns the instance's mean loss over the batch and features.
    @discardableResult
    func pass(computeGradients: Bool) -> Double {
        let B = batch.batchSize
        let scale = Float(1 / Double(B * n))
        let reluOut = model.hasOutputReLU, reluHidden = model.hasHiddenReLU, signed = model.usesSignedInputs
        if computeGradients {
            let tied = model.isTied
            gradEncoder.update(repeating: 0, count: n * mPad)
            if !tied { gradDecoderT.update(repeating: 0, count: n * mPad) }
            gradBias.update(repeating: 0, count: nPad)
        }
        var total = 0.0
        batch.rowStart.withUnsafeBufferPointer { rowStart in
        batch.columns.withUnsafeBufferPointer { columns in
        batch.values.withUnsafeBufferPointer { values in
            var block = 0
            while block < B {
                let rows = min(4, B - block)
                // Encode: h_r = Σ x_i E_i.
                for r in 0..<rows {
                    let h = hidden + r * mPad
                    h.update(repeating: 0, count: mPad)
                    for e in Int(rowStart[block + r])..<Int(rowStart[block + r + 1]) {
                        Kernels.axpy(mPad, values[e], encoder + Int(columns[e]) * mPad, h)
                    }
                    if reluHidden { for k in 0..<m where h[k] < 0 { h[k] = 0 } }
                }
                Kernels.decodeRows(rows: rows, depth: m, width: nPad, h: hidden, hStride: mPad,
                                   d: decoder, bias: bias, out: decoded)
                for r in 0..<rows {
                    let y = decoded + r * nPad, h = hidden + r * mPad
                    let rowBegin = Int(rowStart[block + r]), rowEnd = Int(rowStart[block + r + 1])
                    // Dense sweep with target 0, then a correction at the row's non-zero inputs.
                    var rowLoss = Self.sweepZeroTarget(y: y, importance: importance, grad: outputGrad, count: nPad,
                                                       scale: 2 * scale, relu: reluOut)
                    for e in rowBegin..<rowEnd {
                        let i = Int(columns[e])
                        let target = signed ? Swift.abs(values[e]) : values[e]
                        let out = reluOut ? max(y[i], 0) : y[i]
                        let imp = importance[i]
                        rowLoss += imp * ((out - target) * (out - target) - out * out)
                        outputGrad[i] = (reluOut && y[i] <= 0) ? 0 : 2 * scale * imp * (out - target)
                    }
                    total += Double(rowLoss)
                    guard computeGradients else { continue }
                    hiddenGrad.update(repeating: 0, count: mPad)
                    var i0 = 0
                    while i0 < n {
                        // Skip all-zero blocks of eight outputs: most of them for sparse data behind a ReLU.
                        let blockGrad = UnsafeRawPointer(outputGrad + i0).loadUnaligned(as: SIMD8<Float>.self)
                        if blockGrad != .zero {
                            for i in i0..<min(i0 + 8, n) where outputGrad[i] != 0 {
                                let d = outputGrad[i]
                                gradBias[i] += d
                                Kernels.axpy(mPad, d, decoderT + i * mPad, hiddenGrad)
                                Kernels.axpy(mPad, d, h, gradDecoderT + i * mPad)
                            }
                        }
                        i0 += 8
                    }
                    if reluHidden { for k in 0..<m where h[k] <= 0 { hiddenGrad[k] = 0 } }
                    for e in rowBegin..<rowEnd {
                        Kernels.axpy(mPad, values[e], hiddenGrad, gradEncoder + Int(columns[e]) * mPad)
                    }
                }
                block += rows
            }
        }}}
        return total * Double(scale)
    }

    /// For target 0: returns Σ I_i out_i² and writes grad_i = gradScale · I_i · out_i (zero where a ReLU is
    /// inactive, since out_i = 0 there). `count` a multiple of 8; padding has I = 0.
    @inline(__always)
    static func sweepZeroTarget(y: UnsafeMutablePointer<Float>, importance: UnsafeMutablePointer<Float>,
                                grad: UnsafeMutablePointer<Float>, count: Int, scale: Float, relu: Bool) -> Float {
        var acc0 = SIMD8<Float>.zero, acc1 = SIMD8<Float>.zero
        let s = SIMD8<Float>(repeating: scale)
        var j = 0
        while j < count {
            var out = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD8<Float>.self)
            if relu { out = out.replacing(with: 0, where: out .< 0) }
            let imp = UnsafeRawPointer(importance + j).loadUnaligned(as: SIMD8<Float>.self)
            let weighted = imp * out
            if j & 8 == 0 { acc0 = acc0.addingProduct(weighted, out) } else { acc1 = acc1.addingProduct(weighted, out) }
            UnsafeMutableRawPointer(grad + j).storeBytes(of: s * weighted, as: SIMD8<Float>.self)
            j += 8
        }
        return (acc0 + acc1).sum()
    }

    /// One Adam/AdamW update of every parameter from the current gradients (PyTorch's formulas):
    /// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε).
    /// `adam` adds λp to g (L2); `adamw` first shrinks p ← p(1 − lr·λ) (decoupled). Biases are decayed too,
    /// as `torch.optim.AdamW(model.parameters())` does.
    func adamUpdate(learningRate lr: Double, beta1: Double, beta2: Double, epsilon: Double,
                    weightDecay: Double, decoupled: Bool) {
        adamStep += 1
        let t = Double(adamStep)
        let c1 = 1 - pow(beta1, t), c2 = 1 - pow(beta2, t)
        let h = AdamHyper(stepSize: Float(lr / c1), beta1: Float(beta1), beta2: Float(beta2),
                          invSqrtC2: Float(1 / c2.squareRoot()), epsilon: Float(epsilon),
                          l2: decoupled ? 0 : Float(weightDecay), shrink: decoupled ? Float(1 - lr * weightDecay) : 1)
        Self.adam(count: n * mPad, param: encoder, grad: gradEncoder, m: mEncoder, v: vEncoder, h)
        if !model.isTied { Self.adam(count: n * mPad, param: decoderT, grad: gradDecoderT, m: mDecoderT, v: vDecoderT, h) }
        Self.adam(count: nPad, param: bias, grad: gradBias, m: mBias, v: vBias, h)
        refreshDecoder()
    }

    struct AdamHyper { var stepSize, beta1, beta2, invSqrtC2, epsilon, l2, shrink: Float }

    @inline(__always)
    static func adam(count: Int, param: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>,
                     m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, _ h: AdamHyper) {
        for i in 0..<count {
            let g = grad[i] + h.l2 * param[i]
            let mi = h.beta1 * m[i] + (1 - h.beta1) * g
            let vi = h.beta2 * v[i] + (1 - h.beta2) * g * g
            m[i] = mi; v[i] = vi
            param[i] = param[i] * h.shrink - h.stepSize * mi / (vi.squareRoot() * h.invSqrtC2 + h.epsilon)
        }
    }
}
