import Foundation
import Testing
import TMSCore
import TMSModels

// ToyModel.swift: PyTorch/ARENA names and shapes, per-instance slices, Xavier-normal initialisation.

@Test func tiedWeightsUseTheArenaNamesAndShapes() {
    let w = ToyModelWeights(model: .reluOutput, featureCount: 3, hiddenCount: 2, instanceCount: 2,
                            W: (0..<12).map(Float.init), W2: nil, bias: (0..<6).map { Float($0) / 10 })
    let t = w.tensors
    #expect(Set(t.keys) == ["W", "b_final"])
    #expect(t["W"]!.shape == [2, 2, 3])
    #expect(t["b_final"]!.shape == [2, 3])
    #expect(t["W"]!.values == w.W)
}

@Test func absWeightsUseW1AndW2() {
    let w = ToyModelWeights(model: .abs, featureCount: 3, hiddenCount: 2, instanceCount: 2,
                            W: (0..<12).map(Float.init), W2: (0..<12).map { -Float($0) }, bias: [Float](repeating: 0, count: 6))
    let t = w.tensors
    #expect(Set(t.keys) == ["W1", "W2", "b_final"])
    #expect(t["W1"]!.shape == [2, 2, 3])
    #expect(t["W2"]!.shape == [2, 3, 2])
}

@Test(arguments: ModelKind.allCases)
func weightsRoundTripThroughTensors(model: ModelKind) throws {
    let w = ToyModelWeights(model: model, featureCount: 3, hiddenCount: 2, instanceCount: 2,
                            W: (0..<12).map { Float($0) * 0.5 }, W2: model == .abs ? (0..<12).map { Float($0) * -0.25 } : nil,
                            bias: (0..<6).map { Float($0) / 10 })
    #expect(try ToyModelWeights(model: model, tensors: w.tensors) == w)
}

@Test func perInstanceSlicesFollowTheInstanceHiddenFeatureLayout() {
    // Instance 1 of W [2, 2, 3] is values 6…11; row k is neuron k, column i is feature i.
    let w = ToyModelWeights(model: .abs, featureCount: 3, hiddenCount: 2, instanceCount: 2,
                            W: (0..<12).map(Float.init), W2: (0..<12).map { Float($0) + 100 }, bias: (0..<6).map(Float.init))
    let m = w.weightMatrix(instance: 1)
    #expect(m.rowCount == 2 && m.columnCount == 3)
    #expect(m.rows == [[6, 7, 8], [9, 10, 11]])
    #expect(m.column(2) == [8, 11])
    let o = w.outputMatrix(instance: 1)!
    #expect(o.rowCount == 3 && o.columnCount == 2)
    #expect(o.rows == [[106, 107], [108, 109], [110, 111]])
    #expect(w.bias(instance: 1) == [3, 4, 5])
}

@Test func readingWeightsWithMissingOrMisshapenTensorsGivesOneLineErrors() {
    let b = Tensor(shape: [1, 3], values: [0, 0, 0])
    #expect(throws: ConfigError("weights lack b_final [instance, feature]")) {
        try ToyModelWeights(model: .linear, tensors: ["W": Tensor(shape: [1, 2, 3], values: [Float](repeating: 0, count: 6))])
    }
    #expect(throws: ConfigError("weights lack W [instance, hidden, feature] matching b_final [1, 3]")) {
        try ToyModelWeights(model: .linear, tensors: ["b_final": b, "W": Tensor(shape: [1, 3, 2], values: [Float](repeating: 0, count: 6))])
    }
    #expect(throws: ConfigError("weights lack W1 [instance, hidden, feature] matching b_final [1, 3]")) {
        try ToyModelWeights(model: .abs, tensors: ["b_final": b, "W": Tensor(shape: [1, 2, 3], values: [Float](repeating: 0, count: 6))])
    }
    #expect(throws: ConfigError("weights lack W2 [1, 3, 2]")) {
        try ToyModelWeights(model: .abs, tensors: ["b_final": b, "W1": Tensor(shape: [1, 2, 3], values: [Float](repeating: 0, count: 6)),
                                                   "W2": Tensor(shape: [1, 2, 3], values: [Float](repeating: 0, count: 6))])
    }
}

@Test func xavierNormalInitialisationHasStdRootTwoOverNPlusM() {
    // docs/models.md#initialisation: std √(2/(n+m)) = √(2/500) for n = 400, m = 100; 40,000 draws per matrix.
    var rng = RandomStream(seed: 8)
    let (w, w2) = ToyModelWeights.initialParameters(model: .abs, featureCount: 400, hiddenCount: 100, rng: &rng)
    #expect(w.count == 40_000)
    for values in [w, w2!] {
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let variance = values.reduce(0.0) { $0 + Double($1) * Double($1) } / n - mean * mean
        let target = 2.0 / 500
        #expect(Swift.abs(mean) < 5 * target.squareRoot() / n.squareRoot())
        // The sample variance of a normal has relative sd √(2/N).
        #expect(Swift.abs(variance / target - 1) < 5 * (2 / n).squareRoot(), "variance \(variance) vs \(target)")
    }
    #expect(w != w2!)
    var tiedRng = RandomStream(seed: 8)
    let tied = ToyModelWeights.initialParameters(model: .reluHidden, featureCount: 400, hiddenCount: 100, rng: &tiedRng)
    #expect(tied.W2 == nil)
    #expect(tied.W == w)
}
