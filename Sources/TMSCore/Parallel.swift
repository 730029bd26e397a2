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

/// Wraps a value that is shared across workers under a discipline the compiler cannot check (disjoint
/// slices per worker). Used only inside kernels and the parallel loop.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// The number of CPUs available to this process.
public var availableProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }
