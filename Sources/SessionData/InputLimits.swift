/// Limits on everything read from outside the program: files, manifests, options. Each is stated
/// here once, enforced before any allocation it guards, and documented in docs/DATASET.md.
public enum InputLimits {
    /// Longest session (or example prefix) kept from training and test data. Longer ones keep
    /// their most recent clicks and are counted: prefix augmentation is quadratic in session
    /// length (a session of `L` clicks gives `L(L−1)/2` prefix clicks). The real datasets' longest
    /// sessions are 70 (Diginetica) and 146 (Yoochoose 1/64) clicks.
    public static let maximumSessionLength = 200
    /// Most items a dataset or model may have: internal ids are `Int32`.
    public static let maximumItemCount = Int(Int32.max) - 1
    /// Longest line of a click log (1 MiB); a longer one is an error naming the line.
    public static let maximumLineLength = 1 << 20
    /// Characters of the input quoted in an error message.
    public static let quotedLength = 80
    /// Times accepted in click logs: years 1 to 9999, in seconds since 1970.
    public static let timeRange: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799
}

/// `text` for an error message: at most `InputLimits.quotedLength` characters, then `…` and the
/// full length, so that a huge field or line is never echoed whole.
public func quotedPrefix<S: StringProtocol>(_ text: S) -> String {
    let limit = InputLimits.quotedLength
    var count = 0
    var end = text.startIndex
    while end != text.endIndex && count < limit { end = text.index(after: end); count += 1 }
    if end == text.endIndex { return String(text) }
    return String(text[..<end]) + "… (\(text.utf8.count) bytes)"
}

/// 64-bit FNV-1a, for dataset fingerprints (not for security: it detects a different dataset,
/// not a forged one).
public struct FNV1a64 {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inline(__always) public mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    public mutating func add(_ integer: Int64) {
        var v = UInt64(bitPattern: integer)
        for _ in 0..<8 { add(UInt8(truncatingIfNeeded: v)); v >>= 8 }
    }

    public mutating func add<C: Collection>(_ values: C) where C.Element == Int32 {
        add(Int64(values.count))
        for v in values {
            let u = UInt32(bitPattern: v)
            add(UInt8(truncatingIfNeeded: u)); add(UInt8(truncatingIfNeeded: u >> 8))
            add(UInt8(truncatingIfNeeded: u >> 16)); add(UInt8(truncatingIfNeeded: u >> 24))
        }
    }

    public mutating func add(_ string: String) {
        add(Int64(string.utf8.count))
        for byte in string.utf8 { add(byte) }
    }

    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

extension SessionDataset {
    /// A fingerprint of the data a model is trained on: FNV-1a 64 over the item count, the raw
    /// ids, the training examples (items, offsets, targets) and the test examples, as
    /// `fnv1a64:<16 hex digits>`. Two datasets with the same fingerprint train the same model.
    public var fingerprint: String {
        var hash = FNV1a64()
        hash.add(Int64(itemCount))
        for raw in vocabulary.rawIDs { hash.add(raw) }
        for examples in [train, test] {
            hash.add(examples.items)
            hash.add(Int64(examples.offsets.count))
            for offset in examples.offsets { hash.add(Int64(offset)) }
            hash.add(examples.targets)
        }
        return "fnv1a64:" + hash.hex
    }
}

/// Keeps the last `limit` items of each range of flat `items`/`offsets`; returns how many ranges
/// were cut and how many items that removed.
func keepMostRecent(_ items: inout [Int32], _ offsets: inout [Int], limit: Int) -> (ranges: Int, items: Int) {
    var cutRanges = 0
    for r in 0..<(offsets.count - 1) where offsets[r + 1] - offsets[r] > limit { cutRanges += 1 }
    guard cutRanges > 0 else { return (0, 0) }
    var kept = [Int32]()
    kept.reserveCapacity(items.count)
    var newOffsets = [0]
    newOffsets.reserveCapacity(offsets.count)
    for r in 0..<(offsets.count - 1) {
        kept.append(contentsOf: items[max(offsets[r], offsets[r + 1] - limit)..<offsets[r + 1]])
        newOffsets.append(kept.count)
    }
    let removed = items.count - kept.count
    items = kept
    offsets = newOffsets
    return (cutRanges, removed)
}

extension SessionList {
    /// Sessions longer than `limit` keep their most recent `limit` clicks; returns how many were cut.
    @discardableResult
    public mutating func keepMostRecent(_ limit: Int = InputLimits.maximumSessionLength) -> Int {
        SessionData.keepMostRecent(&items, &offsets, limit: limit).ranges
    }
}

extension ExampleSet {
    /// Prefixes longer than `limit` keep their most recent `limit` clicks; returns how many were cut.
    @discardableResult
    public mutating func keepMostRecent(_ limit: Int = InputLimits.maximumSessionLength) -> Int {
        SessionData.keepMostRecent(&items, &offsets, limit: limit).ranges
    }
}
