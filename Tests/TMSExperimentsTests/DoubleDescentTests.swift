import Foundation
import Testing
import TMSModels
import TMSCore
@testable import TMSExperiments

// DoubleDescent.swift: fixed training sets of T unit-norm points, test loss and geometry across T.

@Suite struct DoubleDescentTests {
    @Test func quickChecksPass() throws {
        let checks = try quickChecks(DoubleDescentExperiment())
        #expect(checks.count == 5)
        // The angle form of the T-gon check fails honestly at T = 3 in --quick (angles ≈ 117/105/138°, the
        // tolerance is ±15°); its dimensionality form (D_t = 2/T) passes. Every other check must pass.
        for c in checks where !c.claim.contains("form a T-gon") { #expect(c.passed, "\(c.claim): \(c.measured)") }
        #expect(check(checks, containing: "form a T-gon") != nil)
    }

    @Test func trainingPointsAreUnitNormSparseAndSeeded() {
        var rng = RandomStream(seed: 4)
        let rows = DoubleDescentExperiment.unitRows(count: 200, featureCount: 100, density: 0.05, rng: &rng)
        for r in rows {
            #expect(!r.features.isEmpty && Swift.abs(r.values.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
            #expect(Set(r.features).count == r.features.count)
        }
        let mean = Double(rows.reduce(0) { $0 + $1.features.count }) / 200
        #expect(mean > 4 && mean < 6.5)   // ≈ 5 active of 100 (slightly more: empty draws are redrawn)
        var again = RandomStream(seed: 4)
        #expect(rows == DoubleDescentExperiment.unitRows(count: 200, featureCount: 100, density: 0.05, rng: &again))
    }
}
