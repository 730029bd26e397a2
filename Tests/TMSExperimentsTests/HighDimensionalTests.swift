import Foundation
import Testing
@testable import TMSExperiments

// HighDimensional.swift: n ≫ m ≫ 1 at high sparsity, without and with an L1 penalty.

@Suite struct HighDimensionalTests {
    @Test func highDimensionalQuickChecksPass() throws {
        let checks = try quickChecks(HighDimensionalExperiment())
        #expect(checks.count == 5)
        for c in checks { #expect(c.passed, "\(c.claim): \(c.measured)") }
    }

    @Test func partsDifferOnlyInTheL1Penalty() {
        let parts = HighDimensionalExperiment().partConfigs(ExperimentOptions(quick: true))
        #expect(parts.map(\.name) == ["plain", "l1"])
        var l1 = parts[1].config
        #expect(l1.l1Penalty > 0 && parts[0].config.l1Penalty == 0)
        l1.l1Penalty = 0
        #expect(l1 == parts[0].config)
        #expect(parts[0].config.featureCount == 2_000 && parts[0].config.hiddenCount == 100)
    }
}
