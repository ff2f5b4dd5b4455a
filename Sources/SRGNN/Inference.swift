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

    /// Packs `model`'s items for `path` (the model's own when nil); nil for `blas`, which scores unpacked.
    public init?(_ model: SRGNNModel, path: KernelPath? = nil) {
        let path = path ?? model.kernelPath
        guard ScoreKernels.panelItems(path) != nil else { return nil }
        let d = model.configuration.hiddenSize, items = model.configuration.itemCount
        self.path = path
        itemCount = items
        hiddenSize = d
        // Row 0 of the embedding is padding; item j is row j.
        if let normalized = NormalizedItemEmbedding(model, path: path) {
            panels = normalized.values.withUnsafeBufferPointer {
                ScoreKernels.packItems(path, items: $0.baseAddress! + d, count: items, hiddenSize: d)
            }
        } else {
            panels = model.parameters.withPointers { ScoreKernels.packItems(path, items: $0.embedding + d, count: items, hiddenSize: d) }
        }
    }
}

/// A NISER model's item matrix Ê `[I + 1, d]` (every row of E normalised), computed once for a
/// model whose weights no longer change (evaluation, serving), so that ranking and scoring skip
/// the O(I d) pass they otherwise make per call. The same bits as the per-call Ê.
public struct NormalizedItemEmbedding: Sendable {
    let values: [Float]
    let itemCount: Int
    let hiddenSize: Int

    /// Ê of `model`, normalised by the kernel `path`; nil for a model that scores E itself (SR-GNN).
    public init?(_ model: SRGNNModel, path: KernelPath? = nil) {
        guard model.configuration.normalize else { return nil }
        let path = path ?? model.kernelPath
        let rows = model.configuration.embeddingRows, d = model.configuration.hiddenSize
        itemCount = model.configuration.itemCount
        hiddenSize = d
        values = model.parameters.withPointers { w in
            [Float](unsafeUninitializedCapacity: rows * d) { buffer, initialized in
                normalizeRows(w.embedding, rows: rows, width: d, into: buffer.baseAddress!, reciprocalNorms: nil, path: path)
                initialized = rows * d
            }
        }
    }
}

extension SRGNNModel {
    /// The `k` best items for each session, best first (ties to the lower id): `recommend` with
    /// `.best(k: k, allowed: nil)` for every session.
    public func recommend(
        sessions: [[Int32]], k: Int, workspace: SRGNNWorkspace = SRGNNWorkspace(),
        threads: Int = 1, packedItems: PackedItemEmbedding? = nil,
        normalizedItems: NormalizedItemEmbedding? = nil
    ) throws -> [[ScoredItem<Int32>]] {
        try recommend(
            sessions: sessions, selections: Array(repeating: .best(k: k, allowed: nil), count: sessions.count),
            workspace: workspace, threads: threads, packedItems: packedItems, normalizedItems: normalizedItems)
    }

    /// Each session's answer from its own `selections` entry, best first (ties to the lower id),
    /// chosen tile by tile without a `[B, I]` score matrix. Sessions are validated first; a bad one
    /// throws before any work is done. A session's scores do not depend on the other sessions of
    /// the batch (on our kernel paths), and `packedItems` (this model's, packed for the path in
    /// force) and `normalizedItems` (a NISER model's Ê, used when there are no packed items)
    /// change only the speed. (`InferenceModel` holds both, made once, and a workspace pool.)
    public func recommend(
        sessions: [[Int32]], selections: [ItemSelection], workspace: SRGNNWorkspace = SRGNNWorkspace(),
        threads: Int = 1, packedItems: PackedItemEmbedding? = nil,
        normalizedItems: NormalizedItemEmbedding? = nil
    ) throws -> [[ScoredItem<Int32>]] {
        try recommend(
            sessions: sessions, selections: selections, workspace: workspace, threads: threads, packedItems: packedItems,
            normalizedItems: normalizedItems, path: kernelPath)
    }

    /// `recommend(sessions:selections:…)`, the score layer's products and top-k by the kernel `path`.
    func recommend(
        sessions: [[Int32]], selections: [ItemSelection], workspace: SRGNNWorkspace, threads: Int,
        packedItems: PackedItemEmbedding?, normalizedItems: NormalizedItemEmbedding?, path: KernelPath
    ) throws -> [[ScoredItem<Int32>]] {
        precondition(selections.count == sessions.count, "one selection per session")
        for session in sessions { try validate(session: session) }
        if sessions.isEmpty { return [] }
        if let packedItems { check(packedItems) }
        let batch = SessionBatch(sessions: sessions)
        let sessionEmbedding = forward(batch, workspace: workspace, threads: threads)
        let scoreLayer = layers().scoreLayer
        workspace.prepareScoring(
            sessions: batch.sessionCount, itemCount: configuration.itemCount, scoreLayer: scoreLayer,
            threads: threads, fullScores: false)
        let chosen = parameters.withPointers { w in
            func select(_ items: UnsafePointer<Float>) -> [[(index: Int, value: Float)]] {
                scoreLayer.select(
                    path, sessionEmbedding: sessionEmbedding, batchSize: batch.sessionCount, embedding: items,
                    packedItems: packedItems, selections: selections, workspace: workspace, threads: threads)
            }
            // Packed items stand in for the unpacked ones entirely.
            if packedItems != nil { return select(w.embedding) }
            return withScoredItems(w, normalizedItems: normalizedItems, workspace: workspace, threads: threads, select)
        }
        return chosen.map { $0.map { ScoredItem(id: Int32($0.index + 1), score: $0.value) } }
    }

    /// Runs `body` on the item vectors the scores read: E, or for NISER Ê — `normalizedItems` when
    /// given, else normalised into the workspace now (O(I d) per call).
    func withScoredItems<R>(
        _ w: ParameterPointers<UnsafePointer<Float>>, normalizedItems: NormalizedItemEmbedding?,
        workspace ws: SRGNNWorkspace, threads: Int, _ body: (UnsafePointer<Float>) -> R
    ) -> R {
        guard configuration.normalize else { return body(w.embedding) }
        guard let normalizedItems else { return body(layers().normalizeItems(w.embedding, workspace: ws, threads: threads)) }
        precondition(
            normalizedItems.itemCount == configuration.itemCount && normalizedItems.hiddenSize == configuration.hiddenSize,
            "normalised items of another model")
        return normalizedItems.values.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    private func check(_ packedItems: PackedItemEmbedding) {
        precondition(
            packedItems.itemCount == configuration.itemCount && packedItems.hiddenSize == configuration.hiddenSize,
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
    public func scores(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1,
        packedItems: PackedItemEmbedding? = nil, normalizedItems: NormalizedItemEmbedding? = nil,
        into scores: UnsafeMutablePointer<Float>
    ) {
        self.scores(
            batch, workspace: ws, threads: threads, packedItems: packedItems, normalizedItems: normalizedItems,
            path: kernelPath, into: scores)
    }

    /// `scores(_:workspace:…)`, the score layer's products by the kernel `path`.
    func scores(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int, packedItems: PackedItemEmbedding?,
        normalizedItems: NormalizedItemEmbedding?, path: KernelPath, into scores: UnsafeMutablePointer<Float>
    ) {
        if let packedItems { check(packedItems) }
        let sessionEmbedding = forward(batch, workspace: ws, threads: threads)
        let layers = layers()
        parameters.withPointers { w in
            func score(_ items: UnsafePointer<Float>) {
                layers.scoreLayer.scores(
                    path, sessionEmbedding: sessionEmbedding, batchSize: batch.sessionCount, embedding: items,
                    packedItems: packedItems, into: scores, threads: threads)
            }
            if packedItems != nil { return score(w.embedding) }  // packed items stand in for the unpacked ones
            withScoredItems(w, normalizedItems: normalizedItems, workspace: ws, threads: threads, score)
        }
    }

    /// The rank of each session's target among all items (1 = best) into `ranks` `[B]`: one plus
    /// the number of items scoring strictly higher, so a tie counts in the target's favour. The
    /// score matrix is never materialised (see `ScoreLayer.ranks`). A NISER model ranks by
    /// `normalizedItems` when given (an evaluator's, made once), else normalises per call;
    /// `packedItems` (this model's, made once) spares packing the items' panels per call.
    public func ranks(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int = 1, tileItems: Int = 1_024,
        packedItems: PackedItemEmbedding? = nil, normalizedItems: NormalizedItemEmbedding? = nil,
        into ranks: UnsafeMutablePointer<Int32>
    ) {
        self.ranks(
            batch, workspace: ws, threads: threads, tileItems: tileItems, packedItems: packedItems,
            normalizedItems: normalizedItems, path: kernelPath, into: ranks)
    }

    /// `ranks(_:workspace:…)`, the score layer's products and counts by the kernel `path` (packed
    /// items, when they are used, by theirs).
    func ranks(
        _ batch: SessionBatch, workspace ws: SRGNNWorkspace, threads: Int, tileItems: Int,
        packedItems: PackedItemEmbedding?, normalizedItems: NormalizedItemEmbedding?, path: KernelPath,
        into ranks: UnsafeMutablePointer<Int32>
    ) {
        precondition(batch.targets.count == batch.sessionCount, "ranking needs one target per session")
        if let packedItems { check(packedItems) }
        let sessionEmbedding = forward(batch, workspace: ws, threads: threads)
        let layers = layers(tileItems: tileItems)
        ws.prepareScoring(
            sessions: batch.sessionCount, itemCount: configuration.itemCount, scoreLayer: layers.scoreLayer,
            threads: threads, fullScores: false)
        parameters.withPointers { w in
            withScoredItems(w, normalizedItems: normalizedItems, workspace: ws, threads: threads) { items in
                batch.targets.withUnsafeBufferPointer { targets in
                    layers.scoreLayer.ranks(
                        path, sessionEmbedding: sessionEmbedding, targets: targets, embedding: items,
                        packedItems: packedItems, into: ranks, workspace: ws, threads: threads)
                }
            }
        }
    }
}
