/// One window of a dataset cut into consecutive slices (session-rec's sliding-window protocol):
/// a complete dataset with its own training sessions and test examples, and where it came from.
public struct DatasetSlice: Sendable {
    /// 1-based.
    public var number: Int
    public var dataset: SessionDataset
    /// The window's sessions, as positions in the source's order (training sessions, then test
    /// sessions): the first `trainSessions` of them are this slice's training part.
    public var window: Range<Int>
    public var trainSessions: Int
    /// Test sessions of the window, before and after removing items unseen in its training part.
    public var testSessionsCut: Int
    public var testSessionsKept: Int
    /// Test clicks removed (items unseen in training, and sessions left shorter than 2).
    public var testClicksDropped: Int
}

/// Cuts a dataset whose sessions are in date order into consecutive windows by position
/// (docs/DATASET.md, "Time slices").
///
/// The source's training sessions, then its test sessions (recovered from its test examples,
/// each session's longest prefix plus its label), form one sequence in date order. It is split
/// into `count` consecutive windows of equal size: window `k` (from 0) holds positions
/// `⌊k·total/count⌋..<⌊(k+1)·total/count⌋`. In each window the last `round(size · testFraction)` sessions (at least one)
/// are the test part, the others the training part; test items not in the window's training part
/// are removed and test sessions left shorter than 2 dropped, as the reference's preprocessing
/// does; the rest become test examples by prefix augmentation. Item ids are the source's (the
/// same vocabulary in every slice), so models and slices compare item for item.
public enum DatasetSlicer {
    /// The source's share of test sessions among all its sessions: the default test fraction.
    public static func testShare(of dataset: SessionDataset) -> Double {
        let test = dataset.test.reconstructedSessions().count
        let total = dataset.trainSessions.count + test
        return total > 0 ? Double(test) / Double(total) : 0
    }

    /// The slices of `dataset`; `testFraction` defaults to `testShare(of:)`. Throws when `count`
    /// or `testFraction` cannot work, or when a window is left without a training or test session.
    public static func slices(of dataset: SessionDataset, count: Int, testFraction: Double? = nil) throws -> [DatasetSlice] {
        let testSessions = dataset.test.reconstructedSessions()
        let trainCount = dataset.trainSessions.count
        var all = dataset.trainSessions
        all.items.append(contentsOf: testSessions.items)
        all.offsets.append(contentsOf: testSessions.offsets.dropFirst().map { $0 + dataset.trainSessions.clickCount })
        let fraction = testFraction ?? testShare(of: dataset)
        guard count >= 1 else { throw SessionDataError(file: "options", "--slices must be at least 1, got \(count)") }
        guard fraction > 0 && fraction < 1 else {
            throw SessionDataError(
                file: "options", "the test fraction must be between 0 and 1 (exclusive), got \(fraction)"
                    + (testFraction == nil ? " (the source's test share; give --test-fraction)" : ""))
        }
        // Each window needs a training and a test session, so at least 2 sessions.
        guard all.count >= 2 * count else {
            throw SessionDataError(
                file: "options",
                "--slices \(count) needs at least \(2 * count) sessions (a training and a test session in each window); the dataset has \(all.count)"
            )
        }
        var slices: [DatasetSlice] = []
        for k in 0..<count {
            let window = (all.count * k / count)..<(all.count * (k + 1) / count)
            let testSize = max(1, Int((Double(window.count) * fraction).rounded()))
            guard testSize < window.count else {
                throw SessionDataError(
                    file: "options",
                    "slice \(k + 1) has \(window.count) sessions: a test fraction of \(fraction) leaves none for training; use fewer slices or a smaller --test-fraction"
                )
            }
            let trainEnd = window.upperBound - testSize
            slices.append(
                try slice(
                    number: k + 1, of: all, window: window, trainEnd: trainEnd, source: dataset,
                    sourceTrainCount: trainCount))
        }
        return slices
    }

    /// Slice `number`: sessions `window.lowerBound..<trainEnd` of `all` train it, the rest of the
    /// window is its test part.
    static func slice(
        number: Int, of all: SessionList, window: Range<Int>, trainEnd: Int, source: SessionDataset, sourceTrainCount: Int
    ) throws -> DatasetSlice {
        var train = SessionList()
        var known = [Bool](repeating: false, count: source.itemCount + 1)
        for s in window.lowerBound..<trainEnd {
            train.append(all[s])
            for item in all[s] { known[Int(item)] = true }
        }
        var test = SessionList()
        var dropped = 0
        for s in trainEnd..<window.upperBound {
            let kept = all[s].filter { known[Int($0)] }
            // The reference's rule: a test session needs 2 clicks to give an example.
            if kept.count >= 2 { test.append(kept) }
            dropped += all.length(of: s) - (kept.count >= 2 ? kept.count : 0)
        }
        guard test.count > 0 else {
            throw SessionDataError(
                file: "options",
                "slice \(number) has no test session left after removing items unseen in its training part; use fewer slices or a larger --test-fraction"
            )
        }
        // Times are kept when every training session of the slice has one (it lies in the source's training part).
        var times: [Int64]? = nil
        if let sourceTimes = source.trainSessionTimes, trainEnd <= sourceTrainCount {
            times = Array(sourceTimes[window.lowerBound..<trainEnd])
        }
        let dataset = SessionDataset(
            trainSessions: train, train: .augmenting(train), test: .augmenting(test),
            vocabulary: source.vocabulary, itemCount: source.itemCount,
            clickCount: train.clickCount + test.clickCount, trainSessionTimes: times)
        return DatasetSlice(
            number: number, dataset: dataset, window: window, trainSessions: train.count,
            testSessionsCut: window.upperBound - trainEnd, testSessionsKept: test.count, testClicksDropped: dropped)
    }
}

extension DatasetFolder {
    /// The name of slice `number`'s folder inside a folder of slices: `slice-1`, `slice-2`, ….
    public static func sliceName(_ number: Int) -> String { "slice-\(number)" }

    /// The slice folders of `path`, `slice-1 … slice-N` in order (the first missing number ends
    /// the list), or `nil` when `path` holds no `slice-1` dataset folder.
    public static func sliceFolders(in path: String) -> [String]? {
        var folders: [String] = []
        while true {
            let folder = path + "/" + sliceName(folders.count + 1)
            guard FileIO.isDirectory(folder) else { break }
            folders.append(folder)
        }
        return folders.isEmpty ? nil : folders
    }

    /// Writes each slice as `directory/slice-k` (a complete dataset folder, see `write`), with
    /// `source` plus the slice's number in its manifest. A `slice-(N+1)` already in `directory`
    /// (from an earlier cut into more slices) is refused before anything is written: a reader
    /// would take it for one of these slices.
    public static func writeSlices(
        _ datasets: [(dataset: SessionDataset, source: [String: String])], to directory: String
    ) throws {
        let stale = directory + "/" + sliceName(datasets.count + 1)
        if FileIO.exists(stale) {
            throw SessionDataError(
                file: stale,
                "already exists (an earlier cut into more slices); remove it or write to another folder, or it would be read as slice \(datasets.count + 1) of these"
            )
        }
        try FileIO.makeDirectory(directory)
        for (k, slice) in datasets.enumerated() {
            var source = slice.source
            source["slice"] = "\(k + 1) of \(datasets.count)"
            try write(slice.dataset, to: directory + "/" + sliceName(k + 1), source: source)
        }
    }
}

/// Windows by real time for `srgnn preprocess --slices` (docs/DATASET.md, "Time slices").
public struct TimeSliceOptions: Sendable, Equatable {
    /// Number of windows (≥ 1).
    public var count: Int
    /// Each window's length in days; `nil`: the log's span (earliest to latest session date)
    /// divided by `count`, so that the windows cover it.
    public var sliceDays: Double?

    public init(count: Int, sliceDays: Double? = nil) {
        self.count = count
        self.sliceDays = sliceDays
    }
}

/// One window of `Preprocessor.runSlices`: its dataset, what was kept, and its dates.
public struct PreprocessedSlice: Sendable {
    public var dataset: SessionDataset
    /// The window: training from `start` (inclusive) to `testStart` (exclusive), test from
    /// `testStart` to `end` (exclusive; inclusive for the last window when the windows cover the
    /// log's span); Unix seconds.
    public var start: Double, testStart: Double, end: Double
    /// Kept test sessions and clicks, and the test clicks removed (items unknown to the window's
    /// training part, sessions left short).
    public var summary: PreprocessSummary
}

extension Preprocessor {
    /// Steps 1 and 2 of `run` over the whole log (grouping; session length and item support, as
    /// session-rec filters the whole log before slicing), then for each window `k = 0..<count`
    /// of `D = sliceDays` days from the earliest session date `t₀`: training sessions dated in
    /// `[t₀ + kD, t₀ + (k+1)D − T)`, test sessions in `[t₀ + (k+1)D − T, t₀ + (k+1)D)` with
    /// `T = options.testDays` (without `sliceDays` the last window ends at the latest session and
    /// keeps it);
    /// then step 4 per window: items renumbered from 1 by first appearance in the window's
    /// training part, unknown test items removed, short test sessions dropped.
    public static func runSlices(
        path: String, format: ClickLogFormat, options: PreprocessOptions, slicing: TimeSliceOptions
    ) throws -> [PreprocessedSlice] {
        try validate(options, slicing)
        var log = try ClickLogReader(format: format).read(path, keepingSessionKeys: false)
        return try runSlices(releasing: &log, options: options, slicing: slicing)
    }

    /// Rejects settings that cannot work with slices, with a message that says what to change.
    public static func validate(_ options: PreprocessOptions, _ slicing: TimeSliceOptions) throws {
        try options.validate()
        func bad(_ message: String) -> SessionDataError { SessionDataError(file: "options", message) }
        if slicing.count < 1 { throw bad("--slices must be at least 1, got \(slicing.count)") }
        if options.fraction != 1 { throw bad("--fraction cannot be combined with --slices (each window keeps all its sessions)") }
        if options.supportFromTrainingOnly {
            throw bad("--support-from-training-only cannot be combined with --slices (support is counted over the whole log, as session-rec does)")
        }
        if let days = slicing.sliceDays, !(days > options.testDays && days.isFinite) {
            throw bad("--slice-days must be a number of days larger than the test period (\(options.testDays) days), got \(days)")
        }
    }

    static func runSlices(releasing log: inout ClickLog, options: PreprocessOptions, slicing: TimeSliceOptions) throws -> [PreprocessedSlice] {
        try validate(options, slicing)
        var summary = PreprocessSummary()
        summary.clicksRead = log.clickCount
        summary.sessionsRead = log.sessionCount
        summary.itemsRead = log.itemCount
        summary.blankLines = log.blankLines
        var grouped = groupBySession(releasing: &log)
        let filtered = try filterSessions(&grouped, log: log, options: options, summary: &summary)
        var survivors = filtered.alive.indices.filter { filtered.alive[$0] }.map { Int32($0) }
        survivors.sort { (log.sessionDate[Int($0)], log.sessionDateRank[Int($0)]) < (log.sessionDate[Int($1)], log.sessionDateRank[Int($1)]) }
        let first = log.sessionDate[Int(survivors.first!)], last = log.sessionDate[Int(survivors.last!)]
        let windowSeconds = 86400 * (slicing.sliceDays ?? (last - first) / 86400 / Double(slicing.count))
        let testSeconds = 86400 * options.testDays
        guard windowSeconds > testSeconds else {
            throw SessionDataError(
                file: log.path,
                "the log spans \(((last - first) / 86400 * 10).rounded() / 10) days: \(slicing.count) windows of that span leave no training period before each \(options.testDays)-day test period; give fewer --slices, a shorter --test-days or --slice-days"
            )
        }
        var slices: [PreprocessedSlice] = []
        for k in 0..<slicing.count {
            let start = first + Double(k) * windowSeconds, end = start + windowSeconds, testStart = end - testSeconds
            // Windows covering the span (no --slice-days) end at the latest session: the last keeps it.
            let closesAtEnd = k == slicing.count - 1 && slicing.sliceDays == nil
            var trainOrder: [Int32] = [], testOrder: [Int32] = []
            for s in survivors {
                let date = log.sessionDate[Int(s)]
                if date >= start && date < testStart {
                    trainOrder.append(s)
                } else if date >= testStart && (date < end || (closesAtEnd && date == end)) {
                    testOrder.append(s)
                }
            }
            var sliceSummary = summary
            sliceSummary.maximumDate = end
            sliceSummary.splitDate = testStart
            let (train, test, rawIDs): (SessionList, SessionList, [String])
            do {
                (train, test, rawIDs) = try renumber(
                    filtered, trainOrder: trainOrder, testOrder: testOrder, log: log, options: options, summary: &sliceSummary)
            } catch let error as SessionDataError {
                throw SessionDataError(file: error.file, location: error.location, "slice \(k + 1): \(error.message)")
            }
            guard test.count > 0 else {
                throw SessionDataError(
                    file: log.path,
                    "slice \(k + 1): no test session in its test period from \(formatDate(testStart)) to \(formatDate(end)) (\(testOrder.count) before removing items unknown to its training part); give fewer --slices or a longer --test-days"
                )
            }
            let vocabulary = ItemVocabulary(rawIDs: rawIDs)
            let dataset = SessionDataset(
                trainSessions: train, train: .augmenting(train), test: .augmenting(test),
                vocabulary: vocabulary, itemCount: vocabulary.count, clickCount: train.clickCount + test.clickCount,
                trainSessionTimes: trainOrder.map { Int64(log.sessionDate[Int($0)].rounded(.down)) })
            sliceSummary.trainSessions = train.count
            sliceSummary.trainClicks = train.clickCount
            sliceSummary.trainExamples = dataset.train.count
            sliceSummary.testSessions = test.count
            sliceSummary.testClicks = test.clickCount
            sliceSummary.testExamples = dataset.test.count
            sliceSummary.items = vocabulary.count
            slices.append(PreprocessedSlice(dataset: dataset, start: start, testStart: testStart, end: end, summary: sliceSummary))
        }
        return slices
    }
}
