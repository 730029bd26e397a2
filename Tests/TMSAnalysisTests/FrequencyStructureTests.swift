import Foundation
import Testing
import TMSCore
import TMSAnalysis

// FrequencyStructure.swift: the polytope census and the frequency order agreement.

@Test func polytopeCensusCountsEachFeatureByItsPolytope() {
    // Pentagon (dims 0–1), two digons (dims 2, 3), triangle (dims 4–5), a dedicated feature (dim 6), a hexagon
    // (6 features at D = 1/3 in dims 7–8: no polytope of size 6, so "other") and 2 unlearned.
    let w = withZeroFeatures(tegum([regularPolygon(5), regularPolygon(2), regularPolygon(2), regularPolygon(3),
                                    identity(1), regularPolygon(6)]), 2)
    let census = polytopeCensus(of: w)
    #expect(census == [.pentagon: 5, .digon: 4, .triangle: 3, .dedicated: 1, .tetrahedron: 0, .other: 6])
    #expect(census.values.reduce(0, +) == representedFeatureCount(of: w))
    #expect(polytopeCensus(of: tetrahedron())[.tetrahedron] == 4)
}

@Test func frequencyOrderAgreementIsTheShareOfRepresentedAmongTheMostFrequent() {
    let p = [0.9, 0.5, 0.5, 0.2, 0.1, 0.05]
    // Exactly the 3 most frequent represented (ties ordered by index): 1.
    #expect(frequencyOrderAgreement(norms: [1, 1, 0.9, 0.1, 0, 0], probabilities: p) == 1)
    // Features 0, 2, 4 represented: the top 3 are {0, 1, 2}, so 2 of 3.
    #expect(Swift.abs(frequencyOrderAgreement(norms: [1, 0.2, 1, 0, 0.8, 0], probabilities: p) - 2.0 / 3) < 1e-12)
    // Only the rarest: 0 of 1; nothing represented: 0.
    #expect(frequencyOrderAgreement(norms: [0, 0, 0, 0, 0, 1], probabilities: p) == 0)
    #expect(frequencyOrderAgreement(norms: [Double](repeating: 0.5, count: 6), probabilities: p) == 0)
}
