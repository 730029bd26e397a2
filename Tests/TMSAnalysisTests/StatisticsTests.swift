import Testing
import TMSAnalysis

// Statistics.swift: Spearman's rank correlation.

@Test func spearmanOfMonotoneSequencesIsPlusOrMinusOne() {
    #expect(Swift.abs(spearmanRankCorrelation([1, 2, 3, 4], [10, 20, 25, 100]) - 1) < 1e-12)
    #expect(Swift.abs(spearmanRankCorrelation([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-12)
}

@Test func spearmanWithoutTiesIsOneMinusSixSumOfSquaredRankDifferences() {
    // Ranks (0, 1, 2, 3) and (0, 2, 1, 3): Σd² = 2, ρ = 1 − 6·2/(4·15) = 0.8.
    #expect(Swift.abs(spearmanRankCorrelation([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12)
    // Ranks (0, 1, 2) and (1, 2, 0): Σd² = 1 + 1 + 4 = 6, ρ = 1 − 36/24 = −0.5.
    #expect(Swift.abs(spearmanRankCorrelation([5, 6, 7], [2, 3, 1]) + 0.5) < 1e-12)
}

@Test func spearmanGivesTiesTheirAverageRank() {
    // Ranks (0, 1.5, 1.5, 3) against (0, 1, 2, 3): covariance 4.5, variances 4.5 and 5: ρ = 4.5/√22.5 = 3/√10.
    #expect(Swift.abs(spearmanRankCorrelation([1, 2, 2, 3], [1, 2, 3, 4]) - 3 / 10.0.squareRoot()) < 1e-12)
}

@Test func spearmanOfAConstantOrEmptySampleIsZero() {
    #expect(spearmanRankCorrelation([1, 1, 1], [1, 2, 3]) == 0)
    #expect(spearmanRankCorrelation([], []) == 0)
}
