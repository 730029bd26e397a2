import Foundation
import Testing
import TMSModels
@testable import TMSExperiments

// Computation.swift: the abs model, 3→6 pairs, 100→40 across sparsity, the asymmetric motif.

@Suite struct ComputationTests {
    @Test func computationQuickPassesItsChecks() throws {
        let checks = try quickChecks(ComputationExperiment())
        #expect(checks.count == 5)
        for c in checks { #expect(c.passed, "\(c.claim): \(c.measured)") }
    }

    @Test func computationUsesTheReferenceInitialisation() {
        for (_, c) in ComputationExperiment().partConfigs(ExperimentOptions(quick: true)) {
            #expect(c.initialisation == .reference && c.model == .abs)
        }
    }
}
