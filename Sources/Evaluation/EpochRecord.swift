import SRGNN

/// One epoch of a training run, as logged and as kept in a checkpoint's history. Defined here
/// rather than in Training because the comparison report draws these curves.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var learningRate: Double
    public var seconds: Double
    /// Metrics on the held-out validation examples (percentages, keys like `HR@20`), if any.
    public var validation: [String: Double]?
    /// Metrics on the test examples (percentages).
    public var test: [String: Double]?

    public init(
        epoch: Int, loss: Double, learningRate: Double, seconds: Double,
        validation: [String: Double]?, test: [String: Double]?
    ) {
        self.epoch = epoch
        self.loss = loss
        self.learningRate = learningRate
        self.seconds = seconds
        self.validation = validation
        self.test = test
    }
}

extension CheckpointMetadata {
    /// The training history, when the checkpoint has a readable one.
    public var trainingHistory: [EpochRecord]? { history?.decode([EpochRecord].self) }
}
