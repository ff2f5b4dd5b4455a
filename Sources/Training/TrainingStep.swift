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

    public init(model: SRGNNModel, learningRate: Float, weightDecay: Float, threads: Int) {
        self.model = model
        self.threads = threads
        optimizer = Adam(for: model.parameters, configuration: model.configuration, learningRate: learningRate, weightDecay: weightDecay)
        gradient = SRGNNParameters(zerosLike: model.parameters)
    }

    /// Trains on one batch of (prefix, next item) examples; returns its mean loss.
    @discardableResult
    public mutating func callAsFunction<C: Collection>(prefixes: C, targets: [Int32]) -> Float
    where C.Element: Collection, C.Element.Element == Int32 {
        batch.fill(sessions: prefixes, targets: targets)
        let loss = model.lossAndGradient(batch, workspace: workspace, gradient: &gradient, threads: threads, accumulate: false)
        optimizer.step(&model.parameters, gradient: gradient, threads: threads)
        return loss
    }
}
