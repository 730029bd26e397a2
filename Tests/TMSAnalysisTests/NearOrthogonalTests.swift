import Foundation
import Testing
import TMSCore
import TMSAnalysis

// NearOrthogonal.swift: greedy packings of nearly orthogonal directions and the largest interference.

@Suite struct NearOrthogonalTests {
    @Test func exactOrthogonalityLeavesTheBasis() {
        // A random draw is never exactly orthogonal to e_1 … e_m: the count is m, or 2m with antipodes.
        var rng = RandomStream(seed: 1)
        #expect(nearOrthogonalCount(dimension: 3, maxCosine: 0, attempts: 200, rng: &rng) == 3)
        #expect(nearOrthogonalCount(dimension: 3, maxCosine: 0, antipodes: true, attempts: 200, rng: &rng) == 6)
    }

    @Test func planeHoldsFourLinesOrEightDirectionsAtCosine0Point8() {
        // cos ≤ 0.8 is an angle ≥ 36.87°. Lines (|cos|): at most ⌊180/36.87⌋ = 4, and the greedy fill from 0° and 90°
        // has one window in each quadrant of [0°, 180°), so exactly 4. Directions with antipodes: from 0/90/180/270°
        // each 90° gap takes one more (two would need 3 × 36.87° > 90°), so exactly 8 (the bound ⌊360/36.87⌋ is 9).
        var rng = RandomStream(seed: 2)
        #expect(nearOrthogonalCount(dimension: 2, maxCosine: 0.8, rng: &rng) == 4)
        #expect(nearOrthogonalCount(dimension: 2, maxCosine: 0.8, antipodes: true, rng: &rng) == 8)
    }

    @Test func largestInterferenceOfAHandMatrix() {
        // Columns (1, 0), (1.2, 1.6), (−1, 0): dots 1.2, −1, −1.2; cosines 0.6, −1, −0.6.
        let W = Matrix(rowCount: 2, columnCount: 3, values: [1, 1.2, -1, 0, 1.6, 0])
        let all = largestInterference(of: W, among: [0, 1, 2])
        #expect(Swift.abs(all.dot - 1.2) < 1e-6 && Swift.abs(all.cosine - 0.6) < 1e-6 && Swift.abs(all.absoluteCosine - 1) < 1e-6)
        let pair = largestInterference(of: W, among: [1, 2])
        #expect(Swift.abs(pair.dot + 1.2) < 1e-6 && Swift.abs(pair.cosine + 0.6) < 1e-6 && Swift.abs(pair.absoluteCosine - 0.6) < 1e-6)
        let none = largestInterference(of: W, among: [1])
        #expect(none.dot == 0 && none.cosine == 0 && none.absoluteCosine == 0)
    }
}
