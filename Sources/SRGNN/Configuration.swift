/// The shape of an SR-GNN model: what a weights file does not say by itself.
public struct SRGNNConfiguration: Codable, Sendable, Equatable {
    /// Number of items; item ids are `1...itemCount` and the embedding has `itemCount + 1` rows
    /// (row 0 is the reference's padding id, never scored).
    public var itemCount: Int
    /// Hidden size `d` (the reference's `hiddenSize`, default 100).
    public var hiddenSize: Int
    /// Propagation steps: how often the gated graph cell runs over a session graph (the
    /// reference's `--step`, default 1).
    public var propagationSteps: Int
    /// Readout without the hybrid transform: `s_h = s_g` instead of `W_3 [s_g | h_t] + b_3`.
    public var nonhybrid: Bool

    public init(itemCount: Int, hiddenSize: Int = 100, propagationSteps: Int = 1, nonhybrid: Bool = false) {
        self.itemCount = itemCount
        self.hiddenSize = hiddenSize
        self.propagationSteps = propagationSteps
        self.nonhybrid = nonhybrid
    }

    private enum CodingKeys: String, CodingKey {
        case itemCount, hiddenSize, propagationSteps, nonhybrid
        case step  // the name in checkpoints written before propagationSteps
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        itemCount = try container.decode(Int.self, forKey: .itemCount)
        hiddenSize = try container.decode(Int.self, forKey: .hiddenSize)
        propagationSteps = try container.decodeIfPresent(Int.self, forKey: .propagationSteps)
            ?? container.decode(Int.self, forKey: .step)
        nonhybrid = try container.decode(Bool.self, forKey: .nonhybrid)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(itemCount, forKey: .itemCount)
        try container.encode(hiddenSize, forKey: .hiddenSize)
        try container.encode(propagationSteps, forKey: .propagationSteps)
        try container.encode(nonhybrid, forKey: .nonhybrid)
    }

    /// Rows of the item embedding (`n_node` in the reference).
    public var embeddingRows: Int { itemCount + 1 }

    /// Most items: internal ids are `Int32`.
    public static let maximumItemCount = Int(Int32.max) - 1
    /// Largest hidden size (the paper uses 100; `W_ih` alone is `6 d²` floats).
    public static let maximumHiddenSize = 4_096
    /// Most propagation steps (the paper uses 1; each step costs a full gated-graph pass per request).
    public static let maximumPropagationSteps = 16

    /// Rejects shapes that cannot make a model, and values beyond the stated limits (checked
    /// whenever a configuration is read: from a checkpoint, a training state or the command line).
    public func validate() throws {
        guard (1...Self.maximumItemCount).contains(itemCount) else {
            throw ModelError.invalidConfiguration("item count must be in 1...\(Self.maximumItemCount), got \(itemCount)")
        }
        guard (1...Self.maximumHiddenSize).contains(hiddenSize) else {
            throw ModelError.invalidConfiguration("hidden size must be in 1...\(Self.maximumHiddenSize), got \(hiddenSize)")
        }
        guard (1...Self.maximumPropagationSteps).contains(propagationSteps) else {
            throw ModelError.invalidConfiguration("propagation steps must be in 1...\(Self.maximumPropagationSteps), got \(propagationSteps)")
        }
    }
}

/// Errors from building, loading or querying a model. Each says what is wrong and where.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case emptySession
    case itemOutOfRange(item: Int, position: Int, itemCount: Int)
    case weightsFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return "invalid model configuration: \(message)"
        case .emptySession:
            return "the session is empty: give at least one item id"
        case let .itemOutOfRange(item, position, itemCount):
            return "item id \(item) at position \(position + 1) is outside 1...\(itemCount) (the model knows \(itemCount) items)"
        case let .weightsFile(path, reason):
            return "\(path): \(reason)"
        }
    }
}
