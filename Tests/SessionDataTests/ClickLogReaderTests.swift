import Foundation
import Testing
import TestSupport
@testable import SessionData

@Suite("Click-log readers")
struct ClickLogReaderTests {
    @Test("time parsers: date, ISO 8601 (first 19 characters), Unix seconds; UTC")
    func timeParsers() {
        func bytes(_ s: String, _ parse: (UnsafeBufferPointer<UInt8>, Int, Int) -> Double?) -> Double? {
            Array(s.utf8).withUnsafeBufferPointer { parse($0, 0, $0.count) }
        }
        #expect(bytes("1970-01-01", parseDate) == 0)
        #expect(bytes("2016-05-09", parseDate) == 1_462_752_000)
        #expect(bytes("2014-04-07T10:51:09.277Z", parseISO8601) == 1_396_867_869)
        #expect(bytes("2014-04-07 10:51:09", parseISO8601) == 1_396_867_869)
        #expect(bytes("881250949", parseNumber) == 881_250_949)
        #expect(bytes("881250949.5", parseNumber) == 881_250_949.5)
        #expect(bytes("2016-13-09", parseDate) == nil)
        #expect(bytes("yesterday", parseISO8601) == nil)
        #expect(formatDate(1_396_867_869) == "2014-04-07 10:51:09")
    }

    @Test("generic CSV: named columns, sorted by time within a session, dated by the latest click")
    func genericCSV() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try folder.file(
            "log.tsv",
            """
            when\tsid\tproduct
            100\ta\tx
            50\ta\ty

            300\tb\tx
            200\tb\tz

            """)
        let format = ClickLogFormat(
            delimiter: 0x09, header: .present, session: .name("sid"), item: .name("product"),
            time: .name("when"), timeFormat: .unix)
        let clicks = try ClickLogReader(format: format).read(log)
        #expect(clicks.sessionKeys == ["a", "b"])
        #expect(clicks.itemKeys == ["x", "y", "z"])
        #expect(clicks.sessionDate == [100, 300])
        #expect(clicks.blankLines == 1)
        #expect(clicks.headerLine == 1)
        // The same by 0-based index, without a header.
        let headless = try folder.file("headless.csv", "100,a,x\n50,a,y\n")
        let byIndex = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .absent, session: .index(1), item: .index(2),
            time: .index(0), timeFormat: .unix)
        let indexed = try ClickLogReader(format: byIndex).read(headless)
        #expect(indexed.clickItem == [0, 1])
        #expect(indexed.clickOrder == [100, 50])
        // A UTF-8 byte-order mark before the header is ignored.
        let bom = try folder.file("bom.csv", "\u{FEFF}sid,product,when\na,x,1\n")
        let named = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("sid"), item: .name("product"),
            time: .name("when"), timeFormat: .unix)
        #expect(try ClickLogReader(format: named).read(bom).sessionKeys == ["a"])
    }

    @Test("generic CSV end to end: within-session time order and the split")
    func genericEndToEnd() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Sessions s1..s3 on 2020-01-01..03 (train), s4 on 2020-01-10 (test); items A, B, C.
        var rows = ["session,item,time"]
        for (session, day) in [("s1", "01"), ("s2", "02"), ("s3", "03"), ("s4", "10")] {
            // Written out of order: B at 12:00, A at 11:00, C at 13:00 → A B C.
            rows += [
                "\(session),B,2020-01-\(day)T12:00:00Z", "\(session),A,2020-01-\(day)T11:00:00Z",
                "\(session),C,2020-01-\(day)T13:00:00Z",
            ]
        }
        let log = try folder.file("log.csv", rows.joined(separator: "\n"))
        let format = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("session"),
            item: .name("item"), time: .name("time"), timeFormat: .iso8601)
        let result = try Preprocessor.run(
            path: log, format: format,
            options: PreprocessOptions(minimumItemSupport: 1, testDays: 3))
        #expect(result.dataset.trainSessions.arrays == [[1, 2, 3], [1, 2, 3], [1, 2, 3]])
        #expect(result.dataset.vocabulary.rawIDs == ["A", "B", "C"])
        #expect(result.dataset.test.prefixArrays == [[1, 2], [1]])
        #expect(result.dataset.test.targets == [3, 2])
        expectBalanced(result.summary)
    }

    @Test("support counted on the training period only, when asked")
    func supportFromTrainingOnly() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Item X: 2 clicks in training, 4 in the test period. With support ≥ 3: the reference keeps X
        // (6 clicks), training-only support drops it.
        var rows: [String] = []
        rows += ["1,2020-01-01T10:00:00Z,X,0", "1,2020-01-01T10:00:01Z,Y,0", "1,2020-01-01T10:00:02Z,Y,0"]
        rows += ["2,2020-01-02T10:00:00Z,X,0", "2,2020-01-02T10:00:01Z,Y,0"]
        rows += ["3,2020-01-09T10:00:00Z,X,0", "3,2020-01-09T10:00:01Z,X,0", "3,2020-01-09T10:00:02Z,Y,0"]
        rows += ["4,2020-01-09T11:00:00Z,X,0", "4,2020-01-09T11:00:01Z,X,0", "4,2020-01-09T11:00:02Z,Y,0"]
        let log = try folder.file("log.dat", rows.joined(separator: "\n") + "\n")
        var options = PreprocessOptions(minimumItemSupport: 3, testDays: 3)
        let reference = try Preprocessor.run(path: log, format: .yoochoose, options: options)
        #expect(reference.dataset.vocabulary.rawIDs == ["X", "Y"])
        options.supportFromTrainingOnly = true
        let trainingOnly = try Preprocessor.run(path: log, format: .yoochoose, options: options)
        #expect(trainingOnly.dataset.vocabulary.rawIDs == ["Y"])
        #expect(trainingOnly.summary.itemsRare == 1)
        expectBalanced(trainingOnly.summary)
    }

    @Test(
        "RecBole atomic file: ml-100k keyed by user_id, ordered by timestamp",
        .enabled(if: Shared.exists(Shared.data("ml-100k/ml-100k.inter")), "needs ../shared/data/ml-100k"))
    func recbole() throws {
        let result = try Preprocessor.run(
            path: Shared.data("ml-100k/ml-100k.inter"),
            format: .recbole(sessionField: "user_id"), options: PreprocessOptions(testDays: 30))
        #expect(result.summary.clicksRead == 100_000)
        #expect(result.summary.sessionsRead == 943)
        #expect(result.summary.itemsRead == 1_682)
        #expect(result.dataset.trainSessions.count > 0 && result.dataset.test.count > 0)
        expectBalanced(result.summary)
    }
}
