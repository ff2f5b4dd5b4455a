/// Limits on everything read from outside the program: files, manifests, options. Each is stated
/// here once, enforced before any allocation it guards, and documented in docs/DATASET.md.
public enum InputLimits {
    /// Most values one set of examples may hold: the item ids of all its prefixes and labels
    /// (268,435,456, 1 GiB as 32-bit ids). Sessions are kept whole, however long: this budget,
    /// not a per-session cap, bounds memory, because prefix augmentation is quadratic in session
    /// length (a session of `L` clicks gives `L(L−1)/2` prefix clicks). The same number bounds
    /// what one pickle may expand to through its memo (integers and lists). The public datasets
    /// use a few percent of it (Yoochoose 1/4's training examples, the largest, about 5 %).
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

/// The limit message for data whose examples would hold more than `budget` values.
func exampleBudgetExceeded(_ values: Int, budget: Int, what: String) -> String {
    "\(what) would hold \(values) item ids in all, over the limit of \(budget) (a memory budget, not a problem with the data; see docs/DATASET.md, Limits); split the data or shorten its longest sessions"
}

extension ExampleSet {
    /// Item ids (prefix clicks and labels) that `augmenting(sessions, skippingFirst: skip)` holds,
    /// counted without building it.
    public static func augmentedSize(of sessions: SessionList, skippingFirst skip: Int = 0) -> Int {
        var values = 0, skipped = 0
        for s in 0..<sessions.count {
            let length = sessions.length(of: s)
            guard length > 1 else { continue }
            // Examples of this session, longest prefix first: prefix lengths L-1, L-2, …, 1.
            let skipHere = min(length - 1, skip - skipped)
            skipped += skipHere
            let kept = length - 1 - skipHere  // prefix lengths kept: kept, kept-1, …, 1
            values += kept * (kept + 1) / 2 + kept
        }
        return values
    }

    /// `augmenting(sessions, skippingFirst: skip)`, or an error naming `file` when the examples
    /// would hold more than `budget` values (`InputLimits.maximumExampleValues`).
    public static func augmenting(
        _ sessions: SessionList, skippingFirst skip: Int = 0, budget: Int,
        file: String
    ) throws -> ExampleSet {
        let size = augmentedSize(of: sessions, skippingFirst: skip)
        guard size <= budget else {
            throw SessionDataError(
                file: file,
                exampleBudgetExceeded(size, budget: budget, what: "the examples made from these sessions (every prefix of every session)"))
        }
        return augmenting(sessions, skippingFirst: skip)
    }
}
