import Foundation
import Testing
import TMSModels

// Config.swift: model kinds, validation messages, LR schedules, the standard builders, JSON round trip.

/// The base config the invalid cases start from: 2 instances of 4 features in 2 dimensions.
private func baseConfig() -> TrainingConfig {
    TrainingConfig.standard(model: .reluOutput, featureCount: 4, hiddenCount: 2, featureProbabilities: [0.1, 0.2],
                            importanceDecay: 0.9, steps: 100, batchSize: 32)
}

struct InvalidConfigCase: Sendable, CustomTestStringConvertible {
    let name: String
    let change: @Sendable (inout TrainingConfig) -> Void
    let message: String
    var testDescription: String { name }

    static let all: [InvalidConfigCase] = [
        .init(name: "p above 1", change: { $0.featureProbability[1][2] = 1.5 },
              message: "--feature-probability (or --sparsity) / featureProbability: 1.5 (instance 1, feature 2) is invalid; it must be in (0, 1] (sparsity S = 1 - p in [0, 1))"),
        .init(name: "p zero", change: { $0.featureProbability[0][0] = 0 },
              message: "--feature-probability (or --sparsity) / featureProbability: 0.0 (instance 0, feature 0) is invalid; it must be in (0, 1] (sparsity S = 1 - p in [0, 1))"),
        .init(name: "p negative", change: { $0.featureProbability[0][1] = -0.1 },
              message: "--feature-probability (or --sparsity) / featureProbability: -0.1 (instance 0, feature 1) is invalid; it must be in (0, 1] (sparsity S = 1 - p in [0, 1))"),
        .init(name: "p NaN", change: { $0.featureProbability[0][3] = .nan },
              message: "--feature-probability (or --sparsity) / featureProbability: nan (instance 0, feature 3) is invalid; it must be in (0, 1] (sparsity S = 1 - p in [0, 1))"),
        .init(name: "zero features", change: { $0.featureCount = 0 },
              message: "--features / featureCount: 0 is invalid; it must be an integer in 1...16777216"),
        .init(name: "zero hidden", change: { $0.hiddenCount = 0 },
              message: "--hidden / hiddenCount: 0 is invalid; it must be an integer in 1...16777216"),
        .init(name: "zero instances", change: { $0.instanceCount = 0 },
              message: "--instances / instanceCount: 0 is invalid; it must be an integer in 1...16777216"),
        .init(name: "zero steps", change: { $0.steps = 0 },
              message: "--steps / steps: 0 is invalid; it must be an integer in 1...1000000000"),
        .init(name: "negative batch", change: { $0.batchSize = -4 },
              message: "--batch-size / batchSize: -4 is invalid; it must be an integer in 1...16777216"),
        .init(name: "best-of zero", change: { $0.bestOf = 0 },
              message: "--best-of / bestOf: 0 is invalid; it must be an integer in 1...16777216"),
        .init(name: "probability rows", change: { $0.featureProbability.removeLast() },
              message: "--feature-probability (or --sparsity) / featureProbability: has 1 instance rows; expected 2 (one per instance)"),
        .init(name: "importance rows", change: { $0.importance.append([1, 1, 1, 1]) },
              message: "--importance-decay / importance: has 3 instance rows; expected 2 (one per instance)"),
        .init(name: "probability row length", change: { $0.featureProbability[1] = [0.2, 0.2, 0.2] },
              message: "--feature-probability (or --sparsity) / featureProbability: instance 1 has 3 values; expected 4 (one per feature)"),
        .init(name: "importance row length", change: { $0.importance[0].append(0.5) },
              message: "--importance-decay / importance: instance 0 has 5 values; expected 4 (one per feature)"),
        .init(name: "importance negative", change: { $0.importance[1][3] = -0.5 },
              message: "--importance-decay / importance: -0.5 (instance 1, feature 3) is invalid; it must be a finite number ≥ 0"),
        .init(name: "importance all zero", change: { $0.importance[1] = [0, 0, 0, 0] },
              message: "--importance-decay / importance: instance 1 has no feature with importance > 0; its loss would be identically zero"),
        .init(name: "importance infinite", change: { $0.importance[0][0] = .infinity },
              message: "--importance-decay / importance: inf (instance 0, feature 0) is invalid; it must be a finite number ≥ 0"),
        .init(name: "anticorrelated p > 0.5", change: {
                  $0.distribution = .anticorrelatedPairs
                  $0.featureProbability[1] = [0.6, 0.6, 0.6, 0.6]
              },
              message: "--feature-probability (or --sparsity) / featureProbability: 0.6 (instance 1) is invalid for anticorrelated-pairs; it must be at most 0.5"),
        .init(name: "odd count for pairs", change: {
                  $0 = TrainingConfig.standard(featureCount: 5, hiddenCount: 2, featureProbabilities: [0.1],
                                               distribution: .correlatedPairs)
              },
              message: "--features / featureCount: 5 is odd; correlated-pairs needs an even feature count"),
        .init(name: "pair with two probabilities", change: {
                  $0.distribution = .correlatedPairs
                  $0.featureProbability[0] = [0.1, 0.2, 0.3, 0.3]
              },
              message: "--feature-probability (or --sparsity) / featureProbability: features 0 and 1 of instance 0 form a pair but have probabilities 0.1 and 0.2; paired features must share one"),
        .init(name: "correlated sets without a set size", change: { $0.distribution = .correlatedSets },
              message: "--set-size / correlatedSetSize: not set; correlated-sets needs a set size k in 2...4 that divides the feature count"),
        .init(name: "set size not dividing n", change: {
                  $0.distribution = .correlatedSets
                  $0.correlatedSetSize = 3
              },
              message: "--set-size / correlatedSetSize: 3 is invalid for 4 features; it must be in 2...4 and divide the feature count"),
        .init(name: "set size of 1", change: {
                  $0.distribution = .correlatedSets
                  $0.correlatedSetSize = 1
              },
              message: "--set-size / correlatedSetSize: 1 is invalid for 4 features; it must be in 2...4 and divide the feature count"),
        .init(name: "set with two probabilities", change: {
                  $0.distribution = .correlatedSets
                  $0.correlatedSetSize = 4
                  $0.featureProbability[1] = [0.1, 0.1, 0.1, 0.2]
              },
              message: "--feature-probability (or --sparsity) / featureProbability: features 0...3 of instance 1 form a correlated set but have different probabilities; a set must share one"),
        .init(name: "set size without correlated sets", change: { $0.correlatedSetSize = 2 },
              message: "--set-size / correlatedSetSize: 2 is given but the distribution is independent; a set size is only for correlated-sets"),
        .init(name: "NaN learning rate", change: { $0.learningRate = .nan },
              message: "--lr / learningRate: nan is invalid; it must be a positive finite number"),
        .init(name: "zero learning rate", change: { $0.learningRate = 0 },
              message: "--lr / learningRate: 0.0 is invalid; it must be a positive finite number"),
        .init(name: "infinite learning rate", change: { $0.learningRate = .infinity },
              message: "--lr / learningRate: inf is invalid; it must be a positive finite number"),
        .init(name: "negative weight decay", change: { $0.weightDecay = -0.01 },
              message: "--weight-decay / weightDecay: -0.01 is invalid; it must be a finite number ≥ 0"),
        .init(name: "warmup as long as training", change: {
                  $0.schedule = .warmupCosine
                  $0.warmupSteps = 100
              },
              message: "--warmup-steps / warmupSteps: 100 is invalid; it must be in 0..<100 (the step count) for warmup-cosine"),
        .init(name: "beta1 of 1", change: { $0.beta1 = 1 },
              message: "beta1: 1.0 is invalid; it must be in [0, 1)"),
        // Values that passed before (issue 9): a negative warmup with another schedule, absurd sizes.
        .init(name: "negative warmup, constant schedule", change: { $0.warmupSteps = -5 },
              message: "--warmup-steps / warmupSteps: -5 is invalid; it must be ≥ 0"),
        .init(name: "steps beyond 10^9", change: { $0.steps = Int.max },
              message: "--steps / steps: 9223372036854775807 is invalid; it must be an integer in 1...1000000000"),
        .init(name: "evaluation batches of 10^9", change: { $0.evaluationBatches = 1_000_000_000 },
              message: "evaluationBatches: 1000000000 is invalid; it must be an integer in 1...10000"),
        .init(name: "batch × features beyond 32-bit offsets", change: {
                  $0 = TrainingConfig.standard(featureCount: 1 << 20, hiddenCount: 2, featureProbabilities: [0.1], batchSize: 1 << 12)
              },
              message: "--batch-size / batchSize: 4096 with 1048576 features is invalid; batch size × features must be below 2^31 (sparse batches use 32-bit offsets)"),
        .init(name: "beta2 negative", change: { $0.beta2 = -0.1 }, message: "beta2: -0.1 is invalid; it must be in [0, 1)"),
        .init(name: "epsilon zero", change: { $0.epsilon = 0 }, message: "epsilon: 0.0 is invalid; it must be a positive finite number"),
    ]
}

@Test(arguments: InvalidConfigCase.all)
func invalidConfigGivesTheExpectedOneLineMessage(_ c: InvalidConfigCase) {
    var config = baseConfig()
    c.change(&config)
    do {
        try config.validate()
        Issue.record("\(c.name) was accepted")
    } catch let error as ConfigError {
        #expect(error.description == c.message)
        #expect(!error.description.contains("\n"))
    } catch {
        Issue.record("unexpected error type \(error)")
    }
}

@Test func validConfigsPass() throws {
    try baseConfig().validate()
    var anti = baseConfig()
    anti.distribution = .anticorrelatedPairs
    anti.featureProbability = [[0.5, 0.5, 0.5, 0.5], [0.01, 0.01, 0.2, 0.2]]
    try anti.validate()
    var warm = baseConfig()
    warm.schedule = .warmupCosine
    warm.warmupSteps = 99
    try warm.validate()
    // A warmup length is ignored (not validated) for other schedules.
    var constant = baseConfig()
    constant.warmupSteps = 1000
    try constant.validate()
    try TrainingConfig.standard(model: .abs, featureCount: 1, hiddenCount: 1, featureProbabilities: [1]).validate()
}

// MARK: - Model kinds

@Test func modelKindNamesAreThePaperSpellings() {
    #expect(ModelKind.allCases.map(\.rawValue) == ["linear", "relu-output", "relu-hidden", "abs"])
    #expect(FeatureDistribution.allCases.map(\.rawValue) == ["independent", "correlated-pairs", "anticorrelated-pairs", "correlated-sets"])
}

@Test func modelKindStructureFollowsSpecSection2() {
    #expect(ModelKind.allCases.filter(\.isTied) == [.linear, .reluOutput, .reluHidden])
    #expect(ModelKind.allCases.filter(\.usesSignedInputs) == [.abs])
    #expect(ModelKind.allCases.filter(\.hasHiddenReLU) == [.reluHidden, .abs])
    #expect(ModelKind.allCases.filter(\.hasOutputReLU) == [.reluOutput, .reluHidden, .abs])
}

// MARK: - Learning-rate schedules (docs/models.md#schedules)

private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool { Swift.abs(a - b) <= tolerance }

@Test func constantScheduleIsTheBaseRate() {
    for t in [0, 1, 50, 99] {
        #expect(LearningRateSchedule.constant.rate(base: 0.01, step: t, total: 100, warmup: 0) == 0.01)
    }
}

@Test func linearScheduleIsOneMinusTOverT() {
    let s = LearningRateSchedule.linear
    #expect(close(s.rate(base: 0.01, step: 0, total: 100, warmup: 0), 0.01))
    #expect(close(s.rate(base: 0.01, step: 25, total: 100, warmup: 0), 0.0075))
    #expect(close(s.rate(base: 0.01, step: 50, total: 100, warmup: 0), 0.005))
    #expect(close(s.rate(base: 0.01, step: 99, total: 100, warmup: 0), 0.0001))
}

@Test func cosineScheduleIsAQuarterCosineReachingZeroAtTheLastStep() {
    let s = LearningRateSchedule.cosine
    #expect(close(s.rate(base: 0.01, step: 0, total: 101, warmup: 0), 0.01))
    // t/(T−1) = 1/2: cos(π/4) = √2/2.
    #expect(close(s.rate(base: 0.01, step: 50, total: 101, warmup: 0), 0.01 * 2.0.squareRoot() / 2))
    // t/(T−1) = 1/3: cos(π/6) = √3/2.
    #expect(close(s.rate(base: 0.01, step: 20, total: 61, warmup: 0), 0.01 * 3.0.squareRoot() / 2))
    #expect(close(s.rate(base: 0.01, step: 100, total: 101, warmup: 0), 0, 1e-17))
    // A single step keeps the base rate.
    #expect(s.rate(base: 0.01, step: 0, total: 1, warmup: 0) == 0.01)
}

@Test func warmupCosineRampsLinearlyThenFollowsAHalfCosine() {
    let s = LearningRateSchedule.warmupCosine
    // W = 10, T = 110: lr·(t+1)/W for t < W, then lr·½(1 + cos(π(t−W)/(T−W))).
    #expect(close(s.rate(base: 0.01, step: 0, total: 110, warmup: 10), 0.001))
    #expect(close(s.rate(base: 0.01, step: 4, total: 110, warmup: 10), 0.005))
    #expect(close(s.rate(base: 0.01, step: 9, total: 110, warmup: 10), 0.01))
    #expect(close(s.rate(base: 0.01, step: 10, total: 110, warmup: 10), 0.01))
    #expect(close(s.rate(base: 0.01, step: 60, total: 110, warmup: 10), 0.005))
    // π/4 into the half cosine: ½(1 + √2/2).
    #expect(close(s.rate(base: 0.01, step: 35, total: 110, warmup: 10), 0.01 * 0.5 * (1 + 2.0.squareRoot() / 2)))
    // No warmup: starts at the base rate.
    #expect(close(s.rate(base: 0.01, step: 0, total: 100, warmup: 0), 0.01))
}

@Test func evaluationUsesEnoughBatchesForFiftyThousandNonZeros() {
    // max(evaluationBatches, min(10,000, ⌈50,000 / (B·Σ_i p_i)⌉)).
    let dense = TrainingConfig.standard(featureCount: 20, hiddenCount: 5, featureProbabilities: [1], batchSize: 1024)
    #expect(dense.evaluationBatchCount(instance: 0) == 8)  // ⌈50,000/20,480⌉ = 3 < 8
    let sparse = TrainingConfig.standard(featureCount: 5, hiddenCount: 2, featureProbabilities: [1, 0.01], batchSize: 1024)
    #expect(sparse.evaluationBatchCount(instance: 1) == 977)  // ⌈50,000/51.2⌉
    let tiny = TrainingConfig.standard(featureCount: 1, hiddenCount: 1, featureProbabilities: [1e-4], batchSize: 1)
    #expect(tiny.evaluationBatchCount(instance: 0) == 10_000)
}

// MARK: - Builders and JSON

@Test func standardConfigBuildsGeometricImportanceAndOneRowPerInstance() {
    let c = TrainingConfig.standard(featureCount: 4, hiddenCount: 2, featureProbabilities: [1, 0.05], importanceDecay: 0.7)
    #expect(c.instanceCount == 2)
    #expect(c.featureProbability == [[1, 1, 1, 1], [0.05, 0.05, 0.05, 0.05]])
    let expected: [Float] = [1, 0.7, 0.49, 0.343]
    for row in c.importance {
        #expect(zip(row, expected).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
    }
    // Defaults of docs/models.md#optimisers: Adam, lr 1e-3, β = (0.9, 0.999), ε = 1e-8, no weight decay, batch 1024, 10,000 steps.
    #expect(c.optimizer == .adam && c.learningRate == 1e-3 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.epsilon == 1e-8)
    #expect(c.weightDecay == 0 && c.batchSize == 1024 && c.steps == 10_000 && c.schedule == .constant)
}

@Test func geometricProbabilitiesRunFromOneToOneOverBase() {
    let p = TrainingConfig.geometricProbabilities(count: 10)
    #expect(p.count == 10)
    #expect(p[0] == 1)
    #expect(Swift.abs(p[9] - 0.05) < 1e-7)
    // p_t = 20^(−t/9): consecutive ratios are all 20^(−1/9).
    let ratio = pow(20.0, -1.0 / 9)
    for j in 1..<10 { #expect(Swift.abs(Double(p[j]) / Double(p[j - 1]) - ratio) < 1e-6) }
    #expect(TrainingConfig.geometricProbabilities(count: 1) == [1])
}

@Test func configSurvivesAJSONRoundTrip() throws {
    var c = baseConfig()
    c.schedule = .warmupCosine
    c.warmupSteps = 7
    c.optimizer = .adamw
    c.weightDecay = 0.01
    c.seed = 123_456_789_012
    let data = try JSONEncoder().encode(c)
    #expect(try JSONDecoder().decode(TrainingConfig.self, from: data) == c)
    let text = String(decoding: data, as: UTF8.self)
    #expect(text.contains("\"relu-output\"") && text.contains("\"warmup-cosine\"") && text.contains("\"adamw\""))
}

/// Importance that underflows Float32 (I_i = 0.9^i for i ≥ 987) is a feature the loss ignores, not an error.
@Test func underflowingImportanceIsAccepted() throws {
    let c = TrainingConfig.standard(featureCount: 1000, hiddenCount: 2, featureProbabilities: [0.1], importanceDecay: 0.9)
    #expect(c.importance[0][999] == 0)
    try c.validate()
}

@Test func memoryEstimateRefusesWhatCannotFitAndNamesBothNumbers() throws {
    let small = TrainingConfig.standard(featureCount: 20, hiddenCount: 5, featureProbabilities: [0.1, 0.01])
    try small.checkMemory(threads: 2, available: 1e9)
    #expect(small.estimatedMemoryBytes(threads: 2) < 1e8)
    let huge = TrainingConfig.standard(featureCount: 100_000, hiddenCount: 100_000, featureProbabilities: [0.1])
    // W, gradient, two Adam moments and more: at least 4 matrices of 10^10 Float32 values.
    #expect(huge.estimatedMemoryBytes(threads: 2) > 4 * 4e10)
    #expect(throws: ConfigError.self) { try huge.checkMemory(threads: 2, available: 64e9) }
    do { try huge.checkMemory(threads: 2, available: 64e9) } catch let error as ConfigError {
        #expect(error.description.hasPrefix("this run needs about "))
        #expect(error.description.contains("GB of memory") && error.description.contains("the machine has 64 GB"))
    }
}
