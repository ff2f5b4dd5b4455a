/// One optimisation step on one batch, with every buffer it needs kept between calls:
/// build the batch graph, forward, loss, backward, Adam. Allocates nothing once the largest batch
/// has been seen.
public struct TrainingStep {
    public var model: SRGNNModel
    public var optimizer: Adam
    public var threads: Int
    public private(set) var gradient: SRGNNParameters
    public let workspace = SRGNNWorkspace()
    public private(set) var batch = SessionBatch()
    /// Items per score-layer tile: a tile's gradient block (400 KB at d = 100) is still in cache
    /// when Adam reads it; measured a little faster than 2,048. Tests use tiny tiles to cross borders.
    public var tileItems = 1_024

    public init(model: SRGNNModel, learningRate: Float, weightDecay: Float, threads: Int) {
        self.model = model
        self.threads = threads
        optimizer = Adam(for: model.parameters, configuration: model.configuration, learningRate: learningRate, weightDecay: weightDecay)
        gradient = SRGNNParameters(zerosLike: model.parameters)
    }

    /// Trains on one batch of (prefix, next item) examples; returns its mean loss.
    ///
    /// Adam updates the embedding inside the score layer, row block by row block while the block's
    /// gradient is in cache (the same per-element arithmetic as `Adam.step`), and the other tensors
    /// after the backward pass.
    @discardableResult
    public mutating func callAsFunction<C: Collection>(prefixes: C, targets: [Int32]) -> Float
    where C.Element: Collection, C.Element.Element == Int32 {
        batch.fill(sessions: prefixes, targets: targets)
        let update = optimizer.beginStep()
        let d = model.configuration.hiddenSize
        let loss = optimizer.firstMoment.withMutablePointers { m in
            optimizer.secondMoment.withMutablePointers { v in
                model.trainingStep(batch, workspace: workspace, gradient: &gradient, threads: threads, tileItems: tileItems) {
                    rows, weights, rowGradient in
                    let offset = rows.lowerBound * d
                    update.apply(weights, gradient: rowGradient, firstMoment: m.embedding + offset,
                                 secondMoment: v.embedding + offset, count: rows.count * d)
                }
            }
        }
        optimizer.apply(update, to: &model.parameters, gradient: gradient, ranges: optimizer.nonEmbeddingRanges, threads: threads)
        return loss
    }
}
