import SessionData
import SRGNN

/// SR-GNN behind the harness's protocol, so one evaluator ranks it beside the baselines, and
/// `srgnn evaluate`, validation during training and `srgnn compare` measure it the same way.
/// A batch of sessions is one forward pass. It scores through an `InferenceModel` (items prepared
/// once, a workspace per concurrent call), so the scorer stays an immutable value that several
/// threads may call at once.
public struct SRGNNScorer: SessionScorer {
    /// The model with its prepared items and workspaces.
    public let inference: InferenceModel
    public var name: String
    /// Threads for the products inside one call (keep 1 when the evaluator runs several workers).
    public var threads: Int
    /// Sessions per call.
    public var preferredBatchSize: Int
    /// Items per tile when ranking (a worker's tile buffer is `batch × tileItems` floats).
    public var tileItems: Int

    /// Scores through `inference` (shared with whoever else holds it, e.g. `srgnn bench`'s latency).
    public init(inference: InferenceModel, name: String = "SR-GNN", threads: Int = 1, batchSize: Int = 500, tileItems: Int = 1_024) {
        self.inference = inference
        self.name = name
        self.threads = threads
        self.preferredBatchSize = batchSize
        self.tileItems = tileItems
    }

    /// Scores `model` on the default kernel path, its items prepared here once.
    public init(model: SRGNNModel, name: String = "SR-GNN", threads: Int = 1, batchSize: Int = 500, tileItems: Int = 1_024) {
        self.init(inference: InferenceModel(model), name: name, threads: threads, batchSize: batchSize, tileItems: tileItems)
    }

    public var model: SRGNNModel { inference.model }
    public var itemCount: Int { inference.itemCount }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        score(sessions: [session], into: scores)
    }

    public func score(sessions: [ArraySlice<Int32>], into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count >= sessions.count * itemCount, "score buffer smaller than sessions × itemCount")
        inference.scores(SessionBatch(sessions: sessions), threads: threads, into: scores.baseAddress!)
    }

    /// Ranks by `InferenceModel.ranks`, tile by tile; model scores do not tie, so `tied` is 1.
    public func targetPositions(
        sessions: [ArraySlice<Int32>], targets: [Int32],
        into positions: UnsafeMutableBufferPointer<TargetPosition>
    ) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: sessions.count) { ranks in
            inference.ranks(
                SessionBatch(sessions: sessions, targets: targets), threads: threads, tileItems: tileItems, into: ranks.baseAddress!)
            for b in sessions.indices { positions[b] = TargetPosition(greater: Int(ranks[b]) - 1, tied: 1) }
        }
    }
}
