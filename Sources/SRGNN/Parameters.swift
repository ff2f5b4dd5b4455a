import TensorCore
/// Names of SR-GNN's parameters, spelled as the official PyTorch `state_dict` spells them.
public enum ParameterName: String, CaseIterable, Sendable, Codable {
    case embedding = "embedding.weight"
    case inputWeight = "gnn.w_ih"  // W_ih [3d, 2d]
    case hiddenWeight = "gnn.w_hh"  // W_hh [3d, d]
    case inputBias = "gnn.b_ih"  // [3d]
    case hiddenBias = "gnn.b_hh"  // [3d]
    case inAggregateBias = "gnn.b_iah"  // [d], added after A_in · (…)
    case outAggregateBias = "gnn.b_oah"  // [d], added after A_out · (…)
    case edgeInWeight = "gnn.linear_edge_in.weight"
    case edgeInBias = "gnn.linear_edge_in.bias"
    case edgeOutWeight = "gnn.linear_edge_out.weight"
    case edgeOutBias = "gnn.linear_edge_out.bias"
    case attentionLastWeight = "linear_one.weight"  // W_1 [d, d], applied to the last click h_t
    case attentionLastBias = "linear_one.bias"
    case attentionItemWeight = "linear_two.weight"  // W_2 [d, d], applied to every click h_i
    case attentionItemBias = "linear_two.bias"  // c
    case attentionVector = "linear_three.weight"  // q [1, d], no bias
    case hybridWeight = "linear_transform.weight"  // W_3 [d, 2d]
    case hybridBias = "linear_transform.bias"
    /// NISER+'s reverse-position embedding P [positions, d]: row k is added to the state of the
    /// k-th click before the last (row 0: the last click). Last, so SR-GNN's layout and its
    /// initial draw are unchanged; SR-GNN has 0 rows and the file has no such tensor.
    case reversePositionEmbedding = "niser.reverse_position_embedding.weight"

    /// The tensor's shape for a model of `embeddingRows` rows, hidden size `d` and
    /// `positionRows` reverse positions.
    public func shape(embeddingRows: Int, hiddenSize d: Int, positionRows: Int = 0) -> [Int] {
        switch self {
        case .embedding: return [embeddingRows, d]
        case .reversePositionEmbedding: return [positionRows, d]
        case .inputWeight: return [3 * d, 2 * d]
        case .hiddenWeight: return [3 * d, d]
        case .inputBias, .hiddenBias: return [3 * d]
        case .inAggregateBias, .outAggregateBias, .edgeInBias, .edgeOutBias,
            .attentionLastBias, .attentionItemBias, .hybridBias:
            return [d]
        case .edgeInWeight, .edgeOutWeight, .attentionLastWeight, .attentionItemWeight: return [d, d]
        case .attentionVector: return [1, d]
        case .hybridWeight: return [d, 2 * d]
        }
    }

    /// Whether SR-GNN uses this tensor: the reference's nonhybrid model never touches
    /// `linear_transform`, so it gets no gradient and Adam leaves it as it is; the NISER+ position
    /// embedding is not SR-GNN's.
    public func isUsed(nonhybrid: Bool) -> Bool {
        self != .reversePositionEmbedding && !(nonhybrid && (self == .hybridWeight || self == .hybridBias))
    }

    /// Whether a model of `configuration` uses this tensor (SR-GNN's answer, plus the position
    /// embedding when it has rows).
    public func isUsed(by configuration: SRGNNConfiguration) -> Bool {
        self == .reversePositionEmbedding ? configuration.positionEmbeddingRows > 0 : isUsed(nonhybrid: configuration.nonhybrid)
    }
}

/// Tensors that the reference defines but never uses in its forward pass.
public let unusedReferenceTensorNames: Set<String> = ["gnn.linear_edge_f.weight", "gnn.linear_edge_f.bias"]

/// All of SR-GNN's parameters in one flat Float buffer, in `ParameterName.allCases` order.
///
/// One buffer means gradients and Adam moments are the same type with the same layout, and the
/// optimizer walks a single array. `withPointers` gives each tensor's base inside it.
public struct SRGNNParameters: Sendable, Equatable {
    public let embeddingRows: Int
    public let hiddenSize: Int
    /// Rows of the reverse-position embedding (0 for SR-GNN).
    public let positionRows: Int
    /// `offsets[name]` locates each tensor in `storage`; its length follows from its shape.
    public let offsets: [ParameterName: Int]
    public var storage: [Float]

    /// Zeros in the layout of a model with `embeddingRows` rows and hidden size `hiddenSize`.
    public init(zerosWithEmbeddingRows embeddingRows: Int, hiddenSize: Int, positionRows: Int = 0) {
        self.embeddingRows = embeddingRows
        self.hiddenSize = hiddenSize
        self.positionRows = positionRows
        var offsets = [ParameterName: Int]()
        var total = 0
        for name in ParameterName.allCases {
            offsets[name] = total
            total += name.shape(embeddingRows: embeddingRows, hiddenSize: hiddenSize, positionRows: positionRows).reduce(1, *)
        }
        self.offsets = offsets
        self.storage = [Float](repeating: 0, count: total)
    }

    /// Zeros shaped like `other` (for gradients and optimizer moments).
    public init(zerosLike other: SRGNNParameters) {
        self.init(zerosWithEmbeddingRows: other.embeddingRows, hiddenSize: other.hiddenSize, positionRows: other.positionRows)
    }

    /// The reference initialisation: every parameter ~ U(−1/√d, 1/√d), drawn in
    /// `ParameterName.allCases` order from `generator`.
    public init(configuration: SRGNNConfiguration, generator: inout SeededGenerator) {
        self.init(
            zerosWithEmbeddingRows: configuration.embeddingRows, hiddenSize: configuration.hiddenSize,
            positionRows: configuration.positionEmbeddingRows)
        let bound = 1 / Float(configuration.hiddenSize).squareRoot()
        for i in storage.indices { storage[i] = generator.uniform(-bound, bound) }
    }

    /// The tensors this layout holds: every name, but the position embedding only when it has rows
    /// (an SR-GNN file has no such tensor).
    public var tensorNames: [ParameterName] {
        ParameterName.allCases.filter { $0 != .reversePositionEmbedding || positionRows > 0 }
    }

    /// Shape of one tensor.
    public func shape(of name: ParameterName) -> [Int] {
        name.shape(embeddingRows: embeddingRows, hiddenSize: hiddenSize, positionRows: positionRows)
    }

    /// Range of one tensor inside `storage`.
    public func range(of name: ParameterName) -> Range<Int> {
        let start = offsets[name]!
        return start..<(start + shape(of: name).reduce(1, *))
    }

    /// A copy of one tensor's values (row-major).
    public func values(of name: ParameterName) -> [Float] {
        Array(storage[range(of: name)])
    }

    /// Copies every tensor of `smaller` (same hidden size, at most as many embedding rows) over
    /// this one's: the whole tensor, or for the embedding its leading rows. A warm start grows a
    /// model (and its optimizer moments) this way.
    public mutating func copyLeadingRows(from smaller: SRGNNParameters) {
        precondition(
            smaller.hiddenSize == hiddenSize && smaller.embeddingRows <= embeddingRows && smaller.positionRows == positionRows,
            "copying a larger or other-shaped model")
        for name in ParameterName.allCases {
            let source = smaller.range(of: name), start = range(of: name).lowerBound
            storage.replaceSubrange(start..<(start + source.count), with: smaller.storage[source])
        }
    }

    /// Replaces one tensor's values (its shape must match).
    public mutating func setTensor(_ name: ParameterName, _ scalars: [Float]) {
        let range = range(of: name)
        precondition(scalars.count == range.count, "\(name.rawValue) needs \(range.count) values, got \(scalars.count)")
        storage.replaceSubrange(range, with: scalars)
    }
}

/// Base pointers of every tensor inside a parameter (or gradient) buffer.
public struct ParameterPointers<Pointer> {
    public let embedding, inputWeight, hiddenWeight, inputBias, hiddenBias: Pointer
    public let inAggregateBias, outAggregateBias, edgeInWeight, edgeInBias, edgeOutWeight, edgeOutBias: Pointer
    public let attentionLastWeight, attentionLastBias, attentionItemWeight, attentionItemBias, attentionVector: Pointer
    public let hybridWeight, hybridBias: Pointer
    public let reversePositionEmbedding: Pointer

    init(offsets: [ParameterName: Int], pointer: (Int) -> Pointer) {
        self.init { pointer(offsets[$0]!) }
    }

    init(_ at: (ParameterName) -> Pointer) {
        embedding = at(.embedding); inputWeight = at(.inputWeight); hiddenWeight = at(.hiddenWeight)
        inputBias = at(.inputBias); hiddenBias = at(.hiddenBias)
        inAggregateBias = at(.inAggregateBias); outAggregateBias = at(.outAggregateBias)
        edgeInWeight = at(.edgeInWeight); edgeInBias = at(.edgeInBias)
        edgeOutWeight = at(.edgeOutWeight); edgeOutBias = at(.edgeOutBias)
        attentionLastWeight = at(.attentionLastWeight); attentionLastBias = at(.attentionLastBias)
        attentionItemWeight = at(.attentionItemWeight); attentionItemBias = at(.attentionItemBias)
        attentionVector = at(.attentionVector)
        hybridWeight = at(.hybridWeight); hybridBias = at(.hybridBias)
        reversePositionEmbedding = at(.reversePositionEmbedding)
    }
}

extension ParameterPointers where Pointer == UnsafeMutablePointer<Float> {
    /// The same tensors, for reading.
    public var readOnly: ParameterPointers<UnsafePointer<Float>> {
        ParameterPointers<UnsafePointer<Float>> { UnsafePointer(self[$0]) }
    }
}

extension ParameterPointers {
    subscript(name: ParameterName) -> Pointer {
        switch name {
        case .embedding: embedding
        case .inputWeight: inputWeight
        case .hiddenWeight: hiddenWeight
        case .inputBias: inputBias
        case .hiddenBias: hiddenBias
        case .inAggregateBias: inAggregateBias
        case .outAggregateBias: outAggregateBias
        case .edgeInWeight: edgeInWeight
        case .edgeInBias: edgeInBias
        case .edgeOutWeight: edgeOutWeight
        case .edgeOutBias: edgeOutBias
        case .attentionLastWeight: attentionLastWeight
        case .attentionLastBias: attentionLastBias
        case .attentionItemWeight: attentionItemWeight
        case .attentionItemBias: attentionItemBias
        case .attentionVector: attentionVector
        case .hybridWeight: hybridWeight
        case .hybridBias: hybridBias
        case .reversePositionEmbedding: reversePositionEmbedding
        }
    }
}

extension SRGNNParameters {
    /// Runs `body` with read-only pointers to every tensor.
    public func withPointers<R>(_ body: (ParameterPointers<UnsafePointer<Float>>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            return try body(ParameterPointers(offsets: offsets) { base + $0 })
        }
    }

    /// Runs `body` with mutable pointers to every tensor.
    public mutating func withMutablePointers<R>(_ body: (ParameterPointers<UnsafeMutablePointer<Float>>) throws -> R) rethrows -> R {
        let offsets = self.offsets
        return try storage.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            return try body(ParameterPointers(offsets: offsets) { base + $0 })
        }
    }
}

extension SRGNNParameters {
    /// Sets every value to zero (gradients before a step) without reallocating.
    public mutating func zero() {
        storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}
