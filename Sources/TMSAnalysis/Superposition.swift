import Foundation
import TMSCore

// Telling polysemanticity apart from superposition (docs/analysis.md#superposition-test). A neuron is
// polysemantic when it reads several features; the model is in superposition when it represents more
// features than it has dimensions, or represents them as interfering (non-orthogonal) directions
// (Elhage et al. 2022, §"Demonstrating Superposition" and §"Superposition in a Privileged Basis"). Without
// superposition, polysemantic neurons are only a change of basis away from monosemantic ones.

/// Which side of W (m×n, rows neurons, columns features) the test may rotate to look for clean neurons.
public enum ChangeOfBasis: String, Sendable, Codable, CaseIterable {
    /// The columns are the true features (e.g. independent sparse inputs) and the hidden basis is not
    /// privileged (no hidden nonlinearity): the hidden space is rotated, W → OW with O m×m orthogonal.
    case hidden
    /// The hidden basis is privileged (a hidden ReLU) and the input basis carries no meaning (dense inputs
    /// such as independent x, y): the inputs are rotated, W → WQ with Q n×n orthogonal, whose columns are
    /// then the model's features.
    case input
}

/// What `superpositionTest` decides (docs/analysis.md#superposition-test).
public enum SuperpositionVerdict: String, Sendable, Codable, CaseIterable {
    /// No live neuron is polysemantic and the features do not interfere.
    case monosemantic
    /// Some neurons are polysemantic, but no more features than dimensions are represented, they do not
    /// interfere, and an orthogonal change of basis makes every live neuron monosemantic.
    case polysemanticWithoutSuperposition = "polysemantic, no superposition"
    /// More represented features than dimensions, or represented features that interfere.
    case superposition
    /// No superposition by the feature test, yet the change of basis found leaves a polysemantic neuron.
    case unresolved
}

/// The measurements behind a ``SuperpositionVerdict``.
public struct SuperpositionTest: Sendable, Codable, Equatable {
    public var changeOfBasis: ChangeOfBasis
    /// Live neurons (Σ_i W_{k,i}² ≥ 10⁻⁶) and, among them, those with monosemanticity below the threshold,
    /// in the given basis.
    public var liveNeurons: Int
    public var polysemanticNeurons: Int
    /// The hidden dimension m (rows of W).
    public var dimension: Int
    /// Features with norm above `normThreshold`: columns of W for `hidden`, columns of WQ for `input`.
    public var representedFeatures: Int
    /// The largest interference Σ_{j≠i}(Ŵ_i·W_j)² of a represented feature (0 when none is represented).
    public var maxInterference: Double
    /// Polysemantic live neurons after the change of basis (OW for `hidden`, WQ for `input`).
    public var polysemanticAfterChange: Int
    /// The transformed matrix (OW or WQ), rows neurons, columns features.
    public var transformed: Matrix
    public var verdict: SuperpositionVerdict
}

/// Decides whether the polysemantic neurons of W (m×n, rows neurons, columns features) come from
/// superposition (docs/analysis.md#superposition-test).
///
/// 1. Neurons: a live neuron is polysemantic when its monosemanticity max_i W_{k,i}²/Σ_i W_{k,i}² is below
///    `monosemanticThreshold` (0.9; ``neuronSummary(of:threshold:)``).
/// 2. Features: for `.hidden` the columns of W; for `.input` the columns of WQ, where Q is the orthonormal
///    input basis ``alignedOrthonormalBasis(_:dimension:)`` finds along the neurons' input directions (the rows).
///    Represented: norm > `normThreshold` (0.5). Superposition: more represented features than m, or a
///    represented feature with interference Σ_{j≠i}(Ŵ_i·W_j)² > `interferenceThreshold` (0.1).
/// 3. Change of basis: for `.hidden`, O has as rows the orthonormal basis aligned with the represented feature
///    directions (in order of decreasing norm); for `.input`, WQ itself. Counted again: the polysemantic
///    live neurons of OW (or WQ).
///
/// Verdict: `superposition` if step 2 says so; else `monosemantic` if no neuron was polysemantic; else
/// `polysemanticWithoutSuperposition` if none is after the change of basis; else `unresolved`.
/// A regular pentagon (2×5) is `superposition`; the identity rotated by 30° is
/// `polysemanticWithoutSuperposition` (each neuron 0.75 monosemantic before, 1 after).
public func superpositionTest(of W: Matrix, changing side: ChangeOfBasis = .hidden, normThreshold: Double = 0.5,
                              interferenceThreshold: Double = 0.1, monosemanticThreshold: Double = 0.9) -> SuperpositionTest {
    let m = W.rowCount, n = W.columnCount
    func polysemantic(_ M: Matrix) -> (live: Int, poly: Int) {
        let s = neuronSummary(of: M, threshold: monosemanticThreshold)
        let live = s.dominantFeature.compactMap { $0 }.count
        return (live, live - s.monosemanticCount)
    }
    let before = polysemantic(W)

    // The features: columns of W, or of WQ with Q aligned to the neurons' input directions.
    let features: Matrix
    switch side {
    case .hidden: features = W
    case .input:
        let Q = alignedOrthonormalBasis(W.rows.map { $0.map(Double.init) }, dimension: n)
        features = multiply(W, columns: Q)
    }
    let norms = featureNorms(of: features)
    let represented = norms.indices.filter { norms[$0] > normThreshold }.sorted { norms[$0] > norms[$1] }
    let interferences = interference(of: features)
    let maxInterference = represented.map { interferences[$0] }.max() ?? 0
    let inSuperposition = represented.count > m || maxInterference > interferenceThreshold

    let transformed: Matrix
    switch side {
    case .input: transformed = features
    case .hidden:
        let directions = represented.map { i in (0..<m).map { Double(W[$0, i]) } }
        let O = alignedOrthonormalBasis(directions, dimension: m, refine: false)
        // Row a of OW is q_a·W_i for every feature i.
        var values = [Float](repeating: 0, count: m * n)
        for a in 0..<m {
            for i in 0..<n { values[a * n + i] = Float((0..<m).reduce(0.0) { $0 + O[a][$1] * Double(W[$1, i]) }) }
        }
        transformed = Matrix(rowCount: m, columnCount: n, values: values)
    }
    let after = polysemantic(transformed)

    let verdict: SuperpositionVerdict
    if inSuperposition { verdict = .superposition } else if before.poly == 0 { verdict = .monosemantic } else if after.poly == 0 {
        verdict = .polysemanticWithoutSuperposition
    } else { verdict = .unresolved }
    return SuperpositionTest(changeOfBasis: side, liveNeurons: before.live, polysemanticNeurons: before.poly, dimension: m,
                             representedFeatures: represented.count, maxInterference: maxInterference,
                             polysemanticAfterChange: after.poly, transformed: transformed, verdict: verdict)
}

/// An orthonormal basis of R^d (d vectors of length d) whose first vectors follow the lines of `vectors`
/// (docs/analysis.md#superposition-test).
///
/// Gram–Schmidt over the vectors in order of decreasing norm: a vector whose part orthogonal to the basis so
/// far holds more than half its squared norm (it is more than 45° from their span) adds that part as a new
/// basis vector. With `refine`, each of these basis vectors is then replaced, three times, by the sum of
/// the vectors nearest to its line (sign-aligned), and the set re-orthonormalised in the same order: a k-lines
/// fit, so the axes sit in the middle of their neurons rather than on the largest one. The basis is completed
/// by Gram–Schmidt on e_1, …, e_d. Vectors of squared norm below 10⁻¹² are ignored.
public func alignedOrthonormalBasis(_ vectors: [[Double]], dimension d: Int, refine: Bool = true) -> [[Double]] {
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    func residual(_ v: [Double], _ basis: [[Double]]) -> [Double] {
        var r = v
        for q in basis { let c = dot(r, q); for t in r.indices { r[t] -= c * q[t] } }
        return r
    }
    let live = vectors.filter { dot($0, $0) > 1e-12 }.enumerated()
        .sorted { (dot($0.element, $0.element), -$0.offset) > (dot($1.element, $1.element), -$1.offset) }.map(\.element)
    func orthonormalise(_ candidates: [[Double]]) -> [[Double]] {
        var basis: [[Double]] = []
        for v in candidates where basis.count < d {
            let r = residual(v, basis), r2 = dot(r, r)
            if r2 > 0.5 * dot(v, v) && r2 > 1e-12 { basis.append(r.map { $0 / r2.squareRoot() }) }
        }
        return basis
    }
    var basis = orthonormalise(live)
    if refine && !basis.isEmpty {
        for _ in 0..<3 {
            var sums = [[Double]](repeating: [Double](repeating: 0, count: d), count: basis.count)
            for v in live {
                let c = basis.map { dot(v, $0) }
                let a = c.indices.max { Swift.abs(c[$0]) < Swift.abs(c[$1]) }!
                let sign: Double = c[a] < 0 ? -1 : 1
                for t in 0..<d { sums[a][t] += sign * v[t] }
            }
            let refined = zip(sums, basis).map { dot($0, $0) > 1e-12 ? $0 : $1 }
            var next: [[Double]] = [], complete = true
            for (a, v) in refined.enumerated() {
                var r = residual(v, next), r2 = dot(r, r)
                if r2 <= 1e-12 { r = residual(basis[a], next); r2 = dot(r, r) }
                guard r2 > 1e-12 else { complete = false; break }
                next.append(r.map { $0 / r2.squareRoot() })
            }
            guard complete else { break }
            basis = next
        }
    }
    for e in 0..<d where basis.count < d {
        var unit = [Double](repeating: 0, count: d); unit[e] = 1
        let r = residual(unit, basis), r2 = dot(r, r)
        if r2 > 1e-6 { basis.append(r.map { $0 / r2.squareRoot() }) }
    }
    return basis
}

/// W Q for W m×n and the n basis vectors Q (each of length n, the columns of Q): entry (k, a) = W_k · q_a.
func multiply(_ W: Matrix, columns Q: [[Double]]) -> Matrix {
    let m = W.rowCount, n = W.columnCount
    var values = [Float](repeating: 0, count: m * Q.count)
    for k in 0..<m {
        for (a, q) in Q.enumerated() { values[k * Q.count + a] = Float((0..<n).reduce(0.0) { $0 + Double(W[k, $1]) * q[$1] }) }
    }
    return Matrix(rowCount: m, columnCount: Q.count, values: values)
}
