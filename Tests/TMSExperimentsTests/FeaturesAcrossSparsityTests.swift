import Foundation
import Testing
@testable import TMSExperiments

// FeaturesAcrossSparsity.swift: 100 features in 20 dimensions over 20 sparsities.

@Suite struct FeaturesAcrossSparsityTests {
    @Test func featuresAcrossSparsityRepresentMoreWhenSparse() throws {
        let checks = try quickChecks(FeaturesAcrossSparsityExperiment())
        let grows = try #require(check(checks, containing: "number of represented features grows"))
        #expect(grows.passed, "\(grows.measured)")
    }
}
