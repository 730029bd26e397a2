import Testing
import TMSCore
import Foundation

// Parallel.swift: every index exactly once, for any thread count.

private final class Counts: @unchecked Sendable {
    var values: [Int]
    init(_ n: Int) { values = [Int](repeating: 0, count: n) }
}

@Test(arguments: [0, 1, 2, 3, 7, 64, 1000], [1, 2, 3, 8])
func parallelForVisitsEveryIndexExactlyOnce(count: Int, threads: Int) {
    let counts = Counts(count)
    counts.values.withUnsafeMutableBufferPointer { buffer in
        let box = UncheckedSendableBox(buffer)
        parallelFor(count, threads: threads) { i in box.value[i] += 1 }
    }
    #expect(counts.values.allSatisfy { $0 == 1 })
}

@Test func availableProcessorCountIsPositive() {
    #expect(availableProcessorCount >= 1)
}

/// What `parallelForPieces` ran, recorded under a lock.
private final class PieceLog: @unchecked Sendable {
    let lock = NSLock()
    var pieces: [[Int]]
    var running: [Bool]
    var overlaps = 0
    var workers = Set<Int>()
    init(_ n: Int) { pieces = Array(repeating: [], count: n); running = Array(repeating: false, count: n) }
}

@Test(arguments: [0, 1, 3, 8, 40], [1, 2, 3, 8])
func parallelForPiecesRunsEveryPieceOfEveryIndexOnceInOrderAndNeverTwoOfAnIndexAtOnce(count: Int, threads: Int) {
    let log = PieceLog(count)
    let order = Array((0..<count).reversed())
    parallelForPieces(order, pieces: 5, threads: threads) { w, i, k in
        log.lock.lock()
        if log.running[i] { log.overlaps += 1 }
        log.running[i] = true
        log.workers.insert(w)
        log.lock.unlock()
        var x = 0.0
        for j in 0..<2_000 { x += Double(j) }  // a little work, so pieces can overlap if the line allowed it
        log.lock.lock()
        log.pieces[i].append(k + (x < 0 ? 1 : 0))
        log.running[i] = false
        log.lock.unlock()
    }
    #expect(log.pieces.allSatisfy { $0 == [0, 1, 2, 3, 4] })
    #expect(log.overlaps == 0)
    #expect(log.workers.allSatisfy { $0 >= 0 && $0 < max(1, min(threads, count)) })
}

@Test func parallelForPiecesOnOneThreadRunsTheOrderGivenWithEachIndexsPiecesTogether() {
    var seen: [[Int]] = []
    parallelForPieces([2, 0, 1], pieces: 2, threads: 1) { w, i, k in seen.append([w, i, k]) }
    #expect(seen == [[0, 2, 0], [0, 2, 1], [0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]])
}
