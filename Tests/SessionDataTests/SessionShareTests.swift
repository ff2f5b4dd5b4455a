import Foundation
import SessionData
import Testing
import TensorCore

@Suite struct SessionShareTests {
    /// The shares `forEachSessionShare` hands its workers, in session order.
    func shares(
        _ batch: SessionBatch, threads: Int, balancing offsets: KeyPath<SessionBatch, [Int32]>,
        minimumPerThread: Int = 32
    ) -> [Range<Int>] {
        let lock = NSLock()
        nonisolated(unsafe) var shares: [Range<Int>] = []
        batch.forEachSessionShare(threads: threads, balancing: offsets, minimumPerThread: minimumPerThread) { sessions in
            lock.lock()
            shares.append(sessions)
            lock.unlock()
        }
        return shares.sorted { $0.lowerBound < $1.lowerBound }
    }

    /// Every session goes to exactly one worker, in runs of whole sessions, and each run's nodes (or
    /// click positions) are an equal share give or take one session, for several thread counts.
    @Test(arguments: [(2, false), (3, false), (4, true)])
    func sharesCoverEverySessionOnceAndBalance(_ threads: Int, byPositions: Bool) {
        let offsets = byPositions ? \SessionBatch.positionOffsets : \SessionBatch.nodeOffsets
        var rng = SeededGenerator(seed: 8)
        let sessions = (0..<300).map { _ in (0..<(1 + Int(rng.uniform(0, 20)))).map { _ in Int32(1 + rng.uniform(0, 50)) } }
        let batch = SessionBatch(sessions: sessions)
        let starts = batch[keyPath: offsets].map(Int.init)
        let total = starts.last!
        let largest = zip(starts, starts.dropFirst()).map { $1 - $0 }.max()!
        let shares = shares(batch, threads: threads, balancing: offsets)
        #expect(shares.count == threads)
        #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == batch.sessionCount)
        #expect(zip(shares, shares.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        for share in shares {
            let count = starts[share.upperBound] - starts[share.lowerBound]
            #expect(abs(count - total / threads) <= largest, "share \(share) holds \(count) of \(total)")
        }
    }

    /// Under the minimum a worker, or with one session, everything runs as one share.
    @Test func smallBatchesRunAsOneShare() {
        let small = SessionBatch(sessions: [[1, 2, 3], [4, 5], [6]])
        #expect(shares(small, threads: 2, balancing: \.nodeOffsets) == [0..<3])
        let one = SessionBatch(sessions: [(1...200).map(Int32.init)])
        #expect(shares(one, threads: 2, balancing: \.nodeOffsets) == [0..<1])
        #expect(shares(SessionBatch(), threads: 2, balancing: \.nodeOffsets) == [0..<0])
        #expect(one.nodes(of: 0..<1) == 0..<200)
    }
}
