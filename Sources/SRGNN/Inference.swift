/// An item and its score, the raw logit `s_h · e_item`. `ID` is the model's internal id (`Int32`,
/// 1...itemCount) or the click log's raw id (`String`), so one type serves the model and the
/// `Recommender`.
public struct ScoredItem<ID: Hashable & Sendable>: Sendable, Equatable {
    public var id: ID
    public var score: Float
    public init(id: ID, score: Float) { self.id = id; self.score = score }
}

/// `{"id": …, "score": …}`. JSON has no NaN or infinity, so a non-finite score (a diverged model)
/// is written as null rather than failing the whole answer, and null reads back as NaN.
extension ScoredItem: Codable where ID: Codable {
    private enum CodingKeys: String, CodingKey { case id, score }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(ID.self, forKey: .id)
        score = try container.decodeIfPresent(Float.self, forKey: .score) ?? .nan
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        if score.isFinite { try container.encode(score, forKey: .score) } else { try container.encodeNil(forKey: .score) }
    }
}

extension SRGNNModel {
    /// The `k` best items for each session, best first (ties to the lower id). Sessions are
    /// validated first; a bad one throws before any work is done.
    public func recommend(sessions: [[Int32]], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace(),
                          threads: Int = 1) throws -> [[ScoredItem<Int32>]] {
        for session in sessions { try validate(session: session) }
        if sessions.isEmpty { return [] }
        let batch = SessionBatch(sessions: sessions)
        let scores = forward(batch, workspace: workspace, threads: threads)
        let items = configuration.itemCount
        return (0..<sessions.count).map { s in
            let row = scores + s * items
            return topK(row, count: items, k: k).map { ScoredItem(id: Int32($0 + 1), score: row[$0]) }
        }
    }

    /// The `k` best items for one session.
    public func recommend(session: [Int32], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace()) throws -> [ScoredItem<Int32>] {
        try recommend(sessions: [session], k: k, workspace: workspace)[0]
    }
}

extension SRGNNModel {
    /// The rank of each example's target among all items (1 = best): one plus the number of items
    /// scoring strictly higher, so a tie counts in the target's favour.
    ///
    /// The score matrix is never materialised: items are processed in tiles of `tileItems` that stay
    /// in cache — one product `[B, d] × [d, tile]`, then a vectorised count against each row's target
    /// score — spread over `threads` workers, each with its own tile buffer and counts.
    public func rankTargets(_ examples: ExampleSet, indices: [Int]? = nil, batchSize: Int = 500, threads: Int = 1,
                            workspace: SRGNNWorkspace = SRGNNWorkspace(), tileItems: Int = 1024) -> [Int32] {
        let order = indices ?? Array(0..<examples.count)
        var ranks = [Int32](repeating: 0, count: order.count)
        var batch = SessionBatch()
        let items = configuration.itemCount, d = configuration.hiddenSize
        let tiles = (items + tileItems - 1) / tileItems
        let workers = max(1, min(threads, tiles))
        let buffers = (0..<workers).map { _ in ScratchBuffer() }
        var counts = [Int32](repeating: 0, count: workers * batchSize)
        var targetScores = [Float](repeating: 0, count: batchSize)
        var targetColumns = [Int](repeating: 0, count: batchSize)
        var start = 0
        while start < order.count {
            let end = min(order.count, start + batchSize)
            let slice = order[start..<end]
            let b = slice.count
            batch.fill(sessions: slice.lazy.map { examples.prefix($0) })
            let sessionEmbedding = sessionEmbeddings(batch, workspace: workspace, threads: threads)
            parameters.withPointers { w in
                // The target's own score, by the same single-row product the tiles use.
                for (row, index) in slice.enumerated() {
                    let column = Int(examples.targets[index]) - 1
                    targetColumns[row] = column
                    var score: Float = 0
                    gemm(.none, .transposed, m: 1, n: 1, k: d, sessionEmbedding + row * d, lda: d,
                         w.embedding + (column + 1) * d, ldb: d, &score, ldc: 1)
                    targetScores[row] = score
                }
                counts.withUnsafeMutableBufferPointer { counts in
                    let counts = counts.baseAddress!
                    counts.update(repeating: 0, count: workers * batchSize)
                    targetScores.withUnsafeBufferPointer { targetScores in
                        targetColumns.withUnsafeBufferPointer { targetColumns in
                            parallelFor(workers, threads: workers) { worker in
                                let buffer = buffers[worker].reserve(b * tileItems)
                                let myCounts = counts + worker * batchSize
                                var tile = worker
                                while tile < tiles {
                                    let first = tile * tileItems, width = min(tileItems, items - first)
                                    gemm(.none, .transposed, m: b, n: width, k: d, sessionEmbedding, lda: d,
                                         w.embedding + (first + 1) * d, ldb: d, buffer, ldc: width)
                                    for row in 0..<b {
                                        let values = buffer + row * width
                                        var greater = countGreater(values, count: width, than: targetScores[row])
                                        // The target never counts against itself, whatever rounding did.
                                        let column = targetColumns[row] - first
                                        if column >= 0, column < width, values[column] > targetScores[row] { greater -= 1 }
                                        myCounts[row] += Int32(greater)
                                    }
                                    tile += workers
                                }
                            }
                        }
                    }
                    for row in 0..<b {
                        var total: Int32 = 1
                        for worker in 0..<workers { total += counts[worker * batchSize + row] }
                        ranks[start + row] = total
                    }
                }
            }
            start = end
        }
        return ranks
    }
}
