import Foundation
import Testing
@testable import TMSExperiments

// LearningDynamics.swift: D_i over training, the 6→3 correlated model, the 5→2 animation.

@Suite struct LearningDynamicsTests {
    @Test func quickChecksPass() throws {
        let checks = try quickChecks(LearningDynamicsExperiment())
        #expect(checks.count == 5)
        for c in checks { #expect(c.passed, "\(c.claim): \(c.measured)") }
    }

    @Test func jumpStatisticsOnAHandMadeTrajectory() {
        // One feature stepping 1 → 1/2 in a single interval of 9, with the loss dropping 0.3 there and 0.01 elsewhere.
        let D: [[Double]] = (0..<10).map { [$0 < 5 ? 1 : 0.5, 1] }
        let loss = (0..<10).map { 1 - 0.01 * Double($0) - ($0 >= 5 ? 0.3 : 0) }
        let s = LearningDynamicsExperiment.jumpStatistics(D, loss: loss)
        #expect(s.concentration.count == 1 && s.concentration[0].feature == 0)
        #expect(Swift.abs(s.concentration[0].fraction - 1.0 / 9) < 1e-12)
        #expect(s.jumpIntervals == 1 && Swift.abs(s.jumpDrop - 0.31) < 1e-9 && Swift.abs(s.otherDrop - 0.01) < 1e-9)
    }
}
