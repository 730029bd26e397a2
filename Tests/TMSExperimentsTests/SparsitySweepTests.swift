import Foundation
import Testing
@testable import TMSExperiments
import TMSModels

// SparsitySweep.swift: 20 features in 5 dimensions, linear against ReLU output.

@Suite struct SparsitySweepTests {
    @Test func sparsitySweepLinearKeepsTopFeaturesAndReLUSuperposes() throws {
        let checks = try quickChecks(SparsitySweepExperiment())
        let linear = try #require(check(checks, containing: "Linear model: exactly the top"))
        #expect(linear.passed, "\(linear.measured)")
        let grows = try #require(check(checks, containing: "grows with sparsity"))
        #expect(grows.passed, "\(grows.measured)")
    }

    @Test func linearOptimalLossIsTheClosedFormOfTheTopFeatures() {
        // n = 20, m = 5, I_i = 0.7^i, p = 1: σ²(1)·Σ_{i≥5} I_i / n = 0.0023232 (docs/closed-forms.md).
        let importance = (0..<20).map { Float(pow(0.7, Double($0))) }
        #expect(Swift.abs(SparsitySweepExperiment.linearOptimalLoss(p: 1, importance: importance, hiddenCount: 5) - 0.0023232) < 1e-6)
    }
}
