/// Raw item id (as written in the user's log, a `String`) ↔ internal id `1...count`.
///
/// Raw ids compare byte for byte (`RawKey`), never by Unicode canonical equivalence: `café` as
/// U+00E9 and as `e` + U+0301 are two items.
///
/// Internal ids are what the model sees (embedding row `id`; row 0 is padding). The raw ids let
/// recommendations be served in the user's own ids.
public struct ItemVocabulary: Sendable, Codable, Equatable {
    /// `rawIDs[id - 1]` is the raw id of internal item `id`. Assigning rebuilds the lookup index,
    /// so build the array first and assign it once.
    public var rawIDs: [String] {
        didSet {
            isIdentity = false
            index = Self.buildIndex(rawIDs)
        }
    }
    /// `true` for SR-GNN pickle folders, where raw id `"k"` is internal id `k`; no index is kept.
    private var isIdentity: Bool
    private var index: [RawKey: Int32]

    public init(rawIDs: [String]) {
        self.rawIDs = rawIDs
        self.isIdentity = false
        self.index = Self.buildIndex(rawIDs)
    }

    /// The vocabulary of an SR-GNN pickle folder: raw id `"k"` ↔ internal id `k`, `k = 1...count`.
    public static func identity(count: Int) -> ItemVocabulary {
        precondition(count >= 0, "negative item count")
        // No index: identity lookups parse the id.
        return ItemVocabulary(rawIDs: (0..<count).map { String($0 + 1) }, isIdentity: true)
    }

    private init(rawIDs: [String], isIdentity: Bool) {
        self.rawIDs = rawIDs
        self.isIdentity = isIdentity
        self.index = isIdentity ? [:] : Self.buildIndex(rawIDs)
    }

    /// Number of items.
    public var count: Int { rawIDs.count }

    /// The internal id of `raw`, or `nil` when the item is not in the vocabulary.
    public func internalID(of raw: String) -> Int32? {
        if isIdentity {
            guard let id = Int32(raw), id >= 1, Int(id) <= rawIDs.count, rawIDs[Int(id) - 1].sameBytes(as: raw) else { return nil }
            return id
        }
        return index[RawKey(raw)]
    }

    /// The raw id of internal item `id` (`1...count`).
    public func rawID(of id: Int32) -> String {
        precondition(id >= 1 && Int(id) <= rawIDs.count, "item id \(id) outside 1...\(rawIDs.count)")
        return rawIDs[Int(id) - 1]
    }

    /// This vocabulary followed by the raw ids of `other` that it lacks, in `other`'s order: every
    /// id keeps its internal id, new ones get `count + 1...` (a warm start's vocabulary growth).
    public func extended(with other: ItemVocabulary) -> (vocabulary: ItemVocabulary, added: Int) {
        let added = other.rawIDs.filter { internalID(of: $0) == nil }
        guard !added.isEmpty else { return (self, 0) }
        let rawIDs = self.rawIDs + added
        // Pickle folders grow "1...n" into "1...m": keep the index-free identity form.
        if isIdentity, rawIDs.enumerated().allSatisfy({ $0.element.sameBytes(as: String($0.offset + 1)) }) {
            return (.identity(count: rawIDs.count), added.count)
        }
        return (ItemVocabulary(rawIDs: rawIDs), added.count)
    }

    private static func buildIndex(_ rawIDs: [String]) -> [RawKey: Int32] {
        var index = [RawKey: Int32](minimumCapacity: rawIDs.count)
        for (offset, raw) in rawIDs.enumerated() { index[RawKey(raw)] = Int32(offset + 1) }
        return index
    }

    // Codable and Equatable see only the raw ids.
    private enum CodingKeys: String, CodingKey { case rawIDs = "raw_ids" }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(rawIDs: try container.decode([String].self, forKey: .rawIDs))
        if index.count != rawIDs.count {
            var seen = Set<RawKey>()
            let repeated = rawIDs.first { !seen.insert(RawKey($0)).inserted } ?? ""
            throw DecodingError.dataCorruptedError(
                forKey: .rawIDs, in: container,
                debugDescription: "raw item id '\(quotedPrefix(repeated))' appears more than once; each item must appear once")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rawIDs, forKey: .rawIDs)
    }

    public static func == (lhs: ItemVocabulary, rhs: ItemVocabulary) -> Bool {
        lhs.rawIDs.count == rhs.rawIDs.count && zip(lhs.rawIDs, rhs.rawIDs).allSatisfy { $0.sameBytes(as: $1) }
    }
}
