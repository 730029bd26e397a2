import Foundation
import TMSCore

/// The trained parameters of K instances of one toy model, in PyTorch/ARENA layout (docs/models.md#conventions; file layout: docs/run-folder.md).
///
/// - Tied models: `W` [instance, hidden, feature] (column i of an instance's m×n matrix is W_i).
/// - `abs`: `W` holds W₁ [instance, hidden, feature]; `W2` holds W₂ [instance, feature, hidden].
/// - `bias` is `b_final` [instance, feature].
public struct ToyModelWeights: Sendable, Equatable {
    public let model: ModelKind
    public let featureCount: Int
    public let hiddenCount: Int
    public let instanceCount: Int
    public var W: [Float]
    public var W2: [Float]?
    public var bias: [Float]

    public init(model: ModelKind, featureCount: Int, hiddenCount: Int, instanceCount: Int,
                W: [Float], W2: [Float]?, bias: [Float]) {
        let mn = featureCount * hiddenCount * instanceCount
        precondition(W.count == mn && bias.count == featureCount * instanceCount)
        precondition(model.isTied ? W2 == nil : W2?.count == mn)
        self.model = model; self.featureCount = featureCount; self.hiddenCount = hiddenCount
        self.instanceCount = instanceCount; self.W = W; self.W2 = W2; self.bias = bias
    }

    /// Instance k's W (or W₁) as an m×n matrix; column i is feature i's direction.
    public func weightMatrix(instance k: Int) -> Matrix {
        let size = hiddenCount * featureCount
        return Matrix(rowCount: hiddenCount, columnCount: featureCount, values: Array(W[(k * size)..<((k + 1) * size)]))
    }

    /// Instance k's W₂ as an n×m matrix (`abs` only).
    public func outputMatrix(instance k: Int) -> Matrix? {
        guard let W2 else { return nil }
        let size = hiddenCount * featureCount
        return Matrix(rowCount: featureCount, columnCount: hiddenCount, values: Array(W2[(k * size)..<((k + 1) * size)]))
    }

    /// Instance k's output bias b (length n).
    public func bias(instance k: Int) -> [Float] {
        Array(bias[(k * featureCount)..<((k + 1) * featureCount)])
    }

    /// The safetensors tensors with PyTorch/ARENA names and shapes.
    public var tensors: [String: Tensor] {
        let K = instanceCount, m = hiddenCount, n = featureCount
        var out: [String: Tensor] = ["b_final": Tensor(shape: [K, n], values: bias)]
        if let W2 {
            out["W1"] = Tensor(shape: [K, m, n], values: W)
            out["W2"] = Tensor(shape: [K, n, m], values: W2)
        } else {
            out["W"] = Tensor(shape: [K, m, n], values: W)
        }
        return out
    }

    /// Reads weights back from safetensors tensors; throws a one-line `ConfigError` if names or shapes are off.
    public init(model: ModelKind, tensors: [String: Tensor]) throws {
        guard let b = tensors["b_final"], b.shape.count == 2 else { throw ConfigError("weights lack b_final [instance, feature]") }
        let K = b.shape[0], n = b.shape[1]
        let main = model.isTied ? tensors["W"] : tensors["W1"]
        let mainName = model.isTied ? "W" : "W1"
        guard let w = main, w.shape.count == 3, w.shape[0] == K, w.shape[2] == n else {
            throw ConfigError("weights lack \(mainName) [instance, hidden, feature] matching b_final \(b.shape)")
        }
        let m = w.shape[1]
        var w2: [Float]? = nil
        if !model.isTied {
            guard let t = tensors["W2"], t.shape == [K, n, m] else { throw ConfigError("weights lack W2 [\(K), \(n), \(m)]") }
            w2 = t.values
        }
        self.init(model: model, featureCount: n, hiddenCount: m, instanceCount: K, W: w.values, W2: w2, bias: b.values)
    }

    /// Xavier-normal initialisation, std √(2/(n+m)) per matrix, biases 0 (docs/models.md#initialisation),
    /// drawn from `rng`. Returns one instance's (W or W₁ [m][n], W₂ [n][m] or nil).
    public static func initialParameters(model: ModelKind, featureCount n: Int, hiddenCount m: Int,
                                         rng: inout RandomStream) -> (W: [Float], W2: [Float]?) {
        initialParameters(model: model, featureCount: n, hiddenCount: m, instanceCount: 1, initialisation: .xavier,
                          scale: 1, rng: &rng)
    }

    /// One instance's initial (W or W₁ [m][n], W₂ [n][m] or nil) under `initialisation`, every value times
    /// `scale`. `xavier`: normal draws with σ = √(2/(n+m)), bit-identical to the form above when scale = 1.
    /// `reference`: PyTorch's fans of the whole [K, …] tensor (docs/models.md#initialisation); normal draws for
    /// the tied models, uniform U[−b, b] draws (one `nextUnitDouble` each, b(2u − 1)) for `abs`.
    public static func initialParameters(model: ModelKind, featureCount n: Int, hiddenCount m: Int, instanceCount K: Int,
                                         initialisation: Initialisation, scale: Double,
                                         rng: inout RandomStream) -> (W: [Float], W2: [Float]?) {
        let count = m * n
        switch (initialisation, model.isTied) {
        case (.xavier, _):
            let std = (2.0 / Double(n + m)).squareRoot() * scale
            let w = (0..<count).map { _ in Float(rng.nextNormal() * std) }
            let w2 = model.isTied ? nil : (0..<count).map { _ in Float(rng.nextNormal() * std) }
            return (w, w2)
        case (.reference, true):
            let std = referenceScale(model: model, featureCount: n, hiddenCount: m, instanceCount: K) * scale
            return ((0..<count).map { _ in Float(rng.nextNormal() * std) }, nil)
        case (.reference, false):
            let bound = referenceScale(model: model, featureCount: n, hiddenCount: m, instanceCount: K) * scale
            let w = (0..<count).map { _ in Float(bound * (2 * rng.nextUnitDouble() - 1)) }
            let w2 = (0..<count).map { _ in Float(bound * (2 * rng.nextUnitDouble() - 1)) }
            return (w, w2)
        }
    }

    /// The `reference` initialisation's scale, from PyTorch's fans of a 3-D tensor [d₀, d₁, d₂]: fan_in = d₁·d₂,
    /// fan_out = d₀·d₂. Tied: `xavier_normal_` (gain 1) on [K, n, m], σ = √(2/(fan_in + fan_out)) = √(2/(n·m + K·m)).
    /// `abs`: `kaiming_uniform_` (a = 0, mode fan_in, gain √2) on W₁ [K, m, n] and W₂ [K, n, m]; fan_in = m·n for
    /// both, so the bound is √2·√(3/(m·n)) = √(6/(m·n)) (σ = √(2/(m·n))). Returned: σ (tied) or the bound (abs).
    public static func referenceScale(model: ModelKind, featureCount n: Int, hiddenCount m: Int, instanceCount K: Int) -> Double {
        func fans(_ d: [Int]) -> (fanIn: Double, fanOut: Double) {
            let receptive = Double(d[2...].reduce(1, *))
            return (Double(d[1]) * receptive, Double(d[0]) * receptive)
        }
        if model.isTied {
            let (fanIn, fanOut) = fans([K, n, m])
            return (2 / (fanIn + fanOut)).squareRoot()
        }
        let gain = 2.0.squareRoot()
        return gain * (3 / fans([K, m, n]).fanIn).squareRoot()
    }
}
