import Foundation
import Testing
import TMSCore
@testable import TMSModels

// Seeded statistical checks of every feature distribution (docs/models.md#feature-distributions). Bounds are ±5 standard deviations of
// the binomial (or uniform-mean) spread, so a correct sampler fails one of them with probability < 1e-6.

/// Per-feature presence counts, value sums and pair co-occurrence of a sampled batch.
private struct BatchStatistics {
    var rows = 0
    var present: [Int]
    var valueSum: [Double]
    var valueCount = 0
    var minValue = Double.infinity
    var maxValue = -Double.infinity
    /// Rows where features 2j and 2j+1 are both present, per pair j.
    var bothPresent: [Int]
    /// Rows where exactly one of features 2j, 2j+1 is present, per pair j.
    var onePresent: [Int]
    /// Rows where features 0 and 1 are both present (for independence).
    var firstTwoPresent = 0
    /// Σ v_{2j} v_{2j+1} over rows where both are present, for pair 0 (magnitude independence).
    var pairProductSum = 0.0

    init(_ batch: SparseBatch) {
        let n = batch.featureCount
        rows = batch.batchSize
        present = [Int](repeating: 0, count: n)
        valueSum = [Double](repeating: 0, count: n)
        bothPresent = [Int](repeating: 0, count: n / 2)
        onePresent = [Int](repeating: 0, count: n / 2)
        var row = [Float](repeating: 0, count: n)
        var isPresent = [Bool](repeating: false, count: n)
        for b in 0..<batch.batchSize {
            for i in 0..<n { isPresent[i] = false; row[i] = 0 }
            for e in Int(batch.rowStart[b])..<Int(batch.rowStart[b + 1]) {
                let i = Int(batch.columns[e]), v = Double(batch.values[e])
                isPresent[i] = true; row[i] = batch.values[e]
                present[i] += 1; valueSum[i] += v; valueCount += 1
                minValue = min(minValue, v); maxValue = max(maxValue, v)
            }
            for j in 0..<(n / 2) {
                if isPresent[2 * j] && isPresent[2 * j + 1] { bothPresent[j] += 1 }
                if isPresent[2 * j] != isPresent[2 * j + 1] { onePresent[j] += 1 }
            }
            if n >= 2 && isPresent[0] && isPresent[1] {
                firstTwoPresent += 1
                pairProductSum += Double(row[0]) * Double(row[1])
            }
        }
    }
}

/// Whether `count` successes of `trials` Bernoulli(p) draws lie within 5 binomial standard deviations of p.
private func withinBinomialBounds(_ count: Int, trials: Int, p: Double) -> Bool {
    let sd = (Double(trials) * p * (1 - p)).squareRoot()
    return Swift.abs(Double(count) - Double(trials) * p) <= 5 * sd
}

/// The batch's CSR layout is well formed: row starts increase, columns increase within a row and lie in range.
private func isWellFormed(_ batch: SparseBatch) -> Bool {
    guard batch.rowStart.count == batch.batchSize + 1, batch.rowStart[0] == 0,
          Int(batch.rowStart[batch.batchSize]) == batch.columns.count, batch.columns.count == batch.values.count
    else { return false }
    for b in 0..<batch.batchSize {
        let lo = Int(batch.rowStart[b]), hi = Int(batch.rowStart[b + 1])
        guard lo <= hi else { return false }
        for e in lo..<hi {
            guard batch.columns[e] >= 0 && Int(batch.columns[e]) < batch.featureCount else { return false }
            if e > lo && batch.columns[e] <= batch.columns[e - 1] { return false }
        }
    }
    return true
}

private let draws = 200_000

@Test(arguments: [1.0, 0.5, 0.1, 0.01] as [Float])
func uniformProbabilitySkipSamplerHasBinomialPresenceAndUniformMagnitudes(p: Float) {
    let n = 5
    let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .independent, signed: false)
    var rng = RandomStream(seed: 2024)
    let batch = sampler.sample(batchSize: draws / n, rng: &rng)
    #expect(isWellFormed(batch))
    let s = BatchStatistics(batch)
    let total = s.present.reduce(0, +)
    #expect(withinBinomialBounds(total, trials: draws, p: Double(p)), "\(total) present of \(draws) at p = \(p)")
    for i in 0..<n {
        #expect(withinBinomialBounds(s.present[i], trials: s.rows, p: Double(p)), "feature \(i): \(s.present[i]) of \(s.rows)")
    }
    if p == 1 { #expect(total == draws) }
    // Features are independent: both of features 0 and 1 present with probability p².
    #expect(withinBinomialBounds(s.firstTwoPresent, trials: s.rows, p: Double(p * p)))
    // Magnitudes U[0, 1): in range, mean 1/2 within 5 standard errors (sd 1/√12).
    #expect(s.minValue >= 0 && s.maxValue < 1)
    let mean = s.valueSum.reduce(0, +) / Double(s.valueCount)
    #expect(Swift.abs(mean - 0.5) <= 5 * (1.0 / 12).squareRoot() / Double(s.valueCount).squareRoot(), "mean \(mean)")
}

@Test func perFeatureProbabilitiesHaveBinomialPresence() {
    let probabilities: [Float] = [1, 0.5, 0.1, 0.01]
    let sampler = FeatureSampler(featureCount: 4, probability: probabilities, distribution: .independent, signed: false)
    var rng = RandomStream(seed: 99)
    let batch = sampler.sample(batchSize: draws, rng: &rng)
    #expect(isWellFormed(batch))
    let s = BatchStatistics(batch)
    #expect(s.present[0] == draws)
    for (i, p) in probabilities.enumerated() {
        #expect(withinBinomialBounds(s.present[i], trials: draws, p: Double(p)), "feature \(i) at p = \(p): \(s.present[i])")
    }
    #expect(s.minValue >= 0 && s.maxValue < 1)
    let mean = s.valueSum.reduce(0, +) / Double(s.valueCount)
    #expect(Swift.abs(mean - 0.5) <= 5 * (1.0 / 12).squareRoot() / Double(s.valueCount).squareRoot())
}

@Test(arguments: [1.0, 0.1] as [Float])
func signedMagnitudesAreUniformOnMinusOneToOne(p: Float) {
    let n = 4
    let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .independent, signed: true)
    var rng = RandomStream(seed: 5)
    let batch = sampler.sample(batchSize: draws / n, rng: &rng)
    let s = BatchStatistics(batch)
    #expect(s.minValue >= -1 && s.maxValue < 1)
    #expect(s.minValue < -0.99 && s.maxValue > 0.99)
    let mean = s.valueSum.reduce(0, +) / Double(s.valueCount)
    // U[−1, 1): mean 0, sd 1/√3.
    #expect(Swift.abs(mean) <= 5 * (1.0 / 3).squareRoot() / Double(s.valueCount).squareRoot(), "mean \(mean)")
    let negatives = batch.values.filter { $0 < 0 }.count
    #expect(withinBinomialBounds(negatives, trials: s.valueCount, p: 0.5))
}

@Test(arguments: [1.0, 0.5, 0.1, 0.01] as [Float])
func correlatedPairsAlwaysCoOccurWithMarginalP(p: Float) {
    let n = 6
    let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .correlatedPairs, signed: false)
    var rng = RandomStream(seed: 31)
    let rows = draws / 2
    let batch = sampler.sample(batchSize: rows, rng: &rng)
    #expect(isWellFormed(batch))
    let s = BatchStatistics(batch)
    #expect(s.onePresent == [0, 0, 0], "a pair member appeared without its partner")
    for j in 0..<(n / 2) {
        #expect(withinBinomialBounds(s.bothPresent[j], trials: rows, p: Double(p)), "pair \(j): \(s.bothPresent[j]) of \(rows)")
    }
    // Magnitudes of a pair are independent draws: the mean product is 1/4 (sd of the product √(1/9 − 1/16)).
    if s.firstTwoPresent > 1000 {
        let meanProduct = s.pairProductSum / Double(s.firstTwoPresent)
        #expect(Swift.abs(meanProduct - 0.25) <= 5 * (7.0 / 144).squareRoot() / Double(s.firstTwoPresent).squareRoot(), "mean product \(meanProduct)")
    }
    #expect(s.minValue >= 0 && s.maxValue < 1)
}

@Test(arguments: [0.5, 0.1] as [Float])
func correlatedSetsAreAllOrNoneWithMarginalP(p: Float) {
    // Three sets of 4: in every row a set is wholly present or wholly absent; P(set present) = p; magnitudes
    // U[0, 1) (mean 1/2, sd 1/√12) and independent within a set (mean product of two members 1/4).
    let n = 12, k = 4, rows = draws / 4
    let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .correlatedSets,
                                 signed: false, setSize: k)
    var rng = RandomStream(seed: 43)
    let batch = sampler.sample(batchSize: rows, rng: &rng)
    #expect(isWellFormed(batch))
    let dense = batch.dense
    var setPresent = [Int](repeating: 0, count: n / k), partial = 0
    for row in dense {
        for j in 0..<(n / k) {
            let count = row[(k * j)..<(k * j + k)].filter { $0 != 0 }.count
            if count == k { setPresent[j] += 1 } else if count != 0 { partial += 1 }
        }
    }
    #expect(partial == 0, "\(partial) sets partly present")
    for j in 0..<(n / k) {
        #expect(withinBinomialBounds(setPresent[j], trials: rows, p: Double(p)), "set \(j): \(setPresent[j]) of \(rows)")
    }
    let s = BatchStatistics(batch)
    let mean = s.valueSum.reduce(0, +) / Double(s.valueCount)
    #expect(Swift.abs(mean - 0.5) <= 5 * (1.0 / 12).squareRoot() / Double(s.valueCount).squareRoot(), "mean \(mean)")
    let meanProduct = s.pairProductSum / Double(s.firstTwoPresent)
    #expect(Swift.abs(meanProduct - 0.25) <= 5 * (7.0 / 144).squareRoot() / Double(s.firstTwoPresent).squareRoot(), "mean product \(meanProduct)")
    #expect(s.minValue >= 0 && s.maxValue < 1)
}

@Test func correlatedSetsOfTwoDrawExactlyTheCorrelatedPairs() {
    let p = [Float](repeating: 0.3, count: 6)
    var a = RandomStream(seed: 5), b = RandomStream(seed: 5)
    let pairs = FeatureSampler(featureCount: 6, probability: p, distribution: .correlatedPairs, signed: false).sample(batchSize: 500, rng: &a)
    let sets = FeatureSampler(featureCount: 6, probability: p, distribution: .correlatedSets, signed: false, setSize: 2).sample(batchSize: 500, rng: &b)
    #expect(pairs.rowStart == sets.rowStart && pairs.columns == sets.columns && pairs.values == sets.values)
    #expect(pairs.nonZeroCount > 500)
}

@Test(arguments: [0.5, 0.1, 0.01] as [Float])
func anticorrelatedPairsNeverCoOccurWithMarginalP(p: Float) {
    let n = 4
    let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n), distribution: .anticorrelatedPairs, signed: false)
    var rng = RandomStream(seed: 77)
    let rows = draws / 2
    let batch = sampler.sample(batchSize: rows, rng: &rng)
    #expect(isWellFormed(batch))
    let s = BatchStatistics(batch)
    #expect(s.bothPresent == [0, 0], "both members of an anticorrelated pair appeared together")
    for i in 0..<n {
        #expect(withinBinomialBounds(s.present[i], trials: rows, p: Double(p)), "feature \(i) at p = \(p): \(s.present[i]) of \(rows)")
    }
    // Exactly one of the pair present with probability 2p (so at p = 1/2 almost always one).
    for j in 0..<(n / 2) {
        #expect(withinBinomialBounds(s.onePresent[j], trials: rows, p: min(1, 2 * Double(p))))
    }
    #expect(s.minValue >= 0 && s.maxValue < 1)
}

@Test func samplingIsDeterministicForASeedAndDiffersAcrossSeeds() {
    let sampler = FeatureSampler(featureCount: 7, probability: [Float](repeating: 0.3, count: 7), distribution: .independent, signed: false)
    var a = RandomStream(seed: 1), b = RandomStream(seed: 1), c = RandomStream(seed: 2)
    let x = sampler.sample(batchSize: 50, rng: &a), y = sampler.sample(batchSize: 50, rng: &b), z = sampler.sample(batchSize: 50, rng: &c)
    #expect(x.dense == y.dense)
    #expect(x.dense != z.dense)
}

@Test func aSamplerWithoutFeaturesDrawsEmptyRows() {
    // The library accepts n = 0 (the CLI does not): lane draws of nothing, as CSR and dense.
    let sampler = FeatureSampler(featureCount: 0, probability: [], distribution: .independent, signed: false)
    var rng = RandomStream(seed: 4)
    let batch = sampler.sample(batchSize: 13, rng: &rng)
    #expect(batch.batchSize == 13 && batch.nonZeroCount == 0)
    #expect(batch.rowStart == [Int32](repeating: 0, count: 14))
    var none: [Float] = [7]
    none.withUnsafeMutableBufferPointer { sampler.drawDense(batchSize: 13, into: $0.baseAddress!, stride: 16, rng: &rng) }
    #expect(none == [7], "nothing written")
}

@Test func reusingABatchForASmallerBatchSizeResizesIt() {
    let sampler = FeatureSampler(featureCount: 3, probability: [1, 1, 1], distribution: .independent, signed: false)
    var rng = RandomStream(seed: 3)
    var batch = sampler.sample(batchSize: 10, rng: &rng)
    sampler.sample(batchSize: 2, into: &batch, rng: &rng)
    #expect(batch.batchSize == 2)
    #expect(isWellFormed(batch))
    #expect(batch.nonZeroCount == 6)
    #expect(batch.dense.count == 2)
}

@Test func sparseBatchDenseRoundTripDropsZeros() {
    let rows: [[Float]] = [[0, 0.5, 0], [0, 0, 0], [0.25, 0, 0.75]]
    let batch = SparseBatch(dense: rows)
    #expect(batch.nonZeroCount == 3)
    #expect(batch.rowStart == [0, 1, 1, 3])
    #expect(batch.columns == [1, 0, 2])
    #expect(batch.dense == rows)
}

/// The skip draw as one pass over the flat positions row·n + feature: the definition that
/// `FeatureSampler.drawSkips` computes in two passes.
private func oneSkipPass(_ sampler: FeatureSampler, batchSize: Int, p: Float, rng: inout RandomStream) -> SparseBatch {
    let n = sampler.featureCount
    var batch = SparseBatch(batchSize: batchSize, featureCount: n)
    let logQ = log(1 - Double(p))
    var position = rng.nextGeometricGap(logOneMinusP: logQ)
    while position < batchSize * n {
        let row = position / n
        batch.columns.append(Int32(position - row * n))
        batch.values.append(sampler.magnitude(&rng))
        for r in (row + 1)...batchSize { batch.rowStart[r] += 1 }
        position += 1 + rng.nextGeometricGap(logOneMinusP: logQ)
    }
    return batch
}

@Test(arguments: [(n: 100, batchSize: 1024, p: Float(0.03)), (7, 300, 0.01), (1, 50, 0.04), (400, 64, 0.001)])
func skipDrawsInTwoPassesGiveTheOnePassBatchAndLeaveTheStreamAlike(n: Int, batchSize: Int, p: Float) {
    for signed in [false, true] {
        let sampler = FeatureSampler(featureCount: n, probability: [Float](repeating: p, count: n),
                                     distribution: .independent, signed: signed)
        // The guessed room, and a room of 1 that has to double many times.
        for room in [nil, 1] as [Int?] {
            var a = RandomStream(seed: 11), b = RandomStream(seed: 11)
            let expected = oneSkipPass(sampler, batchSize: batchSize, p: p, rng: &a)
            var got = SparseBatch(batchSize: batchSize, featureCount: n)
            sampler.drawSkips(batchSize: batchSize, probability: p, into: &got, rng: &b, initialRoom: room)
            #expect(got.rowStart == expected.rowStart && got.columns == expected.columns && got.values == expected.values,
                    "n = \(n), B = \(batchSize), p = \(p), signed = \(signed), room \(room.map(String.init) ?? "guessed")")
            #expect(a.next() == b.next())
        }
        // `sample` takes the two-pass draw for a single probability below the skip threshold.
        var a = RandomStream(seed: 12), b = RandomStream(seed: 12)
        let expected = oneSkipPass(sampler, batchSize: batchSize, p: p, rng: &a)
        let sampled = sampler.sample(batchSize: batchSize, rng: &b)
        #expect(sampled.rowStart == expected.rowStart && sampled.columns == expected.columns && sampled.values == expected.values)
    }
}
