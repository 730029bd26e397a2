import Foundation
import Testing
import TMSCore
import TMSAnalysis

// PhaseTheory.swift: the closed-form losses of the phase-change candidates and the phase of a learned feature.

@Suite("Closed-form phase-change losses")
struct PhaseTheoryTests {
    @Test func droppedFeatureLossIsItsVariance() {
        // Var(x) for x = Bernoulli(p)·U[0,1]: p/3 − p²/4; at p = 1: 1/12, at p = 0.5: 1/6 − 1/16 = 5/48.
        #expect(Swift.abs(PhaseTheory.droppedLoss(p: 1) - 1.0 / 12) < 1e-15)
        #expect(Swift.abs(PhaseTheory.droppedLoss(p: 0.5) - 5.0 / 48) < 1e-15)
    }

    @Test func allCandidatesTieAtTheTriplePoint() {
        // p = 4/7, r = 1: r(p/3 − p²/4) = 4/21 − 4/49 = 16/147 and (1 + r)p²/6 = 2·16/49/6 = 16/147.
        let l = PhaseTheory.twoFeatureLosses(p: 4.0 / 7, r: 1)
        #expect(Swift.abs(l.ignoreExtra - 16.0 / 147) < 1e-12)
        #expect(Swift.abs(l.ignoreOther - 16.0 / 147) < 1e-12)
        #expect(Swift.abs(l.antipodal - 16.0 / 147) < 1e-12)
    }

    @Test func handWorkedLossesAtPOneTenthRTwo() {
        // p = 0.1, r = 2: ignore extra 2(1/30 − 1/400) = 0.061667; ignore other 0.030833; antipodal 3·0.01/6 = 0.005.
        let l = PhaseTheory.twoFeatureLosses(p: 0.1, r: 2)
        #expect(Swift.abs(l.ignoreExtra - 0.0616666667) < 1e-9)
        #expect(Swift.abs(l.ignoreOther - 0.0308333333) < 1e-9)
        #expect(Swift.abs(l.antipodal - 0.005) < 1e-12)
        #expect(PhaseTheory.twoFeaturePhase(p: 0.1, r: 2) == .superposition)
        // n = 3 adds the others-antipodal candidate p²/3 = 0.003333, which wins here: extra dedicated.
        #expect(Swift.abs(PhaseTheory.threeFeatureLosses(p: 0.1, r: 2).othersAntipodal - 0.01 / 3) < 1e-12)
        #expect(PhaseTheory.threeFeaturePhase(p: 0.1, r: 2) == .dedicated)
    }

    @Test(arguments: [(0.9, 0.2, FeaturePhase.notLearned), (0.9, 5.0, .dedicated), (0.05, 1.0, .superposition), (0.05, 0.01, .notLearned)])
    func twoFeaturePhasesMatchTheBoundaries(p: Double, r: Double, phase: FeaturePhase) {
        #expect(PhaseTheory.twoFeaturePhase(p: p, r: r) == phase)
    }

    @Test func boundariesMatchTheLossComparison() {
        // On the boundary r = 2p/(4 − 5p) the antipodal and ignore-extra losses are equal.
        for p in [0.02, 0.1, 0.3, 0.5] {
            let r = PhaseTheory.superpositionVersusIgnoreBoundary(p: p)
            let l = PhaseTheory.twoFeatureLosses(p: p, r: r)
            #expect(Swift.abs(l.antipodal - l.ignoreExtra) < 1e-12)
            let r2 = PhaseTheory.superpositionVersusDedicatedBoundary(p: p)
            let l2 = PhaseTheory.twoFeatureLosses(p: p, r: r2)
            #expect(Swift.abs(l2.antipodal - l2.ignoreOther) < 1e-12)
        }
    }

    @Test func theoryRegionsCoverThePapersFractions() {
        // docs/closed-forms.md#the-phase-diagrams: on a log grid p ∈ [0.01, 1] × r ∈ [0.1, 10], about 12 % not learned, 76 % superposition,
        // 12 % dedicated.
        let count = 200
        var tally = [0, 0, 0]
        for i in 0..<count {
            for j in 0..<count {
                let p = pow(10, -2 + 2 * (Double(i) + 0.5) / Double(count)), r = pow(10, -1 + 2 * (Double(j) + 0.5) / Double(count))
                tally[PhaseTheory.twoFeaturePhase(p: p, r: r).rawValue] += 1
            }
        }
        let fractions = tally.map { Double($0) / Double(count * count) }
        #expect(Swift.abs(fractions[0] - 0.12) < 0.02)
        #expect(Swift.abs(fractions[1] - 0.12) < 0.02)
        #expect(Swift.abs(fractions[2] - 0.76) < 0.02)
    }
}

@Suite("Phase of a feature in a trained model")
struct PhaseOfFeatureTests {
    @Test func shortFeatureIsNotLearned() {
        // Feature 1 has ‖W₁‖ = 0.4 < 0.5.
        #expect(phaseOfFeature(1, in: Matrix(rows: [[1, 0.4]])) == .notLearned)
    }

    @Test func orthogonalFeatureHasADedicatedDimension() {
        #expect(phaseOfFeature(2, in: identity(3)) == .dedicated)
        // An unlearned neighbour does not count: feature 1 (norm 0.3) points the same way as feature 0.
        #expect(phaseOfFeature(0, in: Matrix(rows: [[1, 0.3], [0, 0]])) == .dedicated)
    }

    @Test func antipodalFeatureIsInSuperposition() {
        #expect(phaseOfFeature(1, in: Matrix(rows: [[1, -1]])) == .superposition)
        // |cos| above 0.5 counts, whatever the sign: (1, 0) against (−0.6, 0.8) has cos −0.6; against
        // (0.28, 0.96) cos 0.28, which does not.
        #expect(phaseOfFeature(1, in: Matrix(rows: [[1, -0.6], [0, 0.8]])) == .superposition)
        #expect(phaseOfFeature(1, in: Matrix(rows: [[1, 0.28], [0, 0.96]])) == .dedicated)
    }
}
