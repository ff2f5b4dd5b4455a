import Foundation
import Testing
import TestSupport
@testable import SessionData

/// `srgnn preprocess` against the official preprocess.py's outputs on the shipped samples,
/// compared element by element (sequences and labels of train, test and all_train_seq).
@Suite(
    "Preprocessing matches the reference",
    .enabled(
        if: Shared.exists(Shared.digineticaSampleLog) && Shared.exists(Shared.digineticaFixture),
        "needs ../shared/data and ../shared/fixtures/preprocess"))
struct PreprocessFixtureTests {
    /// Preprocesses, writes our folder, reads it back, and compares with the fixture folder.
    func check(log: String, format: ClickLogFormat, options: PreprocessOptions, fixture: String) throws -> PreprocessResult {
        let result = try Preprocessor.run(path: log, format: format, options: options)
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try DatasetFolder.write(result.dataset, to: folder.path, options: options, summary: result.summary)
        let reloaded = try SessionDataset.load(from: folder.path)
        #expect(reloaded == result.dataset)

        let expectedSessions = try Pickle.readSessions(FileIO.readAll(fixture + "/all_train_seq.txt"), file: "all_train_seq.txt")
        let expectedTrain = try Pickle.readExamples(FileIO.readAll(fixture + "/train.txt"), file: "train.txt")
        let expectedTest = try Pickle.readExamples(FileIO.readAll(fixture + "/test.txt"), file: "test.txt")
        for dataset in [result.dataset, reloaded] {
            expectSameSessions(dataset.trainSessions, expectedSessions, "all_train_seq")
            expectSameExamples(dataset.train, expectedTrain, "train")
            expectSameExamples(dataset.test, expectedTest, "test")
        }
        expectBalanced(result.summary)
        return result
    }

    @Test("Diginetica sample → diginetica-sample (309 items, 1,205 train / 99 test examples)")
    func diginetica() throws {
        let result = try check(
            log: Shared.digineticaSampleLog, format: .diginetica, options: .diginetica,
            fixture: Shared.digineticaFixture)
        #expect(result.dataset.itemCount == 309)
        #expect(result.dataset.train.count == 1205)
        #expect(result.dataset.test.count == 99)
        #expect(result.summary.clicksRead == 12_391)
        #expect(result.summary.sessionsRead == 2_986)
        // Raw ids map back: the first training session's first item is a raw Diginetica id.
        let first = result.dataset.trainSessions[0].first!
        #expect(result.dataset.vocabulary.internalID(of: result.dataset.vocabulary.rawID(of: first)) == first)
    }

    @Test("Yoochoose sample (no header) → yoochoose1_4 and yoochoose1_64", arguments: [4, 64])
    func yoochoose(fraction: Int) throws {
        let result = try check(
            log: Shared.yoochooseSampleLog, format: .yoochoose, options: .yoochoose(fraction: fraction),
            fixture: Shared.yoochooseFixture + "/yoochoose1_\(fraction)")
        // The vocabulary stays the full training set's.
        #expect(result.dataset.itemCount == 90)
    }

    @Test("Yoochoose sample with the header line the reference script expects")
    func yoochooseWithHeader() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let body = try String(contentsOfFile: Shared.yoochooseSampleLog, encoding: .utf8)
        let log = try folder.file("yoochoose-clicks.dat", "session_id,timestamp,item_id,category\n" + body)
        let result = try check(
            log: log, format: .yoochoose, options: .yoochoose(fraction: 64),
            fixture: Shared.yoochooseFixture + "/yoochoose1_64")
        #expect(result.summary.clicksRead == 1_913)
    }

    @Test("a fraction cut inside a session keeps the later prefixes of that session")
    func fractionInsideSession() throws {
        // Three sessions on three days, then a test day; 2 + 3 + 1 = 6 examples, 1/2 keeps the last 3.
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        var rows: [String] = []
        func add(_ session: Int, _ day: Int, _ items: [Int]) {
            for (k, item) in items.enumerated() { rows.append("\(session),2014-04-0\(day)T10:00:0\(k).000Z,\(item),0") }
        }
        add(1, 1, [1, 2, 3]); add(2, 2, [1, 2, 3, 1]); add(3, 3, [2, 3])
        add(4, 5, [1, 2]); add(5, 5, [3, 3])
        // Give every item support ≥ 5.
        add(6, 1, [1, 2, 3]); add(7, 1, [1, 2, 3])
        let log = try folder.file("clicks.dat", rows.joined(separator: "\n") + "\n")
        let all = try Preprocessor.run(path: log, format: .yoochoose, options: .yoochoose(fraction: 1))
        let half = try Preprocessor.run(path: log, format: .yoochoose, options: .yoochoose(fraction: 2))
        let n = all.dataset.train.count
        #expect(half.dataset.train.count == n / 2)
        // The kept examples are the last ⌊N/2⌋ of all examples, in order.
        let tail = ExampleSet(
            prefixes: Array(all.dataset.train.prefixArrays.suffix(n / 2)),
            targets: Array(all.dataset.train.targets.suffix(n / 2)))
        expectSameExamples(half.dataset.train, tail, "last half")
        #expect(half.dataset.vocabulary == all.dataset.vocabulary)
        #expect(half.summary.fractionExamples == n - n / 2)
        expectBalanced(half.summary)
        // Written and read back with the skip.
        try DatasetFolder.write(half.dataset, to: folder.path + "/out")
        #expect(try SessionDataset.load(from: folder.path + "/out") == half.dataset)
    }
}

/// Nothing is dropped without being counted.
func expectBalanced(_ summary: PreprocessSummary, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(summary.clicksRead == summary.trainClicks + summary.testClicks + summary.droppedClicks, sourceLocation: sourceLocation)
    #expect(summary.sessionsRead == summary.trainSessions + summary.testSessions + summary.droppedSessions, sourceLocation: sourceLocation)
    #expect(
        summary.itemsRead == summary.items + summary.itemsRare + summary.itemsOnlyInTest + summary.itemsOnlyInDroppedSessions,
        sourceLocation: sourceLocation)
    #expect(summary.itemsOnlyInDroppedSessions >= 0, sourceLocation: sourceLocation)
}
