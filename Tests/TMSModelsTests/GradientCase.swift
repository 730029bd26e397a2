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

    typealias Problem = ToyProblem

    /// Seeded random parameters and a batch of density 0.6 (`ToyProblem`, weights × 0.8, every row but the
    /// middle one non-empty, the middle one empty). `kinkFree` replaces the zero biases by 0.02 (see
    /// `ToyProblem`); the Float-vs-reference tests cover the kink itself, where the code follows ReLU′(0) = 0.
    func problem(seed: UInt64 = 7, kinkFree: Bool = false) -> ToyProblem {
        ToyProblem(model: model, n: n, m: m, batchSize: batchSize, density: 0.6, weightScale: 0.8,
                   seed: seed ^ UInt64(n * 1_000_003 + m * 1009 + batchSize), kinkFree: kinkFree, coverRows: true)
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

/// Builds an `InstanceState` holding `p`'s parameters and (as CSR) its batch; `gramProducts` forces the Gram
/// path on or off (nil: the plan's choice).
func makeState(_ p: ToyProblem, gramProducts: Bool? = nil) -> InstanceState {
    let sampler = FeatureSampler(featureCount: p.n, probability: [Float](repeating: 1, count: p.n),
                                 distribution: .independent, signed: p.model == .abs)
    let state = InstanceState(model: p.model, featureCount: p.n, hiddenCount: p.m, importance: p.importance,
                              sampler: sampler, dataStream: RandomStream(seed: 1),
                              W: p.flatW, W2: p.flatW2, bias: p.bias, batchSize: p.batch.count, gramProducts: gramProducts)
    state.batch = SparseBatch(dense: p.batch)
    return state
}

/// Builds an `InstanceState` holding `problem`'s parameters and batch.
func makeState(_ c: GradientCase, _ p: ToyProblem) -> InstanceState { makeState(p) }
