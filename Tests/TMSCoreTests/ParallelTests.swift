import Testing
import TMSCore

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
