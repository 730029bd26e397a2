import Foundation
import Testing
import TMSCore
import TMSAnalysis
@testable import TMSExperiments

// PrivilegedBasis.swift: relu-hidden 10→5 across sparsity.

@Suite struct PrivilegedBasisTests {
    @Test func privilegedBasisQuickPassesItsChecks() throws {
        let checks = try quickChecks(PrivilegedBasisExperiment())
        #expect(checks.count == 2)
        let mono = try #require(check(checks, containing: "monosemantic for 1 − S ≥ 0.5"))
        #expect(mono.passed, "\(mono.measured)")
        // The pair claim fails honestly at every setting tried (xavier and reference init, 10k to 40k steps: with
        // carriers read from W⁺ most sparse features sit on a pair, but some on 1 or 3 neurons and the least
        // important may be unrepresented; docs/experiments.md#privileged-basis); it must still be measured.
        let pairs = try #require(check(checks, containing: "carried by a pair of neurons"))
        #expect(pairs.measured.contains("neurons per feature"))
    }

    /// A feature with positive weights 0.7, 0.7 on neurons 0, 1 and inhibitory −1.2, −0.5 on neurons 2, 3 (the
    /// shape the sparse models learn) is carried by the pair {0, 1}; counting the squares of all its weights
    /// would need neurons 2, 0, 1 (1.44 + 0.49 + 0.49 = 2.42 ≥ 0.9 × 2.67).
    @Test func carriersAreReadFromTheExcitatoryWeights() {
        let W = Matrix(rows: [[0.7, 1], [0.7, 0], [-1.2, 0], [-0.5, 0], [0, 0]])
        #expect(carryingNeurons(of: W, feature: 0) == [2, 0, 1])
        let plus = PrivilegedBasisExperiment.excitatory(W)
        #expect(plus.values == [0.7, 1, 0.7, 0, 0, 0, 0, 0, 0, 0])
        #expect(carryingNeurons(of: plus, feature: 0) == [0, 1])
        #expect(carryingNeurons(of: plus, feature: 1) == [0])
    }
}
