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

/// Draws synthetic sparse feature batches for one instance (SPEC §3).
///
/// Present features get a magnitude U[0, 1) (or U[−1, 1) for signed inputs). With one probability p for all
/// features of an independent instance, present positions are found by geometric skips over the flattened
/// batch (cost ∝ non-zeros); otherwise each feature (or pair) gets its own draw.
public struct FeatureSampler: Sendable {
    public let featureCount: Int
    public let probability: [Float]
    public let distribution: FeatureDistribution
    public let signed: Bool
    let uniformProbability: Float?

    public init(featureCount: Int, probability: [Float], distribution: FeatureDistribution, signed: Bool) {
        precondition(probability.count == featureCount)
        self.featureCount = featureCount
        self.probability = probability
        self.distribution = distribution
        self.signed = signed
        let first = probability.first ?? 1
        uniformProbability = probability.allSatisfy { $0 == first } ? first : nil
    }

    @inline(__always) func magnitude(_ rng: inout RandomStream) -> Float {
        signed ? rng.nextUnitFloat() * 2 - 1 : rng.nextUnitFloat()
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
            if let p = uniformProbability {
                if p >= 1 {
                    batch.columns.reserveCapacity(batchSize * n)
                    for b in 0..<batchSize {
                        for i in 0..<n { batch.columns.append(Int32(i)); batch.values.append(magnitude(&rng)) }
                        batch.rowStart[b + 1] = Int32(batch.columns.count)
                    }
                } else {
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
            } else {
                for b in 0..<batchSize {
                    for i in 0..<n where rng.nextUnitFloat() < probability[i] {
                        batch.columns.append(Int32(i)); batch.values.append(magnitude(&rng))
                    }
                    batch.rowStart[b + 1] = Int32(batch.columns.count)
                }
            }
        case .correlatedPairs:
            for b in 0..<batchSize {
                for j in stride(from: 0, to: n - 1, by: 2) where rng.nextUnitFloat() < probability[j] {
                    batch.columns.append(Int32(j)); batch.values.append(magnitude(&rng))
                    batch.columns.append(Int32(j + 1)); batch.values.append(magnitude(&rng))
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

    /// A fresh batch (allocating); `sample(batchSize:into:rng:)` reuses storage.
    public func sample(batchSize: Int, rng: inout RandomStream) -> SparseBatch {
        var batch = SparseBatch(batchSize: batchSize, featureCount: featureCount)
        sample(batchSize: batchSize, into: &batch, rng: &rng)
        return batch
    }
}
