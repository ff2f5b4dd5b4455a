import SessionData
import SRGNN

/// SR-GNN behind the harness's protocol, so one evaluator ranks it beside the baselines, and
/// `srgnn evaluate`, validation during training and `srgnn compare` measure it the same way.
/// A batch of sessions is one forward pass. Concurrent calls take their own workspace from a pool,
/// so the scorer stays an immutable value that several threads may call at once.
public struct SRGNNScorer: SessionScorer {
    public let model: SRGNNModel
    public var name: String
    /// Threads for the products inside one call (keep 1 when the evaluator runs several workers).
    public var threads: Int
    /// Sessions per call.
    public var preferredBatchSize: Int
    /// Items per tile when ranking (a worker's tile buffer is `batch × tileItems` floats).
    public var tileItems: Int
    private let workspaces = WorkspacePool()
    /// A NISER model's Ê, normalised once here rather than by every call.
    private let normalizedItems: NormalizedItemEmbedding?
    /// The items packed once for the kernel path in force at `init`, rather than by every call.
    private let packedItems: PackedItemEmbedding?

    public init(model: SRGNNModel, name: String = "SR-GNN", threads: Int = 1, batchSize: Int = 500, tileItems: Int = 1_024) {
        self.model = model
        self.name = name
        self.threads = threads
        self.preferredBatchSize = batchSize
        self.tileItems = tileItems
        normalizedItems = NormalizedItemEmbedding(model)
        packedItems = PackedItemEmbedding(model)
    }

    public var itemCount: Int { model.configuration.itemCount }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        score(sessions: [session], into: scores)
    }

    public func score(sessions: [ArraySlice<Int32>], into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count >= sessions.count * itemCount, "score buffer smaller than sessions × itemCount")
        workspaces.with { workspace in
            model.scores(
                SessionBatch(sessions: sessions), workspace: workspace, threads: threads, packedItems: packedItems,
                normalizedItems: normalizedItems, into: scores.baseAddress!)
        }
    }

    /// Ranks by `SRGNNModel.ranks`, tile by tile; model scores do not tie, so `tied` is 1.
    public func targetPositions(
        sessions: [ArraySlice<Int32>], targets: [Int32],
        into positions: UnsafeMutableBufferPointer<TargetPosition>
    ) {
        workspaces.with { workspace in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: sessions.count) { ranks in
                model.ranks(
                    SessionBatch(sessions: sessions, targets: targets), workspace: workspace, threads: threads,
                    tileItems: tileItems, packedItems: packedItems, normalizedItems: normalizedItems,
                    into: ranks.baseAddress!)
                for b in sessions.indices { positions[b] = TargetPosition(greater: Int(ranks[b]) - 1, tied: 1) }
            }
        }
    }
}
