import Foundation
import Testing
@testable import TMSExperiments

// Correlated.swift: correlated and anticorrelated pairs, two correlated sets of 10, the collapse study.

@Suite struct CorrelatedTests {
    @Test func correlatedQuickPassesItsChecks() throws {
        let checks = try quickChecks(CorrelatedExperiment())
        #expect(checks.count == 5)
        for c in checks { #expect(c.passed, "\(c.claim): \(c.measured)") }
    }
}
