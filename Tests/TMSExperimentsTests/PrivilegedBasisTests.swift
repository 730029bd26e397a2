import Foundation
import Testing
@testable import TMSExperiments

// PrivilegedBasis.swift: relu-hidden 10→5 across sparsity.

@Suite struct PrivilegedBasisTests {
    @Test func privilegedBasisQuickPassesItsChecks() throws {
        let checks = try quickChecks(PrivilegedBasisExperiment())
        #expect(checks.count == 2)
        let mono = try #require(check(checks, containing: "monosemantic for 1 − S ≥ 0.5"))
        #expect(mono.passed, "\(mono.measured)")
        // The pair claim fails honestly at every setting tried (xavier and reference init, 10k and 30k steps:
        // sparse features are carried by 2–5 neurons with norms up to ~4); it must still be measured and reported.
        let pairs = try #require(check(checks, containing: "carried by a pair of neurons"))
        #expect(pairs.measured.contains("neurons per feature"))
    }
}
