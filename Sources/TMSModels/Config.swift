import Foundation

/// The four toy models of Elhage et al. (2022) (docs/models.md#models), each with an instance dimension.
///
/// | kind | forward | target | data |
/// |---|---|---|---|
/// | `linear` | h = W x; x′ = Wᵀh + b | x | U[0,1] |
/// | `reluOutput` | h = W x; x′ = ReLU(Wᵀh + b) | x | U[0,1] |
/// | `reluHidden` | h = ReLU(W x); x′ = ReLU(Wᵀh + b) | x | U[0,1] |
/// | `abs` | h = ReLU(W₁ x); x′ = ReLU(W₂ h + b) | \|x\| | U[−1,1] |
public enum ModelKind: String, CaseIterable, Codable, Sendable {
    /// Decodes a raw value; an unknown one is an error listing the allowed values.
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }

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

/// How features co-occur (docs/models.md#feature-distributions).
public enum FeatureDistribution: String, CaseIterable, Codable, Sendable {
    /// Decodes a raw value; an unknown one is an error listing the allowed values.
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }

    /// x_i = 0 with probability 1 − p_i, else a uniform magnitude.
    case independent
    /// Features (2j, 2j+1) share one presence draw (present together with probability p).
    case correlatedPairs = "correlated-pairs"
    /// One uniform u per pair: the first is present iff u ≤ p, the second iff u ≥ 1 − p (requires p ≤ 0.5);
    /// the ARENA exercises' convention. Each marginal is exactly p; the two never co-occur.
    case anticorrelatedPairs = "anticorrelated-pairs"
    /// Consecutive sets of k = `correlatedSetSize` features (kj … kj+k−1) share one presence draw: all present
    /// together with probability p, else all absent (Elhage et al. 2022, §"Superposition with Correlated
    /// Features"); k = 2 draws exactly what `correlatedPairs` draws.
    case correlatedSets = "correlated-sets"

    public var isPaired: Bool { self == .correlatedPairs || self == .anticorrelatedPairs }
}

/// How the weights start (docs/models.md#initialisation). Biases start at 0 either way.
public enum Initialisation: String, CaseIterable, Codable, Sendable {
    /// Decodes a raw value; an unknown one is an error listing the allowed values.
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }

    /// Xavier-normal with the fans of one instance's m×n matrix: σ = √(2/(n + m)), for every model (W₁ and
    /// W₂ of `abs` alike). Independent of K.
    case xavier
    /// What the reference PyTorch code gets by initialising the whole 3-D instance tensor, whose fans count
    /// the instance axis (PyTorch: fan_in = size(1)·r, fan_out = size(0)·r, r = product of the dims ≥ 2), so
    /// it depends on K. Tied models: `xavier_normal_` on [K, n, m] (the paper's notebook), σ = √(2/(n·m + K·m)).
    /// `abs`: `kaiming_uniform_` (a = 0, fan_in) on W₁ [K, m, n] and W₂ [K, n, m] (ARENA), U[−b, b] with
    /// b = √2·√(3/(m·n)) for both, i.e. σ = √(2/(m·n)).
    case reference
}

/// The optimiser. Defaults follow the ARENA exercises (Adam, lr 1e-3, no weight decay); the companion
/// notebook of the paper used AdamW with weight decay 0.01.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
    /// Decodes a raw value; an unknown one is an error listing the allowed values.
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }

    /// PyTorch `Adam`: weight decay, if any, is added to the gradient (L2 penalty).
    case adam
    /// PyTorch `AdamW`: decoupled weight decay, p ← p − lr·λ·p before the Adam step.
    case adamw
}

/// Learning-rate schedules over steps t = 0…T−1 (docs/models.md#schedules).
public enum LearningRateSchedule: String, CaseIterable, Codable, Sendable {
    /// Decodes a raw value; an unknown one is an error listing the allowed values.
    public init(from decoder: Decoder) throws { self = try decodeChoice(decoder) }

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

/// Decodes a string enum; an unknown value throws a `DecodingError` whose description lists the allowed ones.
func decodeChoice<E: CaseIterable & RawRepresentable>(_ decoder: Decoder) throws -> E where E.RawValue == String {
    let container = try decoder.singleValueContainer()
    let raw = try container.decode(String.self)
    guard let value = E(rawValue: raw) else {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
            "'\(raw)' is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))"))
    }
    return value
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
    /// How the weights start: `xavier` (the default) or `reference` (PyTorch's 3-D fans, K-dependent).
    public var initialisation: Initialisation = .xavier
    /// A factor on the initial scale (σ for normal draws, the bound for uniform ones); 1 by default.
    public var initScale: Double = 1
    /// The set size k of `correlated-sets` (nil, not set, for every other distribution); must divide n.
    public var correlatedSetSize: Int? = nil
    /// λ of an L1 penalty λ·Σ|W_{k,i}| on the weights (W, or W₁ and W₂ for `abs`; never the biases), added to
    /// the loss's gradient as λ·sign(W) before the optimiser step (docs/models.md#loss). 0 by default: no
    /// penalty, and bit-identical results to runs made before it existed. Not in the paper; it gives the
    /// hidden space a preferred basis (docs/experiments.md#high-dimensional).
    public var l1Penalty: Double = 0

    enum CodingKeys: String, CodingKey {
        case model, featureCount, hiddenCount, instanceCount, featureProbability, importance, distribution, steps,
             batchSize, learningRate, schedule, warmupSteps, optimizer, weightDecay, beta1, beta2, epsilon, bestOf,
             seed, evaluationBatches, lossLogPoints, initialisation, initScale, correlatedSetSize, l1Penalty
    }

    /// Decodes every field; `initialisation`, `initScale` and `l1Penalty` may be absent (folders written
    /// before they existed), meaning `xavier`, 1 and 0, which is how those runs were trained.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(ModelKind.self, forKey: .model)
        featureCount = try c.decode(Int.self, forKey: .featureCount)
        hiddenCount = try c.decode(Int.self, forKey: .hiddenCount)
        instanceCount = try c.decode(Int.self, forKey: .instanceCount)
        featureProbability = try c.decode([[Float]].self, forKey: .featureProbability)
        importance = try c.decode([[Float]].self, forKey: .importance)
        distribution = try c.decode(FeatureDistribution.self, forKey: .distribution)
        steps = try c.decode(Int.self, forKey: .steps)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        schedule = try c.decode(LearningRateSchedule.self, forKey: .schedule)
        warmupSteps = try c.decode(Int.self, forKey: .warmupSteps)
        optimizer = try c.decode(OptimizerKind.self, forKey: .optimizer)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        beta1 = try c.decode(Double.self, forKey: .beta1)
        beta2 = try c.decode(Double.self, forKey: .beta2)
        epsilon = try c.decode(Double.self, forKey: .epsilon)
        bestOf = try c.decode(Int.self, forKey: .bestOf)
        seed = try c.decode(UInt64.self, forKey: .seed)
        evaluationBatches = try c.decode(Int.self, forKey: .evaluationBatches)
        lossLogPoints = try c.decode(Int.self, forKey: .lossLogPoints)
        initialisation = try c.decodeIfPresent(Initialisation.self, forKey: .initialisation) ?? .xavier
        initScale = try c.decodeIfPresent(Double.self, forKey: .initScale) ?? 1
        correlatedSetSize = try c.decodeIfPresent(Int.self, forKey: .correlatedSetSize)
        l1Penalty = try c.decodeIfPresent(Double.self, forKey: .l1Penalty) ?? 0
    }

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

    /// The largest values `validate()` accepts. They are far above any run in the paper; they exist so that
    /// sizes are refused with a message before anything is allocated or an `Int` overflows (the memory a
    /// run needs is checked separately, against the machine, by `checkMemory(threads:available:)`).
    public enum Limits {
        /// n, m, K and best-of N each.
        public static let size = 1 << 24
        /// Training steps: 10⁹ (about a day for the smallest model at today's speed).
        public static let steps = 1_000_000_000
        /// Batch size B; also B·n must stay below 2³¹ (sparse batches index their values with 32-bit offsets).
        public static let batchSize = 1 << 24
        /// Evaluation batches (the adaptive count never exceeds it either).
        public static let evaluationBatches = 10_000
        /// Points of the loss curve kept per instance.
        public static let lossLogPoints = 100_000
        /// Entries of each [instance][feature] table, K·n (2²⁸: 1 GB per Float32 table).
        public static let tableEntries = 1 << 28
    }

    /// Checks n, m and K alone, before any per-instance table is built (the CLI calls it first, so that
    /// `--instances 10^7 --features 10^4` is refused instead of allocating [K][n] tables): each in
    /// 1...`Limits.size`, and K·n at most `Limits.tableEntries`.
    public static func checkShape(featureCount n: Int, hiddenCount m: Int, instanceCount K: Int) throws {
        for (value, field) in [(n, "featureCount"), (m, "hiddenCount"), (K, "instanceCount")] where !(1...Limits.size).contains(value) {
            throw ConfigError("\(name(field)): \(value) is invalid; it must be an integer in 1...\(Limits.size)")
        }
        guard K * n <= Limits.tableEntries else {
            throw ConfigError("\(name("instanceCount")): \(K) instances of \(n) features is invalid; instances × features must be at most \(Limits.tableEntries)")
        }
    }

    /// The CLI flag and the `config.json` field of each setting, for error messages: "--lr / learningRate".
    static func name(_ field: String) -> String {
        let flags = [
            "model": "--model", "featureCount": "--features", "hiddenCount": "--hidden", "instanceCount": "--instances",
            "featureProbability": "--feature-probability (or --sparsity)", "importance": "--importance-decay",
            "distribution": "--distribution", "steps": "--steps", "batchSize": "--batch-size", "learningRate": "--lr",
            "schedule": "--schedule", "warmupSteps": "--warmup-steps", "optimizer": "--optimizer",
            "weightDecay": "--weight-decay", "bestOf": "--best-of", "initialisation": "--init", "initScale": "--init-scale",
            "correlatedSetSize": "--set-size",
            "l1Penalty": "--l1",
        ]
        return flags[field].map { "\($0) / \(field)" } ?? field
    }

    /// Checks every field; throws one `ConfigError` naming the first bad value, its CLI flag and `config.json`
    /// field, and what is allowed, e.g. "--lr / learningRate: 2e9 is invalid; …". This is the one place a
    /// config is checked: the CLI's flags and every `config.json` read from disk go through it.
    public func validate() throws {
        func bad(_ field: String, _ text: String) -> ConfigError { ConfigError("\(Self.name(field)): \(text)") }
        func inRange(_ value: Int, _ field: String, _ range: ClosedRange<Int>, _ note: String = "") throws {
            guard range.contains(value) else {
                throw bad(field, "\(value) is invalid; it must be an integer in \(range.lowerBound)...\(range.upperBound)\(note)")
            }
        }
        try Self.checkShape(featureCount: featureCount, hiddenCount: hiddenCount, instanceCount: instanceCount)
        try inRange(steps, "steps", 1...Limits.steps)
        try inRange(batchSize, "batchSize", 1...Limits.batchSize)
        try inRange(bestOf, "bestOf", 1...Limits.size)
        try inRange(evaluationBatches, "evaluationBatches", 1...Limits.evaluationBatches)
        try inRange(lossLogPoints, "lossLogPoints", 1...Limits.lossLogPoints)
        guard batchSize * featureCount < Int(Int32.max) else {
            throw bad("batchSize", "\(batchSize) with \(featureCount) features is invalid; batch size × features must be below 2^31 (sparse batches use 32-bit offsets)")
        }
        guard featureProbability.count == instanceCount else {
            throw bad("featureProbability", "has \(featureProbability.count) instance rows; expected \(instanceCount) (one per instance)")
        }
        guard importance.count == instanceCount else {
            throw bad("importance", "has \(importance.count) instance rows; expected \(instanceCount) (one per instance)")
        }
        for (k, row) in featureProbability.enumerated() {
            guard row.count == featureCount else {
                throw bad("featureProbability", "instance \(k) has \(row.count) values; expected \(featureCount) (one per feature)")
            }
            for (i, p) in row.enumerated() where !(p > 0 && p <= 1) {
                throw bad("featureProbability", "\(p) (instance \(k), feature \(i)) is invalid; it must be in (0, 1] (sparsity S = 1 - p in [0, 1))")
            }
            if distribution == .anticorrelatedPairs, let p = row.first(where: { $0 > 0.5 }) {
                throw bad("featureProbability", "\(p) (instance \(k)) is invalid for anticorrelated-pairs; it must be at most 0.5")
            }
            if distribution.isPaired {
                for j in stride(from: 0, to: featureCount - 1, by: 2) where row[j] != row[j + 1] {
                    throw bad("featureProbability", "features \(j) and \(j + 1) of instance \(k) form a pair but have probabilities \(row[j]) and \(row[j + 1]); paired features must share one")
                }
            }
        }
        for (k, row) in importance.enumerated() {
            guard row.count == featureCount else {
                throw bad("importance", "instance \(k) has \(row.count) values; expected \(featureCount) (one per feature)")
            }
            // I = 0 is allowed: a feature the loss ignores, which is what I = R^i becomes once it underflows
            // Float32 (R = 0.9, i ≥ 987); only an instance whose loss is identically zero is refused.
            for (i, v) in row.enumerated() where !(v >= 0 && v.isFinite) {
                throw bad("importance", "\(v) (instance \(k), feature \(i)) is invalid; it must be a finite number ≥ 0")
            }
            guard row.contains(where: { $0 > 0 }) else {
                throw bad("importance", "instance \(k) has no feature with importance > 0; its loss would be identically zero")
            }
        }
        if distribution == .correlatedSets {
            guard let k = correlatedSetSize else {
                throw bad("correlatedSetSize", "not set; correlated-sets needs a set size k in 2...\(featureCount) that divides the feature count")
            }
            guard k >= 2 && k <= featureCount && featureCount % k == 0 else {
                throw bad("correlatedSetSize", "\(k) is invalid for \(featureCount) features; it must be in 2...\(featureCount) and divide the feature count")
            }
            for (s, row) in featureProbability.enumerated() {
                for j in stride(from: 0, to: featureCount, by: k) where row[j..<(j + k)].contains(where: { $0 != row[j] }) {
                    throw bad("featureProbability", "features \(j)...\(j + k - 1) of instance \(s) form a correlated set but have different probabilities; a set must share one")
                }
            }
        } else if let k = correlatedSetSize {
            throw bad("correlatedSetSize", "\(k) is given but the distribution is \(distribution.rawValue); a set size is only for correlated-sets")
        }
        if distribution.isPaired && featureCount % 2 != 0 {
            throw bad("featureCount", "\(featureCount) is odd; \(distribution.rawValue) needs an even feature count")
        }
        guard learningRate > 0 && learningRate.isFinite else {
            throw bad("learningRate", "\(learningRate) is invalid; it must be a positive finite number")
        }
        guard weightDecay >= 0 && weightDecay.isFinite else {
            throw bad("weightDecay", "\(weightDecay) is invalid; it must be a finite number ≥ 0")
        }
        guard warmupSteps >= 0 else {
            throw bad("warmupSteps", "\(warmupSteps) is invalid; it must be ≥ 0")
        }
        guard warmupSteps < steps || schedule != .warmupCosine else {
            throw bad("warmupSteps", "\(warmupSteps) is invalid; it must be in 0..<\(steps) (the step count) for warmup-cosine")
        }
        guard initScale > 0 && initScale.isFinite && initScale <= 1e6 else {
            throw bad("initScale", "\(initScale) is invalid; it must be a positive finite number at most 1e6")
        }
        guard l1Penalty >= 0 && l1Penalty.isFinite && l1Penalty <= 1e6 else {
            throw bad("l1Penalty", "\(l1Penalty) is invalid; it must be a finite number in [0, 1e6] (0: no penalty)")
        }
        guard beta1 >= 0 && beta1 < 1 else { throw bad("beta1", "\(beta1) is invalid; it must be in [0, 1)") }
        guard beta2 >= 0 && beta2 < 1 else { throw bad("beta2", "\(beta2) is invalid; it must be in [0, 1)") }
        guard epsilon > 0 && epsilon.isFinite else { throw bad("epsilon", "\(epsilon) is invalid; it must be a positive finite number") }
    }

    /// An estimate, in bytes, of the memory training this config needs with `threads` workers (the trainer's
    /// dominant allocations, rounded up; computed in Double so that absurd sizes cannot overflow):
    ///
    /// - per slot (instance × seed, K·N of them): parameters, gradients and two Adam moments, 10·n·m + 8·n
    ///   floats with a second matrix for `abs`, plus a batch of B·n values and indices (8 bytes each) when
    ///   the instance's mean p is above 1/4, else about 2·B·Σp of them;
    /// - per worker: pass buffers of about R·(6n + 6m) floats, R the rows of a chunk (at most B);
    /// - the loss curve (K·N·points floats), the result's weight copies and 32 MB for the process itself.
    ///
    /// Measured against peak resident memory of `tms train` (200 steps, 2 threads): 400→30 × 8 at p = 0.01,
    /// estimate 40 MB, peak 35 MB; 2000→100 × 4 at p = 0.01, 79 vs 72 MB; 1000→50 × 4 dense, 80 vs 85 MB.
    public func estimatedMemoryBytes(threads: Int) -> Double {
        let n = Double(featureCount), m = Double(hiddenCount), B = Double(batchSize)
        let slots = Double(instanceCount) * Double(bestOf)
        let matrices = model.isTied ? 1.0 : 2.0
        let parameters = 4 * (5 * matrices * n * m + 8 * n + n * m)
        let meanDensity = featureProbability.map { row in row.reduce(0.0) { $0 + Double($1) } / max(1, n) }
        let batchPerSlot = meanDensity.map { p in p > 0.25 ? 8 * B * n : 8 * B * max(1, 2 * p * n) }
        let batches = batchPerSlot.reduce(0, +) / Double(max(1, meanDensity.count)) * slots
        // Pass buffers are sized by the chunk of rows a worker processes: at least 128 rows, about 64k floats
        // of an [n][rows] buffer, at most the batch (InstanceState.chunkRows).
        let rows = min(B, max(128, 65_536 / max(1, n))) + 32
        let workers = 4 * Double(max(1, threads)) * rows * (6 * n + 6 * m)
        let curves = 4 * slots * Double(min(lossLogPoints, steps))
        return slots * parameters + batches + workers + curves + 4 * Double(instanceCount) * (matrices * n * m + n) * 3
            + 32_000_000  // the process itself (runtime, code, small buffers)
    }

    /// Refuses a config whose estimated memory (`estimatedMemoryBytes`) exceeds `available` bytes, naming both.
    public func checkMemory(threads: Int, available: Double) throws {
        let need = estimatedMemoryBytes(threads: threads)
        guard need <= available else {
            throw ConfigError("this run needs about \(Self.formatBytes(need)) of memory (K = \(instanceCount) instances × best-of \(bestOf), n = \(featureCount), m = \(hiddenCount), batch \(batchSize)) but the machine has \(Self.formatBytes(available)); reduce --instances, --best-of, --features, --hidden or --batch-size")
        }
    }

    static func formatBytes(_ bytes: Double) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = bytes, unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return value >= 1e6 ? String(format: "%.3g B", bytes) : String(format: "%.3g %@", value, units[unit])
    }
}
