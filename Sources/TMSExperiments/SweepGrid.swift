import Foundation
import TMSModels

// The grid a spec expands to: cells, the packs that train them, and the shard a process trains
// (docs/sweeps.md#packing, docs/sweeps.md#sharding).

/// One point of the grid: every field's value and the seed.
public struct SweepCell: Equatable, Sendable {
    /// Position in grid order (`SweepSpec.cells()`).
    public let index: Int
    public let values: [SweepField: SweepValue]
    public let seed: UInt64

    public func value(_ field: SweepField) -> SweepValue { values[field] ?? field.defaultValue }

    /// The feature probability p (from `featureProbability` or 1 − `sparsity`).
    public var featureProbability: Double {
        if let s = values[.sparsity]?.number { return 1 - s }
        return value(.featureProbability).number!
    }

    func integer(_ field: SweepField) -> Int { Int(value(field).number!) }
    func real(_ field: SweepField) -> Double { value(field).number! }
    func choice<E: RawRepresentable>(_ field: SweepField, _: E.Type) -> E where E.RawValue == String {
        guard case .choice(let s) = value(field), let e = E(rawValue: s) else { fatalError("checked by SweepSpec.parse") }
        return e
    }

    /// This cell alone as a one-instance config with its own seed (what `pack: false` trains).
    public func config() -> TrainingConfig {
        var c = TrainingConfig.standard(model: choice(.model, ModelKind.self), featureCount: integer(.featureCount),
                                        hiddenCount: integer(.hiddenCount), featureProbabilities: [Float(featureProbability)],
                                        importanceDecay: Float(real(.importanceDecay)),
                                        distribution: choice(.distribution, FeatureDistribution.self),
                                        steps: integer(.steps), batchSize: integer(.batchSize),
                                        learningRate: real(.learningRate), bestOf: integer(.bestOf), seed: seed)
        c.schedule = choice(.schedule, LearningRateSchedule.self)
        c.warmupSteps = integer(.warmupSteps)
        c.optimizer = choice(.optimizer, OptimizerKind.self)
        c.weightDecay = real(.weightDecay)
        c.beta1 = real(.beta1)
        c.beta2 = real(.beta2)
        c.epsilon = real(.epsilon)
        c.evaluationBatches = integer(.evaluationBatches)
        c.lossLogPoints = integer(.lossLogPoints)
        c.initialisation = choice(.initialisation, Initialisation.self)
        c.initScale = real(.initScale)
        c.l1Penalty = real(.l1Penalty)
        return c
    }

    /// "featureProbability=0.1, seed=2": the swept values (what tells this cell from its neighbours).
    public func label(_ spec: SweepSpec) -> String {
        (spec.axes.map { "\($0.field.rawValue)=\(value($0.field))" } + ["seed=\(seed)"]).joined(separator: ", ")
    }
}

/// One training run of a sweep: its cells are its instances, in order.
public struct SweepPack: Equatable, Sendable {
    public let index: Int
    public let cells: [SweepCell]

    /// The folder name under `packs/`: `pack-0007`.
    public var id: String { String(format: "pack-%04d", index) }

    /// The run's config: the first cell's config with one row of p and importance per cell.
    public var config: TrainingConfig {
        let rows = cells.map { $0.config() }
        var c = rows[0]
        c.instanceCount = cells.count
        c.featureProbability = rows.map { $0.featureProbability[0] }
        c.importance = rows.map { $0.importance[0] }
        return c
    }
}

/// Which slice of the packs one process trains: pack j belongs to shard j mod `count`
/// (docs/sweeps.md#sharding).
public struct SweepShard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1 && count <= 1_000_000 else { throw SweepError("--shard: the shard count \(count) is invalid; it must be an integer in 1...1000000") }
        guard (0..<count).contains(index) else { throw SweepError("--shard: the index \(index) is invalid; it must be in 0..<\(count) (shards count from 0)") }
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// Parses `i/N`.
    public static func parse(_ text: String) throws -> SweepShard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw SweepError("--shard: '\(text)' is invalid; write INDEX/COUNT, e.g. 0/4 (shards count from 0)")
        }
        return try SweepShard(index: i, count: n)
    }

    public func owns(_ pack: SweepPack) -> Bool { pack.index % count == index }

    /// The shard the environment assigns (docs/sweeps.md#sharding), or nil when none does: a Slurm array
    /// task (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`, divided by `SLURM_ARRAY_TASK_STEP`, of
    /// `SLURM_ARRAY_TASK_COUNT`), else a Kubernetes Indexed Job pod (`JOB_COMPLETION_INDEX`, whose count the
    /// pod cannot see: `countOverride`, i.e. `--shard-count`, or `TMS_SHARD_COUNT`). `countOverride` also
    /// replaces Slurm's count.
    public static func fromEnvironment(_ env: [String: String], countOverride: Int? = nil) throws -> SweepShard? {
        func integer(_ name: String) throws -> Int? {
            guard let text = env[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw SweepError("\(name)='\(text)' is invalid; it must be an integer ≥ 0")
            }
            return value
        }
        var count = countOverride
        if count == nil, let text = env["TMS_SHARD_COUNT"] {
            guard let value = Int(text), value >= 1 else { throw SweepError("TMS_SHARD_COUNT='\(text)' is invalid; it must be an integer ≥ 1") }
            count = value
        }
        if let id = try integer("SLURM_ARRAY_TASK_ID") {
            guard let n = try count ?? integer("SLURM_ARRAY_TASK_COUNT") else {
                throw SweepError("SLURM_ARRAY_TASK_ID is set (\(id)) but SLURM_ARRAY_TASK_COUNT is not; pass --shard-count N or --shard \(id)/N")
            }
            let step = max(1, try integer("SLURM_ARRAY_TASK_STEP") ?? 1)
            let offset = id - (try integer("SLURM_ARRAY_TASK_MIN") ?? 0)
            guard offset >= 0, offset % step == 0 else {
                throw SweepError("SLURM_ARRAY_TASK_ID \(id) is not on the array's grid (min, step); pass --shard i/N")
            }
            return try SweepShard(index: offset / step, count: n)
        }
        if let index = try integer("JOB_COMPLETION_INDEX") {
            guard let n = count else {
                throw SweepError("JOB_COMPLETION_INDEX is set (\(index)) but the shard count is not; pass --shard-count N (the Job's completions) or set TMS_SHARD_COUNT")
            }
            return try SweepShard(index: index, count: n)
        }
        return nil
    }
}
