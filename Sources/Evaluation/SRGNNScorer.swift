/// SR-GNN behind the harness's protocol, so one evaluator ranks it beside the baselines.
/// A batch of sessions is one forward pass; each call uses its own workspace, so the scorer
/// stays an immutable value that several threads may call at once.
public struct SRGNNScorer: SessionScorer {
    public let model: SRGNNModel
    public var name: String
    /// Threads for the products inside one call (keep 1 when the evaluator runs several workers).
    public var threads: Int

    public init(model: SRGNNModel, name: String = "SR-GNN", threads: Int = 1) {
        self.model = model
        self.name = name
        self.threads = threads
    }

    public var itemCount: Int { model.configuration.itemCount }
    public var preferredBatchSize: Int { 200 }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        score(sessions: [session], into: scores)
    }

    public func score(sessions: [ArraySlice<Int32>], into scores: UnsafeMutableBufferPointer<Float>) {
        let workspace = SRGNNWorkspace()
        let result = model.forward(SessionBatch(sessions: sessions), workspace: workspace, threads: threads)
        scores.baseAddress!.update(from: result, count: sessions.count * itemCount)
        withExtendedLifetime(workspace) {}
    }
}
