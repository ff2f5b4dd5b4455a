import Foundation
import TestSupport
import Testing
@testable import SessionData

/// Issue 32 item 3: time slices, by position (`srgnn slice`) and by real time (`preprocess --slices`).
@Suite("Time slices")
struct TimeSliceTests {
    // Training sessions s0…s5 and test sessions t0 = [5, 6, 1], t1 = [2, 6, 7, 5] (item 7 occurs only there).
    let trainSessions = SessionList([[1, 2, 3], [2, 3], [3, 1, 4], [4, 2, 5], [5, 6], [6, 5, 2]])
    var source: SessionDataset {
        SessionDataset(
            trainSessions: trainSessions, train: .augmenting(trainSessions),
            test: .augmenting(SessionList([[5, 6, 1], [2, 6, 7, 5]])),
            vocabulary: ItemVocabulary(rawIDs: ["a", "b", "c", "d", "e", "f", "g"]), itemCount: 7,
            trainSessionTimes: [10, 20, 30, 40, 50, 60])
    }

    /// Every test item (prefix and label) occurs in the slice's training sessions.
    func expectTestItemsTrained(_ dataset: SessionDataset, sourceLocation: SourceLocation = #_sourceLocation) {
        let trained = Set(dataset.trainSessions.items)
        let tested = Set(dataset.test.items).union(dataset.test.targets)
        #expect(tested.isSubset(of: trained), "test items \(tested.subtracting(trained)) not in training", sourceLocation: sourceLocation)
    }

    @Test("by position: training then test sessions in equal windows, the last share of each its test part")
    func byPosition() throws {
        // 8 sessions in 2 windows of 4; the source's test share is 2 / 8, so each window tests its last session.
        #expect(DatasetSlicer.testShare(of: source) == 0.25)
        let slices = try DatasetSlicer.slices(of: source, count: 2)
        #expect(slices.map(\.window) == [0..<4, 4..<8])
        // Slice 1 trains on s0…s2 (items 1…4); its test session s3 = [4, 2, 5] loses item 5.
        #expect(slices[0].dataset.trainSessions.arrays == [[1, 2, 3], [2, 3], [3, 1, 4]])
        #expect(slices[0].dataset.test.prefixArrays == [[4]] && slices[0].dataset.test.targets == [2])
        // Slice 2 trains on s4, s5 and t0 (a source test session); t1 loses item 7.
        #expect(slices[1].dataset.trainSessions.arrays == [[5, 6], [6, 5, 2], [5, 6, 1]])
        #expect(slices[1].dataset.test.prefixArrays == [[2, 6], [2]] && slices[1].dataset.test.targets == [5, 6])
        #expect(slices.map(\.testClicksDropped) == [1, 1])
        for slice in slices {
            expectTestItemsTrained(slice.dataset)
            #expect(slice.dataset.vocabulary == source.vocabulary && slice.dataset.itemCount == 7, "the source's ids")
            #expect(slice.dataset.train == ExampleSet.augmenting(slice.dataset.trainSessions))
        }
        // Times: slice 1's training sessions all have the source's; slice 2's include a test session, which has none.
        #expect(slices[0].dataset.trainSessionTimes == [10, 20, 30])
        #expect(slices[1].dataset.trainSessionTimes == nil)
        // The same with the share given explicitly.
        let explicit = try DatasetSlicer.slices(of: source, count: 2, testFraction: 0.25)
        #expect(explicit.map(\.dataset) == slices.map(\.dataset))
    }

    @Test("by position: uneven windows are consecutive and cover every session once")
    func unevenWindows() throws {
        // Every session holds items 1, 2 and 3, so no test session loses an item.
        let permutations: [[Int32]] = [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]]
        let sessions = SessionList(permutations)
        let dataset = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: .augmenting(SessionList([[1, 2, 3], [3, 2, 1]])),
            vocabulary: .identity(count: 3), itemCount: 3)
        let slices = try DatasetSlicer.slices(of: dataset, count: 3, testFraction: 0.4)
        #expect(slices.map(\.window) == [0..<2, 2..<5, 5..<8])
        // round(3 · 0.4) = 1 test session in the windows of 3; at least 1 in the window of 2.
        #expect(slices.map(\.trainSessions) == [1, 2, 2])
        #expect(slices.map(\.testSessionsKept) == [1, 1, 1])
        #expect(slices[1].dataset.trainSessions.arrays == [[2, 1, 3], [2, 3, 1]])
        #expect(slices[2].dataset.trainSessions.arrays == [[3, 2, 1], [1, 2, 3]])
        #expect(slices[2].dataset.test.prefixArrays == [[3, 2], [3]])
        for slice in slices { expectTestItemsTrained(slice.dataset) }
    }

    @Test(
        "by position: bad slice counts and fractions are errors that say what to change",
        arguments: [
            (0, 0.25, "at least 1"), (5, 0.25, "needs at least 10 sessions"), (2, 1.0, "between 0 and 1"),
            (2, 0.0, "between 0 and 1"), (2, 0.9, "leaves none for training"),
        ])
    func badSlicing(count: Int, fraction: Double, message: String) {
        let error = expectDataError { _ = try DatasetSlicer.slices(of: source, count: count, testFraction: fraction) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test("by position: a window whose test part has no item of its training part is an error naming the slice")
    func emptyTestPart() {
        let sessions = SessionList([[1, 2], [3, 4]])
        let dataset = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: .augmenting(SessionList([[5, 6]])),
            vocabulary: .identity(count: 6), itemCount: 6)
        let error = expectDataError { _ = try DatasetSlicer.slices(of: dataset, count: 1, testFraction: 0.3) }
        #expect(error?.message.contains("slice 1 has no test session left") == true, "\(error?.message ?? "")")
    }

    @Test("slice folders: written and found in order; a stale slice beyond N is refused before writing")
    func sliceFolders() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let slices = try DatasetSlicer.slices(of: source, count: 2)
        try DatasetFolder.writeSlices(slices.map { ($0.dataset, ["input": "test"]) }, to: folder.path + "/out")
        let found = try #require(DatasetFolder.sliceFolders(in: folder.path + "/out"))
        #expect(found == [folder.path + "/out/slice-1", folder.path + "/out/slice-2"])
        for (path, slice) in zip(found, slices) { #expect(try SessionDataset.load(from: path) == slice.dataset) }
        #expect(DatasetFolder.sliceFolders(in: folder.path) == nil)
        // Cutting into 1 slice now would leave slice-2 to be read as one of its slices.
        let error = expectDataError {
            try DatasetFolder.writeSlices([(slices[0].dataset, [:])], to: folder.path + "/out")
        }
        #expect(error?.file.hasSuffix("slice-2") == true)
    }

    /// A CSV log of one session a day, days 0…9, each session's clicks at 01:00 that day.
    func dailyLog(_ folder: TemporaryFolder) throws -> String {
        let days = ["A B C", "B C", "C A", "A B D", "D E", "D E F", "E F", "F D", "D A E", "E F"]
        var rows = ["session,item,time"]
        for (day, items) in days.enumerated() {
            for (k, item) in items.split(separator: " ").enumerated() { rows.append("s\(day),\(item),\(day * 86400 + 3600 + k)") }
        }
        return try folder.file("log.csv", rows.joined(separator: "\n") + "\n")
    }

    let csv = ClickLogFormat(
        delimiter: UInt8(ascii: ","), header: .present, session: .name("session"), item: .name("item"),
        time: .name("time"), timeFormat: .unix)

    @Test("by time: windows of the span / N days, the last --test-days of each its test period")
    func byTime() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try dailyLog(folder)
        // The sessions span 9 days less a second (each dated by its last click, 01:00:01 or
        // 01:00:02): 2 windows of that / 2, each testing its last 1.5 days. Window 1 trains on
        // days 0–2 and tests days 3–4; window 2 trains on days 5–7 and tests days 8–9 (day 9's
        // session lies exactly at its end, which the last window keeps when the windows cover the span).
        let slices = try Preprocessor.runSlices(
            path: log, format: csv, options: PreprocessOptions(minimumItemSupport: 1, testDays: 1.5),
            slicing: TimeSliceOptions(count: 2))
        #expect(slices.count == 2)
        // Slice 1: items A B C renumbered 1 2 3; day 3's D is unknown (removed), day 4 left empty (dropped).
        #expect(slices[0].dataset.vocabulary.rawIDs == ["A", "B", "C"])
        #expect(slices[0].dataset.trainSessions.arrays == [[1, 2, 3], [2, 3], [3, 1]])
        #expect(slices[0].dataset.test.prefixArrays == [[1]] && slices[0].dataset.test.targets == [2])
        #expect(slices[0].summary.unknownTestItemClicks == 3 && slices[0].summary.shortTestSessions == 1)
        // Slice 2: D E F renumbered 1 2 3; day 8 loses A.
        #expect(slices[1].dataset.vocabulary.rawIDs == ["D", "E", "F"])
        #expect(slices[1].dataset.trainSessions.arrays == [[1, 2, 3], [2, 3], [3, 1]])
        #expect(slices[1].dataset.test.prefixArrays == [[1], [2]] && slices[1].dataset.test.targets == [2, 3])
        let day = Int64(86400)
        #expect(slices[0].dataset.trainSessionTimes == [3602, day + 3601, 2 * day + 3601])
        #expect(slices[1].dataset.trainSessionTimes == [5 * day + 3602, 6 * day + 3601, 7 * day + 3601])
        for slice in slices { expectTestItemsTrained(slice.dataset) }
        #expect(slices[1].start == slices[0].end, "consecutive windows")

        // Windows of 4 days from the first session (day 0, 01:00:02), the last 1.5 days testing:
        // window 1 trains on days 0–2 and tests days 3–4; window 2 trains on days 5–6 and tests
        // day 7. Day 8's session lies exactly at window 2's end: windows are half-open, and with
        // --slice-days the last one is too (the log goes on after it).
        let fixed = try Preprocessor.runSlices(
            path: log, format: csv, options: PreprocessOptions(minimumItemSupport: 1, testDays: 1.5),
            slicing: TimeSliceOptions(count: 2, sliceDays: 4))
        #expect(fixed.map(\.dataset.trainSessions.count) == [3, 2])
        #expect(fixed[1].dataset.vocabulary.rawIDs == ["D", "E", "F"])
        #expect(fixed[1].dataset.test.prefixArrays == [[3]] && fixed[1].dataset.test.targets == [1])
    }

    @Test(
        "by time: settings that cannot work are errors that say what to change",
        arguments: [
            (TimeSliceOptions(count: 0), PreprocessOptions(minimumItemSupport: 1, testDays: 1), "at least 1"),
            (TimeSliceOptions(count: 2, sliceDays: 1), PreprocessOptions(minimumItemSupport: 1, testDays: 1), "larger than the test period"),
            (TimeSliceOptions(count: 2), PreprocessOptions(minimumItemSupport: 1, testDays: 1, fraction: 4), "--fraction"),
            (TimeSliceOptions(count: 9), PreprocessOptions(minimumItemSupport: 1, testDays: 1), "leave no training period"),
            (TimeSliceOptions(count: 2, sliceDays: 6), PreprocessOptions(minimumItemSupport: 1, testDays: 1), "slice 2: no test session"),
        ])
    func badTimeSlicing(slicing: TimeSliceOptions, options: PreprocessOptions, message: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try dailyLog(folder)
        let error = expectDataError { _ = try Preprocessor.runSlices(path: log, format: csv, options: options, slicing: slicing) }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
    }
}
