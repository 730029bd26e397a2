import Testing
import TMSCore
@testable import TMSAnalysis

@Suite struct SAEMetricsTests {
    /// Features e₁, e₂ and (1,1)/√2 in 2-D; dictionary rows e₁ and (0.6, 0.8) (and a zero row).
    /// Max cosines: e₁ → 1; e₂ → 0.8; (1,1)/√2 → max(1/√2, 1.4/√2) = 0.98995.
    @Test func maxCosineSimilaritiesByHand() {
        let features = Matrix(rows: [[1, 0, 1], [0, 1, 1]])
        let dictionary = Matrix(rows: [[1, 0], [0.6, 0.8], [0, 0]])
        let c = maxCosineSimilarities(features: features, dictionary: dictionary)
        #expect(Swift.abs(c[0] - 1) < 1e-6 && Swift.abs(c[1] - 0.8) < 1e-6 && Swift.abs(c[2] - 1.4 / 2.0.squareRoot()) < 1e-6)
        #expect(Swift.abs(meanMaxCosineSimilarity(features: features, dictionary: dictionary) - (1 + 0.8 + 1.4 / 2.0.squareRoot()) / 3) < 1e-6)
        #expect(Swift.abs(recoveredFeatureFraction(features: features, dictionary: dictionary) - 2.0 / 3) < 1e-9)
        #expect(recoveredFeatureFraction(features: features, dictionary: dictionary, among: [1]) == 0)
        // A zero-norm feature has cosine 0 with everything.
        #expect(maxCosineSimilarities(features: Matrix(rows: [[0], [0]]), dictionary: dictionary) == [0])
    }

    /// Inputs (1,0), (3,0): mean (2,0), Σ‖h − h̄‖² = 2. Reconstructions (1,0), (2,1): Σ‖h − ĥ‖² = 2, MSE over
    /// B·m = 4 entries 0.5, FVE 1 − 2/2 = 0. Codes [1,0,0], [2,0,3]: L0 1.5, latent 1 dead, fraction active 1, 0, ½.
    @Test func reconstructionMetricsByHand() {
        let r = SAEReconstructionMetrics(inputs: [1, 0, 3, 0], reconstructions: [1, 0, 2, 1], codes: [1, 0, 0, 2, 0, 3],
                                         inputCount: 2, latentCount: 3)
        #expect(r.l0 == 1.5)
        #expect(r.meanSquaredError == 0.5)
        #expect(r.fractionOfVarianceExplained == 0)
        #expect(Swift.abs(r.deadFraction - 1.0 / 3) < 1e-12)
        #expect(r.fractionActive == [1, 0, 0.5])
        let perfect = SAEReconstructionMetrics(inputs: [1, 0, 3, 0], reconstructions: [1, 0, 3, 0], codes: [1, 0, 0, 2, 0, 3],
                                               inputCount: 2, latentCount: 3)
        #expect(perfect.fractionOfVarianceExplained == 1 && perfect.meanSquaredError == 0)
    }
}

@Suite struct UnfoldingTests {
    /// Three unit features in 2-D at 0°, 120°, 240° (a tight frame, ‖W‖₂² = 3/2) and x = (0.8, 0, 0).
    static let W = Matrix(rows: [[1, -0.5, -0.5], [0, Float(3.0.squareRoot() / 2), -Float(3.0.squareRoot() / 2)]])

    @Test func reluReadoutRecoversAOneSparseInputWithNegativeBias() {
        // Wᵀh = (0.8, −0.4, −0.4); with b = −0.1 the readout is (0.7, 0, 0).
        let h: [Float] = [0.8, 0]
        let x = Unfolding.reluReadout(Self.W, bias: [-0.1, -0.1, -0.1], hidden: h)
        #expect(Swift.abs(x[0] - 0.7) < 1e-6 && x[1] == 0 && x[2] == 0)
    }

    @Test func ompRecoversAOneSparseInputExactly() {
        // h = 0.6·W₁: W₁ is exactly aligned with h, so OMP picks it and the residual is 0.
        let one = Unfolding.orthogonalMatchingPursuit(Self.W, hidden: [-0.3, 0.3 * Float(3.0.squareRoot())], maxAtoms: 2)
        let a = Unfolding.accuracy(estimate: one, truth: [0, 0.6, 0])
        #expect(a.relativeError < 1e-5 && a.supportRecovered)
    }

    /// e₁, e₂, e₃ and (1,1,1)/√3 in 3-D, x = (0.8, 0.5, 0, 0): correlations 0.8, 0.5, 0, 0.75 pick e₁, then the
    /// residual (0, 0.5, 0) picks e₂ (0.5 > 0.289): exact recovery. In the 2-D three-feature frame the same
    /// kind of input fails: for x = (0.8, 0.5, 0), W₂ is the most correlated atom (|−0.65| > 0.55).
    @Test func ompRecoversTwoSparseInputsWhenAtomsAreIncoherentEnough() {
        let s: Float = 1 / Float(3.0.squareRoot())
        let W = Matrix(rows: [[1, 0, 0, s], [0, 1, 0, s], [0, 0, 1, s]])
        let x = Unfolding.orthogonalMatchingPursuit(W, hidden: [0.8, 0.5, 0], maxAtoms: 2)
        let a = Unfolding.accuracy(estimate: x, truth: [0.8, 0.5, 0, 0])
        #expect(a.relativeError < 1e-6 && a.supportRecovered)
        let h: [Float] = [0.8 - 0.25, 0.5 * Float(3.0.squareRoot() / 2)]
        let frame = Unfolding.orthogonalMatchingPursuit(Self.W, hidden: h, maxAtoms: 2)
        #expect(frame[2] != 0)
        #expect(!Unfolding.accuracy(estimate: frame, truth: [0.8, 0.5, 0]).supportRecovered)
    }

    @Test func lassoWithSmallPenaltyShrinksTheTrueCoefficientByAlphaOverNorm() {
        // One-sparse x = 0.8 e₀: the non-negative lasso solution is x₀ = 0.8 − α/‖W₀‖² = 0.8 − α, others 0
        // (their correlations with the residual, −0.5·x₀·… < 0, stay below α).
        let x = Unfolding.lasso(Self.W, hidden: [0.8, 0], penalty: 0.05, iterations: 2000)
        #expect(Swift.abs(x[0] - 0.75) < 1e-4 && x[1] < 1e-6 && x[2] < 1e-6)
        #expect(Unfolding.accuracy(estimate: x, truth: [0.8, 0, 0]).supportRecovered)
    }
}
