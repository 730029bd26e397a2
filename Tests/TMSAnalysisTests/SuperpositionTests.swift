import Foundation
import Testing
import TMSCore
import TMSAnalysis

// Superposition.swift: polysemantic neurons with and without superposition (docs/analysis.md#superposition-test).

@Suite struct SuperpositionTests {
    @Test func identityIsMonosemantic() {
        let t = superpositionTest(of: Matrix(rows: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]))
        #expect(t.verdict == .monosemantic)
        #expect(t.liveNeurons == 3 && t.polysemanticNeurons == 0 && t.representedFeatures == 3)
        #expect(t.maxInterference == 0)
    }

    @Test func zeroMatrixHasNoLiveNeuronAndNothingRepresented() {
        let t = superpositionTest(of: Matrix(rowCount: 2, columnCount: 3))
        #expect(t.liveNeurons == 0 && t.representedFeatures == 0 && t.maxInterference == 0)
        #expect(t.verdict == .monosemantic)
        #expect(superpositionTest(of: Matrix(rowCount: 2, columnCount: 3), changing: .input).verdict == .monosemantic)
    }

    @Test func rotatedIdentityIsPolysemanticWithoutSuperposition() {
        // W = R(30°): each neuron reads its larger feature with share cos²30° = 0.75 < 0.9; the features are
        // orthogonal unit vectors, so rotating the hidden space back gives the identity.
        let c = Float(3.0.squareRoot() / 2), s = Float(0.5)
        let W = Matrix(rows: [[c, -s], [s, c]])
        #expect(neuronSummary(of: W).monosemanticity.allSatisfy { Swift.abs($0 - 0.75) < 1e-6 })
        let t = superpositionTest(of: W)
        #expect(t.verdict == .polysemanticWithoutSuperposition)
        #expect(t.verdict.rawValue == "polysemantic, no superposition")
        #expect(t.polysemanticNeurons == 2 && t.polysemanticAfterChange == 0)
        #expect(t.maxInterference < 1e-12)
        // The transformed matrix is the identity up to the order and sign of its rows.
        #expect(neuronSummary(of: t.transformed).monosemanticity.allSatisfy { $0 > 1 - 1e-9 })
    }

    @Test func regularPentagonIsSuperposition() {
        // Five unit vectors at 72° in 2 dimensions: 5 > m = 2, and each has interference
        // 2cos²72° + 2cos²144° = 1.5.
        let angles = (0..<5).map { 2 * Double.pi * Double($0) / 5 }
        let W = Matrix(rows: [angles.map { Float(cos($0)) }, angles.map { Float(sin($0)) }])
        let t = superpositionTest(of: W)
        #expect(t.verdict == .superposition)
        #expect(t.representedFeatures == 5 && t.dimension == 2)
        #expect(Swift.abs(t.maxInterference - 1.5) < 1e-5)
        #expect(t.polysemanticNeurons == 2)
    }

    @Test func antipodalPairIsSuperposition() {
        let t = superpositionTest(of: Matrix(rows: [[1, -1]]))
        #expect(t.verdict == .superposition)
        #expect(t.representedFeatures == 2 && Swift.abs(t.maxInterference - 1) < 1e-12)
    }

    @Test func interferingFeaturesBelowTheDimensionAreSuperposition() {
        // Two features in 3 dimensions at cos 0.6: interference 0.36 > 0.1 although 2 ≤ m.
        let W = Matrix(rows: [[1, 0.6], [0, 0.8], [0, 0]])
        let t = superpositionTest(of: W)
        #expect(t.verdict == .superposition)
        #expect(Swift.abs(t.maxInterference - 0.36) < 1e-6)
        // Just under the threshold (cos 0.3, interference 0.09) they count as orthogonal enough, and neuron 0
        // reads feature 1 with a share of only 0.09/1.09 < 0.1: monosemantic.
        let near = superpositionTest(of: Matrix(rows: [[1, 0.3], [0, Float((1 - 0.09).squareRoot())], [0, 0]]))
        #expect(near.verdict == .monosemantic)
        #expect(Swift.abs(near.maxInterference - 0.09) < 1e-6)
    }

    @Test func productNeuronsAreCleanInTheRotatedInputBasis() {
        // Neurons along ±45° (x + y or x − y): each reads x and y equally (monosemanticity 1/2). Rotating the
        // inputs to u = (x + y)/√2, v = (x − y)/√2 makes every neuron read one of them; the two features u, v
        // then sit on disjoint neurons (orthogonal).
        let W = Matrix(rows: [[1, 1], [-1, -1], [2, -2], [-0.5, 0.5]])
        let t = superpositionTest(of: W, changing: .input)
        #expect(t.verdict == .polysemanticWithoutSuperposition)
        #expect(t.polysemanticNeurons == 4 && t.polysemanticAfterChange == 0)
        #expect(t.representedFeatures == 2 && t.maxInterference < 1e-12)
        // The largest neuron, (2, −2), sets the first axis: column 0 of WQ is W·(1, −1)/√2.
        let r2 = Float(2.0.squareRoot())
        for (k, expected) in [Float(0), 0, 2 * r2, -0.5 * r2].enumerated() { #expect(Swift.abs(t.transformed[k, 0] - expected) < 1e-5) }
        for (k, expected) in [r2, -r2, 0, 0].enumerated() { #expect(Swift.abs(t.transformed[k, 1] - expected) < 1e-5) }
    }

    @Test func neuronsOffTheAxesAreNotMadeClean() {
        // Three neurons at 0°, 60° and 120° in the (x, y) plane: no orthonormal input basis puts each on an
        // axis. The fitted axes leave features that interfere or neurons still mixed, never a clean verdict.
        let W = Matrix(rows: [[1, 0], [0.5, Float(3.0.squareRoot() / 2)], [-0.5, Float(3.0.squareRoot() / 2)]])
        let t = superpositionTest(of: W, changing: .input)
        #expect(t.verdict != .polysemanticWithoutSuperposition && t.verdict != .monosemantic)
    }

    @Test func weakFeaturesSharingASpareNeuronAreUnresolved() {
        // Features 0 and 1 have neurons of their own; features 2 and 3 (norms 0.35 and 0.25, not represented)
        // share neuron 2, which no rotation aligned with the represented features separates.
        let W = Matrix(rows: [[1, 0, 0, 0], [0, 1, 0.25, 0], [0, 0, 0.25, 0.25]])
        let t = superpositionTest(of: W)
        #expect(t.representedFeatures == 2)
        #expect(Swift.abs(t.maxInterference - 0.0625) < 1e-6)
        #expect(t.polysemanticNeurons == 1 && t.polysemanticAfterChange == 1)
        #expect(t.verdict == .unresolved)
    }

    @Test func alignedBasisIsOrthonormalAndFollowsTheLargestVector() {
        let basis = alignedOrthonormalBasis([[1, 1, 0], [2, -2, 0], [0.1, 0.2, 0]], dimension: 3)
        #expect(basis.count == 3)
        for a in 0..<3 {
            for b in 0..<3 {
                let d = zip(basis[a], basis[b]).reduce(0) { $0 + $1.0 * $1.1 }
                #expect(Swift.abs(d - (a == b ? 1 : 0)) < 1e-12)
            }
        }
        // First axis along (2, −2, 0), second along (1, 1, 0) (the small vector is within 45° of their span,
        // and sign-aligned it nudges the refined axes only within that plane); the last is e_2.
        #expect(Swift.abs(Swift.abs(basis[2][2]) - 1) < 1e-12)
        #expect(basis[0][0] > 0.6 && basis[0][1] < -0.6)
    }
}
