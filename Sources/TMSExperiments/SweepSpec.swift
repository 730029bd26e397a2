import Foundation
import TMSModels

/// A bad sweep spec or sweep folder; `description` is one line naming the key (or file) and what is allowed
/// (docs/sweeps.md#spec-format).
public struct SweepError: Swift.Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
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
