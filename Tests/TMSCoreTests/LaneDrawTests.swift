import Testing
@testable import TMSCore

// The lane draws of dense batches (`LaneRandomStream.drawRows`): every value against its definition, drawn
// from a second stream one `nextTopBits` at a time, and the AVX-512 copy against the AVX2 one, bit for bit.

/// The presence probabilities of the test samplers' features, cycling through five values.
private func probabilities(_ n: Int) -> [Float] { (0..<n).map { [1, 0.5, 0.05, 0.3, 0.9][$0 % 5] } }

/// `drawRows` on the given copy into a buffer of `features` × `stride` filled with NaN: the buffer and the
/// stream's next value afterwards (where the draws left it).
private func drawn(rows: Int, features n: Int, stride: Int, zeroedUpTo padded: Int, signed: Bool, seed: UInt64,
                   wide: Bool) -> (x: [Float], after: SIMD8<UInt32>) {
    var rng = RandomStream(seed: seed)
    var lanes = LaneRandomStream(seededBy: &rng)
    let thresholds = probabilities(n).map { LaneRandomStream.threshold(probability: $0) }
    let inverse = thresholds.map { Float(1 / Double($0)) }
    var x = [Float](repeating: .nan, count: n * stride)
    lanes.drawRows(rows, features: n, thresholds: thresholds, inverseThresholds: inverse, signed: signed, into: &x,
                   stride: stride, zeroedUpTo: padded, wide: wide)
    return (x, lanes.next())
}

@Test(arguments: [(16, 5, 16, 16), (13, 3, 24, 24), (13, 3, 24, 16), (1, 7, 8, 8), (40, 1, 48, 40), (0, 2, 8, 8)])
func laneRowsAreTheirDefinition(rows: Int, features n: Int, stride: Int, padded: Int) {
    for signed in [false, true] {
        let (x, after) = drawn(rows: rows, features: n, stride: stride, zeroedUpTo: padded, signed: signed, seed: 5, wide: false)
        var rng = RandomStream(seed: 5)
        var reference = LaneRandomStream(seededBy: &rng)
        let p = probabilities(n)
        var expected = [Float](repeating: .nan, count: n * stride)
        let groups = (rows + 7) / 8
        for g in 0..<groups {
            for i in 0..<n {
                let u = reference.nextTopBits()
                let t = LaneRandomStream.threshold(probability: p[i])
                for l in 0..<8 {
                    // Present iff u < T; magnitude u · (1/T) in Float, · 2 − 1 when signed; the padded lanes of
                    // the last group are zero.
                    var v: Float = u[l] < t ? Float(u[l]) * Float(1 / Double(t)) : 0
                    if signed && u[l] < t { v = v * 2 - 1 }
                    expected[i * stride + 8 * g + l] = 8 * g + l < rows ? v : 0
                }
            }
        }
        for i in 0..<n { for r in (8 * groups)..<max(padded, 8 * groups) { expected[i * stride + r] = 0 } }
        for k in 0..<x.count {
            #expect(x[k].bitPattern == expected[k].bitPattern, "rows \(rows), feature \(k / stride), row \(k % stride)")
        }
        #expect(after == reference.next(), "one draw per group and feature, nothing more")
    }
}

@Test(.enabled(if: Kernels.usesWideVectors, "the processor has no AVX-512"))
func laneRowsAreTheSameBitsOnTheAVX512Copy() {
    for (rows, n, stride, padded) in [(1024, 5, 1024, 1024), (13, 3, 24, 24), (100, 20, 112, 112), (7, 2, 16, 8)] {
        for signed in [false, true] {
            let narrow = drawn(rows: rows, features: n, stride: stride, zeroedUpTo: padded, signed: signed, seed: 9, wide: false)
            let wide = drawn(rows: rows, features: n, stride: stride, zeroedUpTo: padded, signed: signed, seed: 9, wide: true)
            #expect(narrow.x.map(\.bitPattern) == wide.x.map(\.bitPattern), "\(rows)×\(n), signed \(signed)")
            #expect(narrow.after == wide.after)
        }
    }
}
