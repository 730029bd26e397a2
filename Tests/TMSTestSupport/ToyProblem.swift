import TMSCore
import TMSModels

/// One seeded toy-model problem for checking the fast Float pass against `ReferenceModel`: parameters
/// (scaled so outputs straddle the ReLU kinks), biases of both signs, importances in [0.5, 1.5) and a batch
/// of density p (values U[0, 1), or U[−1, 1) for `abs`). Every value is a Float, so the Double reference
/// sees exactly the same numbers. The one generator of the gradient, fast-path and pass tests.
public struct ToyProblem: Sendable {
    public let model: ModelKind
    public let n: Int, m: Int
    /// W (or W₁) [m][n]; W₂ [n][m] for `abs`; b [n]; I [n]; x [B][n].
    public let W: [[Float]]
    public let W2: [[Float]]?
    public let bias: [Float]
    public let importance: [Float]
    public let batch: [[Float]]

    /// Draws, from `RandomStream(seed: seed)` in this order: W (normal × `weightScale`), W₂ (`abs`), the
    /// importances, then the batch (entry present with probability `density`). The biases cycle through
    /// 0.1, 0, −0.3, 0.25, −0.05 (with `kinkFree`, 0.02 replaces the 0: with a zero bias and a dead hidden
    /// layer an output sits exactly at the ReLU kink, where a central difference is meaningless). With
    /// `coverRows`, every row but the middle one gets at least one present feature and the middle row (when
    /// B > 1) is all zero, so that h = 0 and y = b are exercised.
    public init(model: ModelKind, n: Int, m: Int, batchSize: Int, density: Double, weightScale: Double, seed: UInt64,
                kinkFree: Bool = false, coverRows: Bool = false) {
        self.model = model; self.n = n; self.m = m
        var rng = RandomStream(seed: seed)
        W = (0..<m).map { _ in (0..<n).map { _ in Float(rng.nextNormal() * weightScale) } }
        W2 = model == .abs ? (0..<n).map { _ in (0..<m).map { _ in Float(rng.nextNormal() * weightScale) } } : nil
        let pattern: [Float] = [0.1, kinkFree ? 0.02 : 0, -0.3, 0.25, -0.05]
        bias = (0..<n).map { pattern[$0 % pattern.count] }
        importance = (0..<n).map { _ in Float(0.5 + rng.nextUnitDouble()) }
        let signed = model == .abs
        var batch: [[Float]] = (0..<batchSize).map { _ in
            (0..<n).map { _ in
                guard rng.nextUnitDouble() < density else { return 0 }
                let u = rng.nextUnitFloat()
                return signed ? 2 * u - 1 : u
            }
        }
        if coverRows {
            for b in batch.indices where batch[b].allSatisfy({ $0 == 0 }) { batch[b][b % n] = signed ? -0.5 : 0.5 }
            if batchSize > 1 { batch[batchSize / 2] = [Float](repeating: 0, count: n) }
        }
        self.batch = batch
    }

    /// A problem from given values.
    public init(model: ModelKind, W: [[Float]], W2: [[Float]]?, bias: [Float], importance: [Float], batch: [[Float]]) {
        self.model = model; n = bias.count; m = W.count
        self.W = W; self.W2 = W2; self.bias = bias; self.importance = importance; self.batch = batch
    }

    /// The parameters flat, in PyTorch layout: W [m·n], W₂ [n·m], as `InstanceState` and `ToyModelWeights` take them.
    public var flatW: [Float] { W.flatMap { $0 } }
    public var flatW2: [Float]? { W2?.flatMap { $0 } }

    public var wDouble: [[Double]] { W.map { $0.map(Double.init) } }
    public var w2Double: [[Double]]? { W2.map { $0.map { $0.map(Double.init) } } }
    public var biasDouble: [Double] { bias.map(Double.init) }
    public var importanceDouble: [Double] { importance.map(Double.init) }
    public var batchDouble: [[Double]] { batch.map { $0.map(Double.init) } }

    /// The reference loss and gradients of this problem.
    public func reference() -> (loss: Double, gradW: [[Double]], gradW2: [[Double]]?, gradBias: [Double]) {
        ReferenceModel.lossAndGradients(model: model, W: wDouble, W2: w2Double, bias: biasDouble,
                                        importance: importanceDouble, batch: batchDouble)
    }
}
