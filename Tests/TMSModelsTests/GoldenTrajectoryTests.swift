import Testing
import TMSCore
@testable import TMSModels

// Golden trajectories: for fixed seeds and configs, the logged losses, the evaluation losses and a checksum
// of the final weights are pinned, so that any change to the sampler, the pass, the optimiser or the trainer
// that changes results is seen (a refactor must keep them bit for bit; a deliberate change updates them and
// says why in its commit). Floats are written as Swift prints them (the shortest text that reads back to
// the same bits), so `==` compares bit patterns.

/// FNV-1a (64-bit) over the bit patterns of every weight, output weight and bias, in storage order.
private func checksum(_ w: ToyModelWeights) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ values: [Float]) {
        for v in values {
            var bits = v.bitPattern
            for _ in 0..<4 { hash = (hash ^ UInt64(bits & 0xFF)) &* 0x0000_0100_0000_01B3; bits >>= 8 }
        }
    }
    mix(w.W)
    if let W2 = w.W2 { mix(W2) }
    mix(w.bias)
    return hash
}

private struct Golden {
    let curve: [[Float]]
    let finalLoss: [Float]
    let checksum: UInt64
}

private func run(_ config: TrainingConfig, threads: Int) throws -> Golden {
    let r = try Trainer(config: config, threads: threads).train()
    return Golden(curve: r.lossCurve.values, finalLoss: r.finalLoss, checksum: checksum(r.weights))
}

private func expectGolden(_ got: Golden, curve: [[Float]], finalLoss: [Float], checksum: UInt64) {
    #expect(got.curve == curve, "curve: \(got.curve)")
    #expect(got.finalLoss == finalLoss, "finalLoss: \(got.finalLoss)")
    #expect(got.checksum == checksum, "checksum: \(got.checksum)")
}

/// The paper's 20→5 ReLU-output sparsity sweep (Elhage et al. 2022, §2, Figure 3): 7 instances at
/// 1 − S ∈ {1, …, 0.001}, I_i = 0.7^i, 200 steps of batch 256. Covers lane-drawn and skip-sampled batches,
/// the fused kernel, sparse inputs and sparse output gradients, and (p ≤ 0.03, while their output
/// gradients are dense) the Gram path, whose sums changed the last bits of those four instances when it
/// came (docs/models.md#gram-path).
@Test func goldenTrajectoryOfTheTwentyToFiveSparsitySweep() throws {
    var config = TrainingConfig.standard(model: .reluOutput, featureCount: 20, hiddenCount: 5,
                                         featureProbabilities: [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001],
                                         importanceDecay: 0.7, steps: 200, batchSize: 256, learningRate: 1e-2,
                                         seed: 2022)
    config.lossLogPoints = 5
    config.evaluationBatches = 2
    let golden = try run(config, threads: 2)
    #expect(golden.curve.count == 7 && golden.curve.allSatisfy { $0.count == 5 })
    expectGolden(golden, curve: [
        [0.032132663, 0.0072756563, 0.004659178, 0.003334843, 0.0027255637],
        [0.010321735, 0.0029854567, 0.0021111455, 0.0018169575, 0.0020218445],
        [0.0034449426, 0.0005922898, 0.00041933727, 0.0003307698, 0.00038318874],
        [0.0013983144, 0.00021490718, 0.00011050688, 0.00016878998, 8.2432474e-05],
        [0.0004300508, 8.9069385e-05, 0.000100508645, 4.2892916e-05, 4.2142918e-05],
        [0.000114706745, 5.53947e-05, 7.831259e-06, 6.3758944e-06, 6.835448e-06],
        [7.943185e-06, 7.561894e-06, 6.705338e-06, 1.6692292e-06, 7.124439e-07],
    ], finalLoss: [0.0027598885, 0.0019650855, 0.00038559487, 9.402512e-05, 3.391143e-05, 7.285287e-06, 1.3511691e-05],
    checksum: 10_582_597_112_826_311_400)
}

/// An untied `abs` model too small for anything but the fused kernel (skip-sampled batches going into the
/// dense buffer), and a `relu-hidden` 40→10 model on the general kernels with batches split into a full and
/// a partial chunk and shared by more workers than instances (the split-batch path).
@Test func goldenTrajectoriesOfTheOtherPaths() throws {
    var tiny = TrainingConfig.standard(model: .abs, featureCount: 8, hiddenCount: 3,
                                       featureProbabilities: [1, 0.02], importanceDecay: 0.9,
                                       steps: 120, batchSize: 100, learningRate: 5e-3, bestOf: 2, seed: 7)
    tiny.lossLogPoints = 4
    tiny.evaluationBatches = 2
    expectGolden(try run(tiny, threads: 2), curve: [
        [0.20022441, 0.12398143, 0.07856932, 0.06880224],
        [0.0059782267, 0.003394003, 0.0031711585, 0.0017253566],
    ], finalLoss: [0.0743308, 0.00396778], checksum: 12_677_067_914_293_109_869)

    var split = TrainingConfig.standard(model: .reluHidden, featureCount: 40, hiddenCount: 10,
                                        featureProbabilities: [0.3, 0.01], importanceDecay: 0.95,
                                        steps: 60, batchSize: 600, learningRate: 3e-3, seed: 11)
    split.lossLogPoints = 4
    split.evaluationBatches = 2
    let golden = try run(split, threads: 4)
    expectGolden(golden, curve: [
        [0.033905003, 0.027051257, 0.024433797, 0.022727849],
        [0.001190435, 0.0010924073, 0.0009192322, 0.0009688608],
    ], finalLoss: [0.022717504, 0.0008343475], checksum: 9_545_520_045_786_162_505)
    // The same numbers on one thread (no split batches).
    let single = try run(split, threads: 1)
    #expect(single.curve == golden.curve && single.finalLoss == golden.finalLoss && single.checksum == golden.checksum)
}
