import Foundation
import Testing
@testable import TMSExperiments

// Intro.swift: 5 features in 2 dimensions across sparsity.

@Suite struct IntroTests {
    @Test func introIsAPentagonWhenSparse() throws {
        let checks = try quickChecks(IntroExperiment())
        let pentagon = try #require(check(checks, containing: "pentagon"))
        #expect(pentagon.passed, "\(pentagon.measured)")
    }
}
