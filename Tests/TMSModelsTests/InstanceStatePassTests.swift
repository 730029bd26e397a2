import Foundation
import Testing
import TMSCore
import TMSTestSupport
@testable import TMSModels

// The fast Float pass (InstanceState+Pass.swift and its phases in +Forward, +Backward, +Fused) and Adam
// (Adam.swift) against the Double reference.

/// Relative error of the Float gradient against the reference, measured against the reference gradient's norm.
private func gradientError(_ c: GradientCase, _ p: ToyProblem)
    -> (loss: Double, referenceLoss: Double, error: Double, referenceNorm: Double) {
    let state = makeState(c, p)
    let loss = state.pass(computeGradients: true)
    let g = state.gradients()
    let r = ReferenceModel.lossAndGradients(model: c.model, W: p.wDouble, W2: p.w2Double, bias: p.biasDouble,
                                            importance: p.importanceDouble, batch: p.batchDouble)
    var diff2 = pow(norm(difference(unflatten(g.W, rows: c.m), r.gradW)), 2) + pow(norm(difference(g.bias.map(Double.init), r.gradBias)), 2)
    var ref2 = pow(norm(r.gradW), 2) + pow(norm(r.gradBias), 2)
    if let gW2 = g.W2, let rW2 = r.gradW2 {
        diff2 += pow(norm(difference(unflatten(gW2, rows: c.n), rW2)), 2)
        ref2 += pow(norm(rW2), 2)
    }
    return (loss, r.loss, diff2.squareRoot() / max(ref2.squareRoot(), 1e-30), ref2.squareRoot())
}

@Test(arguments: GradientCase.awkward + GradientCase.large)
func floatPassGradientMatchesDoubleReference(_ c: GradientCase) {
    let p = c.problem()
    let r = gradientError(c, p)
    #expect(r.referenceNorm > 0, "degenerate case: zero reference gradient")
    #expect(r.error < 1e-4, "relative gradient error \(r.error) (reference norm \(r.referenceNorm))")
}

@Test(arguments: GradientCase.awkward + GradientCase.large)
func floatPassLossMatchesDoubleReference(_ c: GradientCase) {
    let p = c.problem()
    let state = makeState(c, p)
    let lossWithoutGradients = state.pass(computeGradients: false)
    let r = gradientError(c, p)
    // The loss sweep sums I·(x′ − t)² in Float32 over each feature's rows (two lane-wise accumulators, then a
    // Double sum over features), so rounding is relative to the size of the terms, up to mean I·t² where
    // x′ ≈ 0, not only to the (possibly tiny) loss.
    let targets = p.batchDouble.map { $0.map { Swift.abs($0) } }
    let magnitude = targets.reduce(0) { acc, row in acc + zip(row, p.importanceDouble).reduce(0) { $0 + $1.1 * $1.0 * $1.0 } }
        / Double(c.batchSize * c.n)
    let tolerance = 1e-5 * r.referenceLoss + 1e-6 * magnitude
    #expect(Swift.abs(r.loss - r.referenceLoss) <= tolerance, "Float \(r.loss) vs Double \(r.referenceLoss)")
    // The forward-only pass reports the same loss as the pass with gradients.
    #expect(lossWithoutGradients == r.loss)
}

@Test(arguments: ModelKind.allCases)
func floatPassGradientIsOnlyTheLastBatch(model: ModelKind) {
    // Gradients are reset at the start of every pass, not accumulated across passes.
    let c = GradientCase(model: model, n: 17, m: 3, batchSize: 7)
    let p = c.problem()
    let state = makeState(c, p)
    state.pass(computeGradients: true)
    let first = state.gradients()
    state.pass(computeGradients: true)
    let second = state.gradients()
    #expect(first.W == second.W)
    #expect(first.W2 == second.W2)
    #expect(first.bias == second.bias)
}

@Test(arguments: ModelKind.allCases)
func parametersRoundTripThroughInstanceStateLayout(model: ModelKind) {
    let c = GradientCase(model: model, n: 17, m: 3, batchSize: 1)
    let p = c.problem()
    let state = makeState(c, p)
    let back = state.parameters()
    #expect(back.W == p.W.flatMap { $0 })
    #expect(back.W2 == p.W2?.flatMap { $0 })
    #expect(back.bias == p.bias)
}

@Test func floatPassOnEmptyRowsGivesBiasOnlyLoss() {
    // All-zero inputs: x′ = ReLU(b); loss = mean_i I_i ReLU(b_i)²; ∂b_i = 2 I_i ReLU(b_i) / n (B = 1), ∂W = 0.
    let c = GradientCase(model: .reluOutput, n: 3, m: 2, batchSize: 1)
    let p = ToyProblem(model: c.model, W: [[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]], W2: nil, bias: [0.5, -0.25, 0],
                       importance: [1, 2, 4], batch: [[0, 0, 0]])
    let state = makeState(c, p)
    let loss = state.pass(computeGradients: true)
    #expect(Swift.abs(loss - 0.25 / 3) < 1e-7)
    let g = state.gradients()
    #expect(g.bias.map(Double.init).enumerated().allSatisfy { Swift.abs($0.element - [1.0 / 3, 0, 0][$0.offset]) < 1e-7 })
    #expect(g.W.allSatisfy { $0 == 0 })
}

// MARK: - Adam / AdamW (PyTorch's formulas)

/// A tied n = 2, m = 1 state with W = (0.5, −0.25), b = (0.1, −0.2).
private func tinyState(model: ModelKind = .linear) -> InstanceState {
    let c = GradientCase(model: model, n: 2, m: 1, batchSize: 1)
    let p = ToyProblem(model: model, W: [[0.5, -0.25]], W2: model == .abs ? [[0.3], [-0.4]] : nil, bias: [0.1, -0.2],
                       importance: [1, 1], batch: [[0.5, 0.5]])
    return makeState(c, p)
}

/// Writes gradients into the state's buffers (PyTorch layout: gW [m][n] flat, gb [n]).
private func setGradients(_ state: InstanceState, W gW: [Float], W2 gW2: [Float]? = nil, bias gb: [Float]) {
    for k in 0..<state.m { for i in 0..<state.n { state.gradEncoder[i * state.mPad + k] = gW[k * state.n + i] } }
    if let gW2 { for i in 0..<state.n { for k in 0..<state.m { state.gradDecoderT[i * state.mPad + k] = gW2[i * state.m + k] } } }
    for i in 0..<state.n { state.gradBias[i] = gb[i] }
}

/// PyTorch's Adam for one scalar parameter over a gradient sequence (torch.optim.Adam, amsgrad off):
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ); p ← p − lr·m̂/(√v̂ + ε).
/// `decoupled` (AdamW) first shrinks p ← p(1 − lr·λ); otherwise λp is added to g.
private func pytorchAdam(_ p0: Double, gradients: [Double], lr: Double, beta1: Double = 0.9, beta2: Double = 0.999,
                         eps: Double = 1e-8, weightDecay: Double = 0, decoupled: Bool = false) -> Double {
    var p = p0, m = 0.0, v = 0.0
    for (index, g0) in gradients.enumerated() {
        let t = Double(index + 1)
        var g = g0
        if decoupled { p *= 1 - lr * weightDecay } else { g += weightDecay * p }
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        let mHat = m / (1 - pow(beta1, t)), vHat = v / (1 - pow(beta2, t))
        p -= lr * mHat / (vHat.squareRoot() + eps)
    }
    return p
}

@Test func firstAdamStepMovesEachParameterByTheLearningRateAgainstItsGradientSign() {
    // Step 1: m̂ = g, v̂ = g², so p ← p − lr·g/(|g| + ε) ≈ p − lr·sign(g); a zero gradient leaves p unchanged.
    let state = tinyState()
    setGradients(state, W: [0.2, -3], bias: [1e-3, 0])
    state.adamUpdate(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false)
    let p = state.parameters()
    #expect(Swift.abs(p.W[0] - 0.49) < 1e-6)
    #expect(Swift.abs(p.W[1] - (-0.24)) < 1e-6)
    #expect(Swift.abs(p.bias[0] - 0.09) < 1e-5)
    #expect(p.bias[1] == -0.2)
    #expect(state.adamStep == 1)
}

@Test func threeAdamStepsMatchPyTorchFormula() {
    let state = tinyState(model: .abs)
    let gW: [[Float]] = [[0.2, -3], [0.05, 0.4], [-0.1, 0.1]]
    let gW2: [[Float]] = [[1, -1], [0.5, 0.25], [-2, 0]]
    let gb: [[Float]] = [[0.01, 0.3], [0.02, -0.3], [0.03, 0]]
    for t in 0..<3 {
        setGradients(state, W: gW[t], W2: gW2[t], bias: gb[t])
        state.adamUpdate(learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false)
    }
    let p = state.parameters()
    let start = (W: [0.5, -0.25], W2: [0.3, -0.4], bias: [0.1, -0.2])
    for i in 0..<2 {
        let w = pytorchAdam(start.W[i], gradients: gW.map { Double($0[i]) }, lr: 0.05)
        let w2 = pytorchAdam(start.W2[i], gradients: gW2.map { Double($0[i]) }, lr: 0.05)
        let b = pytorchAdam(start.bias[i], gradients: gb.map { Double($0[i]) }, lr: 0.05)
        #expect(Swift.abs(Double(p.W[i]) - w) < 1e-6, "W[\(i)] \(p.W[i]) vs \(w)")
        #expect(Swift.abs(Double(p.W2![i]) - w2) < 1e-6, "W2[\(i)] \(p.W2![i]) vs \(w2)")
        #expect(Swift.abs(Double(p.bias[i]) - b) < 1e-6, "b[\(i)] \(p.bias[i]) vs \(b)")
    }
}

@Test func adamWeightDecayIsAnL2TermAndAdamWDecaysDecoupled() {
    // With zero gradients: Adam's L2 term makes g = λp, a full lr-sized step towards 0; AdamW only shrinks
    // p by the factor (1 − lr·λ).
    let adam = tinyState(), adamw = tinyState()
    setGradients(adam, W: [0, 0], bias: [0, 0])
    setGradients(adamw, W: [0, 0], bias: [0, 0])
    adam.adamUpdate(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1, decoupled: false)
    adamw.adamUpdate(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1, decoupled: true)
    let a = adam.parameters(), w = adamw.parameters()
    let start: [Double] = [0.5, -0.25]
    for i in 0..<2 {
        #expect(Swift.abs(Double(a.W[i]) - pytorchAdam(start[i], gradients: [0], lr: 0.01, weightDecay: 0.1)) < 1e-6)
        #expect(Swift.abs(Double(w.W[i]) - start[i] * (1 - 0.01 * 0.1)) < 1e-7)
    }
    // Biases are decayed too (torch.optim.AdamW(model.parameters())).
    #expect(Swift.abs(Double(w.bias[0]) - 0.1 * 0.999) < 1e-7)
}

@Test(arguments: ModelKind.allCases)
func passAfterAnUpdateUsesTheUpdatedWeights(model: ModelKind) {
    // The decoder copy is refreshed after each update: the next loss is the reference loss at the new weights.
    let c = GradientCase(model: model, n: 17, m: 3, batchSize: 7)
    let p = c.problem()
    let state = makeState(c, p)
    state.pass(computeGradients: true)
    state.adamUpdate(learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false)
    let updated = state.parameters()
    let loss = state.pass(computeGradients: false)
    let reference = ReferenceModel.loss(model: model, W: unflatten(updated.W, rows: c.m),
                                        W2: updated.W2.map { unflatten($0, rows: c.n) }, bias: updated.bias.map(Double.init),
                                        importance: p.importanceDouble, batch: p.batchDouble)
    #expect(Swift.abs(loss - reference) <= 1e-5 * reference + 1e-7, "loss \(loss) vs reference \(reference)")
    // And the step went downhill.
    let before = ReferenceModel.loss(model: model, W: p.wDouble, W2: p.w2Double, bias: p.biasDouble,
                                     importance: p.importanceDouble, batch: p.batchDouble)
    #expect(reference < before)
}

@Test func listedEntryRowsVisitTheEntriesOfTheRowLoopInItsOrder() {
    // Rows with 0, 2, 0, 0, 3, 1, 0 entries; views from row 0 and from row 1, over all and some rows.
    let counts = [0, 2, 0, 0, 3, 1, 0]
    var rowStart: [Int32] = [0]
    for c in counts { rowStart.append(rowStart.last! + Int32(c)) }
    let columns: [Int32] = [4, 7, 1, 2, 9, 3]
    let values: [Float] = [0.5, -1, 2, 0.25, 3, -0.75]
    rowStart.withUnsafeBufferPointer { rs in columns.withUnsafeBufferPointer { cs in values.withUnsafeBufferPointer { vs in
        let whole = CSRView(rowStart: rs.baseAddress!, columns: cs.baseAddress!, values: vs.baseAddress!)
        for (from, rows) in [(0, 7), (1, 6), (0, 5), (2, 1), (3, 0)] {
            let plain = whole.rows(from: from)
            var listed = plain
            let out = UnsafeMutablePointer<Int32>.allocate(capacity: columns.count + 1)
            defer { out.deallocate() }
            plain.listEntryRows(rows: rows, into: out)
            listed.entryRows = UnsafePointer(out)
            var expected: [(Int, Int, Float)] = [], got: [(Int, Int, Float)] = []
            plain.forEach(rows: rows) { expected.append(($0, $1, $2)) }
            listed.forEach(rows: rows) { got.append(($0, $1, $2)) }
            #expect(got.map { $0.0 } == expected.map { $0.0 } && got.map { $0.1 } == expected.map { $0.1 }
                    && got.map { $0.2 } == expected.map { $0.2 }, "rows \(from)..<\(from + rows)")
        }
    }}}
    // The rows themselves, by hand: entries 0–1 in row 1, 2–4 in row 4, 5 in row 5.
    let out = UnsafeMutablePointer<Int32>.allocate(capacity: 7)
    defer { out.deallocate() }
    rowStart.withUnsafeBufferPointer { rs in
        CSRView(rowStart: rs.baseAddress!, columns: rs.baseAddress!, values: UnsafePointer(bitPattern: 4)!)
            .listEntryRows(rows: 7, into: out)
    }
    #expect(Array(UnsafeBufferPointer(start: out, count: 6)) == [1, 1, 4, 4, 4, 5])
}
