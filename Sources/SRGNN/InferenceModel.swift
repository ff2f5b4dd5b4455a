import SessionData
import TensorCore

/// A frozen model ready to score: the one owner of inference.
///
/// It holds the model, its item matrix prepared once for the kernel `path` (packed for the score
/// kernel, or on `blas` a NISER model's normalised Ê), and a pool of workspaces, one per concurrent
/// call. The `Recommender` (and so `srgnn recommend` and the service), `SRGNNScorer` (evaluation)
/// and `srgnn bench` hold one of these and score only through it, so they all get the same numbers
/// for a session, made the same way. Immutable, so one instance is shared by every thread.
///
/// Scores, selections and ranks are those of `SRGNNModel`'s `recommend`, `scores` and `ranks`
/// with the prepared items: the same numbers as the model's unprepared ones on the same path
/// (bit for bit on our kernel paths), only faster.
public final class InferenceModel: Sendable {
    public let model: SRGNNModel
    /// The kernel the items are prepared for and the score layer runs on.
    public let path: KernelPath
    /// The items packed once for `path` (nil on `blas`, which scores unpacked).
    public let packedItems: PackedItemEmbedding?
    /// A NISER model's Ê, normalised once when there are no packed items (packed items hold it otherwise).
    public let normalizedItems: NormalizedItemEmbedding?
    /// How `select` and `recommend` find the best items (`scores` and `ranks` are always exact).
    public let retrieval: Retrieval
    /// The scored item vectors (E, or a NISER model's Ê) quantised to int8, for approximate retrieval.
    public let quantizedItems: Int8ItemMatrix?
    /// A NISER model's Ê, kept for approximate retrieval's rescoring (a candidate's row).
    let rescoringItems: NormalizedItemEmbedding?
    private let workspaces = WorkspacePool()

    /// Prepares `model`'s items for `path` (the model's own `kernelPath` when nil), which the
    /// whole pass then runs on, and for `retrieval`: O(I d) once, instead of per call.
    public init(_ model: SRGNNModel, path: KernelPath? = nil, retrieval: Retrieval = .exact) {
        var model = model
        let path = path ?? model.kernelPath
        model.kernelPath = path
        self.model = model
        self.path = path
        self.retrieval = retrieval
        packedItems = PackedItemEmbedding(model, path: path)
        normalizedItems = packedItems == nil ? NormalizedItemEmbedding(model, path: path) : nil
        guard case .approximate = retrieval else {
            quantizedItems = nil
            rescoringItems = nil
            return
        }
        let d = model.configuration.hiddenSize, count = model.configuration.itemCount
        // Row 0 of the embedding is padding; item j is row j.
        rescoringItems = normalizedItems ?? NormalizedItemEmbedding(model, path: path)
        if let normalized = rescoringItems {
            quantizedItems = normalized.values.withUnsafeBufferPointer {
                Int8ItemMatrix(items: $0.baseAddress! + d, count: count, hiddenSize: d)
            }
        } else {
            quantizedItems = model.parameters.withPointers { Int8ItemMatrix(items: $0.embedding + d, count: count, hiddenSize: d) }
        }
    }

    public var configuration: SRGNNConfiguration { model.configuration }
    public var itemCount: Int { model.configuration.itemCount }

    /// Each session's answer from its own `selections` entry, best first (ties to the lower id);
    /// see `SRGNNModel.recommend(sessions:selections:…)`, or by approximate retrieval when the
    /// model was prepared for it (see `Retrieval`). A bad session throws `ModelError` before
    /// any work is done.
    public func select(sessions: [[Int32]], selections: [ItemSelection], threads: Int = 1) throws -> [[ScoredItem<Int32>]] {
        try workspaces.with { workspace in
            if case let .approximate(candidates) = retrieval, let quantizedItems {
                return try model.approximateRecommend(
                    sessions: sessions, selections: selections, candidates: candidates, quantizedItems: quantizedItems,
                    workspace: workspace, threads: threads, packedItems: packedItems, normalizedItems: normalizedItems,
                    rescoringItems: rescoringItems, path: path)
            }
            return try model.recommend(
                sessions: sessions, selections: selections, workspace: workspace, threads: threads,
                packedItems: packedItems, normalizedItems: normalizedItems, path: path)
        }
    }

    /// The `k` best items for each session, best first (ties to the lower id).
    public func recommend(sessions: [[Int32]], k: Int, threads: Int = 1) throws -> [[ScoredItem<Int32>]] {
        try select(sessions: sessions, selections: Array(repeating: .best(k: k, allowed: nil), count: sessions.count), threads: threads)
    }

    /// Every item's score for every session of `batch` into `scores` `[B, itemCount]` (column `j`
    /// for item `j + 1`); see `SRGNNModel.scores`.
    public func scores(_ batch: SessionBatch, threads: Int = 1, into scores: UnsafeMutablePointer<Float>) {
        workspaces.with { workspace in
            model.scores(
                batch, workspace: workspace, threads: threads, packedItems: packedItems, normalizedItems: normalizedItems,
                path: path, into: scores)
        }
    }

    /// The rank of each session's target among all items (1 = best, ties in the target's favour)
    /// into `ranks` `[B]`, tile by tile (`tileItems` items a tile); see `SRGNNModel.ranks`.
    public func ranks(_ batch: SessionBatch, threads: Int = 1, tileItems: Int = 1_024, into ranks: UnsafeMutablePointer<Int32>) {
        workspaces.with { workspace in
            model.ranks(
                batch, workspace: workspace, threads: threads, tileItems: tileItems, packedItems: packedItems,
                normalizedItems: normalizedItems, path: path, into: ranks)
        }
    }
}
