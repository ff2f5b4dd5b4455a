/// A set of items `1...count` as bits (item `id` is bit `id − 1`): which items a request may
/// return, handed to `topK` so that selection happens inside the heap pass.
public struct ItemMask: Sendable, Equatable {
    public let count: Int
    /// Bit `j % 64` of `words[j / 64]` is item `j + 1`; bits past `count` stay clear.
    public private(set) var words: [UInt64]

    /// Every item (`true`) or none.
    public init(count: Int, allowingAll: Bool) {
        precondition(count >= 0, "negative item count")
        self.count = count
        words = [UInt64](repeating: allowingAll ? ~0 : 0, count: (count + 63) / 64)
        if allowingAll && count % 64 != 0 { words[words.count - 1] = ~0 >> UInt64(64 - count % 64) }
    }

    /// Exactly `ids` (each in `1...count`).
    public init<S: Sequence>(count: Int, allowing ids: S) where S.Element == Int32 {
        self.init(count: count, allowingAll: false)
        for id in ids { insert(id) }
    }

    public func contains(_ id: Int32) -> Bool {
        guard id >= 1, Int(id) <= count else { return false }
        let j = Int(id) - 1
        return words[j >> 6] & (1 << UInt64(j & 63)) != 0
    }

    public mutating func insert(_ id: Int32) {
        precondition(id >= 1 && Int(id) <= count, "item \(id) outside 1...\(count)")
        let j = Int(id) - 1
        words[j >> 6] |= 1 << UInt64(j & 63)
    }

    public mutating func remove(_ id: Int32) {
        guard id >= 1, Int(id) <= count else { return }
        let j = Int(id) - 1
        words[j >> 6] &= ~(1 << UInt64(j & 63))
    }

    public mutating func formIntersection(_ other: ItemMask) {
        precondition(other.count == count, "masks over \(count) and \(other.count) items")
        for w in words.indices { words[w] &= other.words[w] }
    }

    public mutating func formUnion(_ other: ItemMask) {
        precondition(other.count == count, "masks over \(count) and \(other.count) items")
        for w in words.indices { words[w] |= other.words[w] }
    }

    /// How many items the mask holds.
    public var allowedCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
