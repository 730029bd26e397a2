import Foundation
import Testing
import TMSCore
import TMSTestSupport
@testable import TMSModels

// Every kernel path of the fused pass (dense or sparse inputs × dense or sparse output gradients) against
// the Double reference on awkward shapes and densities; dense and CSR batches, split batches and thread
// counts giving bit-identical results.

/// One shape and density: n, m ∈ {1, 3, 17, 64, 400}, p ∈ {1, 0.5, 0.01, 0.001}.
struct FastPathCase: Sendable, CustomTestStringConvertible {
    let model: ModelKind
    let n: Int
    let m: Int
    let p: Double
    let batchSize: Int

    var testDescription: String { "\(model.rawValue) n=\(n) m=\(m) p=\(p) B=\(batchSize)" }

    /// Every model at every (n, m) for p = 1 and 0.01, and the tied ReLU-output model at every density;
    /// batches of 37 rows (one partial chunk), or 150 when n = 400 (a full 128-row chunk and a partial one).
    /// The largest shapes (n = m = 400) only for two models, to keep the Double reference quick.
    static let all: [FastPathCase] = {
        var cases: [FastPathCase] = []
        let sizes = [1, 3, 17, 64, 400]
        for n in sizes {
            for m in sizes {
                let B = n == 400 ? 150 : 37
                let models: [ModelKind] = n * m >= 400 * 64 ? [.reluOutput, .abs] : ModelKind.allCases
                for model in models {
                    let densities: [Double] = model == .reluOutput && n * m < 400 * 64 ? [1, 0.5, 0.01, 0.001] : [1, 0.01]
                    for p in densities { cases.append(FastPathCase(model: model, n: n, m: m, p: p, batchSize: B)) }
                }
            }
        }
        return cases
    }()

    /// Seeded parameters with weights × 1/√max(n, m) and a batch of density p (`ToyProblem`).
    func problem() -> ToyProblem {
        ToyProblem(model: model, n: n, m: m, batchSize: batchSize, density: p, weightScale: 1 / Double(max(n, m)).squareRoot(),
                   seed: UInt64(n * 7919 + m * 104_729 + batchSize) ^ UInt64(p * 1e6))
    }

    /// A state holding the problem, and the problem's reference loss and gradients.
    func makeState() -> (InstanceState, reference: (loss: Double, gradW: [[Double]], gradW2: [[Double]]?, gradBias: [Double])) {
        let p = problem()
        return (TMSModelsTests.makeState(p), p.reference())
    }
}

/// Every kernel combination: the general dense and sparse kernels for inputs and output gradients, the fused
/// small-model kernel (used where n·m ≤ 256), and the automatic choice.
private let pathCombinations: [PassPaths] = [
    PassPaths(inputs: .dense, outputGradients: .dense, fusedSmallModel: .sparse),
    PassPaths(inputs: .dense, outputGradients: .sparse), PassPaths(inputs: .sparse, outputGradients: .dense),
    PassPaths(inputs: .sparse, outputGradients: .sparse),
    PassPaths(inputs: .dense, outputGradients: .dense, fusedSmallModel: .dense),
    .automatic,
]

@Test(arguments: FastPathCase.all)
func everyPassPathMatchesTheDoubleReference(_ c: FastPathCase) {
    let (state, r) = c.makeState()
    var referenceSquared = pow(norm(r.gradW), 2) + pow(norm(r.gradBias), 2)
    if let gW2 = r.gradW2 { referenceSquared += pow(norm(gW2), 2) }
    let referenceNorm = referenceSquared.squareRoot()
    // Tied models without a hidden ReLU also on the Gram path (sparse inputs, forced on the instance).
    let gramState = c.model.isTied && !c.model.hasHiddenReLU ? makeState(c.problem(), gramProducts: true) : nil
    let runs = pathCombinations.map { (state, $0) } + (gramState.map { [($0, PassPaths(inputs: .sparse, gram: true))] } ?? [])
    for (state, paths) in runs {
        let loss = state.pass(computeGradients: true, paths: paths)
        let forwardOnly = state.pass(computeGradients: false, paths: paths)
        let g = state.gradients()
        var diff2 = pow(norm(difference(unflatten(g.W, rows: c.m), r.gradW)), 2)
            + pow(norm(difference(g.bias.map(Double.init), r.gradBias)), 2)
        if let gW2 = g.W2, let rW2 = r.gradW2 { diff2 += pow(norm(difference(unflatten(gW2, rows: c.n), rW2)), 2) }
        let error = diff2.squareRoot() / max(referenceNorm, 1e-30)
        #expect(error < 2e-5 || diff2.squareRoot() < 1e-9, "\(paths): relative gradient error \(error) (reference norm \(referenceNorm))")
        #expect(Swift.abs(loss - r.loss) <= 1e-5 * r.loss + 1e-7, "\(paths): loss \(loss) vs reference \(r.loss)")
        #expect(forwardOnly == loss, "\(paths): the forward-only loss differs")
    }
}

/// The shapes with a compile-time copy of the fused small-model kernel, every model, two densities; and
/// batches of 300 rows (37 whole vectors and a padded one: three blocks of 16 and one of 5 where the kernel
/// sums by block) of these and of two shapes on its general scratch, 17→3 (one block of 16 vectors at a time)
/// and 40→1 (blocks of 12).
private let fixedShapeCases: [FastPathCase] = [(2, 1), (3, 2), (4, 2), (5, 2), (6, 2), (6, 3), (3, 6)].flatMap { n, m in
    ModelKind.allCases.flatMap { model in [1, 0.3].map { FastPathCase(model: model, n: n, m: m, p: $0, batchSize: 37) } }
} + [(2, 1), (5, 2), (6, 3), (3, 6), (17, 3), (40, 1)].flatMap { n, m in
    ModelKind.allCases.map { FastPathCase(model: $0, n: n, m: m, p: 0.5, batchSize: 300) }
}

@Test(arguments: fixedShapeCases)
func fusedKernelsOfFixedShapesMatchTheDoubleReference(_ c: FastPathCase) {
    let (state, r) = c.makeState()
    var referenceSquared = pow(norm(r.gradW), 2) + pow(norm(r.gradBias), 2)
    if let gW2 = r.gradW2 { referenceSquared += pow(norm(gW2), 2) }
    for fused in [PathChoice.dense, .sparse] {
        let paths = PassPaths(inputs: .dense, outputGradients: .dense, fusedSmallModel: fused)
        let loss = state.pass(computeGradients: true, paths: paths)
        let g = state.gradients()
        var diff2 = pow(norm(difference(unflatten(g.W, rows: c.m), r.gradW)), 2)
            + pow(norm(difference(g.bias.map(Double.init), r.gradBias)), 2)
        if let gW2 = g.W2, let rW2 = r.gradW2 { diff2 += pow(norm(difference(unflatten(gW2, rows: c.n), rW2)), 2) }
        #expect(diff2.squareRoot() <= 2e-5 * referenceSquared.squareRoot() + 1e-9, "\(paths): gradient error \(diff2.squareRoot())")
        #expect(Swift.abs(loss - r.loss) <= 1e-5 * r.loss + 1e-7, "\(paths): loss \(loss) vs \(r.loss)")
    }
}

@Test(arguments: fixedShapeCases.filter { $0.batchSize == 300 })
func fusedKernelSumsTheSameByBlockAndByVector(_ c: FastPathCase) {
    // Block by block, each lane-wise sum takes the vectors in the order vector by vector does: the same bits.
    let (state, _) = c.makeState()
    func run(byBlock: Bool) -> (loss: Double, gradients: [Float]) {
        let loss = state.pass(computeGradients: true, paths: PassPaths(inputs: .dense, outputGradients: .dense,
                                                                         fusedSmallModel: .dense, fusedBlockSums: byBlock))
        let g = state.gradients()
        return (loss, g.W + (g.W2 ?? []) + g.bias)
    }
    let byBlock = run(byBlock: true), byVector = run(byBlock: false)
    #expect(byBlock.loss == byVector.loss)
    #expect(byBlock.gradients == byVector.gradients)
    #expect(byBlock.gradients.contains { $0 != 0 })
}

@Test(arguments: [ModelKind.reluOutput, .abs, .linear])
func denseAndCSRCopiesOfABatchGiveIdenticalPasses(model: ModelKind) {
    // A lane-drawn batch held densely, and the same values handed over as CSR, take the same kernels and
    // give bit-identical loss and gradients, for both input paths.
    for p: Float in [1, 0.3] {
        let n = 400, m = 30, B = 300
        let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .independent,
                                     signed: model == .abs)
        var rng = RandomStream(seed: 9)
        let (W, W2) = ToyModelWeights.initialParameters(model: model, featureCount: n, hiddenCount: m, rng: &rng)
        let importance = (0..<n).map { Float(pow(0.99, Double($0))) }
        let bias = (0..<n).map { Float($0 % 7) * 0.01 - 0.03 }
        func state() -> InstanceState {
            InstanceState(model: model, featureCount: n, hiddenCount: m, importance: importance, sampler: sampler,
                          dataStream: RandomStream(seed: 3), W: W, W2: W2, bias: bias, batchSize: B)
        }
        let dense = state(), csr = state()
        dense.sampleTrainingBatch()
        #expect(dense.denseBatchIsCurrent)
        var stream = RandomStream(seed: 3)
        csr.batch = sampler.sample(batchSize: B, rng: &stream)
        #expect(stream.next() == dense.dataStream.next(), "both draws used the same stream positions")
        for inputs in [PathChoice.dense, .sparse] {
            let paths = PassPaths(inputs: inputs, outputGradients: .automatic)
            let a = dense.pass(computeGradients: true, paths: paths), b = csr.pass(computeGradients: true, paths: paths)
            #expect(a == b)
            #expect(dense.gradients().W == csr.gradients().W)
            #expect(dense.gradients().W2 == csr.gradients().W2)
            #expect(dense.gradients().bias == csr.gradients().bias)
        }
    }
}

/// The batch of `state` passed as a split batch: its chunks in reverse order on two workspaces (as workers
/// sharing it might), then the finish; returns the loss.
private func passAsSplitBatch(_ state: InstanceState, batchSize: Int) -> Double {
    state.prepareSplitBatch()
    let workspaces = [PassWorkspace(for: state), PassWorkspace(for: state)]
    for chunk in (0..<state.chunkCount(batchSize: batchSize)).reversed() {
        state.passChunkOfSplitBatch(chunk, workspace: workspaces[chunk % 2])
    }
    return state.finishSplitPass()
}

@Test(arguments: ModelKind.allCases)
func aBatchSplitIntoChunksGivesTheWholePassBitForBit(model: ModelKind) {
    // Chunks computed separately (as workers sharing a batch do) and summed in order equal the pass.
    let c = FastPathCase(model: model, n: 400, m: 17, p: 0.3, batchSize: 500)
    let (state, _) = c.makeState()
    let loss = state.pass(computeGradients: true)
    let whole = state.gradients()
    #expect(passAsSplitBatch(state, batchSize: c.batchSize) == loss)
    let split = state.gradients()
    #expect(split.W == whole.W)
    #expect(split.W2 == whole.W2)
    #expect(split.bias == whole.bias)
}

@Test(arguments: [ModelKind.reluOutput, .linear])
func aBatchSplitIntoChunksGivesTheWholePassBitForBitOnTheGramPath(model: ModelKind) {
    // Split chunks keep their rows' δ and the finish sums A = Σ x δᵀ from them in batch order, as the whole
    // pass sums it chunk by chunk: the same bits.
    let c = FastPathCase(model: model, n: 400, m: 17, p: 0.01, batchSize: 500)
    let state = makeState(c.problem(), gramProducts: true)
    #expect(state.usesGramPath(.automatic) && state.chunkCount(batchSize: c.batchSize) == 4)
    let loss = state.pass(computeGradients: true)
    let whole = state.gradients()
    #expect(whole.W.contains { $0 != 0 })
    #expect(state.usesGramPath(.automatic), "dense output gradients: the split batch takes the Gram path too")
    #expect(passAsSplitBatch(state, batchSize: c.batchSize) == loss)
    let split = state.gradients()
    #expect(split.W == whole.W)
    #expect(split.bias == whole.bias)
    #expect(state.pass(computeGradients: false) == loss, "the forward-only pass gives the same loss")
}

@Test func weightsAreBitIdenticalAcrossThreadsWhenTheOutputGradientsTurnSparse() throws {
    // One 400→30 instance at p = 0.01, I = 1: its δ density falls below the sparse output path's threshold
    // after ~200 steps, so the next batch's path hangs on every chunk's count of non-zero δ. Workers sharing
    // the batch once wrote those counts through one instance-wide field, and 2 threads then diverged from 1
    // after 200–250 steps; each worker now counts in its own workspace.
    var config = TrainingConfig.standard(model: .reluOutput, featureCount: 400, hiddenCount: 30,
                                         featureProbabilities: [0.01], importanceDecay: 1, steps: 300, seed: 0)
    config.evaluationBatches = 1
    config.lossLogPoints = 4
    try expectTheSameRunOnOneTwoAndFourThreads(config)
}

/// Trains `config` on 1, 2 and 4 threads and expects the same weights, loss curve and final losses.
private func expectTheSameRunOnOneTwoAndFourThreads(_ config: TrainingConfig) throws {
    let one = try Trainer(config: config, threads: 1).train()
    for threads in [2, 4] {
        let other = try Trainer(config: config, threads: threads).train()
        #expect(other.weights == one.weights, "\(config.instanceCount) instance(s) on \(threads) threads changed the weights")
        #expect(other.lossCurve == one.lossCurve)
        #expect(other.finalLoss == one.finalLoss)
    }
}

@Test func gramPathWeightsAreBitIdenticalAcrossThreads() throws {
    // 200→20 at p = 0.01 with batches of 512 rows: the plan takes the Gram path; one or three instances on
    // up to four threads (one instance: its 4 chunks shared between workers).
    for instances in [1, 3] {
        var config = TrainingConfig.standard(model: .reluOutput, featureCount: 200, hiddenCount: 20,
                                             featureProbabilities: [Float](repeating: 0.01, count: instances),
                                             importanceDecay: 0.99, steps: 12, batchSize: 512, learningRate: 1e-2, seed: 5)
        config.evaluationBatches = 1
        config.lossLogPoints = 4
        #expect(BatchPlan(model: .reluOutput, featureCount: 200, hiddenCount: 20, batchSize: 512, drawing: .skips,
                          uniformProbability: 0.01).gramProducts)
        try expectTheSameRunOnOneTwoAndFourThreads(config)
    }
}

@Test(arguments: [FastPathCase(model: .abs, n: 100, m: 40, p: 0.03, batchSize: 1024),
                  FastPathCase(model: .reluOutput, n: 400, m: 30, p: 0.01, batchSize: 300),
                  FastPathCase(model: .reluHidden, n: 64, m: 100, p: 0.3, batchSize: 200)])
func theSparseOutputBackwardGivesTheSameBitsInRowBlocksOfAnySize(_ c: FastPathCase) {
    // Blocks of 16 rows, an uneven 48, the shape's own choice, and the whole chunk as one block.
    let (state, _) = c.makeState()
    let sparse = PassPaths(inputs: .sparse, outputGradients: .sparse)
    state.sparseOutputBlockRowsOverride = state.chunkRows
    let loss = state.pass(computeGradients: true, paths: sparse)
    let whole = state.gradients()
    for rows in [16, 48, nil] as [Int?] {
        state.sparseOutputBlockRowsOverride = rows
        #expect(state.pass(computeGradients: true, paths: sparse) == loss)
        let blocked = state.gradients()
        #expect(blocked.W == whole.W && blocked.W2 == whole.W2 && blocked.bias == whole.bias,
                "\(c.testDescription), blocks of \(rows ?? state.sparseOutputBlockRows) rows")
    }
}

@Test(arguments: [(ModelKind.reluOutput, Float(0.02)), (.abs, 0.3), (.linear, 1)])
func weightsAreBitIdenticalWhenBatchesAreSplitAcrossThreads(model: ModelKind, p: Float) throws {
    // One or three instances on up to four threads: batches of 3 chunks are shared between workers.
    for instances in [1, 3] {
        var config = TrainingConfig.standard(model: model, featureCount: 400, hiddenCount: 9,
                                             featureProbabilities: [Float](repeating: p, count: instances),
                                             importanceDecay: 0.99, steps: 12, batchSize: 300, learningRate: 1e-2, seed: 5)
        config.evaluationBatches = 1
        config.lossLogPoints = 4
        try expectTheSameRunOnOneTwoAndFourThreads(config)
    }
}

@Test(arguments: [Float(1), 0.5, 0.05])
func laneDrawsGiveTheSameBatchDenseAndAsCSR(p: Float) {
    let n = 13, B = 45
    for signed in [false, true] {
        let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .independent,
                                     signed: signed)
        #expect(sampler.drawsLanes)
        var a = RandomStream(seed: 11), b = RandomStream(seed: 11)
        let stride = 48
        var dense = [Float](repeating: .nan, count: n * stride)
        dense.withUnsafeMutableBufferPointer { sampler.drawDense(batchSize: B, into: $0.baseAddress!, stride: stride, rng: &a) }
        let csr = sampler.sample(batchSize: B, rng: &b)
        #expect(a.next() == b.next())
        let rows = csr.dense
        for r in 0..<stride {
            for i in 0..<n { #expect(dense[i * stride + r] == (r < B ? rows[r][i] : 0), "row \(r) feature \(i)") }
        }
    }
}

@Test func skipSamplingBelowTheThresholdIsUnchanged() {
    // Below `BatchPlan.skipBelow` the sampler keeps its geometric skips: the batch is a function of the stream as before.
    let p: Float = 0.01, n = 50, B = 64
    let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .independent, signed: false)
    #expect(!sampler.drawsLanes)
    var rng = RandomStream(seed: 21), replay = RandomStream(seed: 21)
    let batch = sampler.sample(batchSize: B, rng: &rng)
    var expected: [(Int, Float)] = []
    let logQ = log(1 - Double(p))
    var position = replay.nextGeometricGap(logOneMinusP: logQ)
    while position < B * n {
        expected.append((position, replay.nextUnitFloat()))
        position += 1 + replay.nextGeometricGap(logOneMinusP: logQ)
    }
    let got = (0..<B).flatMap { b in (Int(batch.rowStart[b])..<Int(batch.rowStart[b + 1])).map { (b * n + Int(batch.columns[$0]), batch.values[$0]) } }
    #expect(got.map(\.0) == expected.map(\.0))
    #expect(got.map(\.1) == expected.map(\.1))
}

@Test func chunkRowsDependOnlyOnBatchSizeAndFeatureCount() {
    #expect(InstanceState.chunkRows(batchSize: 1024, featureCount: 400) == 128)
    #expect(InstanceState.chunkRows(batchSize: 1024, featureCount: 100) == 512)
    #expect(InstanceState.chunkRows(batchSize: 1024, featureCount: 5) == 1024)
    #expect(InstanceState.chunkRows(batchSize: 7, featureCount: 5) == 16)
    #expect(InstanceState.chunkRows(batchSize: 1024, featureCount: 10_000) == 128)
}
