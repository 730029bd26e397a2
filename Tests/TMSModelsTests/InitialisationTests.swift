import Foundation
import Testing
import TMSCore
@testable import TMSModels

// The `reference` initialisation against PyTorch's fan formulas for 3-D tensors [d₀, d₁, d₂]:
// fan_in = d₁·d₂, fan_out = d₀·d₂ (docs/models.md#initialisation).

@Test func referenceScaleMatchesPyTorchFans() {
    // Tied: xavier_normal_ on [K, n, m] = [7, 100, 40]: fan_in = 4000, fan_out = 280, σ = √(2/4280).
    let tied = ToyModelWeights.referenceScale(model: .reluHidden, featureCount: 100, hiddenCount: 40, instanceCount: 7)
    #expect(Swift.abs(tied - (2.0 / 4280).squareRoot()) < 1e-15)
    // K-dependent: K = 1 gives √(2/(4000 + 40)).
    let single = ToyModelWeights.referenceScale(model: .reluOutput, featureCount: 100, hiddenCount: 40, instanceCount: 1)
    #expect(Swift.abs(single - (2.0 / 4040).squareRoot()) < 1e-15)
    // The paper's intro (5→2, K = 10): fan_in = 10, fan_out = 20, σ = √(2/30) ≈ 0.258 vs xavier √(2/7) ≈ 0.535.
    let intro = ToyModelWeights.referenceScale(model: .reluOutput, featureCount: 5, hiddenCount: 2, instanceCount: 10)
    #expect(Swift.abs(intro - 0.2581988897) < 1e-9)
    // abs: kaiming_uniform_ (gain √2) on W₁ [K, 40, 100], fan_in = 4000: bound √2·√(3/4000) = √(6/4000) ≈ 0.0387,
    // σ = bound/√3 ≈ 0.0224 (the 0.022); independent of K.
    let bound = ToyModelWeights.referenceScale(model: .abs, featureCount: 100, hiddenCount: 40, instanceCount: 7)
    #expect(Swift.abs(bound - (6.0 / 4000).squareRoot()) < 1e-15)
    #expect(Swift.abs(bound / 3.0.squareRoot() - 0.02236) < 1e-5)
    #expect(bound == ToyModelWeights.referenceScale(model: .abs, featureCount: 100, hiddenCount: 40, instanceCount: 1))
}

@Test func referenceDrawsHaveTheFormulaScale() {
    // Tied: normal draws with σ = √(2/(n·m + K·m)), n = 400, m = 100, K = 8 → √(2/40800).
    var rng = RandomStream(seed: 3)
    let tied = ToyModelWeights.initialParameters(model: .reluHidden, featureCount: 400, hiddenCount: 100, instanceCount: 8,
                                                 initialisation: .reference, scale: 1, rng: &rng)
    #expect(tied.W2 == nil)
    let N = Double(tied.W.count), variance = tied.W.reduce(0.0) { $0 + Double($1) * Double($1) } / N
    #expect(Swift.abs(variance / (2.0 / 40_800) - 1) < 5 * (2 / N).squareRoot())
    // abs: uniform on [−b, b], b = √(6/(m·n)), times the scale 0.5; variance (0.5 b)²/3.
    var absRng = RandomStream(seed: 3)
    let abs = ToyModelWeights.initialParameters(model: .abs, featureCount: 400, hiddenCount: 100, instanceCount: 8,
                                                initialisation: .reference, scale: 0.5, rng: &absRng)
    let b = 0.5 * (6.0 / 40_000).squareRoot()
    for values in [abs.W, abs.W2!] {
        #expect(values.allSatisfy { Swift.abs(Double($0)) <= b })
        #expect(values.map { Swift.abs(Double($0)) }.max()! > 0.99 * b)
        let v = values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(values.count)
        // Var of U² for U uniform on [−b, b] is 4b⁴/45; relative sd of the mean of N squares √(0.8/N).
        #expect(Swift.abs(v / (b * b / 3) - 1) < 5 * (0.8 / Double(values.count)).squareRoot(), "variance \(v)")
    }
    #expect(abs.W != abs.W2!)
}

@Test func xavierDefaultIsBitIdenticalAndScaled() {
    for model in ModelKind.allCases {
        var a = RandomStream(seed: 11), b = RandomStream(seed: 11), c = RandomStream(seed: 11)
        let old = ToyModelWeights.initialParameters(model: model, featureCount: 7, hiddenCount: 3, rng: &a)
        let new = ToyModelWeights.initialParameters(model: model, featureCount: 7, hiddenCount: 3, instanceCount: 5,
                                                    initialisation: .xavier, scale: 1, rng: &b)
        let half = ToyModelWeights.initialParameters(model: model, featureCount: 7, hiddenCount: 3, instanceCount: 5,
                                                     initialisation: .xavier, scale: 0.5, rng: &c)
        #expect(old.W == new.W && old.W2 == new.W2)
        #expect(zip(old.W, half.W).allSatisfy { Swift.abs($0 * 0.5 - $1) <= 1e-7 * Swift.abs($0) })
    }
    let config = TrainingConfig.standard(featureCount: 5, hiddenCount: 2, featureProbabilities: [1])
    #expect(config.initialisation == .xavier && config.initScale == 1)
}

@Test func initialisationIsRecordedAndValidated() throws {
    var c = TrainingConfig.standard(model: .abs, featureCount: 4, hiddenCount: 2, featureProbabilities: [0.5])
    c.initialisation = .reference; c.initScale = 0.25
    let data = try JSONEncoder().encode(c)
    #expect(try JSONDecoder().decode(TrainingConfig.self, from: data) == c)
    // A config.json written before the fields existed decodes as xavier, scale 1.
    var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    object["initialisation"] = nil; object["initScale"] = nil
    let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: object))
    #expect(old.initialisation == .xavier && old.initScale == 1)
    object["initialisation"] = "kaiming"
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: object)) }
    for bad in [0.0, -1, .infinity, .nan] {
        var d = c; d.initScale = bad
        #expect(throws: ConfigError("--init-scale / initScale: \(bad) is invalid; it must be a positive finite number at most 1e6")) { try d.validate() }
    }
}

@Test func trainerUsesTheConfiguredInitialisation() throws {
    // One step at lr → 0 is (almost) the initial weights: the reference abs init is within its bound.
    var c = TrainingConfig.standard(model: .abs, featureCount: 20, hiddenCount: 10, featureProbabilities: [0.5, 0.5],
                                    steps: 1, batchSize: 8, learningRate: 1e-12)
    c.initialisation = .reference
    let result = try Trainer(config: c, threads: 1).train()
    let b = Float((6.0 / 200).squareRoot())
    #expect(result.weights.W.allSatisfy { Swift.abs($0) <= b * 1.0001 })
    #expect(result.weights.W.map { Swift.abs($0) }.max()! > 0.9 * b)
}
