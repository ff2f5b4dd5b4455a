/// Sessions stored flat: session `i` is `items[offsets[i]..<offsets[i+1]]`.
///
/// One allocation for all clicks instead of one array per session: full Diginetica
/// (186,670 sessions, 906,140 clicks) is two arrays.
public struct SessionList: Sendable, Equatable {
    /// `[clicks]` internal item ids (≥ 1) of all sessions, back to back.
    public var items: [Int32]
    /// `[count + 1]` session boundaries into `items`; `offsets[0] == 0`.
    public var offsets: [Int]

    public init() {
        items = []
        offsets = [0]
    }

    public init(items: [Int32], offsets: [Int]) {
        precondition(offsets.first == 0 && offsets.last == items.count, "offsets must span items")
        self.items = items
        self.offsets = offsets
    }

    /// Builds a list from nested arrays (convenient in tests).
    public init(_ sessions: [[Int32]]) {
        self.init()
        for session in sessions { append(session) }
    }

    /// Number of sessions.
    @inlinable public var count: Int { offsets.count - 1 }

    /// Total clicks over all sessions.
    @inlinable public var clickCount: Int { items.count }

    /// The clicks of session `i`.
    @inlinable public subscript(i: Int) -> ArraySlice<Int32> { items[offsets[i]..<offsets[i + 1]] }

    /// Length of session `i`.
    @inlinable public func length(of i: Int) -> Int { offsets[i + 1] - offsets[i] }

    public mutating func append<C: Collection>(_ session: C) where C.Element == Int32 {
        items.append(contentsOf: session)
        offsets.append(items.count)
    }

    /// Sessions as nested arrays (for tests and small data).
    public var arrays: [[Int32]] { (0..<count).map { Array(self[$0]) } }

    /// Largest item id, 0 when empty.
    public var maximumItem: Int32 { items.max() ?? 0 }
}

/// Next-item examples as views: prefix `i` is `items[starts[i]..<ends[i]]`, its label `targets[i]`
/// (internal ids ≥ 1).
///
/// A session's prefixes are views into its clicks, stored once: memory is O(clicks + examples),
/// not O(Σ prefix lengths), which a long session would make quadratic. `augmenting` shares the
/// sessions' own storage; `append(prefix:target:)` shares when the new prefix begins the previous
/// one (the reference's order: a session's prefixes longest first), and copies otherwise.
public struct ExampleSet: Sendable {
    /// The clicks the prefixes view (a shared click may belong to many prefixes).
    public var items: [Int32]
    /// `[count]` where each prefix starts and ends in `items`.
    public private(set) var starts: [Int]
    public private(set) var ends: [Int]
    /// `[count]` the item that followed each prefix.
    public var targets: [Int32]

    public init() {
        items = []
        starts = []
        ends = []
        targets = []
    }

    /// Builds a set from `(prefix, target)` pairs (convenient in tests).
    public init(prefixes: [[Int32]], targets: [Int32]) {
        precondition(prefixes.count == targets.count, "one target per prefix")
        self.init()
        for (prefix, target) in zip(prefixes, targets) { append(prefix: prefix, target: target) }
    }

    /// Number of examples.
    @inlinable public var count: Int { targets.count }

    /// The prefix of example `i`.
    @inlinable public func prefix(_ i: Int) -> ArraySlice<Int32> { items[starts[i]..<ends[i]] }

    /// Item ids the set holds in memory: its clicks and labels (what `InputLimits.maximumExampleValues` bounds).
    public var storedValues: Int { items.count + targets.count }

    /// Total clicks over all prefixes, as if each were a copy.
    public var prefixClickCount: Int { zip(starts, ends).reduce(0) { $0 + $1.1 - $1.0 } }

    /// Adds an example. When `prefix` begins the previous example's prefix, it is a view of it;
    /// otherwise its clicks (and the target after them, so that the next, shorter prefix of the
    /// same session is a view too) are appended to `items`.
    public mutating func append<C: Collection>(prefix: C, target: Int32) where C.Element == Int32 {
        if let start = starts.last, let end = ends.last, prefix.count <= end - start + 1,
            items[start..<min(start + prefix.count, items.count)].elementsEqual(prefix)
        {
            starts.append(start)
            ends.append(start + prefix.count)
        } else {
            let start = items.count
            items.append(contentsOf: prefix)
            starts.append(start)
            ends.append(items.count)
            items.append(target)
        }
        targets.append(target)
    }

    /// Prefixes as nested arrays (for tests and small data).
    public var prefixArrays: [[Int32]] { (0..<count).map { Array(prefix($0)) } }

    /// Prefix augmentation in the reference's order: for each session `s` of length `L`, the pairs
    /// `(s[0..<L-i], s[L-i])` for `i = 1...L-1` (longest prefix first). A session of length `L`
    /// gives `L − 1` examples.
    public static func augmenting(_ sessions: SessionList) -> ExampleSet {
        augmenting(sessions, skippingFirst: 0)
    }

    /// Prefix augmentation without the first `skip` examples: the reference's Yoochoose fractions
    /// keep a suffix of the augmented examples, which can start inside a session. The prefixes are
    /// views of `sessions`' own clicks.
    public static func augmenting(_ sessions: SessionList, skippingFirst skip: Int) -> ExampleSet {
        precondition(skip >= 0, "skip must be non-negative")
        var exampleCount = 0
        for s in 0..<sessions.count { exampleCount += max(0, sessions.length(of: s) - 1) }
        var result = ExampleSet()
        result.items = sessions.items
        let kept = max(0, exampleCount - skip)
        result.starts.reserveCapacity(kept)
        result.ends.reserveCapacity(kept)
        result.targets.reserveCapacity(kept)
        forEachAugmentedExample(of: sessions, skippingFirst: skip) { start, end in
            result.starts.append(start)
            result.ends.append(end)
            result.targets.append(sessions.items[end])
            return true
        }
        return result
    }

    /// Calls `body(start, end)` for each example of `augmenting(sessions, skippingFirst: skip)` in
    /// order: the prefix `sessions.items[start..<end]`, the target `sessions.items[end]`. Stops
    /// when `body` returns false; returns whether it went through to the end.
    @discardableResult
    static func forEachAugmentedExample(
        of sessions: SessionList, skippingFirst skip: Int, _ body: (_ start: Int, _ end: Int) -> Bool
    ) -> Bool {
        var skipped = 0
        for s in 0..<sessions.count {
            let start = sessions.offsets[s], end = sessions.offsets[s + 1]
            guard end - start > 1 else { continue }
            for i in 1..<(end - start) {
                if skipped < skip {
                    skipped += 1
                    continue
                }
                guard body(start, end - i) else { return false }
            }
        }
        return true
    }

    /// Whether this set equals `augmenting(sessions, skippingFirst: skip)`, checked without building
    /// that set (for a large log, as large as this one). A prefix that views the same clicks of the
    /// same storage is equal without comparing its clicks.
    func isAugmentation(of sessions: SessionList, skippingFirst skip: Int) -> Bool {
        let sameStorage = items.withUnsafeBufferPointer { mine in
            sessions.items.withUnsafeBufferPointer { theirs in mine.baseAddress == theirs.baseAddress && mine.count == theirs.count }
        }
        var example = 0
        let matched = Self.forEachAugmentedExample(of: sessions, skippingFirst: skip) { start, end in
            guard example < count, targets[example] == sessions.items[end] else { return false }
            let sameView = sameStorage && starts[example] == start && ends[example] == end
            guard sameView || prefix(example).elementsEqual(sessions.items[start..<end]) else { return false }
            example += 1
            return true
        }
        return matched && example == count
    }

    /// The sessions these examples were augmented from, when they are in the reference's order:
    /// each session of ``sessionNumbers()`` as its longest example's `prefix + [target]`.
    ///
    /// This recovers the test sessions of an SR-GNN `test.txt`, and so its click count.
    public func reconstructedSessions() -> SessionList {
        var sessions = SessionList()
        let numbers = sessionNumbers()
        for i in 0..<count where i == 0 || numbers[i] != numbers[i - 1] {
            sessions.items.append(contentsOf: prefix(i))
            sessions.items.append(targets[i])
            sessions.offsets.append(sessions.items.count)
        }
        return sessions
    }

    /// The session of each example, numbered 0, 1, 2, … in order, for examples in the reference's
    /// augmentation order (a session's prefixes back to back, longest first): an example continues
    /// the previous one's session when its prefix is the previous prefix minus its last item;
    /// otherwise it starts a new session.
    ///
    /// Exact for ``augmenting(_:skippingFirst:)`` (a session's last example has a one-click prefix,
    /// so the next example always starts a new session; a skip leaves the tail of one session). For
    /// other orders it is a best effort.
    public func sessionNumbers() -> [Int32] {
        var numbers = [Int32](repeating: 0, count: count)
        var session: Int32 = -1
        var previous: Range<Int>? = nil
        for i in 0..<count {
            let range = starts[i]..<ends[i]
            let continues =
                previous.map { previous in
                    previous.count > 1 && range.count == previous.count - 1
                        && items[range].elementsEqual(items[previous.lowerBound..<(previous.upperBound - 1)])
                } ?? false
            if !continues { session += 1 }
            numbers[i] = session
            previous = range
        }
        return numbers
    }

    /// Largest item id over prefixes and targets, 0 when empty.
    public var maximumItem: Int32 { max(items.max() ?? 0, targets.max() ?? 0) }
}

/// Two sets are equal when they hold the same examples, however their clicks are shared.
extension ExampleSet: Equatable {
    public static func == (a: ExampleSet, b: ExampleSet) -> Bool {
        a.count == b.count && a.targets == b.targets && (0..<a.count).allSatisfy { a.prefix($0).elementsEqual(b.prefix($0)) }
    }
}
