import Foundation
import TMSCore

/// The activation function of a sparse autoencoder (docs/sae.md#variants).
public enum SAEVariant: String, CaseIterable, Codable, Sendable {
    /// z = ReLU(pre), penalty λ·Σ z (Bricken et al. 2023, "Towards Monosemanticity").
    case relu
    /// z = 1[π_gate > 0] · ReLU(π_mag), penalty λ·Σ ReLU(π_gate) plus an auxiliary reconstruction from
    /// ReLU(π_gate) through a frozen decoder (Rajamanoharan et al. 2024, "Improving Dictionary Learning with
    /// Gated Sparse Autoencoders").
    case gated
    /// z = pre · H(pre − θ), penalty λ·‖z‖₀, θ trained by straight-through estimators with a rectangle kernel
    /// (Rajamanoharan et al. 2024, "Jumping Ahead: … JumpReLU Sparse Autoencoders").
    case jumprelu
    /// z keeps the k largest of ReLU(pre), no penalty (Gao et al. 2024, "Scaling and evaluating sparse
    /// autoencoders").
    case topk
}

/// How dead latents are revived during training (docs/sae.md#resampling).
public enum SAEResampling: String, CaseIterable, Codable, Sendable {
    case none
    /// Decoder row and encoder column set to one random unit direction, encoder bias 0.
    case simple
    /// Anthropic's recipe ("Towards Monosemanticity", 2023): inputs drawn with probability ∝ (squared
    /// reconstruction error)², centred by b_dec and normalised; encoder column scaled to the mean live encoder
    /// norm × `resampleEncoderScale`; biases reset; Adam state of those latents reset.
    case anthropic
}

/// A run of K sparse-autoencoder instances trained side by side on the hidden activations of a toy model.
///
/// Shapes follow ARENA / SAELens: `W_enc` [instance, input, latent], `W_dec` [instance, latent, input],
/// `b_enc` [instance, latent], `b_dec` [instance, input]. Loss per input h (docs/sae.md#loss):
/// mean over the m inputs of (ĥ − h)² plus the variant's penalty, averaged over the batch. Decoder rows are kept
/// at unit norm (after every step, and the gradient's component along each row is removed before it).
public struct SAEConfig: Codable, Sendable, Equatable {
    public var variant: SAEVariant
    /// m: the toy model's hidden size.
    public var inputCount: Int
    /// d_sae: latents per instance (one dictionary size per run, so the weights stack into one tensor).
    public var latentCount: Int
    /// K.
    public var instanceCount: Int
    /// The toy-model instance whose activations SAE instance s is trained on.
    public var modelInstance: [Int]
    /// λ per SAE instance (unused by `topk`).
    public var l1Coefficient: [Float]
    /// k of the `topk` variant.
    public var topK: Int
    public var steps: Int
    public var batchSize: Int
    /// Adam learning rate (constant), β₁ = 0.9, β₂ = 0.999, ε = 1e-8 as in PyTorch.
    public var learningRate: Double
    public var resampling: SAEResampling
    /// Steps between resamplings. A latent is resampled if it fired on a fraction of the inputs since the last
    /// resampling below `resampleBelowFrequency` (0 = only latents that never fired, Anthropic's and ARENA's
    /// "dead"; toy latents fade slowly, so the default also revives dying ones). Resampling stops after
    /// `resampleUntil` of the steps so that revived latents can settle (Anthropic's schedule stops early too).
    public var resampleEvery: Int
    public var resampleBelowFrequency: Double = 1e-3
    public var resampleUntil: Double = 0.5
    /// Anthropic's factor on the mean live encoder norm (0.2 in "Towards Monosemanticity").
    public var resampleEncoderScale: Float = 0.2
    /// JumpReLU: the initial threshold θ and the rectangle kernel's width ε. The paper's 0.001 is for unit-scale
    /// LLM activations; toy activations are O(0.1–1), hence larger values.
    public var jumpInitialThreshold: Float = 0.05
    public var jumpBandwidth: Float = 0.05
    public var seed: UInt64
    /// Number of points of the training log.
    public var logPoints: Int = 50

    public init(variant: SAEVariant = .relu, inputCount: Int, latentCount: Int, modelInstance: [Int],
                l1Coefficient: [Float], topK: Int = 1, steps: Int = 5_000, batchSize: Int = 1024,
                learningRate: Double = 1e-3, resampling: SAEResampling = .none, resampleEvery: Int = 1_000,
                seed: UInt64 = 0) {
        self.variant = variant; self.inputCount = inputCount; self.latentCount = latentCount
        self.instanceCount = modelInstance.count; self.modelInstance = modelInstance
        self.l1Coefficient = l1Coefficient; self.topK = topK; self.steps = steps; self.batchSize = batchSize
        self.learningRate = learningRate; self.resampling = resampling; self.resampleEvery = resampleEvery
        self.seed = seed
    }

    /// Throws a one-line `ConfigError` naming the first bad value.
    public func validate() throws {
        guard inputCount > 0 else { throw ConfigError("SAE input size \(inputCount) is invalid; it must be positive") }
        guard latentCount > 0 else { throw ConfigError("--latents \(latentCount) is invalid; it must be a positive integer") }
        guard instanceCount > 0, modelInstance.count == instanceCount, l1Coefficient.count == instanceCount else {
            throw ConfigError("SAE instances \(instanceCount) need one model instance and one λ each")
        }
        if let bad = l1Coefficient.first(where: { !($0 >= 0 && $0.isFinite) }) {
            throw ConfigError("--l1 value \(bad) is invalid; it must be a finite number ≥ 0")
        }
        guard steps > 0 else { throw ConfigError("--steps \(steps) is invalid; it must be a positive integer") }
        guard batchSize > 0 else { throw ConfigError("--batch-size \(batchSize) is invalid; it must be a positive integer") }
        guard learningRate > 0 && learningRate.isFinite else {
            throw ConfigError("--lr \(learningRate) is invalid; it must be a positive finite number")
        }
        guard variant != .topk || (topK >= 1 && topK <= latentCount) else {
            throw ConfigError("--top-k \(topK) is invalid; it must be in 1…\(latentCount) (the number of latents)")
        }
        guard resampleEvery > 0 else { throw ConfigError("--resample-every \(resampleEvery) is invalid; it must be a positive integer") }
        guard resampleBelowFrequency >= 0 && resampleBelowFrequency <= 1 else {
            throw ConfigError("resampleBelowFrequency \(resampleBelowFrequency) is invalid; it must be in [0, 1]")
        }
        guard resampleUntil >= 0 && resampleUntil <= 1 else { throw ConfigError("resampleUntil \(resampleUntil) is invalid; it must be in [0, 1]") }
        guard jumpInitialThreshold > 0 && jumpBandwidth > 0 else {
            throw ConfigError("JumpReLU threshold \(jumpInitialThreshold) and bandwidth \(jumpBandwidth) must be positive")
        }
    }

    /// Parameters per instance: W_enc, W_dec, b_enc, b_dec and the variant's extra vectors.
    var layout: SAELayout { SAELayout(variant: variant, m: inputCount, L: latentCount) }
}

/// Offsets of one instance's parameters in its flat buffer.
struct SAELayout: Sendable {
    let m: Int, L: Int
    let wEnc: Int, wDec: Int, bEnc: Int, bDec: Int
    /// Gated: r_mag (log scale of W_mag = W_gate ⊙ exp r_mag); JumpReLU: log θ.
    let extra: Int
    /// Gated: b_mag.
    let extra2: Int
    let count: Int

    init(variant: SAEVariant, m: Int, L: Int) {
        self.m = m; self.L = L
        wEnc = 0; wDec = m * L; bEnc = 2 * m * L; bDec = 2 * m * L + L; extra = bDec + m
        extra2 = extra + (variant == .gated || variant == .jumprelu ? L : 0)
        count = extra2 + (variant == .gated ? L : 0)
    }
}

/// Trained (or initial) SAE parameters of K instances, in ARENA's layout.
public struct SAEWeights: Sendable, Equatable {
    public let variant: SAEVariant
    public let inputCount: Int
    public let latentCount: Int
    public let instanceCount: Int
    /// Flat per-instance buffers in `SAELayout` order.
    var parameters: [[Float]]

    init(variant: SAEVariant, inputCount: Int, latentCount: Int, parameters: [[Float]]) {
        self.variant = variant; self.inputCount = inputCount; self.latentCount = latentCount
        self.instanceCount = parameters.count; self.parameters = parameters
    }

    var layout: SAELayout { SAELayout(variant: variant, m: inputCount, L: latentCount) }

    private func slice(_ k: Int, _ start: Int, _ count: Int) -> [Float] { Array(parameters[k][start..<(start + count)]) }

    /// `W_enc` of instance k as an m × d_sae matrix (column j is latent j's encoder direction).
    public func encoderWeights(instance k: Int) -> Matrix {
        Matrix(rowCount: inputCount, columnCount: latentCount, values: slice(k, layout.wEnc, inputCount * latentCount))
    }

    /// `W_dec` of instance k as a d_sae × m matrix (row j is latent j's unit-norm decoder direction).
    public func decoderWeights(instance k: Int) -> Matrix {
        Matrix(rowCount: latentCount, columnCount: inputCount, values: slice(k, layout.wDec, inputCount * latentCount))
    }

    /// `b_enc` [d_sae] and `b_dec` [m] of instance k.
    public func encoderBias(instance k: Int) -> [Float] { slice(k, layout.bEnc, latentCount) }
    public func decoderBias(instance k: Int) -> [Float] { slice(k, layout.bDec, inputCount) }

    /// Safetensors tensors with ARENA names and shapes; gated adds `r_mag`, `b_mag` [K, d_sae], JumpReLU adds
    /// `threshold` [K, d_sae] (θ, not log θ).
    public var tensors: [String: Tensor] {
        let K = instanceCount, m = inputCount, L = latentCount, lay = layout
        func stack(_ start: Int, _ count: Int, _ map: (Float) -> Float = { $0 }) -> [Float] {
            (0..<K).flatMap { slice($0, start, count).map(map) }
        }
        var out: [String: Tensor] = [
            "W_enc": Tensor(shape: [K, m, L], values: stack(lay.wEnc, m * L)),
            "W_dec": Tensor(shape: [K, L, m], values: stack(lay.wDec, m * L)),
            "b_enc": Tensor(shape: [K, L], values: stack(lay.bEnc, L)),
            "b_dec": Tensor(shape: [K, m], values: stack(lay.bDec, m)),
        ]
        switch variant {
        case .gated:
            out["r_mag"] = Tensor(shape: [K, L], values: stack(lay.extra, L))
            out["b_mag"] = Tensor(shape: [K, L], values: stack(lay.extra2, L))
        case .jumprelu:
            out["threshold"] = Tensor(shape: [K, L], values: stack(lay.extra, L) { Foundation.exp($0) })
        case .relu, .topk: break
        }
        return out
    }

    /// Reads weights written by `tensors`; throws a one-line `ConfigError` on missing names or bad shapes.
    public init(variant: SAEVariant, tensors: [String: Tensor]) throws {
        guard let enc = tensors["W_enc"], enc.shape.count == 3 else { throw ConfigError("SAE weights lack W_enc [instance, input, latent]") }
        let (K, m, L) = (enc.shape[0], enc.shape[1], enc.shape[2])
        func need(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = tensors[name], t.shape == shape else { throw ConfigError("SAE weights lack \(name) \(shape)") }
            return t.values
        }
        let dec = try need("W_dec", [K, L, m]), be = try need("b_enc", [K, L]), bd = try need("b_dec", [K, m])
        var extra: [Float] = [], extra2: [Float] = []
        switch variant {
        case .gated: extra = try need("r_mag", [K, L]); extra2 = try need("b_mag", [K, L])
        case .jumprelu: extra = try need("threshold", [K, L]).map { Foundation.log(max($0, .leastNormalMagnitude)) }
        case .relu, .topk: break
        }
        let lay = SAELayout(variant: variant, m: m, L: L)
        let params: [[Float]] = (0..<K).map { k in
            var p = Array(enc.values[(k * m * L)..<((k + 1) * m * L)])
            p += dec[(k * m * L)..<((k + 1) * m * L)]
            p += be[(k * L)..<((k + 1) * L)]
            p += bd[(k * m)..<((k + 1) * m)]
            if !extra.isEmpty { p += extra[(k * L)..<((k + 1) * L)] }
            if !extra2.isEmpty { p += extra2[(k * L)..<((k + 1) * L)] }
            precondition(p.count == lay.count)
            return p
        }
        self.init(variant: variant, inputCount: m, latentCount: L, parameters: params)
    }
}

/// Loss, reconstruction error and L0 of one batch (means over the batch).
public struct SAEBatchStatistics: Sendable, Equatable {
    public var loss: Double
    /// Mean over inputs of the mean over the m coordinates of (ĥ − h)².
    public var meanSquaredError: Double
    /// Mean number of non-zero latents per input.
    public var l0: Double
}

/// The forward pass and its hand-derived gradient, for one instance (docs/sae.md#loss).
///
/// With x = h − b_dec and pre = W_encᵀx + b_enc (h one input, m values):
/// - relu: z = ReLU(pre); penalty λ Σ_j z_j.
/// - topk: z = ReLU(pre) on the k largest pre (ties to the lower index), else 0; no penalty.
/// - jumprelu: z_j = pre_j · H(pre_j − θ_j), θ = exp(log θ); penalty λ · #{z_j ≠ 0}. ∂z/∂pre = H(pre − θ); the
///   threshold gets the straight-through pseudo-derivatives ∂z_j/∂θ_j = −(θ_j/ε) K((pre_j − θ_j)/ε) and
///   ∂H/∂θ_j = −(1/ε) K(…) with K the rectangle 1[|u| < ½] (the L0 term sends no gradient to W_enc, b_enc).
/// - gated: pre is π_gate; π_mag = exp(r_mag) ⊙ (W_encᵀx) + b_mag; z = 1[π_gate > 0] ReLU(π_mag); penalty
///   λ Σ ReLU(π_gate) plus the mean over m of (ReLU(π_gate)·W_dec + b_dec − h)² with W_dec, b_dec frozen in
///   that term (no gradient to them from it).
/// ĥ = W_decᵀ z + b_dec; loss = mean over m of (ĥ − h)² + penalty, averaged over the batch.
enum SAEPass {
    /// Evaluates one batch `inputs` [B][m]; adds the gradient (÷B) into `gradient` when given, counts firing
    /// latents into `fired` [L], writes codes [B][L], reconstructions [B][m] and per-input squared errors
    /// Σ_i (ĥ_i − h_i)² when their buffers are given.
    static func run(_ variant: SAEVariant, layout lay: SAELayout, lambda: Float, topK: Int, bandwidth: Float,
                    parameters p: UnsafePointer<Float>, inputs: UnsafePointer<Float>, batchSize B: Int,
                    gradient g: UnsafeMutablePointer<Float>?, fired: UnsafeMutablePointer<Int32>?,
                    codes: UnsafeMutablePointer<Float>? = nil, reconstructions: UnsafeMutablePointer<Float>? = nil,
                    squaredErrors: UnsafeMutablePointer<Float>? = nil,
                    frozenDecoder: UnsafePointer<Float>? = nil) -> SAEBatchStatistics {
        let m = lay.m, L = lay.L
        let wEnc = p + lay.wEnc, wDec = p + lay.wDec, bEnc = p + lay.bEnc, bDec = p + lay.bDec
        // The gated auxiliary term's stop-gradient decoder (the same values in training; a test's finite
        // differences pass the unperturbed parameters so that they see the same stop-gradient).
        let frozen = frozenDecoder ?? p
        let auxDec = frozen + lay.wDec, auxBDec = frozen + lay.bDec
        let scale = 1 / Float(B), twoOverM = 2 / Float(m)
        var lossSum = 0.0, mseSum = 0.0, l0Sum = 0.0
        // Scratch as raw pointers (Swift arrays' checks kept the per-latent loops from vectorising).
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * m + 6 * L)
        scratch.initialize(repeating: 0, count: 4 * m + 6 * L)
        // `firing`: the latents with z ≠ 0 of the current input, ascending; `nonZero`: those with gW ≠ 0.
        let nonZero = UnsafeMutablePointer<Int>.allocate(capacity: L), firing = UnsafeMutablePointer<Int>.allocate(capacity: L)
        defer { scratch.deallocate(); nonZero.deallocate(); firing.deallocate() }
        let x = scratch, r = x + m, gr = r + m, ra = gr + m
        let pre = ra + m, z = pre + L, gz = z + L, gW = gz + L, gB = gW + L, mag = gB + L
        var order = [Int](repeating: 0, count: L)
        for b in 0..<B {
            let h = inputs + b * m
            for i in 0..<m { x[i] = h[i] - bDec[i] }
            encode(x: x, weights: wEnc, bias: bEnc, into: pre, m: m, latents: L)
            var penalty = 0.0
            switch variant {
            case .relu:
                for j in 0..<L { z[j] = max(pre[j], 0) }   // penalty below, over the firing latents
            case .topk:
                for j in 0..<L { z[j] = 0; order[j] = j }
                if topK >= L {
                    for j in 0..<L { z[j] = max(pre[j], 0) }
                } else {
                    // Partial selection of the k largest (stable: ties go to the lower index).
                    for s in 0..<topK {
                        var best = s
                        for t in (s + 1)..<L where pre[order[t]] > pre[order[best]] || (pre[order[t]] == pre[order[best]] && order[t] < order[best]) { best = t }
                        order.swapAt(s, best)
                        z[order[s]] = max(pre[order[s]], 0)
                    }
                }
            case .jumprelu:
                let logT = p + lay.extra
                for j in 0..<L {
                    let theta = Foundation.exp(logT[j])
                    z[j] = pre[j] > theta ? pre[j] : 0
                    if z[j] != 0 { penalty += 1 }
                }
                penalty *= Double(lambda)
            case .gated:
                let rMag = p + lay.extra, bMag = p + lay.extra2
                for j in 0..<L {
                    mag[j] = Foundation.exp(rMag[j]) * (pre[j] - bEnc[j]) + bMag[j]
                    z[j] = pre[j] > 0 ? max(mag[j], 0) : 0
                    penalty += Double(max(pre[j], 0))
                }
                penalty *= Double(lambda)
                // Auxiliary reconstruction from ReLU(π_gate) through the frozen decoder.
                for i in 0..<m { ra[i] = auxBDec[i] - h[i] }
                for j in 0..<L where pre[j] > 0 {
                    let row = auxDec + j * m, a = pre[j]
                    for i in 0..<m { ra[i] += a * row[i] }
                }
                var aux = 0.0
                for i in 0..<m { aux += Double(ra[i] * ra[i]) }
                penalty += aux / Double(m)
            }
            // Everything after the encoder reads only the firing latents (docs/sae.md#speed); sums over them in
            // ascending order equal the sums over every latent, whose other terms are exact zeros.
            var active = 0
            for j in 0..<L { firing[active] = j; active += z[j] != 0 ? 1 : 0 }   // branch-free
            if variant == .relu {
                for t in 0..<active { penalty += Double(z[firing[t]]) }
                penalty *= Double(lambda)
            }
            // Reconstruction.
            for i in 0..<m { r[i] = bDec[i] - h[i] }
            for t in 0..<active {
                let j = firing[t], row = wDec + j * m, a = z[j]
                for i in 0..<m { r[i] += a * row[i] }
            }
            var sq = 0.0
            for i in 0..<m { sq += Double(r[i] * r[i]) }
            mseSum += sq / Double(m)
            lossSum += sq / Double(m) + penalty
            l0Sum += Double(active)
            if let fired { for t in 0..<active { fired[firing[t]] += 1 } }
            if let codes { for j in 0..<L { codes[b * L + j] = z[j] } }
            if let reconstructions { for i in 0..<m { reconstructions[b * m + i] = r[i] + h[i] } }
            if let squaredErrors { squaredErrors[b] = Float(sq) }
            guard let g else { continue }

            // Backward. gr = ∂loss/∂ĥ (÷B); decoder and b_dec.
            for i in 0..<m { gr[i] = twoOverM * r[i] * scale }
            let gDec = g + lay.wDec, gBDec = g + lay.bDec
            for i in 0..<m { gBDec[i] += gr[i] }
            // ∂loss/∂z is read only where z ≠ 0 (and near the threshold for JumpReLU), so it is computed only
            // there: with sparse codes most latents cost nothing in the backward pass (docs/sae.md#speed).
            if variant == .jumprelu {
                for j in 0..<L {
                    let row = wDec + j * m
                    var s: Float = 0
                    for i in 0..<m { s += row[i] * gr[i] }
                    gz[j] = s
                }
            }
            if variant != .jumprelu {
                // Two latents per pass: two independent sum chains, each in the order of i.
                var t = 0
                while t + 1 < active {
                    let j0 = firing[t], j1 = firing[t + 1], row0 = wDec + j0 * m, row1 = wDec + j1 * m
                    var s0: Float = 0, s1: Float = 0
                    for i in 0..<m { s0 += row0[i] * gr[i]; s1 += row1[i] * gr[i] }
                    gz[j0] = s0; gz[j1] = s1
                    t += 2
                }
                if t < active {
                    let j = firing[t], row = wDec + j * m
                    var s: Float = 0
                    for i in 0..<m { s += row[i] * gr[i] }
                    gz[j] = s
                }
            }
            for t in 0..<active {
                let j = firing[t], grow = gDec + j * m, a = z[j]
                for i in 0..<m { grow[i] += a * gr[i] }
            }
            // ∂loss/∂pre: gW multiplies x in W_enc's gradient, gB is b_enc's.
            switch variant {
            case .relu:
                let l = lambda * scale
                for j in 0..<L { gW[j] = pre[j] > 0 ? gz[j] + l : 0; gB[j] = gW[j] }
            case .topk:
                for j in 0..<L { gW[j] = z[j] != 0 ? gz[j] : 0; gB[j] = gW[j] }
            case .jumprelu:
                let logT = p + lay.extra, gLogT = g + lay.extra
                let eps = bandwidth, l = lambda * scale
                for j in 0..<L {
                    let theta = Foundation.exp(logT[j])
                    gW[j] = pre[j] > theta ? gz[j] : 0
                    gB[j] = gW[j]
                    if Swift.abs(pre[j] - theta) < eps / 2 {
                        let dTheta = gz[j] * (-theta / eps) + l * (-1 / eps)
                        gLogT[j] += dTheta * theta
                    }
                }
            case .gated:
                let rMag = p + lay.extra, gRMag = g + lay.extra, gBMag = g + lay.extra2
                for i in 0..<m { ra[i] *= twoOverM * scale }
                let l = lambda * scale
                for j in 0..<L {
                    let gMag: Float = (pre[j] > 0 && mag[j] > 0) ? gz[j] : 0
                    let e = Foundation.exp(rMag[j])
                    gRMag[j] += gMag * (mag[j] - (p + lay.extra2)[j])
                    gBMag[j] += gMag
                    var gGate: Float = 0
                    if pre[j] > 0 {
                        let row = auxDec + j * m
                        var s: Float = 0
                        for i in 0..<m { s += row[i] * ra[i] }
                        gGate = l + s
                    }
                    gW[j] = gMag * e + gGate
                    gB[j] = gGate
                }
            }
            let gEnc = g + lay.wEnc, gBEnc = g + lay.bEnc
            for j in 0..<L { gBEnc[j] += gB[j] }
            // W_enc's gradient and b_dec's share of it over the latents with gW ≠ 0 only, in ascending order: a
            // skipped term would add exactly zero, so the sums are the same as over every latent.
            // For ReLU and TopK gW ≠ 0 only where z ≠ 0, so the firing list serves (its gW = 0 terms add zeros).
            var count = 0
            let list: UnsafeMutablePointer<Int>
            if variant == .relu || variant == .topk {
                (list, count) = (firing, active)
            } else {
                for j in 0..<L where gW[j] != 0 { nonZero[count] = j; count += 1 }
                list = nonZero
            }
            for i in 0..<m {
                let xi = x[i], row = wEnc + i * L, grow = gEnc + i * L
                var s: Float = 0
                for t in 0..<count { let j = list[t]; grow[j] += xi * gW[j]; s += row[j] * gW[j] }
                gBDec[i] -= s
            }
        }
        return SAEBatchStatistics(loss: lossSum / Double(B), meanSquaredError: mseSum / Double(B), l0: l0Sum / Double(B))
    }

    /// pre = b_enc + Σ_i x_i W_enc[i, ·], 32 latents at a time held in registers across the m inputs (a multiply
    /// then an add per term, in the order of i: the same roundings as the plain loop).
    @inline(__always)
    static func encode(x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                       into pre: UnsafeMutablePointer<Float>, m: Int, latents L: Int) {
        typealias V = SIMD8<Float>
        func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
        var j = 0
        while j + 32 <= L {
            var a0 = load(bias + j), a1 = load(bias + j + 8), a2 = load(bias + j + 16), a3 = load(bias + j + 24)
            for i in 0..<m {
                let xi = V(repeating: x[i]), row = w + i * L + j
                a0 += xi * load(row); a1 += xi * load(row + 8); a2 += xi * load(row + 16); a3 += xi * load(row + 24)
            }
            store(a0, pre + j); store(a1, pre + j + 8); store(a2, pre + j + 16); store(a3, pre + j + 24)
            j += 32
        }
        while j + 8 <= L {
            var a = load(bias + j)
            for i in 0..<m { a += V(repeating: x[i]) * load(w + i * L + j) }
            store(a, pre + j)
            j += 8
        }
        for jj in j..<L {
            var a = bias[jj]
            for i in 0..<m { a += x[i] * w[i * L + jj] }
            pre[jj] = a
        }
    }
}
