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

    // NISER / NISER+ (Gupta et al., arXiv 1909.04276). All off is SR-GNN, bit for bit; checkpoints
    // written before these keys existed decode as SR-GNN.

    /// NISER: L2-normalised item embeddings (as the graph's inputs and for scoring) and a
    /// normalised session vector, so that `scores_j = scale · cos(s_h, e_j)`.
    public var normalize: Bool
    /// σ, the scale of the cosine scores (the paper's 16); used only with `normalize`.
    public var scale: Float
    /// NISER+: rows of the reverse-position embedding added to the click states before the
    /// readout (position 0 is the last click); 0 for none. Clicks further back than the last row
    /// share it, so a session longer than the rows (200, the NISER+ default) is read whole.
    public var positionEmbeddingRows: Int
    /// NISER+: dropout probability on the (normalised) item embeddings fed to the graph, in
    /// training only (inference never drops).
    public var dropout: Float
    /// NISER+ as its authors' code (GhostAnderson/NISER) runs it, where it departs from the paper's
    /// text: positions counted from the session's first click, a softmax over the attention
    /// weights α of each session, and the same dropout also on the graph's output (the node states
    /// before the readout). Off: the paper's text (reverse positions, SR-GNN's α, input dropout only).
    public var authorsCode: Bool

    public init(
        itemCount: Int, hiddenSize: Int = 100, propagationSteps: Int = 1, nonhybrid: Bool = false,
        normalize: Bool = false, scale: Float = SRGNNConfiguration.niserScale, positionEmbeddingRows: Int = 0,
        dropout: Float = 0, authorsCode: Bool = false
    ) {
        self.itemCount = itemCount
        self.hiddenSize = hiddenSize
        self.propagationSteps = propagationSteps
        self.nonhybrid = nonhybrid
        self.normalize = normalize
        self.scale = scale
        self.positionEmbeddingRows = positionEmbeddingRows
        self.dropout = dropout
        self.authorsCode = authorsCode
    }

    /// The paper's σ (section 3, "we use σ = 16").
    public static let niserScale: Float = 16
    /// The paper's dropout on item embeddings for NISER+ (0.1).
    public static let niserDropout: Float = 0.1
    /// Reverse positions NISER+ learns (the NISER+ default); older clicks share the last row.
    public static let niserPositionRows = 200

    /// Which model these settings make: SR-GNN when every NISER option is off.
    public var variant: ModelVariant {
        normalize || positionEmbeddingRows > 0 || dropout > 0 || authorsCode ? .niser : .srgnn
    }

    private enum CodingKeys: String, CodingKey {
        case itemCount, hiddenSize, propagationSteps, nonhybrid
        case variant, normalize, scale, positionEmbeddingRows, dropout, authorsCode
        case step  // the name in checkpoints written before propagationSteps
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        itemCount = try container.decode(Int.self, forKey: .itemCount)
        hiddenSize = try container.decode(Int.self, forKey: .hiddenSize)
        propagationSteps =
            try container.decodeIfPresent(Int.self, forKey: .propagationSteps)
            ?? container.decode(Int.self, forKey: .step)
        nonhybrid = try container.decode(Bool.self, forKey: .nonhybrid)
        // Missing keys: a checkpoint from before NISER, so SR-GNN. `variant` is derived, not read.
        normalize = try container.decodeIfPresent(Bool.self, forKey: .normalize) ?? false
        scale = try container.decodeIfPresent(Float.self, forKey: .scale) ?? Self.niserScale
        positionEmbeddingRows = try container.decodeIfPresent(Int.self, forKey: .positionEmbeddingRows) ?? 0
        dropout = try container.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
        authorsCode = try container.decodeIfPresent(Bool.self, forKey: .authorsCode) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(itemCount, forKey: .itemCount)
        try container.encode(hiddenSize, forKey: .hiddenSize)
        try container.encode(propagationSteps, forKey: .propagationSteps)
        try container.encode(nonhybrid, forKey: .nonhybrid)
        try container.encode(variant, forKey: .variant)  // for readers of the metadata
        try container.encode(normalize, forKey: .normalize)
        try container.encode(scale, forKey: .scale)
        try container.encode(positionEmbeddingRows, forKey: .positionEmbeddingRows)
        try container.encode(dropout, forKey: .dropout)
        try container.encode(authorsCode, forKey: .authorsCode)
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
            throw ModelError.invalidConfiguration(
                "propagation steps must be in 1...\(Self.maximumPropagationSteps), got \(propagationSteps)")
        }
        guard scale > 0, scale.isFinite, scale <= Self.maximumScale else {
            throw ModelError.invalidConfiguration("the cosine scale σ must be in (0, \(Self.maximumScale)], got \(scale)")
        }
        guard (0...Self.maximumPositionEmbeddingRows).contains(positionEmbeddingRows) else {
            throw ModelError.invalidConfiguration(
                "position embedding rows must be in 0...\(Self.maximumPositionEmbeddingRows), got \(positionEmbeddingRows)")
        }
        guard dropout >= 0, dropout < 1 else {
            throw ModelError.invalidConfiguration("dropout must be in [0, 1), got \(dropout)")
        }
    }

    /// Largest σ: beyond it float32 softmax saturates for unit vectors anyway.
    public static let maximumScale: Float = 1_000
    /// Most reverse positions (the same bound as a session's length).
    public static let maximumPositionEmbeddingRows = 10_000
}

/// SR-GNN or its NISER family (normalised items and session, optionally NISER+'s position
/// embeddings and dropout). Written into checkpoints for readers; the settings themselves decide.
public enum ModelVariant: String, Codable, Sendable, CaseIterable {
    case srgnn, niser

    /// The full settings of the variant as the papers train it.
    public func configure(_ configuration: inout SRGNNConfiguration) {
        switch self {
        case .srgnn:
            configuration.normalize = false
            configuration.positionEmbeddingRows = 0
            configuration.dropout = 0
        case .niser:
            configuration.normalize = true
            configuration.scale = SRGNNConfiguration.niserScale
            configuration.positionEmbeddingRows = SRGNNConfiguration.niserPositionRows
            configuration.dropout = SRGNNConfiguration.niserDropout
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
