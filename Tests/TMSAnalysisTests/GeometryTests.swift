import Foundation
import Testing
import TMSCore
import TMSAnalysis

// Geometry.swift: the feature geometry graph and the reference fractions.

@Test func featureGeometryGroupsAPentagonAndADigon() {
    // Pentagon in dimensions 0–1, digon in dimension 2, one unlearned feature; features interleaved.
    let pentagon = regularPolygon(5, phase: 0.4)
    let base = withZeroFeatures(tegum([pentagon, Matrix(rows: [[1, -1]])]), 1)
    // Order: 5, 0, 1, 7 (unlearned), 2, 6, 3, 4.
    let order = [5, 0, 1, 7, 2, 6, 3, 4]
    let w = Matrix(rows: base.rows.map { r in order.map { r[$0] } })
    let g = featureGeometry(of: w)
    #expect(g.groups.count == 2)
    let byFirst = g.groups.sorted { $0.features.count > $1.features.count }
    #expect(byFirst[0].features == [1, 2, 4, 6, 7])
    #expect(Swift.abs(byFirst[0].meanDimensionality - 0.4) < 1e-5)
    #expect(byFirst[1].features == [0, 5])
    #expect(Swift.abs(byFirst[1].meanDimensionality - 0.5) < 1e-5)
    #expect(g.groupOfFeature[3] == nil)
    #expect(Set(g.groupOfFeature.compactMap { $0 }).count == 2)
    // Edge weights |Ŵ_i·W_j|: the digon's pair is 1; pentagon neighbours cos 72°, next cos 144° in absolute value.
    #expect(Swift.abs(g.edgeWeights[0][5] - 1) < 1e-6)
    #expect(g.edgeWeights[0][1] < 1e-6)
    #expect(g.edgeWeights[3].allSatisfy { $0 == 0 })
    #expect((0..<8).allSatisfy { g.edgeWeights[$0][$0] == 0 })
    let pentagonWeights = [2, 4, 6, 7].map { g.edgeWeights[1][$0] }.sorted()
    let c72 = cos(72 * Double.pi / 180), c144 = Swift.abs(cos(144 * Double.pi / 180))
    #expect(approximatelyEqual(pentagonWeights, [c72, c72, c144, c144]))
}

@Test func orthogonalFeaturesFormSingletonGroups() {
    let g = featureGeometry(of: identity(3))
    #expect(g.groups.map(\.features) == [[0], [1], [2]])
    #expect(g.groups.allSatisfy { $0.meanDimensionality == 1 })
}

@Test func tetrahedronIsOneGroupWithDimensionalityThreeQuarters() {
    let g = featureGeometry(of: tetrahedron())
    #expect(g.groups.count == 1)
    #expect(g.groups[0].features == [0, 1, 2, 3])
    #expect(Swift.abs(g.groups[0].meanDimensionality - 0.75) < 1e-5)
}

@Test func referenceFractionsAreThePapersShapes() {
    #expect(referenceDimensionalityFractions == [1, 0.75, 2.0 / 3, 0.5, 0.4, 0.375])
}

@Test func fractionNearReferenceCountsLearnedValuesNearAFraction() {
    // Learned: 1.0, 0.74 (near 3/4), 0.52 (near 1/2), 0.3 (not near any); zeros excluded.
    #expect(fractionNearReference([1.0, 0.74, 0.52, 0.3, 0, 0]) == 0.75)
    #expect(fractionNearReference([0.4, 0.375, 2.0 / 3]) == 1)
    #expect(fractionNearReference([0.9, 0.2]) == 0)
    #expect(fractionNearReference([0, 0]) == 0)
    #expect(fractionNearReference([]) == 0)
    // A tighter tolerance and custom fractions.
    #expect(fractionNearReference([0.52, 0.5], tolerance: 0.01) == 0.5)
    #expect(fractionNearReference([0.52, 0.9], fractions: [0.9]) == 0.5)
}

@Test func unrepresentedFeatureHasNoGroupInJSON() throws {
    // Features 0 and 1 orthogonal, feature 2 unlearned (‖W₂‖ = 0.1).
    let g = featureGeometry(of: Matrix(rows: [[1, 0, 0.1], [0, 1, 0]]))
    #expect(g.groupOfFeature == [0, 1, nil])
    let json = String(decoding: try JSONEncoder().encode(g), as: UTF8.self)
    #expect(json.contains("\"groupOfFeature\":[0,1,null]"))
    #expect(try JSONDecoder().decode(FeatureGeometry.self, from: Data(json.utf8)) == g)
}
