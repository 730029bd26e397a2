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

/// Runs `body(worker, index)` for every index of `order` on up to `threads` workers, which claim the
/// indices one at a time in the order given (so put the costliest first): the longest-processing-time-first
/// rule, which leaves the workers at most about one short item apart at the end, where a fixed split of
/// items of unequal cost leaves one worker idle for the difference. `worker` (0 ..< workers) names the
/// claiming worker, for per-worker scratch. Deterministic in the same way as `parallelFor`, provided the
/// result of an index does not depend on which worker runs it.
public func parallelForClaiming(_ order: [Int], threads: Int, _ body: (_ worker: Int, _ index: Int) -> Void) {
    let workers = max(1, min(threads, order.count))
    if workers == 1 {
        for i in order { body(0, i) }
        return
    }
    let next = ClaimCounter()
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            while true {
                let k = next.claim()
                guard k < order.count else { return }
                box.value(w, order[k])
            }
        }
    }
}

/// A counter that hands out 0, 1, 2, … to concurrent callers.
final class ClaimCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func claim() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value - 1
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
