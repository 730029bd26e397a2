import Foundation
import TMSCore

/// A one-hidden-layer ReLU MLP from two inputs to one output, f(x, y) = Σ_j c_j ReLU(a_j·(x, y) + b_j) + d,
/// trained to compute the product x·y of independent x, y ~ N(0, 1) (docs/models.md#product-mlp).
///
/// x·y = ((x + y)² − (x − y)²)/4, so a ReLU network can build it from piecewise-linear pieces of two
/// squares along the ±45° directions; with Gaussian inputs u = (x + y)/√2 and v = (x − y)/√2 are independent
/// too, so the target is a sum of a function of u and one of v: its neurons read x and y equally (polysemantic in the (x, y) basis)
/// while the model stores only two features, u = (x + y)/√2 and v = (x − y)/√2, in k ≥ 2 neurons
/// (docs/experiments.md#polysemanticity-without-superposition). Untied and separate from the toy models of
/// ``Trainer``: its own parameters, single-threaded, seeded, hand-derived gradients.
public struct ProductMLP: Sendable, Codable, Equatable {
    /// Hidden neurons k.
    public let hiddenCount: Int
    /// a_j, the input weights, [k, 2] row-major (PyTorch `fc1.weight`).
    public var inputWeights: [Float]
    /// b_j, [k] (`fc1.bias`).
    public var inputBias: [Float]
    /// c_j, [k] (`fc2.weight`, shape [1, k] in PyTorch).
    public var outputWeights: [Float]
    /// d (`fc2.bias`).
    public var outputBias: Float

    public init(hiddenCount: Int, inputWeights: [Float], inputBias: [Float], outputWeights: [Float], outputBias: Float) {
        precondition(inputWeights.count == 2 * hiddenCount && inputBias.count == hiddenCount && outputWeights.count == hiddenCount,
                     "ProductMLP needs inputWeights [k, 2], inputBias [k], outputWeights [k]")
        self.hiddenCount = hiddenCount; self.inputWeights = inputWeights; self.inputBias = inputBias
        self.outputWeights = outputWeights; self.outputBias = outputBias
    }

    /// PyTorch's `nn.Linear` default initialisation: every weight and bias of a layer with fan-in f uniform on
    /// (−1/√f, 1/√f); f = 2 for the hidden layer, k for the output.
    public init(hiddenCount k: Int, rng: inout RandomStream) {
        func uniform(_ count: Int, _ bound: Double) -> [Float] {
            (0..<count).map { _ in Float((2 * rng.nextUnitDouble() - 1) * bound) }
        }
        let b1 = 1 / 2.0.squareRoot(), b2 = 1 / Double(k).squareRoot()
        let W1 = uniform(2 * k, b1), bias1 = uniform(k, b1), W2 = uniform(k, b2), bias2 = uniform(1, b2)[0]
        self.init(hiddenCount: k, inputWeights: W1, inputBias: bias1, outputWeights: W2, outputBias: bias2)
    }

    /// The parameters as one flat Double vector [a (2k), b (k), c (k), d], the layout of ``lossAndGradient(parameters:hiddenCount:inputs:)``.
    public var parameters: [Double] {
        (inputWeights + inputBias + outputWeights + [outputBias]).map(Double.init)
    }

    /// The model whose flat parameters are `p` (layout of ``parameters``), rounded to Float32.
    public init(hiddenCount k: Int, parameters p: [Double]) {
        precondition(p.count == 4 * k + 1, "ProductMLP with k = \(k) has \(4 * k + 1) parameters")
        let f = p.map { Float($0) }
        self.init(hiddenCount: k, inputWeights: Array(f[0..<(2 * k)]), inputBias: Array(f[(2 * k)..<(3 * k)]),
                  outputWeights: Array(f[(3 * k)..<(4 * k)]), outputBias: f[4 * k])
    }

    /// f(x, y), computed in Double.
    public func callAsFunction(_ x: Double, _ y: Double) -> Double {
        var out = Double(outputBias)
        for j in 0..<hiddenCount {
            let z = Double(inputWeights[2 * j]) * x + Double(inputWeights[2 * j + 1]) * y + Double(inputBias[j])
            if z > 0 { out += Double(outputWeights[j]) * z }
        }
        return out
    }

    /// The mean squared error (1/B) Σ_b (f(x_b, y_b) − x_b y_b)² over `inputs` and its gradient with respect to
    /// the flat parameters `p` (layout of ``parameters``), in Double.
    ///
    /// With z_j = a_j·(x, y) + b_j, h_j = ReLU(z_j), r = f − xy and g = 2r/B per input:
    /// ∂L/∂d = Σ g, ∂L/∂c_j = Σ g h_j, ∂L/∂b_j = Σ g c_j 1[z_j > 0], ∂L/∂a_j = Σ g c_j 1[z_j > 0] (x, y).
    /// The kink at z_j = 0 takes the derivative 0, as PyTorch's ReLU does.
    public static func lossAndGradient(parameters p: [Double], hiddenCount k: Int,
                                       inputs: [(x: Double, y: Double)]) -> (loss: Double, gradient: [Double]) {
        precondition(p.count == 4 * k + 1 && !inputs.isEmpty)
        var grad = [Double](repeating: 0, count: p.count)
        var loss = 0.0
        let B = Double(inputs.count)
        var z = [Double](repeating: 0, count: k)
        for (x, y) in inputs {
            var f = p[4 * k]
            for j in 0..<k {
                z[j] = p[2 * j] * x + p[2 * j + 1] * y + p[2 * k + j]
                if z[j] > 0 { f += p[3 * k + j] * z[j] }
            }
            let r = f - x * y
            loss += r * r / B
            let g = 2 * r / B
            grad[4 * k] += g
            for j in 0..<k where z[j] > 0 {
                grad[3 * k + j] += g * z[j]
                let gz = g * p[3 * k + j]
                grad[2 * j] += gz * x; grad[2 * j + 1] += gz * y; grad[2 * k + j] += gz
            }
        }
        return (loss, grad)
    }
}

/// Trains a ``ProductMLP`` on fresh batches of independent x, y ~ N(0, 1) (``inputs(count:rng:)``) with Adam (β₁ 0.9, β₂ 0.999, ε 10⁻⁸, constant
/// learning rate, PyTorch's formulas) on the mean squared error against x·y (docs/models.md#product-mlp).
/// Single-threaded and seeded: the same configuration gives the same weights, bit for bit.
public struct ProductMLPTrainer: Sendable, Codable, Equatable {
    public var hiddenCount: Int
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Double
    public var seed: UInt64

    public init(hiddenCount: Int = 16, steps: Int = 20_000, batchSize: Int = 256, learningRate: Double = 1e-3, seed: UInt64 = 0) {
        self.hiddenCount = hiddenCount; self.steps = steps; self.batchSize = batchSize
        self.learningRate = learningRate; self.seed = seed
    }

    public struct Outcome: Sendable {
        public var model: ProductMLP
        /// The training loss of every step's batch, before that step's update.
        public var losses: [Float]
    }

    /// `count` independent pairs x, y ~ N(0, 1) (Box–Muller, ``RandomStream/nextNormal()``), rounded to Float32.
    public static func inputs(count: Int, rng: inout RandomStream) -> [(x: Double, y: Double)] {
        (0..<count).map { _ in
            let x = Double(Float(rng.nextNormal()))
            return (x, Double(Float(rng.nextNormal())))
        }
    }

    /// Trains from the seeded initialisation; `progress` is called every 1,000 steps and at the end, with the
    /// mean batch loss since the previous call.
    public func train(progress: (TrainingProgress) -> Void = { _ in }) -> Outcome {
        let root = RandomStream(seed: seed)
        var initRNG = root.split(0x3D1, 0), dataRNG = root.split(0x3D1, 1)
        let k = hiddenCount
        var p = ProductMLP(hiddenCount: k, rng: &initRNG).parameters
        var m = [Double](repeating: 0, count: p.count), v = m
        let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        var losses: [Float] = []
        losses.reserveCapacity(steps)
        var batch: [(x: Double, y: Double)] = []
        for step in stride(from: 1, through: steps, by: 1) {
            batch = Self.inputs(count: batchSize, rng: &dataRNG)
            let (loss, g) = ProductMLP.lossAndGradient(parameters: p, hiddenCount: k, inputs: batch)
            losses.append(Float(loss))
            let c1 = 1 - pow(beta1, Double(step)), c2 = 1 - pow(beta2, Double(step))
            for i in p.indices {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                // Parameters are Float32 values: round after each update so that what is trained is what is saved.
                p[i] = Double(Float(p[i] - learningRate / c1 * m[i] / ((v[i] / c2).squareRoot() + epsilon)))
            }
            if step % 1_000 == 0 || step == steps {
                let recent = losses.suffix(step % 1_000 == 0 ? 1_000 : step % 1_000)
                progress(TrainingProgress(step: step, totalSteps: steps, meanLoss: recent.reduce(0.0) { $0 + Double($1) } / Double(recent.count)))
            }
        }
        return Outcome(model: ProductMLP(hiddenCount: k, parameters: p), losses: losses)
    }
}
