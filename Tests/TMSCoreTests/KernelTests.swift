import Foundation
import Testing
@testable import TMSCore

// The batch-lane kernels and the lane random stream against plain loops, on awkward sizes (every tile
// remainder) and strides wider than the data.

private func randomArray(_ count: Int, _ rng: inout RandomStream) -> [Float] {
    (0..<count).map { _ in Float(rng.nextNormal()) }
}

/// Largest |a − b| relative to the largest |b| (1 when b is all zero).
private func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    let scale = max(b.map { Swift.abs($0) }.max() ?? 0, 1e-30)
    return zip(a, b).map { Swift.abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
}

@Test(arguments: [1, 2, 3, 4, 5, 7, 30], [1, 2, 3, 17, 40])
func projectMatchesPlainLoops(outputs A: Int, depth C: Int) {
    var rng = RandomStream(seed: UInt64(A * 100 + C))
    for (R, withBias) in [(16, true), (48, false)] {
        let ws = A + 3, xs = R + 16, os = R + 8
        let w = randomArray(C * ws, &rng), x = randomArray(C * xs, &rng), bias = randomArray(A, &rng)
        var out = [Float](repeating: .nan, count: A * os)
        w.withUnsafeBufferPointer { wp in x.withUnsafeBufferPointer { xp in bias.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                Kernels.project(outputs: A, depth: C, rows: R, weights: wp.baseAddress!, weightStride: ws,
                                input: xp.baseAddress!, inputStride: xs, bias: withBias ? bp.baseAddress! : nil,
                                output: op.baseAddress!, outputStride: os)
            }
        }}}
        var got: [Float] = [], expected: [Double] = []
        for a in 0..<A {
            for r in 0..<R {
                var s = withBias ? Double(bias[a]) : 0
                for c in 0..<C { s += Double(w[c * ws + a]) * Double(x[c * xs + r]) }
                got.append(out[a * os + r]); expected.append(s)
            }
            // Columns beyond `rows` are not written.
            #expect(out[(a * os + R)..<(a * os + os)].allSatisfy { $0.isNaN })
        }
        #expect(relativeError(got, expected) < 1e-5, "A=\(A) C=\(C) R=\(R)")
    }
}

@Test(arguments: [1, 2, 3, 5], [1, 2, 3, 4, 5, 9])
func accumulateDotsMatchesPlainLoops(outputs A: Int, columns Cn: Int) {
    var rng = RandomStream(seed: UInt64(A * 31 + Cn))
    for fused in [false, true] {
        let R = 24, us = 40, vs = 32, u2s = 24, v2s = 56, gs = Cn + 2
        let u = randomArray(A * us, &rng), v = randomArray(Cn * vs, &rng)
        let u2 = randomArray(A * u2s, &rng), v2 = randomArray(Cn * v2s, &rng)
        var g = randomArray(A * gs, &rng)
        let start = g
        u.withUnsafeBufferPointer { up in v.withUnsafeBufferPointer { vp in u2.withUnsafeBufferPointer { u2p in
        v2.withUnsafeBufferPointer { v2p in g.withUnsafeMutableBufferPointer { gp in
            Kernels.accumulateDots(outputs: A, columns: Cn, length: R, u: up.baseAddress!, uStride: us,
                                   v: vp.baseAddress!, vStride: vs, u2: fused ? u2p.baseAddress! : nil, u2Stride: u2s,
                                   v2: fused ? v2p.baseAddress! : nil, v2Stride: v2s, into: gp.baseAddress!, gradStride: gs)
        }}}}}
        var got: [Float] = [], expected: [Double] = []
        for a in 0..<A {
            for c in 0..<gs {
                guard c < Cn else { #expect(g[a * gs + c] == start[a * gs + c]); continue }
                var s = Double(start[a * gs + c])
                for r in 0..<R {
                    s += Double(u[a * us + r]) * Double(v[c * vs + r])
                    if fused { s += Double(u2[a * u2s + r]) * Double(v2[c * v2s + r]) }
                }
                got.append(g[a * gs + c]); expected.append(s)
            }
        }
        #expect(relativeError(got, expected) < 1e-5, "A=\(A) C=\(Cn) fused=\(fused)")
    }
}

@Test(arguments: [1, 2, 3, 5], [1, 2, 3, 4, 5, 6])
func accumulateOuterProductsMatchesPlainLoops(outputs A: Int, vectors V: Int) {
    var rng = RandomStream(seed: UInt64(A * 17 + V))
    for fused in [false, true] {
        let R = 21, us = 30, u2s = 25, vs = 8 * V + 8, gs = 8 * V + 16
        let u = randomArray(A * us, &rng), u2 = randomArray(A * u2s, &rng)
        let v = randomArray(R * vs, &rng), v2 = randomArray(R * vs, &rng)
        var g = randomArray(A * gs, &rng)
        let start = g
        u.withUnsafeBufferPointer { up in v.withUnsafeBufferPointer { vp in u2.withUnsafeBufferPointer { u2p in
        v2.withUnsafeBufferPointer { v2p in g.withUnsafeMutableBufferPointer { gp in
            Kernels.accumulateOuterProducts(outputs: A, vectors: V, length: R, u: up.baseAddress!, uStride: us,
                                            v: vp.baseAddress!, vStride: vs, u2: fused ? u2p.baseAddress! : nil, u2Stride: u2s,
                                            v2: fused ? v2p.baseAddress! : nil, into: gp.baseAddress!, gradStride: gs)
        }}}}}
        var got: [Float] = [], expected: [Double] = []
        for a in 0..<A {
            for k in 0..<gs {
                guard k < 8 * V else { #expect(g[a * gs + k] == start[a * gs + k]); continue }
                var s = Double(start[a * gs + k])
                for r in 0..<R {
                    s += Double(u[a * us + r]) * Double(v[r * vs + k])
                    if fused { s += Double(u2[a * u2s + r]) * Double(v2[r * vs + k]) }
                }
                got.append(g[a * gs + k]); expected.append(s)
            }
        }
        #expect(relativeError(got, expected) < 1e-5, "A=\(A) V=\(V) fused=\(fused)")
    }
}

@Test func transposeSwapsRowsAndColumnsAndLeavesTheRestAlone() {
    let src: [Float] = (0..<(3 * 5)).map(Float.init)  // 3 rows, stride 5, 4 columns used
    var dst = [Float](repeating: -1, count: 4 * 6)    // 4 rows, stride 6
    src.withUnsafeBufferPointer { s in dst.withUnsafeMutableBufferPointer { d in
        Kernels.transpose(rows: 3, columns: 4, s.baseAddress!, sourceStride: 5, into: d.baseAddress!, destinationStride: 6)
    }}
    for c in 0..<4 {
        for r in 0..<6 { #expect(dst[c * 6 + r] == (r < 3 ? src[r * 5 + c] : -1)) }
    }
}

@Test func laneStreamIsAFunctionOfItsSeedStreamAndAdvancesIt() {
    var a = RandomStream(seed: 4), b = RandomStream(seed: 4)
    var x = LaneRandomStream(seededBy: &a), y = LaneRandomStream(seededBy: &b)
    for _ in 0..<10 { #expect(x.next() == y.next()) }
    var c = RandomStream(seed: 4)
    var draws: [UInt64] = []
    for _ in 0..<16 { draws.append(c.next()) }
    #expect(a.next() == c.next(), "seeding takes exactly 16 draws")
    // The state is the draws' 32-bit words in order (s0 = words 0–7, …, s3 = words 24–31), so lane 0's
    // first xoshiro128+ output s0 + s3 is the low word of draw 0 plus the low word of draw 12.
    var fresh = RandomStream(seed: 4)
    var w = LaneRandomStream(seededBy: &fresh)
    let first = w.next()
    #expect(first[0] == UInt32(truncatingIfNeeded: draws[0]) &+ UInt32(truncatingIfNeeded: draws[12]))
    #expect(Set((0..<8).map { first[$0] }).count == 8, "lanes differ from one another")
}

@Test func laneUniformsHaveMeanHalfAndThresholdsGiveTheirProbability() {
    var seed = RandomStream(seed: 77)
    var lanes = LaneRandomStream(seededBy: &seed)
    let draws = 50_000
    var sum = 0.0, below = 0, minimum: Float = 1, maximum: Float = 0
    let p: Float = 0.1
    let threshold = SIMD8<Int32>(repeating: LaneRandomStream.threshold(probability: p))
    for _ in 0..<draws {
        let u = SIMD8<Float>(lanes.nextTopBits()) * 0x1p-24  // uniform on [0, 1) in steps of 2^−24
        for l in 0..<8 { sum += Double(u[l]); minimum = min(minimum, u[l]); maximum = max(maximum, u[l]) }
        let hits = lanes.nextTopBits() .< threshold
        for l in 0..<8 where hits[l] { below += 1 }
    }
    let count = Double(8 * draws)
    #expect(minimum >= 0 && maximum < 1)
    #expect(Swift.abs(sum / count - 0.5) < 5 * (1.0 / 12).squareRoot() / count.squareRoot())
    let sd = (count * Double(p) * (1 - Double(p))).squareRoot()
    #expect(Swift.abs(Double(below) - count * Double(p)) < 5 * sd)
    #expect(LaneRandomStream.threshold(probability: 1) == 1 << 24)
    #expect(LaneRandomStream.threshold(probability: 0.5) == 1 << 23)
}

@Test(arguments: [1, 5, 8, 9, 17])
func sparseRowProductEqualsZeroedRowsWithAxpysAndReluBitForBit(vectors V: Int) {
    // The training pass's CSR encode: rows with 0, 1, 3 and 7 entries (repeated columns included), with and
    // without the ReLU, against zeroing each row, one `axpy` per entry and `relu`, compared bit for bit.
    var rng = RandomStream(seed: UInt64(V))
    let columnCount = 11, ws = 8 * V + 8, os = 8 * V + 16
    let w = randomArray(columnCount * ws, &rng)
    let counts = [0, 1, 3, 7, 3, 1]
    var rowStart: [Int32] = [0], columns: [Int32] = [], values: [Float] = []
    for count in counts {
        for _ in 0..<count { columns.append(Int32(rng.next() % UInt64(columnCount))); values.append(Float(rng.nextNormal())) }
        rowStart.append(Int32(columns.count))
    }
    columns.append(columns.last ?? 0)  // a repeated column in the last row
    values.append(-0.5)
    rowStart[rowStart.count - 1] += 1
    for relu in [false, true] {
        var out = [Float](repeating: .nan, count: counts.count * os)
        var expected = [Float](repeating: .nan, count: counts.count * os)
        w.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                Kernels.sparseRowProduct(rows: counts.count, rowStart: rowStart, columns: columns, values: values,
                                         weights: wp.baseAddress!, weightStride: ws, vectors: V, relu: relu,
                                         output: op.baseAddress!, outputStride: os)
            }
            expected.withUnsafeMutableBufferPointer { ep in
                for r in 0..<counts.count {
                    let row = ep.baseAddress! + r * os
                    row.update(repeating: 0, count: 8 * V)
                    for e in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                        Kernels.axpy(8 * V, values[e], wp.baseAddress! + Int(columns[e]) * ws, row)
                    }
                    if relu { Kernels.relu(row, count: 8 * V) }
                }
            }
        }
        #expect(out.map(\.bitPattern) == expected.map(\.bitPattern), "V=\(V) relu=\(relu)")
        // Floats beyond 8·V of each row are not written.
        #expect((0..<counts.count).allSatisfy { r in out[(r * os + 8 * V)..<((r + 1) * os)].allSatisfy(\.isNaN) })
    }
}
