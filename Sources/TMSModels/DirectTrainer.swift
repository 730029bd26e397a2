import Foundation
import TMSCore

/// A sparse input row: the active features and their values (every other feature is 0).
public struct SparseRow: Sendable, Equatable {
    public var features: [Int32]
    public var values: [Float]
    public init(features: [Int32], values: [Float]) {
        precondition(features.count == values.count, "one value per active feature")
        self.features = features; self.values = values
    }
}

/// Trains ONE tied ReLU-output model x′ = ReLU(WᵀW x + b) on batches its caller supplies, single-threaded
/// (so bit-identical for a seed): for data the `TrainingConfig` distributions cannot express, such as fixed
/// training sets of T points (double descent, Henighan et al. 2023) or correlated sets of features
/// (learning dynamics, Elhage et al. 2022 §"Learning Dynamics"); docs/models.md#direct-trainer.
///
/// Loss per row: (1/n) Σ_j I_j (ReLU(z_j) − x_j)², z = Wᵀ(W x) + b, averaged over the batch; Adam/AdamW as
/// in PyTorch (AdamW: p ← p − lr·λ·p before the Adam step); the learning rate follows `schedule`. W starts as
/// N(0, 2/(n + m)) from `RandomStream(seed)`, b at 0, unless `initialW`/`initialBias` are given.
///
/// With `outputThreshold` θ > 0 the output is a JumpReLU, x′_j = z_j·1[z_j > θ]: an output is either off or
/// the full z_j, so interference below θ − b_j is ignored without the bias also shrinking the feature's own
/// output (the interference-tolerant model of docs/models.md#direct-trainer). θ is fixed, not learned; the
/// gradient is 1[z_j > θ]·∂L/∂x′_j, i.e. the jump itself carries no gradient (its derivative is a Dirac delta
/// at z_j = θ, ignored as in a ReLU's kink). θ = 0 is exactly the ReLU: same losses and weights, bit for bit.
/// With `errorTolerance` ε > 0 the loss is ε-insensitive instead, (1/n) Σ_j I_j max(0, |x′_j − x_j| − ε)²: any
/// error up to ε, interference included, costs nothing; ε = 0 is exactly the squared error. `interferenceTolerance`
/// ε_I forgives only interference: an output whose target is 0 costs max(0, |x′_j| − max(ε, ε_I))², while the
/// active features' errors keep tolerance ε.
///
/// With `jumpKernelWidth` κ the jump gets a straight-through pseudo-derivative, as θ does in JumpReLU SAEs
/// (Rajamanoharan et al. 2024; docs/sae.md#loss): the jump's derivative θ·δ(z − θ) is replaced by the rectangle
/// (θ/κ)·1[|z − θ| < κ/2], so ∂x′_j/∂z_j ≈ 1[z_j > θ] + (θ/κ)·1[|z_j − θ| < κ/2] and an output just below θ
/// whose target is larger gets a gradient that can lift it over θ (docs/models.md#direct-trainer). The loss is
/// unchanged; only its gradient within κ/2 of θ differs. nil (the default) is the masked gradient above, and at
/// θ = 0 (no jump) any κ is the ReLU too, bit for bit.
public struct DirectTrainer: Sendable {
    public var featureCount: Int
    public var hiddenCount: Int
    public var importance: [Float]
    public var steps: Int
    public var learningRate: Double
    public var schedule: LearningRateSchedule = .constant
    public var warmupSteps: Int = 0
    public var optimizer: OptimizerKind = .adam
    public var weightDecay: Double = 0
    public var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
    public var seed: UInt64 = 0
    /// θ ≥ 0 of the JumpReLU output z·1[z > θ]; 0 (the default) is the paper's ReLU output.
    public var outputThreshold: Float = 0
    /// ε ≥ 0 of the ε-insensitive loss max(0, |x′ − x| − ε)²; 0 (the default) is the paper's squared error.
    public var errorTolerance: Float = 0
    /// ε_I ≥ 0: outputs whose target is 0 cost max(0, |x′| − max(ε, ε_I))²; 0 (the default) changes nothing.
    public var interferenceTolerance: Float = 0
    /// κ > 0: the width of the rectangle kernel that gives the JumpReLU's jump a straight-through pseudo-derivative;
    /// nil (the default) masks the gradient by 1[z > θ].
    public var jumpKernelWidth: Float? = nil

    public init(featureCount: Int, hiddenCount: Int, importance: [Float]? = nil, steps: Int, learningRate: Double) {
        precondition(featureCount > 0 && hiddenCount > 0 && steps >= 0 && learningRate > 0)
        self.featureCount = featureCount; self.hiddenCount = hiddenCount
        self.importance = importance ?? [Float](repeating: 1, count: featureCount)
        self.steps = steps; self.learningRate = learningRate
    }

    public struct Result: Sendable {
        /// m×n; column i is W_i.
        public var W: Matrix
        public var bias: [Float]
        /// The training-batch loss before each step (index t = loss at step t), then after the last step.
        public var losses: [Float]
        /// (step, W, b) every `snapshotEvery` steps, step 0 and the last step included.
        public var snapshots: [(step: Int, W: Matrix, bias: [Float])]
    }

    /// The mean loss of (W, b) on `rows`, in Double; the output is z·1[z > θ] with θ = `outputThreshold`
    /// (0: ReLU) and each error e counts as max(0, |e| − ε)² with ε = `errorTolerance` (0: e²).
    public static func loss(W: Matrix, bias: [Float], importance: [Float], rows: [SparseRow], outputThreshold: Float = 0,
                            errorTolerance: Float = 0, interferenceTolerance: Float = 0) -> Double {
        guard !rows.isEmpty else { return 0 }
        let n = W.columnCount, m = W.rowCount
        var total = 0.0
        let theta = Double(outputThreshold)
        // z·1[z > 0] equals max(0, z) up to the sign of a zero output, which no square can see.
        let output = { (z: Double) -> Double in z > theta ? z : 0 }
        let epsilon = Double(errorTolerance)
        let shrink = { (e: Double) -> Double in Self.shrink(e, epsilon) }
        let epsilonOff = max(epsilon, Double(interferenceTolerance))
        let shrinkOff = { (e: Double) -> Double in Self.shrink(e, epsilonOff) }
        var h = [Double](repeating: 0, count: m)
        for row in rows {
            for k in 0..<m { h[k] = 0 }
            for (i, v) in zip(row.features, row.values) { for k in 0..<m { h[k] += Double(W[k, Int(i)]) * Double(v) } }
            let z = { (j: Int) -> Double in (0..<m).reduce(Double(bias[j])) { $0 + Double(W[$1, j]) * h[$1] } }
            // Every output against target 0, then the active features' terms corrected to target x_j.
            var s = 0.0
            for j in 0..<n { let out = shrinkOff(output(z(j))); s += Double(importance[j]) * out * out }
            for (i, v) in zip(row.features, row.values) {
                let j = Int(i), out = output(z(j)), x = Double(v), e = x == 0 ? shrinkOff(out) : shrink(out - x), zero = shrinkOff(out)
                s += Double(importance[j]) * (e * e - zero * zero)
            }
            total += s / Double(n)
        }
        return total / Double(rows.count)
    }

    /// Trains on `batch(step)` at every step.
    public func train(initialW: Matrix? = nil, initialBias: [Float]? = nil, snapshotEvery: Int? = nil,
                      batch: (Int) -> [SparseRow]) -> Result {
        precondition(outputThreshold >= 0 && outputThreshold.isFinite, "outputThreshold must be finite and ≥ 0")
        precondition(errorTolerance >= 0 && errorTolerance.isFinite, "errorTolerance must be finite and ≥ 0")
        precondition(interferenceTolerance >= 0 && interferenceTolerance.isFinite, "interferenceTolerance must be finite and ≥ 0")
        precondition(jumpKernelWidth.map { $0 > 0 && $0.isFinite } ?? true, "jumpKernelWidth must be finite and > 0 when set")
        let n = featureCount, m = hiddenCount
        var W: [Float]
        if let initialW {
            precondition(initialW.rowCount == m && initialW.columnCount == n)
            W = initialW.values
        } else {
            var rng = RandomStream(seed: seed)
            let std = (2.0 / Double(n + m)).squareRoot()
            W = (0..<(m * n)).map { _ in Float(rng.nextNormal() * std) }
        }
        var b = initialBias ?? [Float](repeating: 0, count: n)
        precondition(b.count == n)
        // Adam moments: W then b.
        let count = m * n + n
        var m1 = [Double](repeating: 0, count: count), m2 = [Double](repeating: 0, count: count)
        var grad = [Double](repeating: 0, count: count)
        var losses: [Float] = []
        var snapshots: [(step: Int, W: Matrix, bias: [Float])] = []
        var h = [Double](repeating: 0, count: m), dh = [Double](repeating: 0, count: m)
        var r = [Double](repeating: 0, count: n)
        var active = [Float](repeating: 0, count: n)
        let imp = importance.map(Double.init)
        let theta = Double(outputThreshold), tolerance = Double(errorTolerance)
        let toleranceOff = max(tolerance, Double(interferenceTolerance))
        let kernel = jumpKernelWidth.map(Double.init)

        for step in 0...steps {
            if let every = snapshotEvery, step % every == 0 || step == steps {
                snapshots.append((step, Matrix(rowCount: m, columnCount: n, values: W), b))
            }
            let rows = batch(step)
            if step == steps {
                losses.append(Float(Self.loss(W: Matrix(rowCount: m, columnCount: n, values: W), bias: b, importance: importance, rows: rows,
                                              outputThreshold: outputThreshold, errorTolerance: errorTolerance,
                                              interferenceTolerance: interferenceTolerance)))
                break
            }
            for i in 0..<count { grad[i] = 0 }
            var total = 0.0
            let scale = 1 / Double(max(1, rows.count))
            for row in rows {
                for k in 0..<m { h[k] = 0; dh[k] = 0 }
                for (i, v) in zip(row.features, row.values) {
                    active[Int(i)] = v
                    for k in 0..<m { h[k] += Double(W[k * n + Int(i)]) * Double(v) }
                }
                var s = 0.0
                for j in 0..<n {
                    var z = Double(b[j])
                    for k in 0..<m { z += Double(W[k * n + j]) * h[k] }
                    let target = Double(active[j])
                    // z·1[z > θ]; at θ = 0 this is max(0, z) but for the sign of a zero, so the ReLU runs are unchanged.
                    // The ε-insensitive error: at ε = 0 exactly e, so again the same run.
                    let e = Self.shrink((z > theta ? z : 0) - target, target == 0 ? toleranceOff : tolerance)
                    s += imp[j] * e * e
                    if let kernel {
                        r[j] = Self.outputDerivative(z: z, threshold: theta, kernelWidth: kernel) * (2 * imp[j] * e / Double(n) * scale)
                    } else {
                        r[j] = z > theta ? 2 * imp[j] * e / Double(n) * scale : 0
                    }
                }
                total += s / Double(n)
                for j in 0..<n where r[j] != 0 {
                    for k in 0..<m {
                        grad[k * n + j] += r[j] * h[k]
                        dh[k] += r[j] * Double(W[k * n + j])
                    }
                    grad[m * n + j] += r[j]
                }
                for (i, v) in zip(row.features, row.values) {
                    active[Int(i)] = 0
                    for k in 0..<m { grad[k * n + Int(i)] += dh[k] * Double(v) }
                }
            }
            losses.append(Float(total * scale))
            let lr = schedule.rate(base: learningRate, step: step, total: steps, warmup: warmupSteps)
            let t = Double(step + 1)
            let c1 = 1 - pow(beta1, t), c2 = 1 - pow(beta2, t)
            for i in 0..<count {
                var g = grad[i]
                var p = i < m * n ? Double(W[i]) : Double(b[i - m * n])
                switch optimizer {
                case .adam: g += weightDecay * p
                case .adamw: p -= lr * weightDecay * p
                }
                m1[i] = beta1 * m1[i] + (1 - beta1) * g
                m2[i] = beta2 * m2[i] + (1 - beta2) * g * g
                p -= lr * (m1[i] / c1) / ((m2[i] / c2).squareRoot() + epsilon)
                if i < m * n { W[i] = Float(p) } else { b[i - m * n] = Float(p) }
            }
        }
        return Result(W: Matrix(rowCount: m, columnCount: n, values: W), bias: b, losses: losses, snapshots: snapshots)
    }

    /// The straight-through ∂x′/∂z of x′ = z·1[z > θ] with a rectangle kernel of width κ (`jumpKernelWidth`):
    /// 1[z > θ] + (θ/κ)·1[|z − θ| < κ/2]; at θ = 0 exactly 1[z > 0], the ReLU's.
    public static func outputDerivative(z: Double, threshold theta: Double, kernelWidth kappa: Double) -> Double {
        (z > theta ? 1 : 0) + (Swift.abs(z - theta) < kappa / 2 ? theta / kappa : 0)
    }

    /// e moved towards 0 by ε and clipped there, sign(e)·max(0, |e| − ε): its square is the ε-insensitive loss
    /// and twice it the loss's derivative. ε = 0 returns e itself (a NaN stays NaN).
    @inline(__always) static func shrink(_ e: Double, _ epsilon: Double) -> Double {
        epsilon == 0 ? e : (e > epsilon ? e - epsilon : (e < -epsilon ? e + epsilon : 0))
    }
}
