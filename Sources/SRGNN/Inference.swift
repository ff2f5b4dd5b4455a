/// One recommended item and its score (the raw logit `s_h · e_item`).
public struct ScoredItem: Sendable, Equatable, Codable {
    public var item: Int32
    public var score: Float
    public init(item: Int32, score: Float) { self.item = item; self.score = score }
}

extension SRGNNModel {
    /// The `k` best items for each session, best first (ties to the lower id). Sessions are
    /// validated first; a bad one throws before any work is done.
    public func recommend(sessions: [[Int32]], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace(),
                          threads: Int = 1) throws -> [[ScoredItem]] {
        for session in sessions { try validate(session: session) }
        if sessions.isEmpty { return [] }
        let batch = SessionBatch(sessions: sessions)
        let scores = forward(batch, workspace: workspace, threads: threads)
        let items = configuration.itemCount
        return (0..<sessions.count).map { s in
            let row = scores + s * items
            return topK(row, count: items, k: k).map { ScoredItem(item: Int32($0 + 1), score: row[$0]) }
        }
    }

    /// The `k` best items for one session.
    public func recommend(session: [Int32], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace()) throws -> [ScoredItem] {
        try recommend(sessions: [session], k: k, workspace: workspace)[0]
    }
}

extension SRGNNModel {
    /// The rank of each example's target among all items (1 = best): one plus the number of items
    /// scoring strictly higher, so a tie counts in the target's favour. Examples are scored in
    /// batches of `batchSize`; ranks are computed over `threads` workers.
    public func rankTargets(_ examples: ExampleSet, indices: [Int]? = nil, batchSize: Int = 500, threads: Int = 1,
                            workspace: SRGNNWorkspace = SRGNNWorkspace()) -> [Int32] {
        let order = indices ?? Array(0..<examples.count)
        var ranks = [Int32](repeating: 0, count: order.count)
        var batch = SessionBatch()
        let items = configuration.itemCount
        var start = 0
        while start < order.count {
            let end = min(order.count, start + batchSize)
            let slice = order[start..<end]
            batch.fill(sessions: slice.lazy.map { examples.prefix($0) })
            let scores = forward(batch, workspace: workspace, threads: threads)
            ranks.withUnsafeMutableBufferPointer { ranks in
                let ranks = ranks.baseAddress! + start
                examples.targets.withUnsafeBufferPointer { targets in
                    parallelFor(slice.count, threads: threads) { row in
                        let target = Int(targets[slice[slice.startIndex + row]]) - 1
                        let rowScores = scores + row * items
                        ranks[row] = Int32(1 + countGreater(rowScores, count: items, than: rowScores[target]))
                    }
                }
            }
            start = end
        }
        return ranks
    }
}
