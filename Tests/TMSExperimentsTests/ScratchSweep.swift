import Foundation
import Testing
@testable import TMSExperiments

@Suite struct ScratchSweep {
    @Test func fullSweep() throws {
        let e = SparsitySweepExperiment(), options = ExperimentOptions(quick: false, seed: 0, threads: 2)
        let t0 = Date()
        let data = try e.train(options) { _, _ in }
        print("EXP full sweep trained in \(Date().timeIntervalSince(t0)) s (debug)")
        for c in e.analyse(data, options: options).checks { print("EXP \(c.passed) \(c.claim): \(c.measured)") }
        let q = ExperimentOptions(quick: true, seed: 0, threads: 2)
        for c in e.analyse(try e.train(q) { _, _ in }, options: q).checks { print("EXPQ \(c.passed) \(c.claim): \(c.measured)") }
    }
}
