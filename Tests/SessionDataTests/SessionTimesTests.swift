import Foundation
import TestSupport
import Testing
@testable import SessionData

/// Issue 32 item 1: dataset folders keep each training session's time (`train_session_times.txt`).
@Suite("Training session times")
struct SessionTimesTests {
    /// 2020-01-01T00:00:00Z in Unix seconds.
    let january1 = Int64(1_577_836_800)

    @Test("preprocess: one time per training session, in date order, the fraction's older sessions dropped with theirs")
    func preprocessKeepsTimes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Written out of date order: C (Jan 3), A (Jan 1), B (Jan 2); D (Jan 10) is the test period.
        // A has 2 examples, B and C one each: --fraction 2 keeps the newest 2 examples, B's and C's.
        var rows: [String] = []
        rows += ["3,2020-01-03T08:00:00Z,X,0", "3,2020-01-03T08:30:05Z,Y,0"]
        rows += ["1,2020-01-01T10:00:00Z,X,0", "1,2020-01-01T10:00:01Z,Y,0", "1,2020-01-01T10:00:02Z,X,0"]
        rows += ["2,2020-01-02T23:59:59Z,Y,0", "2,2020-01-02T23:59:58Z,X,0"]
        rows += ["4,2020-01-10T10:00:00Z,X,0", "4,2020-01-10T10:00:01Z,Y,0"]
        let log = try folder.file("log.dat", rows.joined(separator: "\n") + "\n")
        var options = PreprocessOptions(minimumItemSupport: 1, testDays: 3)
        let all = try Preprocessor.run(path: log, format: .yoochoose, options: options)
        // Yoochoose dates a session by its last click read (file order).
        let a = january1 + 10 * 3600 + 2, b = january1 + 86400 + 86399 - 1, c = january1 + 2 * 86400 + 8 * 3600 + 30 * 60 + 5
        #expect(all.dataset.trainSessions.count == 3)
        #expect(all.dataset.trainSessionTimes == [a, b, c])
        options.fraction = 2
        let newest = try Preprocessor.run(path: log, format: .yoochoose, options: options)
        #expect(newest.dataset.trainSessions.count == 2)
        #expect(newest.dataset.trainSessionTimes == [b, c])

        try DatasetFolder.write(newest.dataset, to: folder.path + "/out")
        let text = try String(contentsOfFile: folder.path + "/out/" + DatasetFolder.trainSessionTimesName, encoding: .utf8)
        #expect(text == "\(b)\n\(c)\n")
        let loaded = try SessionDataset.load(from: folder.path + "/out")
        #expect(loaded.trainSessionTimes == [b, c])
        #expect(loaded == newest.dataset)
    }

    @Test("folders without times load with nil: SR-GNN pickles, and a rewrite without times removes the stale file")
    func withoutTimes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sessions = SessionList([[1, 2], [2, 3, 1]])
        let test = ExampleSet.augmenting(SessionList([[3, 1]]))
        var dataset = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: test,
            vocabulary: .identity(count: 3), itemCount: 3, trainSessionTimes: [-5, 1_700_000_000])
        try dataset.write(to: folder.path)
        #expect(try SessionDataset.load(from: folder.path).trainSessionTimes == [-5, 1_700_000_000])
        dataset.trainSessionTimes = nil
        try dataset.write(to: folder.path)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/" + DatasetFolder.trainSessionTimesName))
        #expect(try SessionDataset.load(from: folder.path).trainSessionTimes == nil)
        let manifest = try String(contentsOfFile: folder.path + "/dataset.json", encoding: .utf8)
        #expect(!manifest.contains("train_session_times"), "a folder without times has the manifest older tools wrote")

        try FileManager.default.createDirectory(atPath: folder.path + "/pickles", withIntermediateDirectories: true)
        _ = try folder.file("pickles/all_train_seq.txt", bytes: Pickle.encode(sessions))
        _ = try folder.file("pickles/test.txt", bytes: Pickle.encode(test))
        #expect(try SessionDataset.load(from: folder.path + "/pickles").trainSessionTimes == nil)
    }

    @Test(
        "a damaged times file names the file and the line",
        arguments: [
            ("100\nabc\n", "line 2", "found 'abc'"),
            ("100\n", "line 2", "expected 2 lines"),
            ("100\n200\n300\n", "line 3", "expected 2 lines"),
            ("100\n2.5\n", "line 2", "found '2.5'"),
        ])
    func damagedTimes(text: String, line: String, message: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sessions = SessionList([[1, 2], [2, 1]])
        let dataset = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: .augmenting(SessionList([[2, 1]])),
            vocabulary: .identity(count: 2), itemCount: 2, trainSessionTimes: [100, 200])
        try dataset.write(to: folder.path)
        _ = try folder.file(DatasetFolder.trainSessionTimesName, text)
        let error = expectDataError { _ = try SessionDataset.load(from: folder.path) }
        let description = error?.description ?? ""
        #expect(description.contains(DatasetFolder.trainSessionTimesName) && description.contains(line), "\(description)")
        #expect(description.contains(message), "\(description)")
    }
}
