import Foundation
import Testing
@testable import TMSExperiments

// PrivilegedBasis.swift: relu-hidden 10→5 across sparsity.

@Suite struct PrivilegedBasisTests {
    @Test func privilegedBasisQuickPassesItsChecks() throws {
        let checks = try quickChecks(PrivilegedBasisExperiment())
        #expect(checks.count == 2)
        for c in checks { #expect(c.passed, "\(c.claim): \(c.measured)") }
    }
}
