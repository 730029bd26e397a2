import Foundation
import TMSCore

/// One model instance's parameters, gradients, Adam moments and scratch, in layouts chosen for the fused
/// training pass; owned by exactly one worker at a time.
///
/// Layouts (mPad = m rounded up to 8, nPad = n rounded up to 16; padding is zero and stays zero):
/// - `encoder` [n][mPad]: row i is feature i's encoder direction (tied: W_i; `abs`: column i of W₁).
/// - `decoderT` [n][mPad]: row i is feature i's decoder direction (tied: the same buffer as `encoder`;
///   `abs`: row i of W₂).
/// - `decoder` [m][nPad]: a copy of `decoderT` transposed, refreshed after every update, so decoding a batch
///   row is a sweep over contiguous features.
/// - `bias` [nPad].
/// Gradients use the same layouts, so for tied models the encoder and decoder contributions land in one buffer.
final class InstanceState: @unchecked Sendable {
    let model: ModelKind
    let n: Int, m: Int, mPad: Int, nPad: Int
    let sampler: FeatureSampler
    var dataStream: RandomStream
    var batch: SparseBatch
    /// Adam step count t (1-based after the first update).
    var adamStep = 0

    private let storage: UnsafeMutablePointer<Float>
    let encoder, decoderT, decoder, bias: UnsafeMutablePointer<Float>
    let gradEncoder, gradDecoderT, gradBias: UnsafeMutablePointer<Float>
    let mEncoder, vEncoder, mDecoderT, vDecoderT, mBias, vBias: UnsafeMutablePointer<Float>
    /// [nPad] importance, zero padded.
    let importance: UnsafeMutablePointer<Float>
    /// Scratch: hidden activations [4][mPad], decoded outputs [4][nPad], output gradient [nPad], dL/dh [mPad].
    let hidden, decoded, outputGrad, hiddenGrad: UnsafeMutablePointer<Float>
    private let storageCount: Int

    init(model: ModelKind, featureCount n: Int, hiddenCount m: Int, importance: [Float],
         sampler: FeatureSampler, dataStream: RandomStream, W: [Float], W2: [Float]?, bias b: [Float], batchSize: Int) {
        self.model = model
        self.n = n; self.m = m
        mPad = roundUp(m, toMultipleOf: 8); nPad = roundUp(n, toMultipleOf: 16)
        self.sampler = sampler
        self.dataStream = dataStream
        batch = SparseBatch(batchSize: batchSize, featureCount: n)
        let nm = n * mPad, tied = model.isTied
        let sizes = [nm, tied ? 0 : nm, m * nPad, nPad,      // encoder, decoderT, decoder, bias
                     nm, tied ? 0 : nm, nPad,                // gradients
                     nm, nm, tied ? 0 : nm, tied ? 0 : nm, nPad, nPad,  // Adam moments
                     nPad, 4 * mPad, 4 * nPad, nPad, mPad]   // importance, scratch
        storageCount = sizes.reduce(0, +)
        storage = .allocate(capacity: storageCount)
        storage.initialize(repeating: 0, count: storageCount)
        var offsets: [UnsafeMutablePointer<Float>] = []
        var cursor = storage
        for s in sizes { offsets.append(cursor); cursor += s }
        encoder = offsets[0]; decoderT = tied ? offsets[0] : offsets[1]; decoder = offsets[2]; bias = offsets[3]
        gradEncoder = offsets[4]; gradDecoderT = tied ? offsets[4] : offsets[5]; gradBias = offsets[6]
        mEncoder = offsets[7]; vEncoder = offsets[8]
        mDecoderT = tied ? offsets[7] : offsets[9]; vDecoderT = tied ? offsets[8] : offsets[10]
        mBias = offsets[11]; vBias = offsets[12]
        self.importance = offsets[13]
        hidden = offsets[14]; decoded = offsets[15]; outputGrad = offsets[16]; hiddenGrad = offsets[17]
        for i in 0..<n { self.importance[i] = importance[i] }
        setParameters(W: W, W2: W2, bias: b)
    }

    deinit { storage.deallocate() }

    /// Loads PyTorch-layout parameters: W (or W₁) [m][n], W₂ [n][m], b [n].
    func setParameters(W: [Float], W2: [Float]?, bias b: [Float]) {
        for k in 0..<m {
            for i in 0..<n { encoder[i * mPad + k] = W[k * n + i] }
        }
        if let W2 {
            for i in 0..<n {
                for k in 0..<m { decoderT[i * mPad + k] = W2[i * m + k] }
            }
        }
        for i in 0..<n { bias[i] = b[i] }
        refreshDecoder()
    }

    /// The parameters in PyTorch layout: (W or W₁ [m][n], W₂ [n][m] or nil, b [n]).
    func parameters() -> (W: [Float], W2: [Float]?, bias: [Float]) {
        var W = [Float](repeating: 0, count: m * n)
        for k in 0..<m { for i in 0..<n { W[k * n + i] = encoder[i * mPad + k] } }
        var W2: [Float]? = nil
        if !model.isTied {
            var w2 = [Float](repeating: 0, count: m * n)
            for i in 0..<n { for k in 0..<m { w2[i * m + k] = decoderT[i * mPad + k] } }
            W2 = w2
        }
        return (W, W2, Array(UnsafeBufferPointer(start: bias, count: n)))
    }

    /// The gradients of the last `pass(computeGradients: true)` in PyTorch layout (tests).
    func gradients() -> (W: [Float], W2: [Float]?, bias: [Float]) {
        var W = [Float](repeating: 0, count: m * n)
        for k in 0..<m { for i in 0..<n { W[k * n + i] = gradEncoder[i * mPad + k] } }
        var W2: [Float]? = nil
        if !model.isTied {
            var w2 = [Float](repeating: 0, count: m * n)
            for i in 0..<n { for k in 0..<m { w2[i * m + k] = gradDecoderT[i * mPad + k] } }
            W2 = w2
        }
        return (W, W2, Array(UnsafeBufferPointer(start: gradBias, count: n)))
    }

    /// decoder[k][i] = decoderT[i][k].
    func refreshDecoder() {
        for i in 0..<n {
            let row = decoderT + i * mPad
            for k in 0..<m { decoder[k * nPad + i] = row[k] }
        }
    }
}
