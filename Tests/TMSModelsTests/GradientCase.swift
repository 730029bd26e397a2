import Testing
import TMSCore
import TMSTestSupport
@testable import TMSModels

/// One awkward problem for the gradient checks: a model, its sizes, a batch size and seeded random
/// parameters and data (some inputs zero, some rows all zero, biases positive, zero and negative so that some
/// ReLUs are inactive).
struct GradientCase: Sendable, CustomTestStringConvertible {
    let model: ModelKind
    let n: Int
    let m: Int
    let batchSize: Int

    var testDescription: String { "\(model.rawValue) n=\(n) m=\(m) B=\(batchSize)" }

    /// Every model on n, m ∈ {1, 3, 17} and batch 1 and 7.
    static let awkward: [GradientCase] = ModelKind.allCases.flatMap { model in
        [1, 3, 17].flatMap { n in
            [1, 3, 17].flatMap { m in [1, 7].map { GradientCase(model: model, n: n, m: m, batchSize: $0) } }
        }
    }

    /// Larger shapes for the Float kernels (several 16-wide output blocks, several 8-wide hidden blocks).
    static let large: [GradientCase] = ModelKind.allCases.flatMap { model in
        [GradientCase(model: model, n: 64, m: 20, batchSize: 9), GradientCase(model: model, n: 40, m: 9, batchSize: 13)]
    }

    struct Problem {
        /// Float values (exactly representable, so the Double reference sees the same numbers).
        let W: [[Float]]      // [m][n]
        let W2: [[Float]]?    // [n][m]
        let bias: [Float]     // [n]
        let importance: [Float]
        let batch: [[Float]]  // [B][n]

        var wDouble: [[Double]] { W.map { $0.map(Double.init) } }
        var w2Double: [[Double]]? { W2.map { $0.map { $0.map(Double.init) } } }
        var biasDouble: [Double] { bias.map(Double.init) }
        var importanceDouble: [Double] { importance.map(Double.init) }
        var batchDouble: [[Double]] { batch.map { $0.map(Double.init) } }
    }

    /// `kinkFree` replaces the zero biases by 0.02: with a zero bias and a dead hidden layer (h = 0) an output
    /// sits exactly at the ReLU kink y = 0, where the loss has no derivative and a central difference is
    /// meaningless (the code follows ReLU′(0) = 0 there, which the Float-vs-reference tests cover).
    func problem(seed: UInt64 = 7, kinkFree: Bool = false) -> Problem {
        var rng = RandomStream(seed: seed ^ UInt64(n * 1_000_003 + m * 1009 + batchSize))
        let std = 0.8
        let W = (0..<m).map { _ in (0..<n).map { _ in Float(rng.nextNormal() * std) } }
        let W2: [[Float]]? = model == .abs ? (0..<n).map { _ in (0..<m).map { _ in Float(rng.nextNormal() * std) } } : nil
        let biasPattern: [Float] = [0.1, kinkFree ? 0.02 : 0, -0.3, 0.25, -0.05]
        let bias = (0..<n).map { biasPattern[$0 % biasPattern.count] }
        let importance = (0..<n).map { _ in Float(0.5 + rng.nextUnitDouble()) }
        let signed = model == .abs
        var batch: [[Float]] = (0..<batchSize).map { _ in
            (0..<n).map { _ in
                guard rng.nextUnitDouble() < 0.6 else { return 0 }
                let u = rng.nextUnitFloat()
                return signed ? 2 * u - 1 : u
            }
        }
        // Every other row has at least one present feature.
        for b in batch.indices where batch[b].allSatisfy({ $0 == 0 }) { batch[b][b % n] = signed ? -0.5 : 0.5 }
        // An all-zero row (when there is more than one) exercises h = 0 and y = b.
        if batchSize > 1 { batch[batchSize / 2] = [Float](repeating: 0, count: n) }
        return Problem(W: W, W2: W2, bias: bias, importance: importance, batch: batch)
    }
}

/// Euclidean norm of all entries.
func norm(_ a: [[Double]]) -> Double { a.reduce(0) { $0 + $1.reduce(0) { $0 + $1 * $1 } }.squareRoot() }
func norm(_ a: [Double]) -> Double { a.reduce(0) { $0 + $1 * $1 }.squareRoot() }
func difference(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] { zip(a, b).map { zip($0, $1).map { $0 - $1 } } }
func difference(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 - $1 } }

/// Reshapes a flat row-major array into `rows` rows.
func unflatten(_ values: [Float], rows: Int) -> [[Double]] {
    let columns = rows == 0 ? 0 : values.count / rows
    return (0..<rows).map { r in values[(r * columns)..<((r + 1) * columns)].map(Double.init) }
}

/// Builds an `InstanceState` holding `problem`'s parameters and batch.
func makeState(_ c: GradientCase, _ p: GradientCase.Problem) -> InstanceState {
    let sampler = FeatureSampler(featureCount: c.n, probability: [Float](repeating: 1, count: c.n),
                                 distribution: .independent, signed: c.model == .abs)
    let state = InstanceState(model: c.model, featureCount: c.n, hiddenCount: c.m, importance: p.importance,
                              sampler: sampler, dataStream: RandomStream(seed: 1),
                              W: p.W.flatMap { $0 }, W2: p.W2?.flatMap { $0 }, bias: p.bias, batchSize: c.batchSize)
    state.batch = SparseBatch(dense: p.batch)
    return state
}
