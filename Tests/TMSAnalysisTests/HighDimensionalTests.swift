import Foundation
import Testing
import TMSCore
@testable import TMSAnalysis

// HighDimensional.swift (sampled cosines, random-vector reference, participation ratios, quantiles) and the
// Gram-free large-n path of FeatureMetrics.swift (docs/analysis.md#large-n).

@Suite struct HighDimensionalTests {
    @Test func participationRatioCountsTheCoordinatesADirectionUses() {
        // Columns: one coordinate (1), four equal coordinates (4), two equal of four (2), zero (0).
        let W = Matrix(rows: [[1, 0.5, 0.3, 0], [0, 0.5, 0.3, 0], [0, 0.5, 0, 0], [0, 0.5, 0, 0]])
        let pr = participationRatios(of: W)
        #expect(pr.count == 4)
        for (value, expected) in zip(pr, [1.0, 4, 2, 0]) { #expect(Swift.abs(value - expected) < 1e-12) }
    }

    @Test func quantileInterpolatesBetweenOrderStatistics() {
        #expect(quantile([4, 1, 3, 2], 0.5) == 2.5)
        #expect(quantile([4, 1, 3, 2], 0) == 1 && quantile([4, 1, 3, 2], 1) == 4)
        #expect(Swift.abs(quantile([0, 10], 0.99) - 9.9) < 1e-12)
        #expect(quantile([], 0.5).isNaN)
    }

    @Test func sampledCosinesTakeOnlyThePairsValues() {
        // Features e₁, e₂ and (e₁ + e₂)·3/√2: |cos| is 0 for the pair (0, 1) and 1/√2 for the other two, so
        // about 2/3 of the samples are 1/√2 (binomial: 3000 pairs, σ ≈ 26, bounds ± 5σ).
        let s = 3 / 2.0.squareRoot()
        let W = Matrix(rows: [[1, 0, Float(s), 7], [0, 1, Float(s), 7]])
        var rng = RandomStream(seed: 3)
        let cosines = sampledAbsoluteCosines(of: W, among: [0, 1, 2], pairs: 3000, rng: &rng)
        #expect(cosines.count == 3000)
        #expect(cosines.allSatisfy { Swift.abs($0) < 1e-12 || Swift.abs($0 - 0.5.squareRoot()) < 1e-7 })
        let diagonal = cosines.filter { $0 > 0.5 }.count
        #expect(abs(diagonal - 2000) < 130, "\(diagonal) of 3000")
        var again = RandomStream(seed: 3)
        #expect(sampledAbsoluteCosines(of: W, among: [0, 1, 2], pairs: 3000, rng: &again) == cosines)
        #expect(sampledAbsoluteCosines(of: W, among: [3], pairs: 10, rng: &again).isEmpty)
    }

    @Test func randomUnitVectorCosinesHaveTheExpectedMean() {
        // E|cos| for random unit vectors in R^m is Γ(m/2)/(√π·Γ((m+1)/2)) = 0.079 6 for m = 100; the sd of
        // |cos| is about 0.06, so the mean of 4000 pairs is within 0.004 (4σ).
        let m = 100
        var rng = RandomStream(seed: 5)
        let cosines = randomUnitVectorAbsoluteCosines(dimension: m, pairs: 4000, rng: &rng)
        let expected = exp(lgamma(Double(m) / 2) - lgamma(Double(m + 1) / 2)) / Double.pi.squareRoot()
        let mean = cosines.reduce(0, +) / Double(cosines.count)
        #expect(Swift.abs(mean - expected) < 0.004, "mean \(mean) vs \(expected)")
        #expect(cosines.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test(arguments: [(3, 17), (8, 40), (1, 5)])
    func gramFreeSumsMatchTheGramMatrix(m: Int, n: Int) {
        var rng = RandomStream(seed: UInt64(m * 100 + n))
        let W = Matrix(rows: (0..<m).map { _ in (0..<n).map { _ in Float(rng.nextNormal()) } })
        let g = gramMatrix(of: W)
        let (norm2, sums) = squaredOverlapSums(of: W)
        for i in 0..<n {
            let direct = g[i].reduce(0) { $0 + $1 * $1 }
            #expect(Swift.abs(sums[i] - direct) <= 1e-10 * direct)
            #expect(Swift.abs(norm2[i] - g[i][i]) <= 1e-12 * g[i][i])
        }
    }

    @Test func interferenceAboveTheGramLimitAgreesWithTheDefinition() {
        // n = 1,100 > 1,024 features in 6 dimensions, one zero feature: the Gram-free path against
        // Σ_{j≠i}(Ŵ_i·W_j)² and ‖W_i‖⁴/Σ_j(W_i·W_j)² computed directly for a few features.
        let m = 6, n = FeatureMetricsLimits.gramFreeAbove + 76
        var rng = RandomStream(seed: 9)
        var rows = (0..<m).map { _ in (0..<n).map { _ in Float(rng.nextNormal()) } }
        for k in 0..<m { rows[k][3] = 0 }
        let W = Matrix(rows: rows)
        let interference = TMSAnalysis.interference(of: W), dimensionality = featureDimensionality(of: W)
        #expect(interference.count == n && dimensionality.count == n)
        #expect(interference[3] == 0 && dimensionality[3] == 0)
        for i in [0, 1, 500, n - 1] {
            let dots = (0..<n).map { j in (0..<m).reduce(0.0) { $0 + Double(W[$1, i]) * Double(W[$1, j]) } }
            let norm2 = dots[i]
            let expected = dots.indices.reduce(0.0) { $1 == i ? $0 : $0 + dots[$1] * dots[$1] / norm2 }
            let expectedD = norm2 * norm2 / dots.reduce(0) { $0 + $1 * $1 }
            #expect(Swift.abs(interference[i] - expected) <= 1e-9 * expected, "\(interference[i]) vs \(expected)")
            #expect(Swift.abs(dimensionality[i] - expectedD) <= 1e-9 * expectedD)
        }
    }
}
