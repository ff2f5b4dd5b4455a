/// The reference preprocessing's constants, each an option. Defaults are the reference's.
public struct PreprocessOptions: Sendable, Codable, Equatable {
    /// Sessions shorter than this are dropped (before and after item filtering, and test sessions
    /// after unknown items are removed). The reference uses 2. Must be ≥ 2: a one-click session
    /// gives no next-item example.
    public var minimumSessionLength: Int = 2
    /// Items clicked fewer times than this are removed from sessions. The reference uses 5.
    public var minimumItemSupport: Int = 5
    /// Test period: sessions dated after `max date − testDays · 86400 s`. The reference uses 7
    /// (Diginetica) and 1 (Yoochoose).
    public var testDays: Double = 7
    /// Keep the most recent `⌊N / fraction⌋` of the `N` augmented training examples (Yoochoose
    /// 1/4 and 1/64 use 4 and 64; 1 keeps all). As in the reference, when `⌊N / fraction⌋ == 0`
    /// everything is kept (Python's `x[-0:]`).
    public var fraction: Int = 1
    /// Count item support on the training period only. Off by default: the reference counts the
    /// test period too, which lets test-period popularity decide which items survive. When on, the
    /// split date is fixed before item filtering (latest date among sessions of the minimum
    /// length), so the period whose clicks are counted is the training period actually used.
    public var supportFromTrainingOnly: Bool = false

    public init(
        minimumSessionLength: Int = 2, minimumItemSupport: Int = 5, testDays: Double = 7,
        fraction: Int = 1, supportFromTrainingOnly: Bool = false
    ) {
        self.minimumSessionLength = minimumSessionLength
        self.minimumItemSupport = minimumItemSupport
        self.testDays = testDays
        self.fraction = fraction
        self.supportFromTrainingOnly = supportFromTrainingOnly
    }

    /// The reference's settings for Diginetica.
    public static let diginetica = PreprocessOptions(testDays: 7)
    /// The reference's settings for Yoochoose 1/`fraction`.
    public static func yoochoose(fraction: Int) -> PreprocessOptions { PreprocessOptions(testDays: 1, fraction: fraction) }

    /// Rejects settings that cannot work, with a message that says what to fix.
    public func validate() throws {
        func bad(_ message: String) -> SessionDataError { SessionDataError(file: "options", message) }
        if minimumSessionLength < 2 {
            throw bad("minimum session length must be at least 2 (a one-click session has no next item), got \(minimumSessionLength)")
        }
        if minimumItemSupport < 1 { throw bad("minimum item support must be at least 1, got \(minimumItemSupport)") }
        if !(testDays >= 0) || !testDays.isFinite { throw bad("test period must be a non-negative number of days, got \(testDays)") }
        if fraction < 1 { throw bad("fraction must be at least 1 (1 keeps all training examples), got \(fraction)") }
    }

    /// The split date for a log whose latest session is dated `maximum`: `testDays` before it.
    func splitDate(after maximum: Double) -> Double { maximum - 86400 * testDays }
}

/// Every click, session and item read, and where each one went.
///
/// Identities (checked in tests): `clicksRead == trainClicks + testClicks + Σ dropped clicks`,
/// `sessionsRead == trainSessions + testSessions + Σ dropped sessions`,
/// `itemsRead == items + itemsRare + itemsOnlyInTest + itemsOnlyInDroppedSessions`.
public struct PreprocessSummary: Sendable, Codable, Equatable {
    public var clicksRead = 0, sessionsRead = 0, itemsRead = 0, blankLines = 0

    /// Sessions shorter than the minimum length as read.
    public var shortSessions = 0, shortSessionClicks = 0
    /// Clicks of items below the minimum support, and how many distinct items that is.
    public var rareItemClicks = 0, itemsRare = 0
    /// Sessions left shorter than the minimum after rare items were removed, and their remaining clicks.
    public var sessionsShortAfterItemFilter = 0, clicksShortAfterItemFilter = 0
    /// Latest session date and the split date (seconds since 1970, UTC).
    public var maximumDate = 0.0, splitDate = 0.0
    /// Sessions dated exactly on the split date (the reference keeps them in neither set).
    public var splitDateSessions = 0, splitDateClicks = 0
    /// Test clicks of items never seen in training, and how many distinct items.
    public var unknownTestItemClicks = 0, itemsOnlyInTest = 0
    /// Test sessions left shorter than the minimum after unknown items were removed.
    public var shortTestSessions = 0, shortTestSessionClicks = 0
    /// Training sessions and examples older than the kept fraction.
    public var fractionSessions = 0, fractionClicks = 0, fractionExamples = 0
    /// Items that appear only in sessions dropped for their length or their date.
    public var itemsOnlyInDroppedSessions = 0
    /// Sessions longer than 200 clicks that kept only their most recent 200, and the older clicks
    /// that removed: only in manifests written before sessions were kept whole (absent, not 0,
    /// otherwise).
    public var longSessions: Int? = nil, longSessionClicks: Int? = nil

    /// What was kept.
    public var trainSessions = 0, trainClicks = 0, trainExamples = 0
    public var testSessions = 0, testClicks = 0, testExamples = 0
    public var items = 0

    public init() {}

    public var droppedClicks: Int {
        shortSessionClicks + rareItemClicks + clicksShortAfterItemFilter + splitDateClicks
            + unknownTestItemClicks + shortTestSessionClicks + fractionClicks + (longSessionClicks ?? 0)
    }

    public var droppedSessions: Int {
        shortSessions + sessionsShortAfterItemFilter + splitDateSessions + shortTestSessions + fractionSessions
    }

    /// A plain-text report, one line per reason.
    public func render(options: PreprocessOptions) -> String {
        func n(_ value: Int) -> String {
            let digits = String(value.magnitude)
            var out = ""
            for (k, c) in digits.enumerated() {
                if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
                out.append(c)
            }
            return (value < 0 ? "-" : "") + out
        }
        var lines: [String] = []
        lines.append(
            "Read:     \(n(clicksRead)) clicks, \(n(sessionsRead)) sessions, \(n(itemsRead)) items"
                + (blankLines > 0 ? " (\(n(blankLines)) blank lines skipped)" : ""))
        lines.append("Dropped:")
        lines.append("  \(n(shortSessions)) sessions (\(n(shortSessionClicks)) clicks) shorter than \(options.minimumSessionLength) clicks")
        lines.append(
            "  \(n(rareItemClicks)) clicks of \(n(itemsRare)) items seen fewer than \(options.minimumItemSupport) times"
                + (options.supportFromTrainingOnly ? " in the training period" : ""))
        lines.append(
            "  \(n(sessionsShortAfterItemFilter)) sessions (\(n(clicksShortAfterItemFilter)) clicks) shorter than \(options.minimumSessionLength) after removing those items"
        )
        lines.append("  \(n(splitDateSessions)) sessions (\(n(splitDateClicks)) clicks) dated exactly on the split date")
        lines.append("  \(n(unknownTestItemClicks)) test clicks of \(n(itemsOnlyInTest)) items not in the training set")
        lines.append(
            "  \(n(shortTestSessions)) test sessions (\(n(shortTestSessionClicks)) clicks) shorter than \(options.minimumSessionLength) after removing those items"
        )
        if options.fraction > 1 {
            lines.append(
                "  \(n(fractionSessions)) training sessions (\(n(fractionClicks)) clicks, \(n(fractionExamples)) examples) older than the most recent 1/\(options.fraction) of examples"
            )
        }
        if let longSessions, let longSessionClicks {
            lines.append(
                "  \(n(longSessionClicks)) older clicks of \(n(longSessions)) sessions longer than 200 clicks (the most recent 200 were kept)"
            )
        }
        lines.append("  \(n(itemsOnlyInDroppedSessions)) further items that occur only in dropped sessions")
        lines.append("  total: \(n(droppedClicks)) clicks, \(n(droppedSessions)) sessions, \(n(itemsRead - items)) items")
        lines.append(
            "Split:    test period after \(formatDate(splitDate)) (latest session \(formatDate(maximumDate)), \(options.testDays) days)")
        lines.append("Kept:     train \(n(trainSessions)) sessions, \(n(trainClicks)) clicks, \(n(trainExamples)) examples")
        lines.append("          test  \(n(testSessions)) sessions, \(n(testClicks)) clicks, \(n(testExamples)) examples")
        lines.append("          \(n(items)) items (embedding rows \(n(items + 1)))")
        return lines.joined(separator: "\n")
    }
}

/// Seconds since 1970 as `YYYY-MM-DD HH:MM:SS` UTC.
public func formatDate(_ seconds: Double) -> String {
    guard InputLimits.timeRange.contains(seconds) else { return "\(seconds)" }
    let total = Int(seconds.rounded(.down))
    var days = total / 86400, rest = total % 86400
    if rest < 0 { rest += 86400; days -= 1 }
    // Hinnant's civil_from_days.
    let z = days + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(year)-\(two(month))-\(two(day)) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))"
}

/// The preprocessed dataset and the account of what was dropped.
public struct PreprocessResult: Sendable {
    public var dataset: SessionDataset
    public var summary: PreprocessSummary
}

/// The reference's `preprocess.py`, step by step (see docs/DATASET.md):
///
/// 1. group clicks by session (sorted within the session when the format says so);
/// 2. drop short sessions; count item support; drop rare items; drop sessions left short;
/// 3. split date = latest session date − `testDays`; train strictly before, test strictly after;
///    both sorted by date, ties in the reference's dictionary order;
/// 4. renumber training items from 1 by first appearance; drop unknown test items and short test sessions;
/// 5. prefix augmentation, and for `fraction > 1` the most recent `⌊N / fraction⌋` training examples.
public enum Preprocessor {
    /// Reads `path` in `format` and preprocesses it.
    public static func run(path: String, format: ClickLogFormat, options: PreprocessOptions) throws -> PreprocessResult {
        try options.validate()
        var log = try ClickLogReader(format: format).read(path, keepingSessionKeys: false)
        return try run(releasing: &log, options: options)
    }

    /// Preprocesses `log`. Memory is O(clicks): the examples are views of the sessions' clicks.
    public static func run(_ log: ClickLog, options: PreprocessOptions) throws -> PreprocessResult {
        var copy = log  // shares `log`'s arrays: releasing them below frees nothing the caller holds
        return try run(releasing: &copy, options: options)
    }

    /// Preprocesses `log`, releasing its arrays as soon as a step has what it needs, so that the
    /// per-click arrays of one step are not held beside those of the next (docs/DATASET.md gives
    /// the bound). `log` is left with its counts and item ids only.
    static func run(releasing log: inout ClickLog, options: PreprocessOptions) throws -> PreprocessResult {
        try options.validate()
        var summary = PreprocessSummary()
        summary.clicksRead = log.clickCount
        summary.sessionsRead = log.sessionCount
        summary.itemsRead = log.itemCount
        summary.blankLines = log.blankLines
        // Every session is kept whole, however long: the budget on the examples' total size
        // (step 5) bounds memory, not a cap on one session.
        var allTrain: SessionList
        var trainTimes: [Int64]
        let test: SessionList, rawIDs: [String]
        (allTrain, trainTimes, test, rawIDs) = try sessions(releasing: &log, options: options, summary: &summary)
        let (trainSessions, skip) = mostRecentFraction(&allTrain, fraction: options.fraction, summary: &summary)
        // The fraction drops the oldest sessions: their times go with them.
        trainTimes.removeSubrange(..<summary.fractionSessions)

        let vocabulary = ItemVocabulary(rawIDs: rawIDs)
        let dataset = SessionDataset(
            trainSessions: trainSessions,
            train: ExampleSet.augmenting(trainSessions, skippingFirst: skip),
            test: ExampleSet.augmenting(test),
            vocabulary: vocabulary, itemCount: vocabulary.count,
            clickCount: trainSessions.clickCount + test.clickCount,
            trainExampleSkip: skip, trainSessionTimes: trainTimes)
        summary.trainSessions = trainSessions.count
        summary.trainClicks = trainSessions.clickCount
        summary.trainExamples = dataset.train.count
        summary.testSessions = test.count
        summary.testClicks = test.clickCount
        summary.testExamples = dataset.test.count
        summary.items = vocabulary.count
        summary.itemsOnlyInDroppedSessions = summary.itemsRead - summary.items - summary.itemsRare - summary.itemsOnlyInTest
        return PreprocessResult(dataset: dataset, summary: summary)
    }

    /// Steps 1–4; what each step no longer needs is released (the log's clicks and dates, the
    /// grouped clicks when this returns). `trainTimes[i]` is training session `i`'s date, whole
    /// Unix seconds rounded down (8 bytes a session, kept for `train_session_times.txt`).
    static func sessions(
        releasing log: inout ClickLog, options: PreprocessOptions, summary: inout PreprocessSummary
    ) throws -> (train: SessionList, trainTimes: [Int64], test: SessionList, rawIDs: [String]) {
        var grouped = groupBySession(releasing: &log)
        let filtered = try filterSessions(&grouped, log: log, options: options, summary: &summary)
        let (trainOrder, testOrder) = splitByDate(filtered, log: log, options: options, summary: &summary)
        let trainTimes = trainOrder.map { Int64(log.sessionDate[Int($0)].rounded(.down)) }
        log.sessionDate = []
        log.sessionDateRank = []
        let (train, test, rawIDs) = try renumber(
            filtered, trainOrder: trainOrder, testOrder: testOrder, log: log, options: options, summary: &summary)
        return (train, trainTimes, test, rawIDs)
    }

    /// Items of session `s` at `items[start[s]..<start[s + 1]]`, in the log's session numbering.
    struct GroupedClicks {
        var items: [Int32]
        var start: [Int]
        var sessionCount: Int { start.count - 1 }
        func length(_ s: Int) -> Int { start[s + 1] - start[s] }
    }

    /// 1. Groups clicks by session, stable (counting sort), then orders each session by its clicks'
    /// order key. Takes the log's click arrays: a log already grouped (each session's rows
    /// consecutive, as most logs are written) is used as it is, without a copy; otherwise the
    /// items are copied into place and the order keys permuted in place (one more `[clicks]`
    /// Int32 at most). The order keys are released once the sessions are sorted.
    static func groupBySession(releasing log: inout ClickLog) -> GroupedClicks {
        let sessionCount = log.sessionCount, clickCount = log.clickCount
        var sessionOfClick = log.clickSession, items = log.clickItem, order = log.clickOrder
        (log.clickSession, log.clickItem, log.clickOrder) = ([], [], [])
        var start = [Int](repeating: 0, count: sessionCount + 1)
        var alreadyGrouped = true  // session indices never decrease: grouping would keep every click in place
        var previous: Int32 = 0
        for s in sessionOfClick {
            start[Int(s) + 1] += 1
            if s < previous { alreadyGrouped = false }
            previous = s
        }
        for s in 0..<sessionCount { start[s + 1] += start[s] }
        if !alreadyGrouped {
            var fill = start
            var grouped = [Int32](repeating: 0, count: clickCount)
            // Each click's destination, in the items' own storage once copied (Int32 positions).
            let destinationsFit = clickCount <= Int(Int32.max)
            var groupedOrder = [Double](repeating: 0, count: order.isEmpty || destinationsFit ? 0 : clickCount)
            for c in 0..<clickCount {
                let s = Int(sessionOfClick[c])
                grouped[fill[s]] = items[c]
                if destinationsFit {
                    items[c] = Int32(truncatingIfNeeded: fill[s])
                } else if !order.isEmpty {
                    groupedOrder[fill[s]] = order[c]
                }
                fill[s] += 1
            }
            fill = []
            sessionOfClick = []
            if !order.isEmpty {
                if destinationsFit { permute(&order, to: &items) } else { order = groupedOrder }
            }
            items = grouped
        }
        sessionOfClick = []
        if !order.isEmpty {
            var scratch: [(key: Double, position: Int, item: Int32)] = []
            for s in 0..<sessionCount where start[s + 1] - start[s] > 1 {
                let range = start[s]..<start[s + 1]
                var sorted = true
                for k in range.dropFirst() where order[k] < order[k - 1] { sorted = false; break }
                if sorted { continue }
                scratch.removeAll(keepingCapacity: true)
                for k in range { scratch.append((order[k], k, items[k])) }
                scratch.sort { ($0.key, $0.position) < ($1.key, $1.position) }  // stable, like Python's sorted
                for (offset, entry) in scratch.enumerated() { items[range.lowerBound + offset] = entry.item }
            }
        }
        return GroupedClicks(items: items, start: start)
    }

    /// Moves `values[c]` to `values[destinations[c]]` for every `c`, in place, by following the
    /// permutation's cycles; `destinations` is used up (each entry set to −1 once placed).
    static func permute(_ values: inout [Double], to destinations: inout [Int32]) {
        for c in 0..<values.count where destinations[c] >= 0 {
            var carried = values[c]
            var next = Int(destinations[c])
            destinations[c] = -1
            while next != c {
                swap(&carried, &values[next])
                let after = Int(destinations[next])
                destinations[next] = -1
                next = after
            }
            values[c] = carried
        }
    }

    /// The sessions that survive step 2, their items without rare ones, and the split fixed before filtering.
    struct FilteredSessions {
        var clicks: GroupedClicks
        var alive: [Bool]
        /// With training-only support: the latest date and the split, fixed from the sessions that pass the length filter.
        var fixedSplit: (maximum: Double, split: Double)?
    }

    /// 2. Drops short sessions; counts item support; drops rare items; drops sessions left short.
    /// The kept clicks are compacted in `grouped`'s own storage, which the result takes over.
    static func filterSessions(
        _ grouped: inout GroupedClicks, log: ClickLog, options: PreprocessOptions, summary: inout PreprocessSummary
    ) throws -> FilteredSessions {
        let sessionCount = grouped.sessionCount, minimumLength = options.minimumSessionLength
        var alive = [Bool](repeating: true, count: sessionCount)
        for s in 0..<sessionCount where grouped.length(s) < minimumLength {
            alive[s] = false
            summary.shortSessions += 1
            summary.shortSessionClicks += grouped.length(s)
        }
        var support = [Int](repeating: 0, count: log.itemCount)
        // With training-only support the periods are fixed first, from the sessions that pass the
        // length filter, and kept for the split (filtering cannot move the split date).
        var fixedSplit: (maximum: Double, split: Double)? = nil
        if options.supportFromTrainingOnly {
            let maximum = (0..<sessionCount).lazy.filter { alive[$0] }.map { log.sessionDate[$0] }.max() ?? 0
            let splitDate = options.splitDate(after: maximum)
            fixedSplit = (maximum, splitDate)
            for s in 0..<sessionCount where alive[s] && log.sessionDate[s] < splitDate {
                for k in grouped.start[s]..<grouped.start[s + 1] { support[Int(grouped.items[k])] += 1 }
            }
        } else {
            for s in 0..<sessionCount where alive[s] {
                for k in grouped.start[s]..<grouped.start[s + 1] { support[Int(grouped.items[k])] += 1 }
            }
        }
        var rare = [Bool](repeating: false, count: log.itemCount)
        for i in 0..<log.itemCount where support[i] < options.minimumItemSupport { rare[i] = true }
        var rareSeen = [Bool](repeating: false, count: log.itemCount)
        // Kept clicks move down in place (`kept` never passes the read position); each session's
        // old end is read before its new end is written.
        var kept = 0, readStart = 0
        for s in 0..<sessionCount {
            let readEnd = grouped.start[s + 1]
            defer {
                grouped.start[s + 1] = kept
                readStart = readEnd
            }
            guard alive[s] else { continue }
            let before = kept
            for k in readStart..<readEnd {
                let item = grouped.items[k]
                if rare[Int(item)] {
                    summary.rareItemClicks += 1
                    rareSeen[Int(item)] = true
                } else {
                    grouped.items[kept] = item
                    kept += 1
                }
            }
            if kept - before < minimumLength {
                summary.sessionsShortAfterItemFilter += 1
                summary.clicksShortAfterItemFilter += kept - before
                kept = before
                alive[s] = false
            }
        }
        grouped.items.removeSubrange(kept...)
        summary.itemsRare = rareSeen.lazy.filter { $0 }.count
        guard alive.contains(true) else {
            throw SessionDataError(
                file: log.path,
                "no session is left after filtering (\(summary.shortSessions) too short, \(summary.sessionsShortAfterItemFilter) short after removing rare items): nothing to train on; check the minimum length and support options"
            )
        }
        var clicks = GroupedClicks(items: [], start: [])
        swap(&clicks, &grouped)
        return FilteredSessions(clicks: clicks, alive: alive, fixedSplit: fixedSplit)
    }

    /// 3. The split date is the latest session date − `testDays`: training strictly before, test
    /// strictly after, both sorted by date, ties in the reference's dictionary order.
    static func splitByDate(
        _ filtered: FilteredSessions, log: ClickLog, options: PreprocessOptions, summary: inout PreprocessSummary
    ) -> (train: [Int32], test: [Int32]) {
        let survivors = filtered.alive.indices.lazy.filter { filtered.alive[$0] }
        let maximumDate = filtered.fixedSplit?.maximum ?? survivors.map { log.sessionDate[$0] }.max()!
        let splitDate = filtered.fixedSplit?.split ?? options.splitDate(after: maximumDate)
        summary.maximumDate = maximumDate
        summary.splitDate = splitDate
        // Session indices fit in Int32 (the log numbers its sessions so).
        var trainOrder: [Int32] = [], testOrder: [Int32] = []
        for s in survivors {
            let date = log.sessionDate[s]
            if date < splitDate {
                trainOrder.append(Int32(s))
            } else if date > splitDate {
                testOrder.append(Int32(s))
            } else {
                summary.splitDateSessions += 1
                summary.splitDateClicks += filtered.clicks.length(s)
            }
        }
        let byDate: (Int32, Int32) -> Bool = {
            (log.sessionDate[Int($0)], log.sessionDateRank[Int($0)]) < (log.sessionDate[Int($1)], log.sessionDateRank[Int($1)])
        }
        trainOrder.sort(by: byDate)
        testOrder.sort(by: byDate)
        return (trainOrder, testOrder)
    }

    /// 4. Renumbers training items from 1 by first appearance; drops unknown test items and short test sessions.
    static func renumber(
        _ filtered: FilteredSessions, trainOrder: [Int32], testOrder: [Int32], log: ClickLog, options: PreprocessOptions,
        summary: inout PreprocessSummary
    ) throws -> (train: SessionList, test: SessionList, rawIDs: [String]) {
        let clicks = filtered.clicks
        var internalID = [Int32](repeating: 0, count: log.itemCount)
        var rawIDs: [String] = []
        var allTrain = SessionList()
        allTrain.items.reserveCapacity(clicks.items.count)
        allTrain.offsets.reserveCapacity(trainOrder.count + 1)
        for s in trainOrder.lazy.map(Int.init) {
            for k in clicks.start[s]..<clicks.start[s + 1] {
                let raw = Int(clicks.items[k])
                if internalID[raw] == 0 {
                    rawIDs.append(log.itemKeys[raw])
                    internalID[raw] = Int32(rawIDs.count)
                }
                allTrain.items.append(internalID[raw])
            }
            allTrain.offsets.append(allTrain.items.count)
        }
        guard allTrain.count > 0 else {
            throw SessionDataError(
                file: log.path,
                "no training session is left: all \(trainOrder.count + testOrder.count + summary.splitDateSessions) remaining sessions fall in the \(options.testDays)-day test period; choose a shorter test period"
            )
        }
        var test = SessionList()
        test.offsets.reserveCapacity(testOrder.count + 1)
        var unknownSeen = [Bool](repeating: false, count: log.itemCount)
        for s in testOrder.lazy.map(Int.init) {
            let before = test.items.count
            for k in clicks.start[s]..<clicks.start[s + 1] {
                let raw = Int(clicks.items[k])
                if internalID[raw] == 0 {
                    summary.unknownTestItemClicks += 1
                    unknownSeen[raw] = true
                } else {
                    test.items.append(internalID[raw])
                }
            }
            if test.items.count - before < options.minimumSessionLength {
                summary.shortTestSessions += 1
                summary.shortTestSessionClicks += test.items.count - before
                test.items.removeSubrange(before...)
            } else {
                test.offsets.append(test.items.count)
            }
        }
        summary.itemsOnlyInTest = unknownSeen.lazy.filter { $0 }.count
        return (allTrain, test, rawIDs)
    }

    /// 5. For `fraction > 1`, the most recent `⌊N / fraction⌋` training examples: the sessions
    /// that hold them and how many examples of the first one to skip.
    /// The older sessions are removed from `allTrain` in place, which is then returned.
    static func mostRecentFraction(
        _ allTrain: inout SessionList, fraction: Int, summary: inout PreprocessSummary
    ) -> (sessions: SessionList, skip: Int) {
        let totalExamples = allTrain.offsets.count > 1 ? allTrain.items.count - allTrain.count : 0
        var kept = totalExamples / fraction
        if kept == 0 { kept = totalExamples }  // Python: tr_seqs[-0:] keeps everything
        let firstExample = totalExamples - kept
        var firstSession = 0, examplesBefore = 0
        while examplesBefore + allTrain.length(of: firstSession) - 1 <= firstExample {
            examplesBefore += allTrain.length(of: firstSession) - 1
            firstSession += 1
        }
        var trainSessions = SessionList()
        swap(&trainSessions, &allTrain)
        if firstSession > 0 {
            let cut = trainSessions.offsets[firstSession]
            trainSessions.items.removeSubrange(..<cut)
            trainSessions.offsets.removeSubrange(..<firstSession)
            for k in trainSessions.offsets.indices { trainSessions.offsets[k] -= cut }
            summary.fractionSessions = firstSession
            summary.fractionClicks = cut
        }
        summary.fractionExamples = firstExample
        return (trainSessions, firstExample - examplesBefore)
    }
}
