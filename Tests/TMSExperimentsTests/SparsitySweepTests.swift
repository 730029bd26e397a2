import Foundation
import Testing
@testable import TMSExperiments

// SparsitySweep.swift: 20 features in 5 dimensions, linear against ReLU output.

@Suite struct SparsitySweepTests {
    @Test func sparsitySweepLinearKeepsTopFeaturesAndReLUSuperposes() throws {
        let checks = try quickChecks(SparsitySweepExperiment())
        let linear = try #require(check(checks, containing: "Linear model: exactly the top"))
        #expect(linear.passed, "\(linear.measured)")
        let grows = try #require(check(checks, containing: "grows with sparsity"))
        #expect(grows.passed, "\(grows.measured)")
        let large = try #require(check(checks, containing: "Rescaled copy (n = 80"))
        #expect(large.passed, "\(large.measured)")
    }
}

