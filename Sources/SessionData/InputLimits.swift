/// Limits on everything read from outside the program: files, manifests, options. Each is stated
/// here once, enforced before any allocation it guards, and documented in docs/DATASET.md.
public enum InputLimits {
    /// Most values one SR-GNN pickle may expand to (integers and lists, a list shared through the
    /// memo counted wherever it occurs): 268,435,456. A pickle of examples spells every prefix
    /// out, so this bounds its decoding; the examples built from it are views of its sessions,
    /// as every other example set is (O(clicks), so prefix augmentation needs no budget). The
    /// public datasets use a few percent of it (Yoochoose 1/4's `train.txt`, the largest, about 5 %).
    public static let maximumExampleValues = 1 << 28
    /// Most items a dataset or model may have: internal ids are `Int32`.
    public static let maximumItemCount = Int(Int32.max) - 1
    /// Longest line of a click log (1 MiB); a longer one is an error naming the line.
    public static let maximumLineLength = 1 << 20
    /// Characters of the input quoted in an error message.
    public static let quotedLength = 80
    /// Times accepted in click logs: years 1 to 9999, in seconds since 1970.
    public static let timeRange: ClosedRange<Double> = -62_135_596_800...253_402_300_799
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
        addValues(values)
    }

    /// The values' bytes without their count.
    public mutating func addValues<C: Collection>(_ values: C) where C.Element == Int32 {
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
        // The prefixes as if copied back to back, with their offsets: the same fingerprint as
        // when examples were stored that way, so older runs and checkpoints still match.
        for examples in [train, test] {
            hash.add(Int64(examples.prefixClickCount))
            for i in 0..<examples.count { hash.addValues(examples.prefix(i)) }
            hash.add(Int64(examples.count + 1))
            var offset = 0
            hash.add(Int64(offset))
            for i in 0..<examples.count {
                offset += examples.prefix(i).count
                hash.add(Int64(offset))
            }
            hash.add(examples.targets)
        }
        return "fnv1a64:" + hash.hex
    }
}
