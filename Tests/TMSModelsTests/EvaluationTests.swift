import Foundation
import Testing
import TMSCore
@testable import TMSModels

// The final evaluation of very sparse instances passes only the non-empty rows of its batches and counts
// the empty ones at their common loss (docs/performance.md#final-evaluation). These tests check that it
// draws the same rows and measures the same mean as passing every full batch.

@Test func nonEmptyRowsAreExactlyTheNonEmptyRowsOfTheSkipSampledBatch() {
    let sampler = FeatureSampler(featureCount: 7, probability: [Float](repeating: 0.02, count: 7),
                                 distribution: .independent, signed: true)
    #expect(sampler.drawing == .skips)
    var full = RandomStream(seed: 5), compact = full
    var rows = SparseBatch(batchSize: 0, featureCount: 7)
    var expected: [[Float]] = []
    for _ in 0..<20 {
        let batch = sampler.sample(batchSize: 300, rng: &full)
        let nonEmpty = batch.dense.filter { row in row.contains { $0 != 0 } }
        expected += nonEmpty
        #expect(sampler.appendNonEmptyRows(batchSize: 300, to: &rows, rng: &compact) == nonEmpty.count)
    }
    #expect(rows.batchSize == expected.count && rows.batchSize > 100)
    #expect(rows.dense == expected)
    // Both streams are left at the same point.
    #expect(full.next() == compact.next())
}

@Test(arguments: [ModelKind.linear, .reluOutput, .reluHidden, .abs])
func evaluationOnNonEmptyRowsMatchesPassingEveryRow(model: ModelKind) {
    // 12→4 at p = 0.01 (88.6 % of rows empty), batches of 256 rows, 40 batches, three differently
    // initialised runs sharing the draws; a non-zero bias so that the empty rows' loss matters.
    var config = TrainingConfig.standard(model: model, featureCount: 12, hiddenCount: 4, featureProbabilities: [0.01],
                                         importanceDecay: 0.8, batchSize: 256, seed: 3)
    config.evaluationBatches = 40
    #expect(config.evaluatesOnNonEmptyRows(FeatureSampler(featureCount: 12, probability: config.featureProbability[0],
                                                          distribution: .independent, signed: model.usesSignedInputs)))
    let stream = RandomStream(seed: 99)
    let states = (0..<3).map { r -> InstanceState in
        var rng = RandomStream(seed: UInt64(10 + r))
        let (w, w2) = ToyModelWeights.initialParameters(model: model, featureCount: 12, hiddenCount: 4, rng: &rng)
        let bias = (0..<12).map { i in Float(i % 3) * 0.05 - 0.03 }
        return config.instanceState(instance: 0, W: w, W2: w2, bias: bias, dataStream: stream)
    }
    let compacted = config.evaluationLosses(of: states, batches: 40, stream: stream)
    for (r, state) in states.enumerated() {
        var rng = stream
        let everyRow = config.evaluationLoss(of: state, batches: 40, stream: &rng)
        // The same sum over the same rows, grouped differently: equal to float rounding.
        #expect(abs(compacted[r] - everyRow) <= 1e-6 * everyRow, "run \(r): \(compacted[r]) vs \(everyRow)")
        #expect(everyRow > 0)
    }
    #expect(compacted[0] != compacted[1])
}
