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
