import Foundation
import TMSCore
import TMSModels

/// A plain, obviously-correct Double implementation of the four toy models of docs/models.md#models for one instance on a
/// dense batch: the slow reference that defines correctness for the fast Float code (llm.c, micrograd).
///
/// Shapes (PyTorch/ARENA layout, nested arrays so indexing reads like the maths):
/// - `W` [m][n]: W for the tied models, W₁ for `abs`; column i is feature i's encoder direction.
/// - `W2` [n][m]: W₂ for `abs` only (nil otherwise).
/// - `bias` [n], `importance` [n], `batch` [B][n].
///
/// Forward per row x: pre = W x; h = ReLU(pre) for `relu-hidden` and `abs`, else pre;
/// y = Wᵀh + b (tied) or W₂h + b (`abs`); x′ = ReLU(y) for all but `linear`.
/// Loss = (1/(B·n)) Σ_rows Σ_i I_i (t_i − x′_i)² with t = x (|x| for `abs`). ReLU′(0) = 0.
///
/// The model's structure is spelled out here by a `switch` on the kind rather than through `ModelKind`'s
/// helper properties, so the reference does not share the code it checks.
public enum ReferenceModel {
    struct Structure {
        let hiddenReLU: Bool
        let outputReLU: Bool
        let tied: Bool
        let absoluteTarget: Bool
    }

    static func structure(of model: ModelKind) -> Structure {
        switch model {
        case .linear: return Structure(hiddenReLU: false, outputReLU: false, tied: true, absoluteTarget: false)
        case .reluOutput: return Structure(hiddenReLU: false, outputReLU: true, tied: true, absoluteTarget: false)
        case .reluHidden: return Structure(hiddenReLU: true, outputReLU: true, tied: true, absoluteTarget: false)
        case .abs: return Structure(hiddenReLU: true, outputReLU: true, tied: false, absoluteTarget: true)
        }
    }

    static func relu(_ v: Double) -> Double { v > 0 ? v : 0 }
    static func reluDerivative(_ v: Double) -> Double { v > 0 ? 1 : 0 }

    /// Mean loss over batch and features, and its gradient with respect to W (or W₁), W₂ (`abs`) and b.
    public static func lossAndGradients(model: ModelKind, W: [[Double]], W2: [[Double]]?, bias: [Double],
                                        importance: [Double], batch: [[Double]])
        -> (loss: Double, gradW: [[Double]], gradW2: [[Double]]?, gradBias: [Double]) {
        let s = structure(of: model)
        let m = W.count
        let n = bias.count
        let B = batch.count
        precondition(W.allSatisfy { $0.count == n }, "W must be [m][n]")
        precondition(importance.count == n && batch.allSatisfy { $0.count == n }, "importance and batch rows need n values")
        if s.tied {
            precondition(W2 == nil, "tied models take no W2")
        } else {
            precondition(W2 != nil && W2!.count == n && W2!.allSatisfy { $0.count == m }, "abs needs W2 [n][m]")
        }
        // decoder(i, k): the weight from hidden unit k to output i.
        func decoder(_ i: Int, _ k: Int) -> Double { s.tied ? W[k][i] : W2![i][k] }

        let scale = 1.0 / Double(B * n)
        var loss = 0.0
        var gradW = [[Double]](repeating: [Double](repeating: 0, count: n), count: m)
        var gradW2: [[Double]]? = s.tied ? nil : [[Double]](repeating: [Double](repeating: 0, count: m), count: n)
        var gradBias = [Double](repeating: 0, count: n)

        for x in batch {
            var pre = [Double](repeating: 0, count: m)
            for k in 0..<m {
                for i in 0..<n { pre[k] += W[k][i] * x[i] }
            }
            let h = s.hiddenReLU ? pre.map(relu) : pre
            var y = [Double](repeating: 0, count: n)
            for i in 0..<n {
                y[i] = bias[i]
                for k in 0..<m { y[i] += decoder(i, k) * h[k] }
            }
            let out = s.outputReLU ? y.map(relu) : y
            let target = s.absoluteTarget ? x.map { Swift.abs($0) } : x

            // dL/dy_i
            var dy = [Double](repeating: 0, count: n)
            for i in 0..<n {
                let err = out[i] - target[i]
                loss += scale * importance[i] * err * err
                dy[i] = 2 * scale * importance[i] * err * (s.outputReLU ? reluDerivative(y[i]) : 1)
            }
            // Bias and decoder.
            var dh = [Double](repeating: 0, count: m)
            for i in 0..<n {
                gradBias[i] += dy[i]
                for k in 0..<m {
                    if s.tied { gradW[k][i] += dy[i] * h[k] } else { gradW2![i][k] += dy[i] * h[k] }
                    dh[k] += dy[i] * decoder(i, k)
                }
            }
            // Through the hidden ReLU into the encoder.
            for k in 0..<m {
                let dpre = dh[k] * (s.hiddenReLU ? reluDerivative(pre[k]) : 1)
                for i in 0..<n { gradW[k][i] += dpre * x[i] }
            }
        }
        return (loss, gradW, gradW2, gradBias)
    }

    /// The mean loss alone (same inputs as `lossAndGradients`).
    public static func loss(model: ModelKind, W: [[Double]], W2: [[Double]]?, bias: [Double],
                            importance: [Double], batch: [[Double]]) -> Double {
        lossAndGradients(model: model, W: W, W2: W2, bias: bias, importance: importance, batch: batch).loss
    }

    /// Checks a gradient against central finite differences of `loss` along `directions` random directions.
    ///
    /// For each direction d (standard normal in every parameter, drawn from `RandomStream(seed:)`), compares the
    /// analytic directional derivative a = ⟨g, d⟩ with the central difference c = (L(θ + h·d) − L(θ − h·d)) / 2h
    /// and returns the largest relative error |a − c| / max(|a|, |c|, 1e-300) over the directions.
    /// `gradient` defaults to the reference gradient; pass another (e.g. a deliberately wrong one) to check it.
    /// In Double with h = 1e-6 a correct gradient gives errors around 1e-8 or below away from ReLU kinks.
    public static func directionalDerivativeCheck(
        model: ModelKind, W: [[Double]], W2: [[Double]]?, bias: [Double], importance: [Double], batch: [[Double]],
        gradient: (gradW: [[Double]], gradW2: [[Double]]?, gradBias: [Double])? = nil,
        seed: UInt64 = 1, step h: Double = 1e-6, directions: Int = 3
    ) -> Double {
        let g: (gradW: [[Double]], gradW2: [[Double]]?, gradBias: [Double])
        if let gradient {
            g = gradient
        } else {
            let r = lossAndGradients(model: model, W: W, W2: W2, bias: bias, importance: importance, batch: batch)
            g = (r.gradW, r.gradW2, r.gradBias)
        }
        var rng = RandomStream(seed: seed)
        func randomLike(_ a: [[Double]]) -> [[Double]] { a.map { $0.map { _ in rng.nextNormal() } } }
        func step(_ a: [[Double]], _ d: [[Double]], _ t: Double) -> [[Double]] {
            zip(a, d).map { row, dr in zip(row, dr).map { $0 + t * $1 } }
        }
        func dot(_ a: [[Double]], _ b: [[Double]]) -> Double {
            zip(a, b).reduce(0) { acc, rows in acc + zip(rows.0, rows.1).reduce(0) { $0 + $1.0 * $1.1 } }
        }

        var worst = 0.0
        for _ in 0..<max(1, directions) {
            let dW = randomLike(W)
            let dW2 = W2.map(randomLike)
            let db = bias.map { _ in rng.nextNormal() }
            var analytic = dot(g.gradW, dW) + zip(g.gradBias, db).reduce(0) { $0 + $1.0 * $1.1 }
            if let gW2 = g.gradW2, let dW2 { analytic += dot(gW2, dW2) }
            func lossAt(_ t: Double) -> Double {
                loss(model: model, W: step(W, dW, t), W2: W2.map { step($0, dW2!, t) },
                     bias: zip(bias, db).map { $0 + t * $1 }, importance: importance, batch: batch)
            }
            let central = (lossAt(h) - lossAt(-h)) / (2 * h)
            let error = Swift.abs(analytic - central) / max(Swift.abs(analytic), Swift.abs(central), 1e-300)
            worst = max(worst, error)
        }
        return worst
    }
}
