/// The shape of an SR-GNN model: what a weights file does not say by itself.
public struct SRGNNConfiguration: Codable, Sendable, Equatable {
    /// Number of items; item ids are `1...itemCount` and the embedding has `itemCount + 1` rows
    /// (row 0 is the reference's padding id, never scored).
    public var itemCount: Int
    /// Hidden size `d` (the reference's `hiddenSize`, default 100).
    public var hiddenSize: Int
    /// Propagation steps of the gated graph cell (default 1).
    public var step: Int
    /// Readout without the hybrid transform: `s_h = s_g` instead of `W_3 [s_g | h_t] + b_3`.
    public var nonhybrid: Bool

    public init(itemCount: Int, hiddenSize: Int = 100, step: Int = 1, nonhybrid: Bool = false) {
        self.itemCount = itemCount
        self.hiddenSize = hiddenSize
        self.step = step
        self.nonhybrid = nonhybrid
    }

    /// Rows of the item embedding (`n_node` in the reference).
    public var embeddingRows: Int { itemCount + 1 }

    /// Rejects shapes that cannot make a model.
    public func validate() throws {
        guard itemCount >= 1 else { throw ModelError.invalidConfiguration("item count must be at least 1, got \(itemCount)") }
        guard hiddenSize >= 1 else { throw ModelError.invalidConfiguration("hidden size must be at least 1, got \(hiddenSize)") }
        guard step >= 1 else { throw ModelError.invalidConfiguration("step must be at least 1, got \(step)") }
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
