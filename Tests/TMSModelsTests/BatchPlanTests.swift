import Testing
import TMSCore
@testable import TMSModels

// BatchPlan: the one place that decides how an instance's batches are drawn and passed.

@Test func drawingDependsOnTheDistributionAndProbabilitiesOnly() {
    #expect(BatchPlan.drawing(distribution: .independent, probability: [0.05, 0.05]) == .lanes)
    #expect(BatchPlan.drawing(distribution: .independent, probability: [0.049, 0.049]) == .skips)
    #expect(BatchPlan.drawing(distribution: .independent, probability: [0.01, 0.02]) == .lanes)
    #expect(BatchPlan.drawing(distribution: .correlatedPairs, probability: [0.3, 0.3]) == .pairs)
    #expect(BatchPlan.drawing(distribution: .anticorrelatedPairs, probability: [0.01, 0.01]) == .pairs)
    let sampler = FeatureSampler(featureCount: 3, probability: [0.01, 0.01, 0.01], distribution: .independent, signed: false)
    #expect(sampler.drawing == .skips && !sampler.drawsLanes && sampler.samplesDensely)
}

@Test func planDecisionsForTheBenchmarkShapes() {
    // 5→2 (tiny): dense and fused at any density, skip-drawn batches included.
    let tiny = BatchPlan(model: .reluOutput, featureCount: 5, hiddenCount: 2, batchSize: 1024, drawing: .skips, uniformProbability: 0.01)
    #expect(tiny.denseTrainingBatches && tiny.fusedKernel && tiny.denseInputDensity == 0)
    // 400→30 at p = 0.01: CSR training batches, dense inputs from 0.4·30/32 = 0.375, sparse δ below 0.09375.
    let large = BatchPlan(model: .reluOutput, featureCount: 400, hiddenCount: 30, batchSize: 1024, drawing: .skips, uniformProbability: 0.01)
    #expect(!large.denseTrainingBatches && !large.fusedKernel)
    #expect(large.denseInputDensity == 0.375 && large.denseOutputGradientDensity == 0.09375)
    #expect(large.takesDenseInputs(nonZeros: 375, entries: 1000) && !large.takesDenseInputs(nonZeros: 374, entries: 1000))
    // abs 100→40: the untied output side tries the sparse path up to 0.3.
    let abs = BatchPlan(model: .abs, featureCount: 100, hiddenCount: 40, batchSize: 1024, drawing: .lanes, uniformProbability: 0.3)
    #expect(abs.denseTrainingBatches && abs.denseOutputGradientDensity == 0.3)
    // The Gram path (per feature 2·n·m + 8·B·k < 2·B·m): 400→30 on batches of 1024 at p = 0.01
    // (24,000 + 32,768 < 61,440) but not at p = 0.02 (89,536); 100→20 at p = 0.04 (4,000 + 32,768 < 40,960)
    // but not at 0.049 (44,141); never on batches of 64, for lane-drawn batches, tiny or untied models or a
    // hidden ReLU.
    func gram(_ model: ModelKind, _ n: Int, _ m: Int, batch: Int = 1024, _ drawing: BatchPlan.Drawing = .skips, p: Float) -> Bool {
        BatchPlan(model: model, featureCount: n, hiddenCount: m, batchSize: batch, drawing: drawing, uniformProbability: p).gramProducts
    }
    #expect(large.gramProducts && gram(.linear, 400, 30, p: 0.002) && gram(.reluOutput, 100, 20, p: 0.04))
    #expect(!gram(.reluOutput, 400, 30, p: 0.02) && !gram(.reluOutput, 100, 20, p: 0.049))
    #expect(!gram(.reluOutput, 400, 30, batch: 64, p: 0.002) && !gram(.reluOutput, 400, 30, .lanes, p: 0.002))
    #expect(!tiny.gramProducts && !abs.gramProducts && !gram(.reluHidden, 400, 30, p: 0.002))
    // A over several chunks: 400→30 (chunks of 128 rows, 204,800 bytes of δ each) at p = 0.01 touches
    // 1 − 0.99^128 = 72 % of A per chunk, so 4 chunks (819,200 bytes) a group; at p = 0.005 47 %, at 0.002
    // 23 %: one. 100→20 at p = 0.01 (512-row chunks, 229,376 bytes): the batch's 2. Off the Gram path: 1.
    func pairChunks(_ n: Int, _ m: Int, p: Float) -> Int {
        BatchPlan(model: .reluOutput, featureCount: n, hiddenCount: m, batchSize: 1024, drawing: .skips, uniformProbability: p).gramPairChunks
    }
    #expect(large.gramPairChunks == 4 && pairChunks(400, 30, p: 0.005) == 1 && pairChunks(400, 30, p: 0.002) == 1)
    #expect(pairChunks(100, 20, p: 0.01) == 2 && pairChunks(400, 30, p: 0.02) == 1 && tiny.gramPairChunks == 1)
    // No output ReLU: every δ is non-zero, never sparse; pairs are CSR.
    let linear = BatchPlan(model: .linear, featureCount: 20, hiddenCount: 5, batchSize: 1024, drawing: .pairs, uniformProbability: nil)
    #expect(linear.denseOutputGradientDensity == 0 && !linear.denseTrainingBatches)
}
