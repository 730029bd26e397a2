import Foundation
import Testing
import TMSCore
@testable import TMSAnalysis

@Test func pairEmbeddingDetectsCollapseAlongTheSum() {
    // Features 0, 1 collapsed: W_0 = W_1 = (1/√2, 0); features 2, 3 orthogonal unit vectors.
    let h = Float(0.5.squareRoot())
    let W = Matrix(rows: [[h, h, 1, 0], [0, 0, 0, 1]])
    let collapsed = pairEmbedding(of: W, 0, 1)
    #expect(collapsed.collapsed && Swift.abs(collapsed.cosine - 1) < 1e-6 && collapsed.angleToSum < 0.01)
    let orthogonal = pairEmbedding(of: W, 2, 3)
    #expect(!orthogonal.collapsed && Swift.abs(orthogonal.cosine) < 1e-9 && Swift.abs(orthogonal.angleToSum) < 0.01)
    // Unequal norms: (1, 0.5) reads at atan(0.5) = 26.57° from (1, 0); 45° − 26.57° = 18.43° from the sum.
    let uneven = Matrix(rows: [[1, 0.5], [0, 0]])
    #expect(Swift.abs(pairEmbedding(of: uneven, 0, 1).angleToSum - 18.4349) < 1e-3)
    // A dropped feature is never collapsed.
    #expect(!pairEmbedding(of: Matrix(rows: [[1, 0.1], [0, 0]]), 0, 1).collapsed)
}

@Test func blockStructureSeparatesWithinAndBetween() {
    // Set {0, 1} on e₀, e₁; set {2, 3} on (e₀ + e₁)/√2 and (e₀ − e₁)/√2: orthogonal within, |cos| = 1/√2 between.
    let h = Float(0.5.squareRoot())
    let W = Matrix(rows: [[1, 0, h, h], [0, 1, h, -h]])
    let r = blockStructure(of: W, sets: [[0, 1], [2, 3]])
    #expect(r.maxWithin < 1e-6 && Swift.abs(r.meanBetween - 0.5.squareRoot()) < 1e-6 && r.represented == 4)
}
