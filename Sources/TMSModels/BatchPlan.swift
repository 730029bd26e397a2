import Foundation
import TMSCore

/// How one instance's batches are drawn and how the pass reads them, decided once per instance (when its
/// `InstanceState` is made) from the model's shape and the feature distribution. The sampler and the pass
/// read it and decide nothing else about density; only the per-chunk choice of the output-gradient path
/// (from the δ density measured on the previous batch) is left to the pass, with its threshold here.
///
/// Thresholds and the measurements behind them (release builds, AVX2; see docs/performance.md#batch-plan):
/// - `skipBelow` = 0.05: below a common probability p, a batch is drawn by geometric skips over the
///   flattened [row][feature] positions (one `log` per non-zero, cost ∝ non-zeros); at or above it (or with
///   per-feature probabilities) by lane draws, ~0.2 ns per entry, ~50× cheaper than a skip per non-zero
///   above p ≈ 0.05. This one changes the numbers a seed produces; it depends on the distribution only,
///   never on the model, so the same data reach every model of a sweep.
/// - `tinyModelSize` = 64 weights: models this small take the dense kernels at any density (a dense row costs
///   less than the sparse path's lists, transposes and zeroing) and the fused small-model kernel.
/// - the dense-input density 0.4·m/mPad: the dense input kernels' two products cost 2·n·m per row at near-peak
///   speed, the sparse ones an mPad-wide axpy (~3× slower per FMA) per non-zero plus two small transposes
///   (400→30: sparse inputs 2.6× faster at p = 0.04).
/// - the dense-output-gradient density (0.1, or 0.3 for untied `abs`)·m/mPad: for 400→30 at p = 0.01 the
///   sparse output path is ~5× cheaper at 2–5 % δ density but loses at 14 % (factor 0.1 beat 0.3 by ~10 %);
///   for `abs` 100→40 at p = 0.03 it still wins at 17–22 % (0.3 beat 0.1 by ~10 %), its dense output side
///   being two separate products. Without an output ReLU every δ is non-zero: always dense.
/// - the Gram path (`gramProducts`, InstanceState+Gram.swift) for tied models on skip-drawn CSR batches
///   when `gramPays`: per feature, 2·n·m + 8·B·k < 2·B·m. The left side is its two n²·m products per batch
///   and its 2·k·n multiply-adds per row of k non-zeros, weighted ×4: each non-zero streams a row of G and
///   a row of δ through L1, where the general kernels' ~2–3·n·m multiply-adds per row run near the FMA peak.
///   Fitted to one-thread runs of 4 instances, 500–2,000 steps on the AVX-512 Xeon
///   (docs/performance.md#gram-path): 400→30 (0.9ⁱ) takes 1.71–1.80 s → 1.28 s at p = 0.001–0.002 and
///   1.48 → 1.35 s at p = 0.01 (the rows on 16 lanes; the same, 1.80 → 1.84, on 8), and 1.98 → 2.28 at
///   p = 0.02, which the rule leaves on the general kernels; 100→20 takes 1.70 → 0.89 s at p = 0.01 and
///   2.19 → 1.35 s at p = 0.03.
/// - `gramPairChunks`: on the Gram path, A = Σ x δᵀ is added up over several chunks at once when one chunk's
///   non-zeros are expected to reach at least half of A's rows (1 − (1 − p)^rows ≥ 0.5): each such chunk
///   would load and store most of A (n²·4 bytes, 640 KB at n = 400) once more. As many chunks as keep their δ
///   within 800 KB, so that δ, A and G stay in a 2 MB L2. T (400→30 × 8, p = 0.01, 4 chunks a group): whole
///   process 3.77–3.84 → 3.64–3.71 s; 400→30 at p = 0.002 (23 % of A per chunk) grouped lost 6 %, at 0.005
///   it was even (docs/performance.md#a-over-several-chunks). Any grouping gives the same bits.
struct BatchPlan: Sendable, Equatable {
    /// How the sampler draws a batch (this decides the values a seed gives).
    enum Drawing: Sendable, Equatable {
        /// Independent features with per-feature probabilities, or one probability ≥ `skipBelow`.
        case lanes
        /// Independent features with one probability below `skipBelow`.
        case skips
        /// Correlated or anticorrelated pairs, drawn per pair (CSR only).
        case pairs
    }

    static let skipBelow: Float = 0.05
    static let tinyModelSize = 64

    let drawing: Drawing
    /// Whether training batches are drawn straight into a dense [n][stride] buffer (they then always take
    /// the dense input kernels): lane draws, and skip draws for models that take dense inputs at that density.
    let denseTrainingBatches: Bool
    /// The input density of a CSR batch (evaluation, tests, pairs, skip draws) at or above which the dense
    /// input kernels run (0 for tiny models: always).
    let denseInputDensity: Double
    /// Whether dense-input chunks take the fused small-model kernel.
    let fusedKernel: Bool
    /// The δ density below which the sparse output backward is tried (0: never).
    let denseOutputGradientDensity: Double
    /// Whether CSR passes take the Gram path: y = act(G x + b) with G = WᵀW, and ∂W = W (A + Aᵀ) with
    /// A = Σ_rows x δᵀ, in place of h = W x, y = act(Wᵀh + b) and the output backward (docs/models.md#gram-path).
    let gramProducts: Bool
    /// Chunks whose δ the Gram path keeps before adding their rows' x δᵀ into A (1: every chunk on its own).
    let gramPairChunks: Int

    /// The drawing for independent or paired features with these probabilities.
    static func drawing(distribution: FeatureDistribution, probability: [Float]) -> Drawing {
        guard distribution == .independent else { return .pairs }
        guard let first = probability.first, probability.allSatisfy({ $0 == first }) else { return .lanes }
        return first >= skipBelow ? .lanes : .skips
    }

    /// The plan for `model` with n features and m hidden units whose sampler draws batches of `batchSize`
    /// rows by `drawing` (`uniformProbability`: the common probability of independent features, if there is one).
    init(model: ModelKind, featureCount n: Int, hiddenCount m: Int, batchSize: Int, drawing: Drawing,
         uniformProbability: Float?) {
        let mPad = Double(roundUp(m, toMultipleOf: 8)), tiny = n * m <= Self.tinyModelSize
        self.drawing = drawing
        denseInputDensity = tiny ? 0 : 0.4 * Double(m) / mPad
        fusedKernel = tiny
        denseOutputGradientDensity = model.hasOutputReLU ? (model.isTied ? 0.1 : 0.3) * Double(m) / mPad : 0
        switch drawing {
        case .lanes: denseTrainingBatches = true
        case .skips: denseTrainingBatches = Double(uniformProbability ?? 1) >= denseInputDensity
        case .pairs: denseTrainingBatches = false
        }
        gramProducts = model.isTied && !model.hasHiddenReLU && !tiny && drawing == .skips && !denseTrainingBatches
            && Self.gramPays(featureCount: n, hiddenCount: m, batchSize: batchSize,
                             nonZerosPerRow: Double(uniformProbability ?? 1) * Double(n))
        gramPairChunks = gramProducts ? Self.gramPairChunks(featureCount: n, batchSize: batchSize,
                                                            probability: Double(uniformProbability ?? 1)) : 1
    }

    /// The chunks per addition into A on the Gram path (see the type's notes): more than one only when a
    /// chunk's non-zeros are expected to touch at least half of A's rows, then as many as keep their δ
    /// within 800 KB, at most the batch's chunks.
    static func gramPairChunks(featureCount n: Int, batchSize B: Int, probability p: Double) -> Int {
        let rows = InstanceState.chunkRows(batchSize: B, featureCount: n)
        guard 1 - Foundation.pow(1 - p, Double(rows)) >= 0.5 else { return 1 }
        let chunks = (B + rows - 1) / rows, bytesPerChunk = rows * roundUp(n, toMultipleOf: 16) * 4
        return max(1, min(chunks, 819_200 / bytesPerChunk))
    }

    /// Whether the Gram path costs less than the general kernels for a tied n→m model on batches of
    /// `batchSize` rows with `nonZerosPerRow` non-zero inputs each (per feature: 2·n·m + 8·B·k < 2·B·m).
    static func gramPays(featureCount n: Int, hiddenCount m: Int, batchSize B: Int, nonZerosPerRow k: Double) -> Bool {
        2 * Double(n * m) + 8 * Double(B) * k < 2 * Double(B * m)
    }

    /// Whether a CSR batch with `nonZeros` of `entries` values takes the dense input kernels.
    func takesDenseInputs(nonZeros: Int, entries: Int) -> Bool {
        Double(nonZeros) / Double(max(1, entries)) >= denseInputDensity
    }
}
