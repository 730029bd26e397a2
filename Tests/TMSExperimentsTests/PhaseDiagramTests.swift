import Foundation
import Testing
@testable import TMSExperiments

// PhaseDiagram.swift: learned phase diagrams against the closed-form theory.

@Suite struct PhaseDiagramTests {
    @Test func phaseDiagramAgreesWithTheory() throws {
        let checks = try quickChecks(PhaseDiagramExperiment())
        let agreement = try #require(check(checks, containing: "n = 2, m = 1: learned phases agree"))
        #expect(agreement.passed, "\(agreement.measured)")
    }
}
