import Foundation
import Testing
import TMSAnalysis
@testable import TMSExperiments

// Adversarial.swift: vulnerability to the analytic attack across sparsity, against the exact no-superposition
// model. The gradient-masking check fails honestly (the gradient attack finds more; see
// docs/experiments.md#adversarial), so this test pins what is measured rather than every check's verdict.

@Suite struct AdversarialTests {
    @Test func quickRunMeasuresVulnerabilityAndItsCause() throws {
        let e = AdversarialExperiment(), options = ExperimentOptions(quick: true, seed: 0, threads: 2)
        let data = try e.train(options) { _, _ in }
        let analysis = try e.analyse(data, options: options)
        #expect(analysis.checks.count == 3)
        // Against the exact no-superposition model the vulnerability rises > 3× and tracks 1/D* (quick, seed 0:
        // rise 4.2×, r = 0.93).
        for claim in ["rises more than 3×", "tracks 1/D*"] {
            let c = try #require(check(analysis.checks, containing: claim))
            #expect(c.passed, "\(c.claim): \(c.measured)")
        }
        let rows = AdversarialExperiment.rows(try data.part("model"), samples: 8_000, seed: 0)
        // Against the dense-trained instance, that instance is exactly 1; against the exact no-superposition
        // model (λ²·max I/n) the dense model, which represents 5 features orthogonally, is close to 1.
        #expect(Swift.abs(rows[0].analyticVsDense - 1) < 1e-9)
        #expect(rows[0].analytic > 0.8 && rows[0].analytic < 1.25, "\(rows[0].analytic)")
        // Superposition forms: 1/D* rises from 1 to > 4, and the no-ReLU bound rises > 3× with it.
        #expect(rows[0].inverseDStar < 1.1 && rows.last!.inverseDStar > 4)
        #expect(rows.last!.linearVulnerability > 3 && pearsonCorrelation(rows.map(\.linearVulnerability), rows.map(\.inverseDStar)) > 0.8)
        // Where sparse, the analytic attack's raise of its target output stays below −b_i: the ReLU absorbs it.
        for row in rows where row.density <= 0.03 { #expect(row.gain < -row.targetBias, "1 − S = \(row.density)") }
    }
}
