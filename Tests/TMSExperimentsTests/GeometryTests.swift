import Foundation
import Testing
@testable import TMSExperiments

// Geometry.swift: D* and feature dimensionality across sparsity.

@Suite struct GeometryTests {
    @Test func geometryFeatureDimensionalitiesClusterAtFractions() throws {
        let checks = try quickChecks(GeometryExperiment())
        let dense = try #require(check(checks, containing: "D* = 1 when dense"))
        #expect(dense.passed, "\(dense.measured)")
        let clusters = try #require(check(checks, containing: "cluster at the fractions"))
        #expect(clusters.passed, "\(clusters.measured)")
    }
}
