import Foundation
import TMSModels

// The values a sweep spec is made of: JSON as written, a cell's values, the sweepable fields, ranges and axes
// (docs/sweeps.md#spec-format).

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
