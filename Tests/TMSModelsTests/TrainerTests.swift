import Foundation
import Testing
import TMSCore
import TMSTestSupport
@testable import TMSModels

// The trainer: determinism across thread counts, best-of-N, learning outcomes against the closed forms of
// SPEC §8, logging, progress, snapshots and divergence.

private func smallConfig(model: ModelKind, bestOf: Int = 1, steps: Int = 300) -> TrainingConfig {
    var c = TrainingConfig.standard(model: model, featureCount: 6, hiddenCount: 3,
                                    featureProbabilities: [1, 0.3, 0.1, 0.05, 0.02],
                                    importanceDecay: 0.9, distribution: .independent,
                                    steps: steps, batchSize: 64, learningRate: 1e-2, bestOf: bestOf, seed: 42)
    c.lossLogPoints = 20
    c.evaluationBatches = 2
    return c
}

@Test(arguments: ModelKind.allCases)
func weightsAreBitIdenticalForOneTwoAndFourThreads(model: ModelKind) throws {
    let config = smallConfig(model: model, bestOf: 2)
    let one = try Trainer(config: config, threads: 1).train()
    for threads in [2, 4] {
        let other = try Trainer(config: config, threads: threads).train()
        #expect(other.weights == one.weights, "\(threads) threads changed the weights")
        #expect(other.seedLosses == one.seedLosses)
        #expect(other.finalLoss == one.finalLoss)
        #expect(other.keptSeed == one.keptSeed)
        #expect(other.lossCurve == one.lossCurve)
    }
}

@Test func trainingIsDeterministicForASeedAndDependsOnIt() throws {
    var config = smallConfig(model: .reluOutput, steps: 50)
    let a = try Trainer(config: config, threads: 2).train()
    let b = try Trainer(config: config, threads: 2).train()
    #expect(a.weights == b.weights)
    config.seed = 43
    let c = try Trainer(config: config, threads: 2).train()
    #expect(a.weights != c.weights)
}

@Test func instancesDoNotDependOnHowManyOthersAreTrained() throws {
    // Instance k's streams are split from (seed, k), so instance 0 alone equals instance 0 of a larger run.
    let full = smallConfig(model: .reluHidden)
    var single = TrainingConfig.standard(model: .reluHidden, featureCount: 6, hiddenCount: 3, featureProbabilities: [1],
                                         importanceDecay: 0.9, steps: full.steps, batchSize: full.batchSize,
                                         learningRate: full.learningRate, seed: full.seed)
    single.lossLogPoints = full.lossLogPoints
    single.evaluationBatches = full.evaluationBatches
    let a = try Trainer(config: full, threads: 2).train()
    let b = try Trainer(config: single, threads: 1).train()
    #expect(a.weights.weightMatrix(instance: 0) == b.weights.weightMatrix(instance: 0))
    #expect(a.weights.bias(instance: 0) == b.weights.bias(instance: 0))
    #expect(a.finalLoss[0] == b.finalLoss[0])
}

@Test func bestOfKeepsTheSeedWithTheLowestEvaluationLoss() throws {
    let config = smallConfig(model: .reluOutput, bestOf: 4, steps: 60)
    let result = try Trainer(config: config, threads: 2).train()
    #expect(result.seedLosses.count == config.instanceCount)
    for k in 0..<config.instanceCount {
        let losses = result.seedLosses[k]
        #expect(losses.count == 4)
        let argmin = losses.indices.min { losses[$0] < losses[$1] }!
        #expect(result.keptSeed[k] == argmin, "instance \(k): kept \(result.keptSeed[k]) of \(losses)")
        #expect(result.finalLoss[k] == losses[argmin])
        #expect(Set(losses).count > 1, "instance \(k): all seeds gave the same loss, so best-of chose nothing")
    }
}

@Test func keptWeightsReproduceTheReportedEvaluationLoss() throws {
    // Re-evaluating the returned weights on the trainer's evaluation batches (stream split(k, 2^40),
    // `evaluationBatchCount(instance:)` batches) gives the
    // reported final loss exactly: the weights returned are the kept seed's.
    let config = smallConfig(model: .abs, bestOf: 3, steps: 60)
    let result = try Trainer(config: config, threads: 2).train()
    let root = RandomStream(seed: config.seed)
    for k in 0..<config.instanceCount {
        let sampler = FeatureSampler(featureCount: config.featureCount, probability: config.featureProbability[k],
                                     distribution: config.distribution, signed: true)
        let state = InstanceState(model: config.model, featureCount: config.featureCount, hiddenCount: config.hiddenCount,
                                  importance: config.importance[k], sampler: sampler, dataStream: root.split(UInt64(k), 1 << 40),
                                  W: result.weights.weightMatrix(instance: k).values,
                                  W2: result.weights.outputMatrix(instance: k)?.values,
                                  bias: result.weights.bias(instance: k), batchSize: config.batchSize)
        let batches = config.evaluationBatchCount(instance: k)
        var total = 0.0
        for _ in 0..<batches {
            state.sampler.sample(batchSize: config.batchSize, into: &state.batch, rng: &state.dataStream)
            total += state.pass(computeGradients: false)
        }
        #expect(Float(total / Double(batches)) == result.finalLoss[k], "instance \(k)")
    }
}

@Test func bestOfSeedZeroIsTheSingleSeedRun() throws {
    let single = try Trainer(config: smallConfig(model: .linear, bestOf: 1, steps: 60), threads: 1).train()
    let best = try Trainer(config: smallConfig(model: .linear, bestOf: 3, steps: 60), threads: 1).train()
    for k in 0..<single.config.instanceCount {
        #expect(best.seedLosses[k][0] == single.finalLoss[k])
        if best.keptSeed[k] == 0 {
            #expect(best.weights.weightMatrix(instance: k) == single.weights.weightMatrix(instance: k))
        }
    }
}

// MARK: - Learning outcomes (SPEC §7 sparsity-sweep at 1 − S = 1, SPEC §8 closed forms)

/// n = 20, m = 5, I_i = 0.7^i, p = 1. Optimum: the top 5 features orthonormal, the others dropped with bias
/// p/2, loss σ²(p)·Σ_{i≥5} I_i / n = 0.0023232 per feature (SPEC §8).
private func denseSweepConfig(_ model: ModelKind) -> TrainingConfig {
    TrainingConfig.standard(model: model, featureCount: 20, hiddenCount: 5, featureProbabilities: [1], importanceDecay: 0.7,
                            steps: 3000, batchSize: 1024, learningRate: 3e-3, seed: 3)
}

private let closedFormDenseLoss: Double = {
    let p = 1.0
    let variance = p / 3 - p * p / 4
    return variance * (5..<20).reduce(0.0) { $0 + pow(0.7, Double($1)) } / 20
}()

@Test func closedFormLossOfTheDenseSweepIsTheSpecValue() {
    #expect(Swift.abs(closedFormDenseLoss - 0.0023232) < 1e-7)
}

@Test(arguments: [ModelKind.reluOutput, .linear])
func denseModelLearnsTheFiveMostImportantFeaturesAtTheClosedFormLoss(model: ModelKind) throws {
    let result = try Trainer(config: denseSweepConfig(model), threads: 2).train()
    let W = result.weights.weightMatrix(instance: 0)
    let norms = (0..<20).map { i in W.column(i).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
    for i in 0..<5 { #expect(norms[i] > 0.9, "feature \(i) norm \(norms[i])") }
    for i in 5..<20 { #expect(norms[i] < 0.1, "feature \(i) norm \(norms[i])") }
    // The learned features are orthogonal: |Ŵ_i·Ŵ_j| small for the top five.
    for i in 0..<5 {
        for j in (i + 1)..<5 {
            let dot = zip(W.column(i), W.column(j)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            #expect(Swift.abs(dot) / (norms[i] * norms[j]) < 0.1, "features \(i), \(j) overlap")
        }
    }
    // Evaluation noise on 8 × 1024 rows is ≈ 1 %; the optimum cannot be beaten by more than that.
    let loss = Double(result.finalLoss[0])
    #expect(Swift.abs(loss - closedFormDenseLoss) <= 0.03 * closedFormDenseLoss, "loss \(loss) vs closed form \(closedFormDenseLoss)")
    // The loss curve goes down.
    let curve = result.lossCurve.values[0]
    #expect(curve.allSatisfy { $0.isFinite })
    #expect(curve.last! < curve.first! / 5)
}

@Test func droppedFeaturesOfADenseReluOutputModelHaveBiasHalfP() throws {
    // A dropped feature's optimal bias is E[x_i] = p/2 (SPEC §8); p = 1 here.
    let result = try Trainer(config: denseSweepConfig(.reluOutput), threads: 2).train()
    let bias = result.weights.bias(instance: 0)
    for i in 10..<20 { #expect(Swift.abs(Double(bias[i]) - 0.5) < 0.02, "feature \(i) bias \(bias[i])") }
    let mean = (10..<20).reduce(0.0) { $0 + Double(bias[$1]) } / 10
    #expect(Swift.abs(mean - 0.5) < 0.01, "mean dropped bias \(mean)")
}

@Test func zeroWeightsEvaluateToTheMeanSquareOfTheData() {
    // With W = 0 and b = 0, x′ = 0 and the loss is mean_i I_i E[x_i²] = p/3 (SPEC §8: E[x²] = p/3).
    let config = TrainingConfig.standard(model: .reluOutput, featureCount: 4, hiddenCount: 2, featureProbabilities: [1, 0.2],
                                         steps: 1, batchSize: 1024)
    let zero = ToyModelWeights(model: .reluOutput, featureCount: 4, hiddenCount: 2, instanceCount: 2,
                               W: [Float](repeating: 0, count: 16), W2: nil, bias: [Float](repeating: 0, count: 8))
    let losses = config.evaluate(zero, batches: 8, seed: 1)
    let samples = Double(8 * 1024 * 4)
    for (k, p) in [1.0, 0.2].enumerated() {
        // x² has mean p/3 and variance p/5 − p²/9.
        let sd = ((p / 5 - p * p / 9) / samples).squareRoot()
        #expect(Swift.abs(Double(losses[k]) - p / 3) <= 5 * sd, "instance \(k): \(losses[k]) vs \(p / 3)")
    }
}

// MARK: - Logging, progress, snapshots, errors

@Test func loggedStepsAreEvenlySpacedWithFirstAndLast() {
    var config = smallConfig(model: .linear, steps: 10)
    config.lossLogPoints = 4
    #expect(Trainer(config: config).loggedSteps == [0, 3, 6, 9])
    config.lossLogPoints = 1
    #expect(Trainer(config: config).loggedSteps == [9])
    config.lossLogPoints = 50
    #expect(Trainer(config: config).loggedSteps == Array(0..<10))
}

@Test func lossCurveHasOneFiniteValuePerLoggedStep() throws {
    let config = smallConfig(model: .reluOutput, steps: 40)
    let result = try Trainer(config: config, threads: 2).train()
    #expect(result.lossCurve.steps == Trainer(config: config).loggedSteps)
    #expect(result.lossCurve.values.count == config.instanceCount)
    for curve in result.lossCurve.values {
        #expect(curve.count == result.lossCurve.steps.count)
        #expect(curve.allSatisfy { $0.isFinite && $0 > 0 })
    }
}

@Test func progressIsReportedInOrderAndEndsAtTheLastStep() throws {
    let config = smallConfig(model: .linear, steps: 250)
    let recorder = ProgressRecorder()
    _ = try Trainer(config: config, threads: 1).train(progress: recorder.record)
    #expect(!recorder.steps.isEmpty)
    #expect(recorder.steps == recorder.steps.sorted())
    #expect(Set(recorder.steps).count == recorder.steps.count)
    #expect(recorder.steps.last == 250)
    #expect(recorder.totals.allSatisfy { $0 == 250 })
}

private final class ProgressRecorder: @unchecked Sendable {
    var steps: [Int] = []
    var totals: [Int] = []
    func record(_ p: TrainingProgress) { steps.append(p.step); totals.append(p.totalSteps) }
}

@Test func snapshotsAreTakenEveryNStepsAndTheLastOneIsTheResult() throws {
    let config = smallConfig(model: .reluOutput, steps: 45)
    let result = try Trainer(config: config, threads: 2).train(snapshotEvery: 10)
    #expect(result.snapshots.map(\.step) == [0, 10, 20, 30, 40, 45])
    #expect(result.snapshots.last!.weights == result.weights)
    #expect(result.snapshots[0].weights != result.weights)
}

@Test func trainingValidatesTheConfig() {
    var config = smallConfig(model: .linear)
    config.learningRate = -1
    #expect(throws: ConfigError("--lr / learningRate: -1.0 is invalid; it must be a positive finite number")) {
        try Trainer(config: config).train()
    }
}

@Test func divergingTrainingStopsWithAOneLineError() {
    var config = smallConfig(model: .linear, steps: 20)
    config.learningRate = 1e30
    do {
        _ = try Trainer(config: config, threads: 2).train()
        Issue.record("training with lr 1e30 did not report divergence")
    } catch let error as TrainingError {
        guard case .nonFiniteLoss(_, let run, let runs, let step) = error else {
            Issue.record("expected a non-finite loss, got \(error)")
            return
        }
        #expect(run == 1 && runs == 1)
        #expect(step >= 1 && step < 20)
        #expect(error.description.hasPrefix("training diverged: the loss of instance "))
        #expect(!error.description.contains("\n"))
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Test(arguments: [(steps: 250, every: 5), (steps: 300, every: 7), (steps: 1000, every: 15)])
func snapshotsAreTakenAtEveryMultipleOfTheInterval(_ c: (steps: Int, every: Int)) throws {
    // `snapshotEvery: N` must give a snapshot of the initialisation (step 0), after steps N, 2N, 3N, … and after
    // the last step, whatever the
    // trainer's internal chunk of steps per dispatch (steps/100).
    var config = TrainingConfig.standard(model: .reluOutput, featureCount: 5, hiddenCount: 2, featureProbabilities: [0.1],
                                         steps: c.steps, batchSize: 8, seed: 1)
    config.evaluationBatches = 1
    let result = try Trainer(config: config, threads: 1).train(snapshotEvery: c.every)
    var expected = [0] + Array(stride(from: c.every, through: c.steps, by: c.every))
    if expected.last != c.steps { expected.append(c.steps) }
    #expect(result.snapshots.map(\.step) == expected)
}

// MARK: - The first steps against a Double re-implementation of the training loop

@Test(arguments: ModelKind.allCases)
func firstStepsMatchADoubleTrainingLoopOnTheSameBatches(model: ModelKind) throws {
    // Same initial weights (split(k, 0, 0)), same batches (split(k, 0, 1)), reference loss and gradient in
    // Double, PyTorch's Adam in Double: the trainer's logged losses and final weights agree to Float precision.
    var config = TrainingConfig.standard(model: model, featureCount: 5, hiddenCount: 3, featureProbabilities: [1, 0.3],
                                         importanceDecay: 0.8, steps: 6, batchSize: 16, learningRate: 1e-2, seed: 77)
    config.lossLogPoints = 6
    config.evaluationBatches = 1
    let result = try Trainer(config: config, threads: 2).train()
    #expect(result.lossCurve.steps == [0, 1, 2, 3, 4, 5])
    let root = RandomStream(seed: config.seed)
    let (n, m) = (config.featureCount, config.hiddenCount)
    for k in 0..<config.instanceCount {
        var initStream = root.split(UInt64(k), 0, 0)
        let (w0, w20) = ToyModelWeights.initialParameters(model: model, featureCount: n, hiddenCount: m, rng: &initStream)
        var W = unflatten(w0, rows: m), W2 = w20.map { unflatten($0, rows: n) }, b = [Double](repeating: 0, count: n)
        var mW = W.map { $0.map { _ in 0.0 } }, vW = mW, mW2 = W2?.map { $0.map { _ in 0.0 } }, vW2 = mW2
        var mb = b, vb = b
        var data = root.split(UInt64(k), 0, 1)
        let sampler = FeatureSampler(featureCount: n, probability: config.featureProbability[k], distribution: .independent,
                                     signed: model == .abs)
        let importance = config.importance[k].map(Double.init)
        let (lr, b1, b2, eps) = (config.learningRate, config.beta1, config.beta2, config.epsilon)
        func adam(_ p: inout Double, _ g: Double, _ m: inout Double, _ v: inout Double, _ t: Int) {
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p -= lr * (m / (1 - pow(b1, Double(t)))) / ((v / (1 - pow(b2, Double(t)))).squareRoot() + eps)
        }
        for t in 0..<config.steps {
            let batch = sampler.sample(batchSize: config.batchSize, rng: &data).dense.map { $0.map(Double.init) }
            let r = ReferenceModel.lossAndGradients(model: model, W: W, W2: W2, bias: b, importance: importance, batch: batch)
            let logged = Double(result.lossCurve.values[k][t])
            #expect(Swift.abs(logged - r.loss) <= 1e-4 * r.loss, "instance \(k) step \(t): \(logged) vs \(r.loss)")
            for i in 0..<m { for j in 0..<n { adam(&W[i][j], r.gradW[i][j], &mW[i][j], &vW[i][j], t + 1) } }
            if let g2 = r.gradW2 {
                for i in 0..<n { for j in 0..<m { adam(&W2![i][j], g2[i][j], &mW2![i][j], &vW2![i][j], t + 1) } }
            }
            for i in 0..<n { adam(&b[i], r.gradBias[i], &mb[i], &vb[i], t + 1) }
        }
        let trained = result.weights.weightMatrix(instance: k).values.map(Double.init)
        #expect(zip(trained, W.flatMap { $0 }).allSatisfy { Swift.abs($0 - $1) < 1e-5 }, "instance \(k) W")
        if let W2 {
            let trained2 = result.weights.outputMatrix(instance: k)!.values.map(Double.init)
            #expect(zip(trained2, W2.flatMap { $0 }).allSatisfy { Swift.abs($0 - $1) < 1e-5 }, "instance \(k) W2")
        }
        #expect(zip(result.weights.bias(instance: k).map(Double.init), b).allSatisfy { Swift.abs($0 - $1) < 1e-5 }, "instance \(k) b")
    }
}

@Test func aFiniteButExplodedLossIsDivergenceNamingTheBestOfRun() {
    // lr 1e3 on a linear model: the loss stays finite (~1e20) but ends far above where it started.
    var config = smallConfig(model: .linear, bestOf: 2, steps: 20)
    config.learningRate = 1e3
    config.seed = 3
    do {
        let result = try Trainer(config: config, threads: 2).train()
        Issue.record("training with lr 1e3 succeeded with final losses \(result.finalLoss)")
    } catch let error as TrainingError {
        guard case .lossExploded(let k, let run, let runs, let steps, let final, let reference) = error else {
            Issue.record("expected an exploded loss, got \(error)")
            return
        }
        #expect(k == 0 && run == 1 && runs == 2 && steps == 20)
        #expect(final > Trainer.divergenceFactor * reference)
        #expect(error.description.hasPrefix("training diverged: the final loss of instance 0 (best-of run 1 of 2) after 20 steps is "))
        #expect(!error.description.contains("seed") && !error.description.contains("\n"))
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Test(arguments: [ModelKind.reluOutput, .abs])
func aHugeLearningRateIsAnErrorNotASuccess(model: ModelKind) {
    // lr 2e8 (issue: it used to exit 0 with a final loss of 1e34): some TrainingError, one line, no "seed".
    var config = TrainingConfig.standard(model: model, featureCount: 5, hiddenCount: 2, featureProbabilities: [1, 0.1],
                                         steps: 50, batchSize: 64, learningRate: 2e8, bestOf: 3, seed: 3)
    config.evaluationBatches = 1
    #expect {
        try Trainer(config: config, threads: 2).train()
    } throws: { error in
        guard let error = error as? TrainingError else { return false }
        return error.description.hasPrefix("training diverged: ") && error.description.contains("best-of run ")
            && error.description.contains(" of 3)") && !error.description.contains("seed")
    }
}

@Test func divergenceReferenceIsTheLargerOfFirstLossAndTheZeroModelLoss() {
    // Zero-model loss Σ_i I_i p_i / (3n): p = 0.3, I = 1 → 0.1.
    let config = TrainingConfig.standard(model: .reluOutput, featureCount: 4, hiddenCount: 2, featureProbabilities: [0.3])
    #expect(Swift.abs(Trainer.divergenceReference(firstStepLoss: 0, config: config, instance: 0) - 0.1) < 1e-7)
    #expect(Trainer.divergenceReference(firstStepLoss: 0.5, config: config, instance: 0) == 0.5)
}

@Test func loggedStepsAndRatesAreSafeForHugeStepCounts() {
    var config = smallConfig(model: .linear, steps: Int.max)
    config.lossLogPoints = 5
    let steps = Trainer(config: config).loggedSteps
    #expect(steps.count == 5 && steps.first == 0 && steps.last == Int.max - 1)
    #expect(steps == steps.sorted() && Set(steps).count == 5)
    for schedule in LearningRateSchedule.allCases {
        for t in [0, Int.max / 2, Int.max - 1] {
            let rate = schedule.rate(base: 1e-3, step: t, total: Int.max, warmup: 10)
            #expect(rate.isFinite && rate >= 0 && rate <= 1e-3, "\(schedule) at step \(t): \(rate)")
        }
    }
}
