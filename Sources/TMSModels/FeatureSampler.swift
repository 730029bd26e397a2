import Foundation
import TMSCore

/// One instance's batch as compressed sparse rows: row b holds features `columns[rowStart[b]..<rowStart[b+1]]`
/// (increasing) with values `values[...]`. Cost is proportional to the non-zeros, not to batch × features.
public struct SparseBatch: Sendable {
    public var batchSize: Int
    public var featureCount: Int
    public var rowStart: [Int32]
    public var columns: [Int32]
    public var values: [Float]

    public init(batchSize: Int, featureCount: Int) {
        self.batchSize = batchSize
        self.featureCount = featureCount
        rowStart = [Int32](repeating: 0, count: batchSize + 1)
        columns = []
        values = []
    }

    public var nonZeroCount: Int { Int(rowStart[batchSize]) }

    /// The batch as a dense `[batch][feature]` array (tests, reference code).
    public var dense: [[Float]] {
        var out = [[Float]](repeating: [Float](repeating: 0, count: featureCount), count: batchSize)
        for b in 0..<batchSize {
            for e in Int(rowStart[b])..<Int(rowStart[b + 1]) { out[b][Int(columns[e])] = values[e] }
        }
        return out
    }

    /// Builds a sparse batch from dense rows (zeros dropped).
    public init(dense rows: [[Float]]) {
        self.init(batchSize: rows.count, featureCount: rows.first?.count ?? 0)
        for (b, row) in rows.enumerated() {
            for (i, v) in row.enumerated() where v != 0 { columns.append(Int32(i)); values.append(v) }
            rowStart[b + 1] = Int32(columns.count)
        }
    }
}

/// Draws synthetic sparse feature batches for one instance (docs/models.md#feature-distributions).
///
/// Present features get a magnitude U[0, 1) (or U[−1, 1) for signed inputs). How a batch is drawn from the
/// stream `rng` (so what a seed produces):
/// - independent features, one probability p < `BatchPlan.skipBelow` for all: present positions are found by geometric
///   skips over the flattened batch `[row][feature]` (cost ∝ non-zeros), one `log` per non-zero;
/// - other independent features ("lane draws"): 16 draws of `rng` seed a `LaneRandomStream`; rows are taken
///   in groups of 8 (lane ℓ is row 8g + ℓ) and, for each group and feature i in order, one 24-bit draw u
///   per lane: present iff u < T_i = round(p_i·2^24), with magnitude u/T_i (given presence, u is uniform
///   on 0..<T_i, so u/T_i is uniform on [0, 1) in steps of 1/T_i, at most 2^-20 for p ≥ 1/16). Cost ∝
///   rows × features, ~0.2 ns per entry, ~50× cheaper than a skip per non-zero above p ≈ 0.05;
/// - correlated or anticorrelated pairs: scalar draws per pair; correlated sets of k: one scalar presence draw
///   per set, then k magnitudes when present (k = 2 gives the draws of correlated pairs).
/// `sample(batchSize:into:rng:)` returns any batch as CSR; the trainer fills lane draws straight into a
/// dense feature-major buffer (`drawDense`), with the same values.
public struct FeatureSampler: Sendable {
    public let featureCount: Int
    public let probability: [Float]
    public let distribution: FeatureDistribution
    public let signed: Bool
    /// The set size k of `correlated-sets` (nil otherwise).
    public let setSize: Int?
    let uniformProbability: Float?
    /// Per-feature presence thresholds T_i for lane draws (`LaneRandomStream.threshold`, 2^24 meaning
    /// always) and 1/T_i; one unused entry each without features, so that their base addresses exist.
    let thresholds: [Int32]
    let inverseThresholds: [Float]

    /// How batches are drawn (`BatchPlan.drawing`): decided once, here.
    let drawing: BatchPlan.Drawing

    /// `setSize` is the set size k of `correlated-sets` (required there, dividing `featureCount`; ignored
    /// otherwise), `TrainingConfig.correlatedSetSize`.
    public init(featureCount: Int, probability: [Float], distribution: FeatureDistribution, signed: Bool, setSize: Int? = nil) {
        precondition(probability.count == featureCount)
        precondition(distribution != .correlatedSets || setSize.map { $0 >= 1 && featureCount % $0 == 0 } == true)
        self.setSize = distribution == .correlatedSets ? setSize : nil
        self.featureCount = featureCount
        self.probability = probability
        self.distribution = distribution
        self.signed = signed
        let first = probability.first ?? 1
        uniformProbability = probability.allSatisfy { $0 == first } ? first : nil
        thresholds = featureCount == 0 ? [0] : probability.map { LaneRandomStream.threshold(probability: $0) }
        inverseThresholds = thresholds.map { $0 > 0 ? Float(1 / Double($0)) : 0 }
        drawing = BatchPlan.drawing(distribution: distribution, probability: probability)
    }

    /// Whether batches are lane-drawn (dense) rather than skip-sampled or drawn per pair.
    public var drawsLanes: Bool { drawing == .lanes }

    /// Whether `sampleDense` can fill a dense buffer (independent features, either way of drawing).
    public var samplesDensely: Bool { drawing != .pairs }

    /// Draws `batchSize` rows into the feature-major buffer `inputs` [featureCount][stride] (row b of
    /// feature i at `inputs[i * stride + b]`), the same values `sample(batchSize:into:rng:)` gives for the
    /// same stream; rows `batchSize..<stride` are zeroed. Requires `samplesDensely` and `stride` ≥
    /// `batchSize` rounded up to a multiple of 8.
    func sampleDense(batchSize: Int, into inputs: UnsafeMutablePointer<Float>, stride: Int, rng: inout RandomStream) {
        precondition(samplesDensely && stride >= (batchSize + 7) / 8 * 8)
        if drawsLanes { drawDense(batchSize: batchSize, into: inputs, stride: stride, rng: &rng); return }
        // Geometric skips over the flattened [row][feature] positions, written straight into the columns.
        let n = featureCount
        for i in 0..<n { (inputs + i * stride).update(repeating: 0, count: stride) }
        let logQ = log(1 - Double(uniformProbability ?? 1))
        var position = rng.nextGeometricGap(logOneMinusP: logQ)
        let total = batchSize * n
        while position < total {
            let r = position / n
            inputs[(position - r * n) * stride + r] = magnitude(&rng)
            position += 1 + rng.nextGeometricGap(logOneMinusP: logQ)
        }
    }

    /// Lane-draws `batchSize` rows into `inputs` (see `sampleDense`); requires `drawsLanes`.
    func drawDense(batchSize: Int, into inputs: UnsafeMutablePointer<Float>, stride: Int, rng: inout RandomStream) {
        precondition(drawsLanes && stride >= (batchSize + 7) / 8 * 8)
        var lanes = LaneRandomStream(seededBy: &rng)
        drawRows(batchSize, into: inputs, stride: stride, zeroedUpTo: stride, lanes: &lanes)
    }

    /// Lane-draws `rows` rows, continuing `lanes` in groups of 8 rows, into x [featureCount][stride] from row
    /// 0; rows `rows ..< zeroedUpTo` are zero (`LaneRandomStream.drawRows`, AVX-512 where the processor has
    /// it). `drawDense` draws a whole batch this way, the trainer's chunk-by-chunk drawing one chunk at a time
    /// (`InstanceState.passDrawingChunks`).
    func drawRows(_ rows: Int, into x: UnsafeMutablePointer<Float>, stride: Int, zeroedUpTo padded: Int,
                  lanes: inout LaneRandomStream) {
        thresholds.withUnsafeBufferPointer { t in
            inverseThresholds.withUnsafeBufferPointer { v in
                lanes.drawRows(rows, features: featureCount, thresholds: t.baseAddress!, inverseThresholds: v.baseAddress!,
                               signed: signed, into: x, stride: stride, zeroedUpTo: padded)
            }
        }
    }

    /// Lane-draws `batchSize` rows as CSR (the values `drawDense` gives for the same stream).
    func drawSparse(batchSize: Int, into batch: inout SparseBatch, rng: inout RandomStream) {
        var lanes = LaneRandomStream(seededBy: &rng)
        let n = featureCount
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: max(n, 1)) { values in
        withUnsafeTemporaryAllocation(of: SIMD8<Int32>.self, capacity: max(n, 1)) { present in
        thresholds.withUnsafeBufferPointer { t in
        inverseThresholds.withUnsafeBufferPointer { inverse in
            for g in 0..<((batchSize + 7) / 8) {
                lanes.drawGroup(features: n, thresholds: t.baseAddress!, inverseThresholds: inverse.baseAddress!,
                                signed: signed) { i, v, p in
                    values[i] = v
                    present[i] = SIMD8<Int32>.zero.replacing(with: 1, where: p)
                }
                for l in 0..<min(8, batchSize - 8 * g) {
                    for i in 0..<n where present[i][l] != 0 {
                        batch.columns.append(Int32(i)); batch.values.append(values[i][l])
                    }
                    batch.rowStart[8 * g + l + 1] = Int32(batch.columns.count)
                }
            }
        }}}}
    }

    @inline(__always) func magnitude(_ rng: inout RandomStream) -> Float {
        signed ? rng.nextUnitFloat() * 2 - 1 : rng.nextUnitFloat()
    }

    /// Draws `batchSize` rows with exactly the draws `sample(batchSize:into:rng:)` makes for skip draws
    /// (`drawing == .skips`), but appends only the non-empty rows to `rows` (whose `batchSize` grows by their
    /// number) and returns how many it appended. Cost ∝ non-zeros, nothing per empty row: the evaluation of
    /// very sparse instances (docs/performance.md#final-evaluation).
    func appendNonEmptyRows(batchSize: Int, to rows: inout SparseBatch, rng: inout RandomStream) -> Int {
        precondition(drawing == .skips && rows.rowStart.count == rows.batchSize + 1)
        let n = featureCount
        let logQ = log(1 - Double(uniformProbability!))
        var position = rng.nextGeometricGap(logOneMinusP: logQ)
        let total = batchSize * n
        var lastRow = -1, appended = 0
        while position < total {
            let r = position / n
            if r != lastRow {
                lastRow = r; appended += 1
                rows.batchSize += 1
                rows.rowStart.append(rows.rowStart[rows.batchSize - 1])
            }
            rows.columns.append(Int32(position - r * n))
            rows.values.append(magnitude(&rng))
            rows.rowStart[rows.batchSize] += 1
            position += 1 + rng.nextGeometricGap(logOneMinusP: logQ)
        }
        return appended
    }

    /// Fills `batch` (reusing its storage) with `batchSize` fresh rows drawn from `rng`.
    public func sample(batchSize: Int, into batch: inout SparseBatch, rng: inout RandomStream) {
        batch.batchSize = batchSize
        batch.featureCount = featureCount
        if batch.rowStart.count != batchSize + 1 { batch.rowStart = [Int32](repeating: 0, count: batchSize + 1) }
        batch.columns.removeAll(keepingCapacity: true)
        batch.values.removeAll(keepingCapacity: true)
        let n = featureCount
        switch distribution {
        case .independent:
            if drawsLanes {
                drawSparse(batchSize: batchSize, into: &batch, rng: &rng)
            } else if let p = uniformProbability, batchSize * n <= Int(Int32.max) {
                drawSkips(batchSize: batchSize, probability: p, into: &batch, rng: &rng)
            } else if let p = uniformProbability {
                let logQ = log(1 - Double(p))
                var position = rng.nextGeometricGap(logOneMinusP: logQ)
                var row = 0
                let total = batchSize * n
                while position < total {
                    let r = position / n
                    while row < r { row += 1; batch.rowStart[row] = Int32(batch.columns.count) }
                    batch.columns.append(Int32(position - r * n))
                    batch.values.append(magnitude(&rng))
                    position += 1 + rng.nextGeometricGap(logOneMinusP: logQ)
                }
                while row < batchSize { row += 1; batch.rowStart[row] = Int32(batch.columns.count) }
            }
        case .correlatedPairs:
            for b in 0..<batchSize {
                for j in stride(from: 0, to: n - 1, by: 2) where rng.nextUnitFloat() < probability[j] {
                    batch.columns.append(Int32(j)); batch.values.append(magnitude(&rng))
                    batch.columns.append(Int32(j + 1)); batch.values.append(magnitude(&rng))
                }
                batch.rowStart[b + 1] = Int32(batch.columns.count)
            }
        case .correlatedSets:
            let k = setSize!
            for b in 0..<batchSize {
                for j in stride(from: 0, to: n, by: k) where rng.nextUnitFloat() < probability[j] {
                    for i in j..<(j + k) { batch.columns.append(Int32(i)); batch.values.append(magnitude(&rng)) }
                }
                batch.rowStart[b + 1] = Int32(batch.columns.count)
            }
        case .anticorrelatedPairs:
            for b in 0..<batchSize {
                for j in stride(from: 0, to: n - 1, by: 2) {
                    // u ∈ (0, 1]: first present iff u ≤ p, second iff u ≥ 1 − p; disjoint for p ≤ 0.5.
                    let u = Float(rng.nextOpenUnitDouble())
                    let p = probability[j]
                    if u <= p { batch.columns.append(Int32(j)); batch.values.append(magnitude(&rng)) }
                    else if u >= 1 - p { batch.columns.append(Int32(j + 1)); batch.values.append(magnitude(&rng)) }
                }
                batch.rowStart[b + 1] = Int32(batch.columns.count)
            }
        }
    }

    /// The skip draw of `sample` for batches of at most 2³¹ − 1 entries, in two passes with the same draws:
    /// first the flat positions row·n + feature (in `columns`) and the values, then rows and columns.
    ///
    /// In one pass, each non-zero waited for the last: a row change is a branch that mispredicts about once
    /// per row at 3 non-zeros per row (bench D), and each misprediction threw away the `log` and division
    /// of the next draws, which otherwise overlap (only the positions' running sum joins them). The first
    /// pass has no branch but the loop's own; the second divides each position by n and counts the rows
    /// (docs/performance.md#whole-job-fourth-pass).
    ///
    /// Needs `batch.rowStart` of `batchSize` + 1 entries and empty `columns` and `values`. `initialRoom`
    /// (tests) replaces the first guess of the number of non-zeros.
    func drawSkips(batchSize: Int, probability p: Float, into batch: inout SparseBatch, rng: inout RandomStream,
                   initialRoom: Int? = nil) {
        let n = featureCount, total = batchSize * n
        let logQ = log(1 - Double(p))
        var position = rng.nextGeometricGap(logOneMinusP: logQ)
        var count = 0
        // Room for the expected non-zeros and 4 standard deviations more; doubled when full.
        let expected = Double(total) * Double(p)
        var room = initialRoom ?? max(64, Int(expected + 4 * expected.squareRoot()) + 64)
        while position < total {
            if batch.columns.count < room {
                batch.columns.append(contentsOf: repeatElement(0, count: room - batch.columns.count))
                batch.values.append(contentsOf: repeatElement(0, count: room - batch.values.count))
            }
            batch.columns.withUnsafeMutableBufferPointer { columns in
            batch.values.withUnsafeMutableBufferPointer { values in
                while position < total && count < room {
                    columns[count] = Int32(truncatingIfNeeded: position)
                    values[count] = magnitude(&rng)
                    count &+= 1
                    position &+= 1 &+ rng.nextGeometricGap(logOneMinusP: logQ)
                }
            }}
            room *= 2
        }
        batch.columns.removeLast(batch.columns.count - count)
        batch.values.removeLast(batch.values.count - count)
        let width = UInt32(n)
        batch.columns.withUnsafeMutableBufferPointer { columns in
        batch.rowStart.withUnsafeMutableBufferPointer { rowStart in
            rowStart.update(repeating: 0)
            for e in 0..<count {
                let flat = UInt32(truncatingIfNeeded: columns[e]), row = flat / width
                columns[e] = Int32(truncatingIfNeeded: flat &- row &* width)
                rowStart[Int(row) &+ 1] &+= 1
            }
            for r in 0..<batchSize { rowStart[r &+ 1] &+= rowStart[r] }
        }}
    }

    /// A fresh batch (allocating); `sample(batchSize:into:rng:)` reuses storage.
    public func sample(batchSize: Int, rng: inout RandomStream) -> SparseBatch {
        var batch = SparseBatch(batchSize: batchSize, featureCount: featureCount)
        sample(batchSize: batchSize, into: &batch, rng: &rng)
        return batch
    }
}
