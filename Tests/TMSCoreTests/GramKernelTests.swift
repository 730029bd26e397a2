import Testing
@testable import TMSCore

// The Gram path's row kernels (`Kernels.gramRows`, `gramPairs`): δ and A against their definitions, one
// scalar fused multiply-add at a time in the documented order, and the AVX-512 copies against the AVX2 ones,
// bit for bit.

/// A random problem: `n` features in rows of stride N (a 64-column block and a 16-column tail when N = 80),
/// R CSR rows of 0–5 non-zeros in increasing columns (empty rows included), G, b and importance (zero padded).
private struct GramProblem {
    let n: Int, N: Int, R = 37
    let rowStart: [Int32], columns: [Int32], values: [Float]
    let G, bias, importance: [Float]

    init(n: Int, N: Int, seed: UInt64) {
        self.n = n; self.N = N
        var rng = RandomStream(seed: seed)
        func uniform() -> Float { 2 * rng.nextUnitFloat() - 1 }
        var starts: [Int32] = [0], cols: [Int32] = [], vals: [Float] = []
        for _ in 0..<R {
            let k = Int(rng.next() % 6)
            let picked = Set((0..<k).map { _ in Int(rng.next() % UInt64(n)) }).sorted()
            for i in picked { cols.append(Int32(i)); vals.append(uniform()) }
            starts.append(Int32(cols.count))
        }
        rowStart = starts; columns = cols; values = vals
        var g = [Float](repeating: 0, count: n * N), b = [Float](repeating: 0, count: N), imp = b
        for i in 0..<n {
            for j in 0..<n { g[i * N + j] = uniform() }
            b[i] = 0.3 * uniform(); imp[i] = rng.nextUnitFloat()
        }
        G = g; bias = b; importance = imp
    }

    /// `Kernels.gramRows` on the given copy: (loss, non-zero count, δ, ∂b).
    func rows(relu: Bool, wide: Bool) -> (Double, Int, [Float], [Float]) {
        var deltas = [Float](repeating: .nan, count: R * N), gradBias = [Float](repeating: 0, count: N)
        var target = [Float](repeating: 0, count: N)
        let (loss, nonZero) = Kernels.gramRows(relu: relu, rows: R, rowStart: rowStart, columns: columns, values: values,
                                               gram: G, stride: N, bias: bias, importance: importance, scale2: 0.01,
                                               target: &target, deltas: &deltas, gradBias: &gradBias, wide: wide)
        #expect(target.allSatisfy { $0 == 0 }, "the target row is zero again on return")
        return (loss, nonZero, deltas, gradBias)
    }
}

@Test(arguments: [(70, 80), (16, 16), (200, 208)])
func gramRowsGiveTheDefinitionsDeltasAndBiasGradient(n: Int, N: Int) {
    let p = GramProblem(n: n, N: N, seed: UInt64(n))
    for relu in [true, false] {
        let (loss, nonZero, deltas, gradBias) = p.rows(relu: relu, wide: false)
        var expectedLoss = 0.0, expectedNonZero = 0
        var expectedBias = [Float](repeating: 0, count: N)
        for r in 0..<p.R {
            var x = [Float](repeating: 0, count: N)
            for e in Int(p.rowStart[r])..<Int(p.rowStart[r + 1]) { x[Int(p.columns[e])] = p.values[e] }
            for j in 0..<N {
                var y = p.bias[j]
                for e in Int(p.rowStart[r])..<Int(p.rowStart[r + 1]) {
                    y = y.addingProduct(p.values[e], p.G[Int(p.columns[e]) * N + j])
                }
                let out = relu && y < 0 ? 0 : y
                let diff = out - x[j]
                expectedLoss += Double(p.importance[j] * diff * diff)
                let d: Float = relu && y <= 0 ? 0 : (0.01 * p.importance[j]) * diff
                #expect(deltas[r * N + j] == d, "relu \(relu) row \(r) output \(j)")
                expectedBias[j] += d
                if d != 0 { expectedNonZero += 1 }
            }
        }
        #expect(gradBias == expectedBias)
        #expect(nonZero == expectedNonZero)
        #expect(Swift.abs(loss - expectedLoss) <= 1e-5 * expectedLoss, "loss \(loss) vs \(expectedLoss)")
    }
}

@Test(arguments: [(70, 80), (200, 208)])
func gramPairsSumEachFeaturesRowsInOrder(n: Int, N: Int) {
    let p = GramProblem(n: n, N: N, seed: UInt64(n) + 1)
    let (start, entryRow, entryValue) = groupedByFeature(p)
    var rng = RandomStream(seed: 3)
    let deltas = (0..<(p.R * N)).map { _ in 2 * rng.nextUnitFloat() - 1 }
    let A0 = (0..<(n * N)).map { _ in rng.nextUnitFloat() }
    var A = A0
    Kernels.gramPairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue, deltas: deltas,
                      into: &A, wide: false)
    var expected = A0
    for r in 0..<p.R {
        for e in Int(p.rowStart[r])..<Int(p.rowStart[r + 1]) {
            let i = Int(p.columns[e])
            for j in 0..<N { expected[i * N + j] = expected[i * N + j].addingProduct(p.values[e], deltas[r * N + j]) }
        }
    }
    #expect(A == expected)
}

/// The non-zeros of `p` grouped by feature, rows in order: (start [n + 1], rows, values).
private func groupedByFeature(_ p: GramProblem) -> ([Int32], [Int32], [Float]) {
    var start = [Int32](repeating: 0, count: p.n + 1), rows: [Int32] = [], values: [Float] = []
    for i in 0..<p.n {
        for r in 0..<p.R {
            for e in Int(p.rowStart[r])..<Int(p.rowStart[r + 1]) where Int(p.columns[e]) == i {
                rows.append(Int32(r)); values.append(p.values[e])
            }
        }
        start[i + 1] = Int32(rows.count)
    }
    return (start, rows, values)
}

@Test(.enabled(if: Kernels.usesWideVectors, "the processor has no AVX-512"), arguments: [(70, 80), (200, 208)])
func wideGramKernelsGiveTheBitsOfTheAVX2Ones(n: Int, N: Int) {
    let p = GramProblem(n: n, N: N, seed: UInt64(n) + 2)
    for relu in [true, false] {
        let narrow = p.rows(relu: relu, wide: false), wide = p.rows(relu: relu, wide: true)
        #expect(narrow.0 == wide.0 && narrow.1 == wide.1)
        #expect(narrow.2 == wide.2 && narrow.3 == wide.3)
    }
    let (start, entryRow, entryValue) = groupedByFeature(p)
    let deltas = p.rows(relu: true, wide: false).2
    var narrowA = p.G, wideA = p.G
    Kernels.gramPairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue, deltas: deltas,
                      into: &narrowA, wide: false)
    Kernels.gramPairs(features: n, stride: N, start: start, entryRow: entryRow, entryValue: entryValue, deltas: deltas,
                      into: &wideA, wide: true)
    #expect(narrowA == wideA && narrowA != p.G)
}
