import Dispatch
import Foundation

/// Runs `body(index)` for every index in `0..<count` on up to `threads` threads.
///
/// Deterministic by construction: each index is processed entirely by one worker and indices never share
/// mutable state, so results do not depend on the thread count or the schedule. Indices are handed out in
/// contiguous chunks (one dispatch per chunk) because a dispatch costs ~10–25 µs.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = max(1, min(threads, count))
    if workers == 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = count * w / workers, end = count * (w + 1) / workers
            for i in start..<end { box.value(i) }
        }
    }
}

/// Runs `body(worker, index, piece)` for pieces 0 ..< `pieces` of every index of `order` on up to `threads`
/// workers. The pieces of one index run one after another, in order, never two at once; workers claim the
/// first waiting index in line, and an index goes back to the end of the line after each piece. So all
/// indices advance together and the workers finish at most about one piece apart, where whole indices of
/// equal cost on cores of unequal speed (a shared host) leave one worker idle for up to an index's cost
/// (docs/performance.md#whole-job-sixth-pass). A worker with nothing to claim while pieces are running
/// waits for them. Deterministic in the same way as `parallelFor`, provided the result of a piece depends
/// only on its index's earlier pieces, not on the worker.
public func parallelForPieces(_ order: [Int], pieces: Int, threads: Int,
                              _ body: (_ worker: Int, _ index: Int, _ piece: Int) -> Void) {
    precondition(pieces > 0, "pieces must be positive")
    let workers = max(1, min(threads, order.count))
    if workers == 1 {
        for i in order { for k in 0..<pieces { body(0, i, k) } }
        return
    }
    let line = PieceLine(order)
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            while let (i, k) = line.claim() {
                box.value(w, i, k)
                line.finish(i, piece: k, of: pieces)
            }
        }
    }
}

/// The line of `parallelForPieces`: indices waiting for their next piece, and how many are unfinished.
final class PieceLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Queue
    private var unfinished: Int

    init(_ order: [Int]) {
        waiting = Queue(order.map { ($0, 0) })
        unfinished = order.count
    }

    /// The next (index, piece), waiting while every unfinished index is running; nil when all are done.
    func claim() -> (Int, Int)? {
        condition.lock(); defer { condition.unlock() }
        while true {
            if let next = waiting.popFirst() { return next }
            if unfinished == 0 { return nil }
            condition.wait()
        }
    }

    /// Puts `index` back in line for its next piece, or counts it finished; wakes the waiting workers.
    func finish(_ index: Int, piece: Int, of pieces: Int) {
        condition.lock(); defer { condition.unlock() }
        if piece + 1 < pieces { waiting.append((index, piece + 1)) } else { unfinished -= 1 }
        condition.broadcast()
    }

    /// A first-in, first-out line of (index, piece).
    struct Queue {
        private var items: [(Int, Int)]
        private var head = 0
        init(_ items: [(Int, Int)]) { self.items = items }
        mutating func popFirst() -> (Int, Int)? {
            guard head < items.count else { return nil }
            head += 1
            return items[head - 1]
        }
        mutating func append(_ item: (Int, Int)) { items.append(item) }
    }
}

/// Wraps a value that is shared across workers under a discipline the compiler cannot check (disjoint
/// slices per worker). Used only inside kernels and the parallel loop.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Seconds on a monotonic clock (for timing and scheduling only, never for results).
public func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// The number of CPUs available to this process.
public var availableProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }
