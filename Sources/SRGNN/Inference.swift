import SessionData
import TensorCore

/// An item and its score, the raw logit `s_h · e_item` (NISER+: `σ · cos(s_h, e_item)`). `ID` is the model's internal id (`Int32`,
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

/// The item embedding packed once for the score kernel of `path` (`ScoreKernels.packItems`), so
/// that scoring a session does not repack every panel of items per call: a lone session then
/// streams the embedding once, at the speed of a matrix-vector product, and gets the very numbers
/// it gets in a batch. For a model whose weights no longer change (inference). A NISER model's
/// items are packed normalised (Ê), so serving costs what SR-GNN's does.
public struct PackedItemEmbedding: Sendable {
    public let path: KernelPath
    let panels: [Float]
    let itemCount: Int
    let hiddenSize: Int

    /// Packs `model`'s items for `path`; nil for `blas`, which scores unpacked.
    public init?(_ model: SRGNNModel, path: KernelPath = ScoreKernels.current) {
        guard ScoreKernels.panelItems(path) != nil else { return nil }
        let d = model.configuration.hiddenSize, items = model.configuration.itemCount
        self.path = path
        itemCount = items
        hiddenSize = d
        // Row 0 of the embedding is padding; item j is row j.
        panels = model.parameters.withPointers { w in
            guard model.configuration.normalize else { return ScoreKernels.packItems(path, items: w.embedding + d, count: items, hiddenSize: d) }
            let workspace = SRGNNWorkspace()
            let normalized = model.layers().normalizeItems(w.embedding, workspace: workspace, threads: 1)
            return ScoreKernels.packItems(path, items: normalized + d, count: items, hiddenSize: d)
        }
    }
}

extension SRGNNModel {
    /// The `k` best items for each session, best first (ties to the lower id): `recommend` with
    /// `.best(k: k, allowed: nil)` for every session.
    public func recommend(sessions: [[Int32]], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace(),
                          threads: Int = 1, packedItems: PackedItemEmbedding? = nil) throws -> [[ScoredItem<Int32>]] {
        try recommend(sessions: sessions, selections: Array(repeating: .best(k: k, allowed: nil), count: sessions.count),
                      workspace: workspace, threads: threads, packedItems: packedItems)
    }

    /// Each session's answer from its own `selections` entry, best first (ties to the lower id),
    /// chosen tile by tile without a `[B, I]` score matrix. Sessions are validated first; a bad one
    /// throws before any work is done. A session's scores do not depend on the other sessions of
    /// the batch (on our kernel paths), and `packedItems` (this model's, packed for the path in
    /// force) changes only the speed.
    public func recommend(sessions: [[Int32]], selections: [ItemSelection], workspace: SRGNNWorkspace = SRGNNWorkspace(),
                          threads: Int = 1, packedItems: PackedItemEmbedding? = nil) throws -> [[ScoredItem<Int32>]] {
        precondition(selections.count == sessions.count, "one selection per session")
        for session in sessions { try validate(session: session) }
        if sessions.isEmpty { return [] }
        if let packedItems { check(packedItems) }
        let batch = SessionBatch(sessions: sessions)
        let sessionEmbedding = forward(batch, workspace: workspace, threads: threads)
        let scoreLayer = layers().scoreLayer
        workspace.prepareScoring(sessions: batch.sessionCount, itemCount: configuration.itemCount, scoreLayer: scoreLayer,
                                 threads: threads, fullScores: false)
        let chosen = parameters.withPointers { w in
            scoreLayer.select(sessionEmbedding: sessionEmbedding, batchSize: batch.sessionCount,
                              embedding: packedItems == nil ? scoredItems(w, workspace: workspace, threads: threads) : w.embedding,
                              packedItems: packedItems, selections: selections, workspace: workspace, threads: threads)
        }
        return chosen.map { $0.map { ScoredItem(id: Int32($0.index + 1), score: $0.value) } }
    }

    /// The item vectors the scores read: E, or for NISER Ê, normalised into the workspace on each
    /// call (O(I d), 1/B of the score product; a `PackedItemEmbedding` holds Ê ready for serving).
    func scoredItems(_ w: ParameterPointers<UnsafePointer<Float>>, workspace ws: SRGNNWorkspace, threads: Int) -> UnsafePointer<Float> {
        guard configuration.normalize else { return w.embedding }
        return layers().normalizeItems(w.embedding, workspace: ws, threads: threads)
    }

    private func check(_ packedItems: PackedItemEmbedding) {
        precondition(packedItems.itemCount == configuration.itemCount && packedItems.hiddenSize == configuration.hiddenSize,
                     "packed items of another model")
    }

    /// The `k` best items for one session.
    public func recommend(session: [Int32], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace()) throws -> [ScoredItem<Int32>] {
        try recommend(sessions: [session], k: k, workspace: workspace)[0]
    }
}

extension SRGNNModel {
    /// Every item's score for every session of `batch` into `scores` `[B, itemCount]` (column `j`
    /// for item `j + 1`): the one scoring path of inference, evaluation and serving.
    public func scores(_ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1,
                       packedItems: PackedItemEmbedding? = nil, into scores: UnsafeMutablePointer<Float>) {
        if let packedItems { check(packedItems) }
        let sessionEmbedding = forward(batch, workspace: ws, threads: threads)
        let layers = layers()
        parameters.withPointers { w in
            layers.scoreLayer.scores(sessionEmbedding: sessionEmbedding, batchSize: batch.sessionCount,
                                     embedding: packedItems == nil ? scoredItems(w, workspace: ws, threads: threads) : w.embedding,
                                     packedItems: packedItems, into: scores, threads: threads)
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
                layers.scoreLayer.ranks(sessionEmbedding: sessionEmbedding, targets: targets,
                                        embedding: scoredItems(w, workspace: ws, threads: threads),
                                        into: ranks, workspace: ws, threads: threads)
            }
        }
    }
}
