import Foundation
import Testing
import TMSCore
import TMSAnalysis

// Directions.swift: the shared cosine, antipodal partners, two digons and the neighbour angle.

@Test func cosineOfHandPickedVectors() {
    #expect(cosine([1, 0], [0, 2]) == 0)
    #expect(Swift.abs(cosine([1, 0], [1, 1]) - 0.5.squareRoot()) < 1e-12)
    #expect(Swift.abs(cosine([3, 4], [-6, -8]) + 1) < 1e-12)
    // (1, 2, 2)·(2, 1, −2) = 0; (1, 2, 2)·(2, 2, 1) = 8 over 3·3.
    #expect(cosine([1, 2, 2], [2, 1, -2]) == 0)
    #expect(Swift.abs(cosine([1, 2, 2], [2, 2, 1]) - 8.0 / 9) < 1e-12)
}

@Test func cosineWithAZeroVectorIsZero() {
    #expect(cosine([0, 0], [1, 1]) == 0)
    #expect(cosine([0, 0], [0, 0]) == 0)
}

@Test func featureCosineReadsColumns() {
    // Columns (1, 0), (1, 1), (−2, 0).
    let W = Matrix(rows: [[1, 1, -2], [0, 1, 0]])
    #expect(Swift.abs(featureCosine(W, 0, 1) - 0.5.squareRoot()) < 1e-12)
    #expect(featureCosine(W, 0, 2) == -1)
    #expect(featureCosine(W, 1, 1) == 1)
}

@Test func squareHasTwoAntipodalPairs() {
    // A square (4-gon): 0 ↔ 2 and 1 ↔ 3 antipodal; neighbours orthogonal.
    let W = regularPolygon(4, phase: 0.3)
    #expect(antipodalPartners(of: W, among: [0, 1, 2, 3]) == [2, 3, 0, 1])
    #expect(antipodalPartners(of: W, among: [0, 1]) == [nil, nil])
    // A looser threshold does not pair orthogonal neighbours either (cos = 0 > −0.5).
    #expect(antipodalPartners(of: W, among: [0, 1, 3], threshold: -0.5) == [nil, 3, 1])
}

@Test func twoDigonsNeedTheDroppedFeatureAbsentAndTheOthersPaired() {
    // Feature 0 zero, features 1–4 a square: two digons.
    let square = regularPolygon(4, phase: 0.2)
    let digons = Matrix(rows: square.rows.map { [0] + $0 })
    #expect(isTwoDigons(digons))
    // The same with feature 0 present (‖W₀‖ = 0.6 ≥ 0.5) is not.
    var present = digons
    present[0, 0] = 0.6
    #expect(!isTwoDigons(present))
    // A pentagon is not two digons, whichever feature is called dropped.
    #expect(!isTwoDigons(regularPolygon(5)))
    // Dropping feature 2 instead.
    let moved = Matrix(rows: square.rows.map { [$0[0], $0[1], 0, $0[2], $0[3]] })
    #expect(isTwoDigons(moved, dropped: 2) && !isTwoDigons(moved, dropped: 0))
}

@Test func pentagonNeighbourAngleIsSeventyTwoDegrees() {
    let W = regularPolygon(5, phase: 1.1)
    for feature in 0..<5 { #expect(Swift.abs(neighbourAngle(of: feature, in: W) - 72) < 1e-4) }
}

@Test func neighbourAngleAveragesBothSides() {
    // Feature 0 at 0°, others at 30°, 180°, 300°: neighbours at +30° and −60°, mean 45°.
    let degrees: [Double] = [0, 30, 180, 300]
    let W = Matrix(rows: [degrees.map { Float(cos($0 * Double.pi / 180)) }, degrees.map { Float(sin($0 * Double.pi / 180)) }])
    #expect(Swift.abs(neighbourAngle(of: 0, in: W) - 45) < 1e-4)
    // Feature 2 at 180°: neighbours at 30° (150° away) and 300° (120° away), mean 135°.
    #expect(Swift.abs(neighbourAngle(of: 2, in: W) - 135) < 1e-4)
}
