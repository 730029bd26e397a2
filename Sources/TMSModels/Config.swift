import Foundation

/// The four toy models of Elhage et al. (2022) (SPEC §2), each with an instance dimension.
///
/// | kind | forward | target | data |
/// |---|---|---|---|
/// | `linear` | h = W x; x′ = Wᵀh + b | x | U[0,1] |
/// | `reluOutput` | h = W x; x′ = ReLU(Wᵀh + b) | x | U[0,1] |
/// | `reluHidden` | h = ReLU(W x); x′ = ReLU(Wᵀh + b) | x | U[0,1] |
/// | `abs` | h = ReLU(W₁ x); x′ = ReLU(W₂ h + b) | \|x\| | U[−1,1] |
public enum ModelKind: String, CaseIterable, Codable, Sendable {
    case linear
    case reluOutput = "relu-output"
    case reluHidden = "relu-hidden"
    case abs

    /// Whether encoder and decoder share one matrix W (all but `abs`).
    public var isTied: Bool { self != .abs }
    /// Whether inputs are signed, U[−1, 1] magnitudes (the absolute-value task).
    public var usesSignedInputs: Bool { self == .abs }
    /// Whether the hidden layer has a ReLU, giving it a privileged basis.
    public var hasHiddenReLU: Bool { self == .reluHidden || self == .abs }
    /// Whether the output has a ReLU.
    public var hasOutputReLU: Bool { self != .linear }
}

/// How features co-occur (SPEC §3).
public enum FeatureDistribution: String, CaseIterable, Codable, Sendable {
    /// x_i = 0 with probability 1 − p_i, else a uniform magnitude.
    case independent
    /// Features (2j, 2j+1) share one presence draw (present together with probability p).
    case correlatedPairs = "correlated-pairs"
    /// One uniform u per pair: the first is present iff u ≤ p, the second iff u ≥ 1 − p (requires p ≤ 0.5);
    /// the ARENA exercises' convention. Each marginal is exactly p; the two never co-occur.
    case anticorrelatedPairs = "anticorrelated-pairs"

    public var isPaired: Bool { self != .independent }
}

/// The optimiser. Defaults follow the ARENA exercises (Adam, lr 1e-3, no weight decay); the companion
/// notebook of the paper used AdamW with weight decay 0.01.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
    /// PyTorch `Adam`: weight decay, if any, is added to the gradient (L2 penalty).
    case adam
    /// PyTorch `AdamW`: decoupled weight decay, p ← p − lr·λ·p before the Adam step.
    case adamw
}

/// Learning-rate schedules over steps t = 0…T−1 (SPEC §1).
public enum LearningRateSchedule: String, CaseIterable, Codable, Sendable {
    /// lr
    case constant
    /// lr · (1 − t/T)
    case linear
    /// lr · cos(π/2 · t/(T−1))
    case cosine
    /// Linear warmup lr·(t+1)/W for the first W = `warmupSteps` steps, then lr · ½(1 + cos(π·(t−W)/(T−W))).
    case warmupCosine = "warmup-cosine"

    /// The learning rate at step `t` of `total`.
    public func rate(base: Double, step t: Int, total: Int, warmup: Int) -> Double {
        switch self {
        case .constant: return base
        case .linear: return base * (1 - Double(t) / Double(total))
        case .cosine: return total <= 1 ? base : base * cos(Double.pi / 2 * Double(t) / Double(total - 1))
        case .warmupCosine:
            if t < warmup { return base * Double(t + 1) / Double(warmup) }
            let span = max(1, total - warmup)
            return base * 0.5 * (1 + cos(Double.pi * Double(t - warmup) / Double(span)))
        }
    }
}

/// One invalid configuration value: `description` is a single line naming the value and what is allowed.
public struct ConfigError: Swift.Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Everything that determines a training run's weights (with the seed). Thread count is not part of it: it
/// never changes the result.
///
/// Per-instance, per-feature tables are stored resolved, `[instance][feature]`, so `config.json` re-runs the
/// exact experiment.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var model: ModelKind
    /// n
    public var featureCount: Int
    /// m
    public var hiddenCount: Int
    /// K: independent models trained side by side.
    public var instanceCount: Int
    /// p_{k,i} ∈ (0, 1], `[instance][feature]`; sparsity S = 1 − p is derived.
    public var featureProbability: [[Float]]
    /// I_{k,i} > 0, `[instance][feature]`.
    public var importance: [[Float]]
    public var distribution: FeatureDistribution
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Double
    public var schedule: LearningRateSchedule
    /// Warmup steps for `warmup-cosine` (ignored otherwise).
    public var warmupSteps: Int
    public var optimizer: OptimizerKind
    /// Weight decay λ; 0 by default (ARENA). The paper's notebook used AdamW with 0.01.
    public var weightDecay: Double
    /// Adam β₁, β₂, ε: PyTorch defaults.
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    /// Train N seeds of every instance side by side and keep the one with the lowest evaluation loss.
    public var bestOf: Int
    public var seed: UInt64
    /// The minimum number of fresh batches (from a stream shared by all seeds of an instance) on which the
    /// final loss is measured; see `evaluationBatchCount(instance:)`.
    public var evaluationBatches: Int = 8
    /// How many points of the loss curve to keep (evenly spaced, first and last step included).
    public var lossLogPoints: Int = 200

    public init(model: ModelKind = .reluOutput, featureCount: Int = 5, hiddenCount: Int = 2, instanceCount: Int = 1,
                featureProbability: [[Float]], importance: [[Float]],
                distribution: FeatureDistribution = .independent, steps: Int = 10_000, batchSize: Int = 1024,
                learningRate: Double = 1e-3, schedule: LearningRateSchedule = .constant, warmupSteps: Int = 0,
                optimizer: OptimizerKind = .adam, weightDecay: Double = 0, bestOf: Int = 1, seed: UInt64 = 0) {
        self.model = model; self.featureCount = featureCount; self.hiddenCount = hiddenCount
        self.instanceCount = instanceCount; self.featureProbability = featureProbability; self.importance = importance
        self.distribution = distribution; self.steps = steps; self.batchSize = batchSize
        self.learningRate = learningRate; self.schedule = schedule; self.warmupSteps = warmupSteps
        self.optimizer = optimizer; self.weightDecay = weightDecay; self.bestOf = bestOf; self.seed = seed
    }

    /// Builds per-instance tables from one probability per instance and importance I_i = decay^i.
    public static func standard(model: ModelKind = .reluOutput, featureCount: Int, hiddenCount: Int,
                                featureProbabilities: [Float], importanceDecay: Float = 1,
                                distribution: FeatureDistribution = .independent,
                                steps: Int = 10_000, batchSize: Int = 1024, learningRate: Double = 1e-3,
                                bestOf: Int = 1, seed: UInt64 = 0) -> TrainingConfig {
        let importance = (0..<featureCount).map { Float(pow(Double(importanceDecay), Double($0))) }
        return TrainingConfig(model: model, featureCount: featureCount, hiddenCount: hiddenCount,
                              instanceCount: featureProbabilities.count,
                              featureProbability: featureProbabilities.map { [Float](repeating: $0, count: featureCount) },
                              importance: Array(repeating: importance, count: featureProbabilities.count),
                              distribution: distribution, steps: steps, batchSize: batchSize,
                              learningRate: learningRate, bestOf: bestOf, seed: seed)
    }

    /// p = base^(−t) for t in linspace(0, 1, count): the paper's sweep from dense to sparse (base 20 gives
    /// 1 … 0.05).
    public static func geometricProbabilities(count: Int, base: Double = 20) -> [Float] {
        (0..<count).map { Float(pow(base, -(count == 1 ? 0 : Double($0) / Double(count - 1)))) }
    }

    /// Evaluation batches for instance k: at least `evaluationBatches`, and enough for about 50,000 expected
    /// non-zero features (capped at 10,000 batches), so that the final loss of a sparse instance, and the choice
    /// among its seeds, is not decided by a handful of samples.
    public func evaluationBatchCount(instance k: Int) -> Int {
        let nonZerosPerBatch = Double(batchSize) * featureProbability[k].reduce(0.0) { $0 + Double($1) }
        return max(evaluationBatches, min(10_000, Int((50_000 / nonZerosPerBatch).rounded(.up))))
    }

    /// Checks every field; throws one `ConfigError` naming the first bad value and what is allowed.
    public func validate() throws {
        func positive(_ value: Int, _ name: String) throws {
            guard value > 0 else { throw ConfigError("\(name) = \(value) is invalid; it must be a positive integer") }
        }
        try positive(featureCount, "feature count")
        try positive(hiddenCount, "hidden count")
        try positive(instanceCount, "instance count")
        try positive(steps, "steps")
        try positive(batchSize, "batch size")
        try positive(bestOf, "best-of")
        try positive(evaluationBatches, "evaluation batches")
        try positive(lossLogPoints, "loss log points")
        guard featureProbability.count == instanceCount else {
            throw ConfigError("feature probability has \(featureProbability.count) instance rows; expected \(instanceCount) (one per instance)")
        }
        guard importance.count == instanceCount else {
            throw ConfigError("importance has \(importance.count) instance rows; expected \(instanceCount) (one per instance)")
        }
        for (k, row) in featureProbability.enumerated() {
            guard row.count == featureCount else {
                throw ConfigError("feature probability of instance \(k) has \(row.count) values; expected \(featureCount) (one per feature)")
            }
            for (i, p) in row.enumerated() where !(p > 0 && p <= 1) {
                throw ConfigError("feature probability \(p) (instance \(k), feature \(i)) is invalid; it must be in (0, 1]")
            }
            if distribution == .anticorrelatedPairs, let p = row.first(where: { $0 > 0.5 }) {
                throw ConfigError("feature probability \(p) is invalid for anticorrelated-pairs; it must be at most 0.5")
            }
            if distribution.isPaired {
                for j in stride(from: 0, to: featureCount - 1, by: 2) where row[j] != row[j + 1] {
                    throw ConfigError("features \(j) and \(j + 1) of instance \(k) form a pair but have probabilities \(row[j]) and \(row[j + 1]); paired features must share one")
                }
            }
        }
        for (k, row) in importance.enumerated() {
            guard row.count == featureCount else {
                throw ConfigError("importance of instance \(k) has \(row.count) values; expected \(featureCount) (one per feature)")
            }
            for (i, v) in row.enumerated() where !(v > 0 && v.isFinite) {
                throw ConfigError("importance \(v) (instance \(k), feature \(i)) is invalid; it must be a positive finite number")
            }
        }
        if distribution.isPaired && featureCount % 2 != 0 {
            throw ConfigError("feature count \(featureCount) is odd; \(distribution.rawValue) needs an even feature count")
        }
        guard learningRate > 0 && learningRate.isFinite else {
            throw ConfigError("learning rate \(learningRate) is invalid; it must be a positive finite number")
        }
        guard weightDecay >= 0 && weightDecay.isFinite else {
            throw ConfigError("weight decay \(weightDecay) is invalid; it must be a finite number ≥ 0")
        }
        guard warmupSteps >= 0 && warmupSteps < steps || schedule != .warmupCosine else {
            throw ConfigError("warmup steps \(warmupSteps) is invalid; it must be in 0..<\(steps) (the step count)")
        }
        guard beta1 >= 0 && beta1 < 1, beta2 >= 0 && beta2 < 1, epsilon > 0 else {
            throw ConfigError("Adam betas (\(beta1), \(beta2)) and epsilon \(epsilon) are invalid; betas must be in [0, 1) and epsilon > 0")
        }
    }
}
