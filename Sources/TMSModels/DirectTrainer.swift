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

    /// The mean loss of (W, b) on `rows`, in Double.
    public static func loss(W: Matrix, bias: [Float], importance: [Float], rows: [SparseRow]) -> Double {
        guard !rows.isEmpty else { return 0 }
        let n = W.columnCount, m = W.rowCount
        var total = 0.0
        var h = [Double](repeating: 0, count: m)
        for row in rows {
            for k in 0..<m { h[k] = 0 }
            for (i, v) in zip(row.features, row.values) { for k in 0..<m { h[k] += Double(W[k, Int(i)]) * Double(v) } }
            let z = { (j: Int) -> Double in (0..<m).reduce(Double(bias[j])) { $0 + Double(W[$1, j]) * h[$1] } }
            // Every output against target 0, then the active features' terms corrected to target x_j.
            var s = 0.0
            for j in 0..<n { let out = max(0, z(j)); s += Double(importance[j]) * out * out }
            for (i, v) in zip(row.features, row.values) {
                let j = Int(i), out = max(0, z(j)), x = Double(v)
                s += Double(importance[j]) * ((out - x) * (out - x) - out * out)
            }
            total += s / Double(n)
        }
        return total / Double(rows.count)
    }

    /// Trains on `batch(step)` at every step.
    public func train(initialW: Matrix? = nil, initialBias: [Float]? = nil, snapshotEvery: Int? = nil,
                      batch: (Int) -> [SparseRow]) -> Result {
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

        for step in 0...steps {
            if let every = snapshotEvery, step % every == 0 || step == steps {
                snapshots.append((step, Matrix(rowCount: m, columnCount: n, values: W), b))
            }
            let rows = batch(step)
            if step == steps {
                losses.append(Float(Self.loss(W: Matrix(rowCount: m, columnCount: n, values: W), bias: b, importance: importance, rows: rows)))
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
                    let e = max(0, z) - target
                    s += imp[j] * e * e
                    r[j] = z > 0 ? 2 * imp[j] * e / Double(n) * scale : 0
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
}
