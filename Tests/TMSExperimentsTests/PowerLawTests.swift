import Foundation
import Testing
@testable import TMSExperiments

// PowerLaw.swift: power-law feature probabilities at a fixed mean, and the quick run's checks.

@Suite struct PowerLawTests {
    /// α = 0 is uniform; otherwise the mean is kept and the shape is c·i^(−α) below the cap at 1.
    @Test(arguments: [0.0, 1.0, 2.0])
    func powerLawProbabilitiesKeepTheMeanAndTheShape(alpha: Double) {
        let p = PowerLawExperiment.powerLawProbabilities(count: 400, exponent: alpha, meanProbability: 0.05)
        #expect(Swift.abs(p.reduce(0, +) / 400 - 0.05) < 1e-9)
        #expect(p.allSatisfy { $0 > 0 && $0 <= 1 })
        // Below the cap, p_i·i^α is one constant c: compare ranks 100 and 400.
        #expect(Swift.abs(p[99] * pow(100, alpha) - p[399] * pow(400, alpha)) < 1e-9 * p[99] * pow(100, alpha))
    }

    /// α = 2, n = 400, mean 0.05 (20 features active on average), by hand: with ranks 1…10 capped,
    /// 10 + c·Σ_{i=11}^{400} 1/i² = 20, and Σ_{i=11}^{400} 1/i² = ψ′(11) − ψ′(401) ≈ 0.095166 − 0.002497 = 0.092669,
    /// so c ≈ 107.91: c/10² > 1 ≥ c/11², consistent; p_11 = c/121 ≈ 0.8918.
    @Test func steepExponentCapsTheTenMostFrequentFeaturesAtOne() {
        let p = PowerLawExperiment.powerLawProbabilities(count: 400, exponent: 2, meanProbability: 0.05)
        #expect(p.prefix(10).allSatisfy { $0 == 1 })
        #expect(Swift.abs(p[10] - 107.91 / 121) < 1e-3)
    }

    @Test func quickRunPassesItsChecksAndDropsRareFeaturesAtLargeExponent() throws {
        let checks = try quickChecks(PowerLawExperiment())
        for claim in ["most frequent ones", "rare features are dropped", "D* (dimensions per feature) rises"] {
            let found = try #require(check(checks, containing: claim))
            #expect(found.passed, "\(claim): \(found.measured)")
        }
        #expect(checks.count == 5)
        for failed in checks where !failed.passed { Issue.record("\(failed.claim): \(failed.measured)") }
    }
}
