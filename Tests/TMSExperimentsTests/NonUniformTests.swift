import Foundation
import Testing
@testable import TMSExperiments

// NonUniform.swift: the pentagon deforming and snapping to two digons.

@Suite struct NonUniformTests {
    @Test func nonUniformLossCurvesCross() throws {
        let checks = try quickChecks(NonUniformExperiment())
        let cross = try #require(check(checks, containing: "losses of the pentagon and digon solutions cross"))
        #expect(cross.passed, "\(cross.measured)")
    }
}
