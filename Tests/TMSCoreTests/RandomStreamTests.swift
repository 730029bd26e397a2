import Foundation
import Testing
import TMSCore

// RandomStream.swift: SplitMix64 and xoshiro256++ against published/independent values, determinism,
// splitting, and the distributions built on top.

@Test func splitMix64MatchesTheReferenceSequenceFromZero() {
    // Vigna's splitmix64.c from state 0.
    var state: UInt64 = 0
    #expect(splitMix64(&state) == 0xE220_A839_7B1D_CDAF)
    #expect(splitMix64(&state) == 0x6E78_9E6A_A1B9_65F4)
    #expect(splitMix64(&state) == 0x06C4_5D18_8009_454F)
    #expect(splitMix64(&state) == 0xF88B_B8A8_724C_81EC)
}

@Test func xoshiroStreamMatchesAnIndependentImplementation() {
    // xoshiro256++ with its state filled by SplitMix64 from the seed, computed by a separate Python
    // implementation of Blackman & Vigna's reference C code.
    var zero = RandomStream(seed: 0)
    #expect((0..<4).map { _ in zero.next() } == [0x5317_5D61_490B_23DF, 0x61DA_6F3D_C380_D507, 0x5C0F_DF91_EC9A_7BFC, 0x02EE_BF8C_3BBE_5E1A])
    var fortyTwo = RandomStream(seed: 42)
    #expect((0..<4).map { _ in fortyTwo.next() } == [0xD076_4D4F_4476_689F, 0x519E_4174_576F_3791, 0xFBE0_7CFB_0C24_ED8C, 0xB37D_9F60_0CD8_35B8])
}

@Test func aSeedDeterminesTheStream() {
    var a = RandomStream(seed: 12345), b = RandomStream(seed: 12345), c = RandomStream(seed: 12346)
    let x = (0..<100).map { _ in a.next() }, y = (0..<100).map { _ in b.next() }, z = (0..<100).map { _ in c.next() }
    #expect(x == y)
    #expect(x != z)
    #expect(Set(x).count == 100)
}

@Test func childrenOfSplitDifferFromEachOtherAndFromTheParent() {
    let parent = RandomStream(seed: 7)
    var streams = [parent] + (0..<8).map { parent.split(UInt64($0)) }
    let firsts = streams.indices.map { i in (0..<4).map { _ in streams[i].next() } }
    #expect(Set(firsts).count == firsts.count)
    // Splitting is a pure function of (key, index), and does not advance the parent.
    var again = parent.split(3), child = parent.split(3)
    #expect(again.next() == child.next())
    var p1 = parent, p2 = RandomStream(seed: 7)
    #expect(p1.next() == p2.next())
    // Grandchildren: split(a, b) is split(a).split(b), and depends on the order of the indices.
    #expect(parent.split(1, 2).key == parent.split(1).split(2).key)
    #expect(parent.split(1, 2).key != parent.split(2, 1).key)
    // Children of different parents differ.
    #expect(RandomStream(seed: 8).split(0).key != parent.split(0).key)
}

@Test func unitFloatsLieInTheHalfOpenUnitIntervalWithMeanOneHalf() {
    var rng = RandomStream(seed: 3)
    let count = 200_000
    var sum = 0.0, low = Float.infinity, high = -Float.infinity
    for _ in 0..<count {
        let u = rng.nextUnitFloat()
        sum += Double(u); low = min(low, u); high = max(high, u)
    }
    #expect(low >= 0 && high < 1)
    #expect(low < 1e-4 && high > 1 - 1e-4)
    #expect(Swift.abs(sum / Double(count) - 0.5) <= 5 * (1.0 / 12 / Double(count)).squareRoot())
}

@Test func unitDoublesAreHalfOpenAndOpenUnitDoublesAreNeverZero() {
    var rng = RandomStream(seed: 4)
    for _ in 0..<100_000 {
        let u = rng.nextUnitDouble()
        #expect(u >= 0 && u < 1)
        let v = rng.nextOpenUnitDouble()
        #expect(v > 0 && v <= 1)
    }
}

@Test func normalsHaveMeanZeroAndVarianceOne() {
    var rng = RandomStream(seed: 5)
    let count = 200_000
    var sum = 0.0, sumSquares = 0.0, sumFourth = 0.0
    for _ in 0..<count {
        let z = rng.nextNormal()
        sum += z; sumSquares += z * z; sumFourth += z * z * z * z
    }
    let n = Double(count)
    let mean = sum / n, variance = sumSquares / n - mean * mean
    #expect(Swift.abs(mean) <= 5 / n.squareRoot(), "mean \(mean)")
    // The sample variance of N(0,1) has sd √(2/N); the fourth moment is 3 (sd √(96/N)).
    #expect(Swift.abs(variance - 1) <= 5 * (2 / n).squareRoot(), "variance \(variance)")
    #expect(Swift.abs(sumFourth / n - 3) <= 5 * (96 / n).squareRoot(), "fourth moment \(sumFourth / n)")
}

@Test(arguments: [0.5, 0.1, 0.01])
func geometricGapsHaveMeanOneMinusPOverP(p: Double) {
    // The number of failures before the first success of Bernoulli(p): mean (1−p)/p, variance (1−p)/p².
    var rng = RandomStream(seed: 6)
    let count = 100_000
    var sum = 0.0, zeros = 0
    for _ in 0..<count {
        let g = rng.nextGeometricGap(logOneMinusP: log(1 - p))
        #expect(g >= 0)
        sum += Double(g)
        if g == 0 { zeros += 1 }
    }
    let mean = sum / Double(count)
    #expect(Swift.abs(mean - (1 - p) / p) <= 5 * ((1 - p) / (p * p) / Double(count)).squareRoot(), "mean \(mean)")
    // P(G = 0) = p.
    #expect(Swift.abs(Double(zeros) - Double(count) * p) <= 5 * (Double(count) * p * (1 - p)).squareRoot())
}
