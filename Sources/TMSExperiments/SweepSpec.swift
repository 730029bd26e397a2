import Foundation
import TMSModels

/// A bad sweep spec or sweep folder; `description` is one line naming the key (or file) and what is allowed
/// (docs/sweeps.md#spec-format).
public struct SweepError: Swift.Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Any JSON value, decoded without losing which kind it was (a spec is checked key by key, so that every error
/// names its key rather than a Swift type).
public indirect enum JSONValue: Codable, Equatable, Sendable {
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    /// The value as a number, if it is one.
    var number: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// The value as written in an error message.
    var text: String {
        switch self {
        case .bool(let b): return String(b)
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .string(let s): return "'\(s)'"
        case .array: return "a list"
        case .object: return "an object"
        case .null: return "null"
        }
    }
}

/// One swept or fixed setting of a cell: a number or a choice (docs/sweeps.md#spec-format).
public enum SweepValue: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    case number(Double)
    case choice(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .choice(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let d): try c.encode(d)
        case .choice(let s): try c.encode(s)
        }
    }

    /// Integers without a decimal point ("5", not "5.0"); other numbers in Swift's shortest round-trip form.
    public var description: String {
        switch self {
        case .number(let d): return d == d.rounded() && Swift.abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .choice(let s): return s
        }
    }

    var number: Double? { if case .number(let d) = self { return d }; return nil }
}

/// The settings a sweep can fix or vary: the scalar form of every `TrainingConfig` field (docs/sweeps.md#fields).
/// `featureProbability` (or `sparsity`, S = 1 − p) and `importanceDecay` (I_i = R^i) give one value to every
/// feature; with the seed they are the per-instance fields that cells of one pack may differ in.
public enum SweepField: String, CaseIterable, Codable, Sendable {
    case model, featureCount, hiddenCount, featureProbability, sparsity, importanceDecay, distribution, steps,
         batchSize, learningRate, schedule, warmupSteps, optimizer, weightDecay, beta1, beta2, epsilon, bestOf,
         evaluationBatches, lossLogPoints, initialisation, initScale, l1Penalty

    enum Kind { case integer, real, choice([String]) }

    var kind: Kind {
        switch self {
        case .model: return .choice(ModelKind.allCases.map(\.rawValue))
        case .distribution: return .choice(FeatureDistribution.allCases.map(\.rawValue))
        case .schedule: return .choice(LearningRateSchedule.allCases.map(\.rawValue))
        case .optimizer: return .choice(OptimizerKind.allCases.map(\.rawValue))
        case .initialisation: return .choice(Initialisation.allCases.map(\.rawValue))
        case .featureCount, .hiddenCount, .steps, .batchSize, .warmupSteps, .bestOf, .evaluationBatches, .lossLogPoints:
            return .integer
        case .featureProbability, .sparsity, .importanceDecay, .learningRate, .weightDecay, .beta1, .beta2, .epsilon, .initScale,
             .l1Penalty:
            return .real
        }
    }

    /// Fields whose cells can share one run as its instances (with the seed).
    public var isPerInstance: Bool { self == .featureProbability || self == .sparsity || self == .importanceDecay }

    /// The value of a field nobody set: `tms train`'s defaults, except p = 1 (dense).
    var defaultValue: SweepValue {
        let d = TrainingConfig(featureProbability: [[1]], importance: [[1]])
        switch self {
        case .model: return .choice(d.model.rawValue)
        case .featureCount: return .number(5)
        case .hiddenCount: return .number(2)
        case .featureProbability: return .number(1)
        case .sparsity: return .number(0)
        case .importanceDecay: return .number(0.9)
        case .distribution: return .choice(d.distribution.rawValue)
        case .steps: return .number(Double(d.steps))
        case .batchSize: return .number(Double(d.batchSize))
        case .learningRate: return .number(d.learningRate)
        case .schedule: return .choice(d.schedule.rawValue)
        case .warmupSteps: return .number(Double(d.warmupSteps))
        case .optimizer: return .choice(d.optimizer.rawValue)
        case .weightDecay: return .number(d.weightDecay)
        case .beta1: return .number(d.beta1)
        case .beta2: return .number(d.beta2)
        case .epsilon: return .number(d.epsilon)
        case .bestOf: return .number(Double(d.bestOf))
        case .evaluationBatches: return .number(Double(d.evaluationBatches))
        case .lossLogPoints: return .number(Double(d.lossLogPoints))
        case .initialisation: return .choice(d.initialisation.rawValue)
        case .initScale: return .number(d.initScale)
        case .l1Penalty: return .number(d.l1Penalty)
        }
    }

    static var allowedList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A range of values: `count` points from `from` to `to`, both included, evenly spaced on a log (geometric)
/// or linear scale.
public struct SweepRange: Codable, Equatable, Sendable {
    public var from: Double
    public var to: Double
    public var count: Int
}

/// One axis of the grid: a field and its values, listed or as a range (exactly one of the three is set).
public struct SweepAxis: Codable, Equatable, Sendable {
    public var field: SweepField
    public var values: [SweepValue]?
    public var log: SweepRange?
    public var linear: SweepRange?

    /// The axis's values in order: the list, or the range's points (rounded for integer fields).
    public var points: [SweepValue] {
        if let values { return values }
        let (range, isLog) = log.map { ($0, true) } ?? (linear!, false)
        return (0..<range.count).map { j -> SweepValue in
            let t = range.count == 1 ? 0 : Double(j) / Double(range.count - 1)
            // The ends are exact: no pow round-off at t = 0 or 1.
            var v = j == 0 ? range.from : j == range.count - 1 ? range.to
                : isLog ? range.from * pow(range.to / range.from, t) : range.from + (range.to - range.from) * t
            if case .integer = field.kind { v = v.rounded() }
            return .number(v)
        }
    }
}

/// A sweep: fixed settings (`base`), axes crossed into a grid, seeds, and how cells are packed into runs
/// (docs/sweeps.md#spec-format). Built only by `parse`, which checks every key; `sweep.json` is its encoding,
/// read back by `parse` too.
public struct SweepSpec: Encodable, Equatable, Sendable {
    /// A title for the report.
    public var name: String
    public var base: [SweepField: SweepValue]
    public var axes: [SweepAxis]
    public var seeds: [UInt64]
    /// The most cells one run trains as its instances.
    public var maxInstances: Int
    /// Whether cells that differ only in per-instance fields train together as instances of one run.
    public var pack: Bool

    enum CodingKeys: String, CodingKey, CaseIterable { case name, base, axes, seeds, maxInstances, pack }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(Dictionary(uniqueKeysWithValues: base.map { ($0.key.rawValue, $0.value) }), forKey: .base)
        try c.encode(axes, forKey: .axes)
        try c.encode(seeds, forKey: .seeds)
        try c.encode(maxInstances, forKey: .maxInstances)
        try c.encode(pack, forKey: .pack)
    }

    /// The most cells a sweep may have.
    public static let maxCells = 1_000_000

    /// Reads and checks a spec file; every problem is one `SweepError` (or `RunFolderError` for a file that is
    /// not JSON) line naming the key and what is allowed.
    public static func read(from url: URL) throws -> SweepSpec {
        try parse(RunFolder.decodeJSON(JSONValue.self, from: url), file: url.lastPathComponent)
    }

    /// Checks a decoded spec key by key (docs/sweeps.md#spec-format), then every cell's config
    /// (`TrainingConfig.validate()`), and returns it.
    public static func parse(_ json: JSONValue, file: String = "spec") throws -> SweepSpec {
        func fail(_ text: String) -> SweepError { SweepError("\(file): \(text)") }
        guard case .object(let top) = json else { throw fail("the spec must be a JSON object") }
        let allowed = CodingKeys.allCases.map(\.rawValue)
        if let key = top.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail("unknown key '\(key)'; allowed: \(allowed.joined(separator: ", "))")
        }
        var name = "sweep"
        if let value = top["name"] {
            guard case .string(let s) = value, !s.isEmpty else { throw fail("name: \(value.text) is invalid; it must be a non-empty string") }
            name = s
        }
        var base: [SweepField: SweepValue] = [:]
        if let value = top["base"] {
            guard case .object(let fields) = value else { throw fail("base must be an object of field: value") }
            for key in fields.keys.sorted() {
                let field = try parseField(key, at: "base.\(key)", fail: fail)
                base[field] = try parseValue(fields[key]!, field: field, at: "base.\(key)", fail: fail)
            }
        }
        var axes: [SweepAxis] = []
        if let value = top["axes"] {
            guard case .array(let list) = value else { throw fail("axes must be a list of {\"field\": …, \"values\" | \"log\" | \"linear\": …}") }
            for (a, item) in list.enumerated() {
                let axis = try parseAxis(item, at: "axes[\(a)]", fail: fail)
                if let earlier = axes.firstIndex(where: { $0.field == axis.field }) {
                    throw fail("axes[\(a)].field: \(axis.field.rawValue) is already swept by axes[\(earlier)]; give each field one axis")
                }
                if base[axis.field] != nil {
                    throw fail("axes[\(a)].field: \(axis.field.rawValue) is also set in base; give it in one place")
                }
                axes.append(axis)
            }
        }
        let given = Set(base.keys).union(axes.map(\.field))
        if given.contains(.featureProbability) && given.contains(.sparsity) {
            throw fail("featureProbability and sparsity are both given; give one (S = 1 - p)")
        }
        var seeds: [UInt64] = [0]
        if let value = top["seeds"] {
            guard case .array(let list) = value, !list.isEmpty else { throw fail("seeds must be a non-empty list of integers ≥ 0, e.g. [0, 1, 2]") }
            seeds = try list.enumerated().map { j, item in
                guard case .integer(let i) = item, i >= 0 else { throw fail("seeds[\(j)]: \(item.text) is invalid; seeds are integers ≥ 0") }
                return UInt64(i)
            }
            if let dup = seeds.indices.first(where: { seeds[..<$0].contains(seeds[$0]) }) {
                throw fail("seeds[\(dup)]: \(seeds[dup]) is listed twice; each seed once")
            }
        }
        var maxInstances = 64
        if let value = top["maxInstances"] {
            guard case .integer(let i) = value, (1...Int64(TrainingConfig.Limits.size)).contains(i) else {
                throw fail("maxInstances: \(value.text) is invalid; it must be an integer in 1...\(TrainingConfig.Limits.size)")
            }
            maxInstances = Int(i)
        }
        var pack = true
        if let value = top["pack"] {
            guard case .bool(let b) = value else { throw fail("pack: \(value.text) is invalid; it must be true or false") }
            pack = b
        }
        let cellCount = axes.reduce(Double(seeds.count)) { $0 * Double($1.points.count) }
        guard cellCount <= Double(maxCells) else {
            throw fail("the grid has \(Int(cellCount)) cells; at most \(maxCells) are allowed (split the sweep into several specs)")
        }
        let spec = SweepSpec(name: name, base: base, axes: axes, seeds: seeds, maxInstances: maxInstances, pack: pack)
        for cell in spec.cells() where cell.seed == seeds[0] {  // the seed never makes a config invalid
            do { try cell.config().validate() } catch let error as ConfigError {
                throw fail("cell \(cell.index) (\(cell.label(spec))): \(error.description)")
            }
        }
        for (j, pack) in spec.packs().enumerated() {
            do { try pack.config.validate() } catch let error as ConfigError {
                throw fail("pack \(j): \(error.description); lower maxInstances")
            }
        }
        return spec
    }

    init(name: String, base: [SweepField: SweepValue], axes: [SweepAxis], seeds: [UInt64], maxInstances: Int, pack: Bool) {
        self.name = name; self.base = base; self.axes = axes; self.seeds = seeds; self.maxInstances = maxInstances; self.pack = pack
    }

    static func parseField(_ key: String, at path: String, fail: (String) -> SweepError) throws -> SweepField {
        if let field = SweepField(rawValue: key) { return field }
        switch key {
        case "seed": throw fail("\(path): set seeds with the top-level \"seeds\" list")
        case "instanceCount": throw fail("\(path): cannot be set; a run's instances are the sweep's packed cells (see maxInstances)")
        case "importance": throw fail("\(path): give importanceDecay (I_i = R^i) instead")
        default: throw fail("\(path): '\(key)' is not a sweep field; allowed: \(SweepField.allowedList)")
        }
    }

    static func parseValue(_ value: JSONValue, field: SweepField, at path: String, fail: (String) -> SweepError) throws -> SweepValue {
        switch field.kind {
        case .choice(let allowed):
            guard case .string(let s) = value, allowed.contains(s) else {
                throw fail("\(path): \(value.text) is not one of \(allowed.joined(separator: ", "))")
            }
            return .choice(s)
        case .integer:
            guard let d = value.number, d == d.rounded(), Swift.abs(d) <= 1e15 else {
                throw fail("\(path): \(value.text) is invalid; \(field.rawValue) takes an integer")
            }
            return .number(d)
        case .real:
            guard let d = value.number, d.isFinite else {
                throw fail("\(path): \(value.text) is invalid; \(field.rawValue) takes a number")
            }
            return .number(d)
        }
    }

    static func parseAxis(_ item: JSONValue, at path: String, fail: (String) -> SweepError) throws -> SweepAxis {
        guard case .object(let keys) = item else { throw fail("\(path) must be an object {\"field\": …, \"values\" | \"log\" | \"linear\": …}") }
        let allowed = ["field", "values", "log", "linear"]
        if let key = keys.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail("\(path): unknown key '\(key)'; allowed: \(allowed.joined(separator: ", "))")
        }
        guard case .string(let name)? = keys["field"] else { throw fail("\(path).field is missing; it names the swept field (\(SweepField.allowedList))") }
        let field = try parseField(name, at: "\(path).field", fail: fail)
        let kinds = ["values", "log", "linear"].filter { keys[$0] != nil }
        guard kinds.count == 1 else {
            throw fail("\(path) (\(name)) must have exactly one of 'values', 'log', 'linear'; it has \(kinds.isEmpty ? "none" : kinds.joined(separator: " and "))")
        }
        var axis = SweepAxis(field: field, values: nil, log: nil, linear: nil)
        if case .array(let list)? = keys["values"] {
            guard !list.isEmpty else { throw fail("\(path).values is empty; list at least one value") }
            axis.values = try list.enumerated().map { try parseValue($1, field: field, at: "\(path).values[\($0)]", fail: fail) }
        } else if keys["values"] != nil {
            throw fail("\(path).values must be a list")
        } else {
            let kind = kinds[0]
            guard case .object(let r) = keys[kind]! else { throw fail("\(path).\(kind) must be an object {\"from\": a, \"to\": b, \"count\": c}") }
            if let key = r.keys.sorted().first(where: { !["from", "to", "count"].contains($0) }) {
                throw fail("\(path).\(kind): unknown key '\(key)'; allowed: from, to, count")
            }
            if case .choice = field.kind { throw fail("\(path).\(kind): \(name) is a choice; list its values with 'values'") }
            guard let from = r["from"]?.number, let to = r["to"]?.number, from.isFinite, to.isFinite else {
                throw fail("\(path).\(kind) needs numbers 'from' and 'to'")
            }
            guard case .integer(let count)? = r["count"], (1...Int64(maxCells)).contains(count) else {
                throw fail("\(path).\(kind).count must be an integer in 1...\(maxCells)")
            }
            if kind == "log" && !(from > 0 && to > 0) {
                throw fail("\(path).log: from \(from) and to \(to) must both be > 0 on a log scale")
            }
            let range = SweepRange(from: from, to: to, count: Int(count))
            if kind == "log" { axis.log = range } else { axis.linear = range }
            let points = axis.points
            if let dup = points.indices.first(where: { points[..<$0].contains(points[$0]) }) {
                throw fail("\(path).\(kind): point \(dup) rounds to \(points[dup]), which an earlier point already is; use fewer points or a wider range")
            }
        }
        return axis
    }

    /// Every cell of the grid in order: the first axis varies slowest, the seed fastest.
    public func cells() -> [SweepCell] {
        let lists = axes.map(\.points)
        let total = lists.reduce(seeds.count) { $0 * $1.count }
        return (0..<total).map { index in
            var rest = index
            let seed = seeds[rest % seeds.count]
            rest /= seeds.count
            var values = base
            for (a, list) in zip(axes.indices, lists).reversed() {
                values[axes[a].field] = list[rest % list.count]
                rest /= list.count
            }
            return SweepCell(index: index, values: values, seed: seed)
        }
    }

    /// The runs the cells are trained in (docs/sweeps.md#packing). With `pack`, cells that agree on every
    /// field but the per-instance ones (p, importance decay, seed) form a group, in order of first
    /// appearance, cut into runs of at most `maxInstances`; each run's instance j is its j-th cell and its
    /// seed is its first cell's seed. Without `pack`, each cell is its own one-instance run with its own seed.
    /// The packs depend on the spec alone, never on sharding.
    public func packs() -> [SweepPack] {
        let all = cells()
        var groups: [[SweepCell]] = []
        var groupOf: [[SweepField: SweepValue]: Int] = [:]
        for cell in all {
            guard pack else { groups.append([cell]); continue }
            let key = cell.values.filter { !$0.key.isPerInstance }
            if let g = groupOf[key] { groups[g].append(cell) } else { groupOf[key] = groups.count; groups.append([cell]) }
        }
        var packs: [SweepPack] = []
        for group in groups {
            for start in stride(from: 0, to: group.count, by: maxInstances) {
                let cells = Array(group[start..<min(group.count, start + maxInstances)])
                packs.append(SweepPack(index: packs.count, cells: cells))
            }
        }
        return packs
    }

    /// Whether the axis of `field` was given as a log range (its figures use a log x axis).
    func isLogAxis(_ field: SweepField) -> Bool {
        if let axis = axes.first(where: { $0.field == field }) {
            if axis.log != nil { return true }
            if let values = axis.values?.compactMap(\.number), values.count > 2, values.allSatisfy({ $0 > 0 }) {
                return (values.max()! / values.min()!) >= 100
            }
        }
        return false
    }

    /// Where `other` first differs from this spec, e.g. "base.steps: 1000 in sweep.json, 999 in this spec"
    /// (for a sweep folder started with another spec).
    func firstDifference(from other: SweepSpec) -> String? {
        func both(_ key: String, _ a: String, _ b: String) -> String { "\(key): \(a) in sweep.json, \(b) in this spec" }
        if name != other.name { return both("name", "'\(name)'", "'\(other.name)'") }
        if let field = SweepField.allCases.first(where: { base[$0] != other.base[$0] }) {
            return both("base.\(field.rawValue)", base[field].map(\.description) ?? "unset", other.base[field].map(\.description) ?? "unset")
        }
        if axes.count != other.axes.count { return both("axes", "\(axes.count) axes", "\(other.axes.count)") }
        if let a = axes.indices.first(where: { axes[$0] != other.axes[$0] }) { return "axes[\(a)] (\(axes[a].field.rawValue)) differs" }
        if seeds != other.seeds { return both("seeds", "\(seeds)", "\(other.seeds)") }
        if maxInstances != other.maxInstances { return both("maxInstances", "\(maxInstances)", "\(other.maxInstances)") }
        if pack != other.pack { return both("pack", "\(pack)", "\(other.pack)") }
        return nil
    }
}

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
        var c = cells[0].config()
        let rows = cells.map { $0.config() }
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
