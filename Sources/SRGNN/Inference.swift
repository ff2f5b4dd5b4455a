import SessionData
import TensorCore

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

/// Which items a session's answer is chosen from.
public enum ItemSelection: Sendable, Equatable {
    /// The `k` best items of those `allowed` (all items when `nil`), chosen inside the top-k pass.
    case best(k: Int, allowed: ItemMask?)
    /// Exactly these items (internal ids, no repeats), ranked by score, at most `k` of them; their
    /// scores are read from the same full-ranking scores as `best`.
    case candidates([Int32], k: Int)
}

extension SRGNNModel {
    /// The `k` best items for each session, best first (ties to the lower id). Sessions are
    /// validated first; a bad one throws before any work is done.
    public func recommend(sessions: [[Int32]], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace(),
                          threads: Int = 1) throws -> [[ScoredItem<Int32>]] {
        try recommend(sessions: sessions, selections: Array(repeating: .best(k: k, allowed: nil), count: sessions.count),
                      workspace: workspace, threads: threads)
    }

    /// Each session's answer from its own `selections` entry, best first (ties to the lower id).
    public func recommend(sessions: [[Int32]], selections: [ItemSelection], workspace: SRGNNWorkspace = SRGNNWorkspace(),
                          threads: Int = 1) throws -> [[ScoredItem<Int32>]] {
        precondition(selections.count == sessions.count, "one selection per session")
        for session in sessions { try validate(session: session) }
        if sessions.isEmpty { return [] }
        let batch = SessionBatch(sessions: sessions)
        let items = configuration.itemCount
        workspace.prepareScoring(sessions: batch.sessionCount, itemCount: items, scoreLayer: layers().scoreLayer, threads: threads, fullScores: true)
        let scores = workspace.scores.pointer(batch.sessionCount * items)
        self.scores(batch, workspace: workspace, threads: threads, into: scores)
        return zip(0..<sessions.count, selections).map { s, selection in
            let row = scores + s * items
            switch selection {
            case let .best(k, allowed):
                return topK(row, count: items, k: k, allowed: allowed).map { ScoredItem(id: Int32($0 + 1), score: row[$0]) }
            case let .candidates(ids, k):
                // NaN (a diverged model) ranks last, as top-k never returns it first.
                func key(_ score: Float) -> Float { score.isNaN ? -.infinity : score }
                let ranked = ids.map { ScoredItem(id: $0, score: row[Int($0) - 1]) }
                    .sorted { key($0.score) != key($1.score) ? key($0.score) > key($1.score) : $0.id < $1.id }
                return Array(ranked.prefix(k))
            }
        }
    }

    /// The `k` best items for one session.
    public func recommend(session: [Int32], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace()) throws -> [ScoredItem<Int32>] {
        try recommend(sessions: [session], k: k, workspace: workspace)[0]
    }
}

extension SRGNNModel {
    /// Every item's score for every session of `batch` into `scores` `[B, itemCount]` (column `j`
    /// for item `j + 1`): the one scoring path of inference, evaluation and serving.
    public func scores(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1, into scores: UnsafeMutablePointer<Float>) {
        let sessionEmbedding = forward(batch, workspace: ws, threads: threads)
        let layers = layers()
        parameters.withPointers { w in
            layers.scoreLayer.scores(sessionEmbedding: sessionEmbedding, batchSize: batch.sessionCount, embedding: w.embedding,
                                     into: scores, threads: threads)
        }
    }

    /// The rank of each session's target among all items (1 = best) into `ranks` `[B]`: one plus
    /// the number of items scoring strictly higher, so a tie counts in the target's favour. The
    /// score matrix is never materialised (see `ScoreLayer.ranks`).
    public func ranks(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1, tileItems: Int = 1_024,
                      into ranks: UnsafeMutablePointer<Int32>) {
        precondition(batch.targets.count == batch.sessionCount, "ranking needs one target per session")
        let sessionEmbedding = forward(batch, workspace: ws, threads: threads)
        let layers = layers(tileItems: tileItems)
        ws.prepareScoring(sessions: batch.sessionCount, itemCount: configuration.itemCount, scoreLayer: layers.scoreLayer,
                          threads: threads, fullScores: false)
        parameters.withPointers { w in
            batch.targets.withUnsafeBufferPointer { targets in
                layers.scoreLayer.ranks(sessionEmbedding: sessionEmbedding, targets: targets, embedding: w.embedding,
                                        into: ranks, workspace: ws, threads: threads)
            }
        }
    }
}
