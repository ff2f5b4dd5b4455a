import TensorCore
import Testing

@Suite struct ParallelTests {
    /// Every index runs exactly once, each worker gets its indices in increasing order, and no
    /// more workers run than asked for or than there are indices.
    @Test(arguments: [0, 1, 2, 5, 43, 1_000], [1, 2, 3, 8])
    func takeNextRunsEveryIndexOnceInOrderPerWorker(count: Int, workers: Int) {
        // One list per worker, each appended to only by its worker.
        let seen = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: workers)
        seen.initialize(repeating: [])
        defer { seen.deinitialize().deallocate() }
        nonisolated(unsafe) let lists = seen
        parallelTakeNext(count, workers: workers) { worker, index in
            // Uneven work, so that the workers take indices in a varying pattern.
            var spin = 0
            for step in 0..<(index % 7 == 0 ? (index * 31) % 20_000 : 0) { spin &+= step }
            lists[worker].append(spin >= 0 ? index : -1)
        }
        #expect(seen.flatMap { $0 }.sorted() == Array(0..<count))
        for (worker, list) in seen.enumerated() {
            #expect(list == list.sorted(), "worker \(worker) took its indices out of order")
            if worker >= min(workers, count) { #expect(list.isEmpty, "worker \(worker) should not have run") }
        }
    }
}
