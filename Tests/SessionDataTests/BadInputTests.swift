import Foundation
import Testing
import TestSupport
@testable import SessionData

/// Every kind of bad input gets an error naming the file, the line or byte offset, and what was expected.
@Suite("Bad input")
struct BadInputTests {
    let header = "session_id;user_id;item_id;timeframe;eventdate\n"

    func digineticaError(_ contents: String) throws -> SessionDataError? {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try folder.file("train-item-views.csv", contents)
        return expectDataError { _ = try Preprocessor.run(path: log, format: .diginetica, options: .diginetica) }
    }

    @Test("a malformed row: too few fields")
    func malformedRow() throws {
        let error = try digineticaError(header + "1;NA;81766;526309;2016-05-09\n1;NA;31331\n")
        #expect(error?.location == .line(3))
        #expect(
            error?.description.contains("train-item-views.csv: line 3: malformed row: expected at least 5 fields separated by ';', found 3")
                == true)
    }

    @Test("a missing column in the header")
    func missingColumn() throws {
        let error = try digineticaError("session_id;user_id;item_id;eventdate\n1;NA;81766;2016-05-09\n")
        #expect(error?.location == .line(1))
        #expect(error?.field == "order")
        #expect(error?.description.contains("the header has no column 'timeframe'") == true)
    }

    @Test("a non-numeric field where a number is required")
    func nonNumeric() throws {
        let error = try digineticaError(header + "1;NA;81766;526309;2016-05-09\n1;NA;31331;soon;2016-05-09\n")
        #expect(error?.description.hasSuffix("train-item-views.csv: line 3: field 'timeframe': expected an integer, found 'soon'") == true)
        let date = try digineticaError(header + "1;NA;81766;526309;09/05/2016\n")
        #expect(date?.description.contains("line 2: field 'eventdate': expected a date like 2016-05-09, found '09/05/2016'") == true)
    }

    @Test("a bad Yoochoose timestamp names the column and line")
    func badTimestamp() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try folder.file("yoochoose-clicks.dat", "1,2014-04-07T10:51:09.277Z,214536502,0\n1,last tuesday,214536500,0\n")
        let error = expectDataError { _ = try Preprocessor.run(path: log, format: .yoochoose, options: .yoochoose(fraction: 64)) }
        #expect(error?.description.contains("yoochoose-clicks.dat: line 2: field 'column 1': expected an ISO 8601 time") == true)
    }

    @Test("an empty file, and a file with only a header")
    func emptyFile() throws {
        let error = try digineticaError("")
        #expect(error?.description.contains("train-item-views.csv: empty file") == true)
        let headerOnly = try digineticaError(header)
        #expect(headerOnly?.description.contains("no click rows after the header") == true)
    }

    @Test("a missing input file")
    func missingFile() {
        let error = expectDataError { _ = try Preprocessor.run(path: "/nonexistent/clicks.csv", format: .diginetica, options: .diginetica) }
        #expect(error?.description.contains("/nonexistent/clicks.csv: cannot open for reading") == true)
    }

    @Test("a truncated pickle names the byte offset")
    func truncatedPickle() {
        let bytes = Pickle.encode(SessionList([[1, 2, 3], [4, 5, 6]]), protocol: 2)
        let cut = Array(bytes.prefix(bytes.count - 5))
        let error = expectDataError { _ = try Pickle.readSessions(cut, file: "all_train_seq.txt") }
        #expect(error?.description.contains("all_train_seq.txt: byte offset") == true)
        #expect(error?.description.contains("truncated pickle") == true)
        // A frame that announces more bytes than remain.
        let framed = Array(Pickle.encode(SessionList([[1, 2]]), protocol: 4).dropLast(2))
        #expect(
            expectDataError { _ = try Pickle.readSessions(framed, file: "f") }?.description.contains("truncated pickle: FRAME announces")
                == true)
    }

    @Test("a foreign pickle: an unsupported opcode is named with its byte offset")
    func foreignPickle() {
        // pickle.dumps({}, protocol=4): PROTO 4, EMPTY_DICT, MEMOIZE, STOP.
        let dict: [UInt8] = [0x80, 0x04, 0x7D, 0x94, 0x2E]
        let error = expectDataError { _ = try Pickle.readSessions(dict, file: "test.txt") }
        #expect(
            error?.description
                == "test.txt: byte offset 2: unsupported pickle opcode 0x7d '}' (EMPTY_DICT), expected only lists, tuples and integers")
        // Not a pickle at all.
        let text = Array("1 2 3\n".utf8)
        #expect(
            expectDataError { _ = try Pickle.readSessions(text, file: "x") }?.description
                == "x: byte offset 0: not a pickle of protocol 2 to 5: expected the PROTO opcode 0x80, found 0x31")
        // Protocol 1 or 6.
        #expect(expectDataError { _ = try Pickle.readSessions([0x80, 0x06, 0x2E], file: "x") }?.location == .byteOffset(1))
        // The right opcodes but the wrong shape: a list of ints where sessions are expected.
        let flat = Pickle.encode(.list([.int(1), .int(2)]), protocol: 3)
        #expect(
            expectDataError { _ = try Pickle.readSessions(flat, file: "x") }?.description.contains(
                "session 0: expected a list, found the integer 1") == true)
        // An empty file.
        #expect(expectDataError { _ = try Pickle.readSessions([], file: "x") }?.description.contains("empty file") == true)
    }

    @Test("an output folder that cannot be written")
    func unwritableOutput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let file = try folder.file("occupied", "not a folder")
        let dataset = SessionDataset(
            trainSessions: SessionList([[1, 2]]), train: .augmenting(SessionList([[1, 2]])),
            test: ExampleSet(prefixes: [[1]], targets: [2]),
            vocabulary: ItemVocabulary(rawIDs: ["a", "b"]), itemCount: 2)
        let onFile = expectDataError { try DatasetFolder.write(dataset, to: file) }
        #expect(onFile?.description.contains("\(file): cannot create the output folder") == true)
        let under = expectDataError { try DatasetFolder.write(dataset, to: file + "/out") }
        #expect(under?.description.contains("\(file)/out: cannot create the output folder") == true)
        // Nothing half-written is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["occupied"])
    }

    @Test("a damaged dataset folder names the file and line")
    func damagedFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = SessionDataset(
            trainSessions: SessionList([[1, 2], [2, 3]]), train: .augmenting(SessionList([[1, 2], [2, 3]])),
            test: ExampleSet(prefixes: [[1]], targets: [3]),
            vocabulary: ItemVocabulary(rawIDs: ["a", "b", "c"]), itemCount: 3)
        try DatasetFolder.write(dataset, to: folder.path)
        _ = try folder.file(DatasetFolder.trainSessionsName, "1 2\n2 x\n")
        let error = expectDataError { _ = try SessionDataset.load(from: folder.path) }
        #expect(error?.description.contains("train_sessions.txt: line 2: expected digits") == true)
        _ = try folder.file(DatasetFolder.trainSessionsName, "1 2\n2 9\n")
        #expect(
            expectDataError { _ = try SessionDataset.load(from: folder.path) }?.description.contains("line 2: expected item ids in 1...3")
                == true)
        _ = try folder.file(DatasetFolder.trainSessionsName, "1 2\n2 3\n")
        _ = try folder.file(DatasetFolder.testExamplesName, "1 3\n")
        #expect(
            expectDataError { _ = try SessionDataset.load(from: folder.path) }?.description.contains(
                "test_examples.txt: line 1: expected a prefix") == true)
        _ = try folder.file(DatasetFolder.manifestName, "{\"format\": 1}")
        #expect(expectDataError { _ = try SessionDataset.load(from: folder.path) }?.file.hasSuffix("dataset.json") == true)
        // Not a dataset folder at all.
        let empty = try TemporaryFolder()
        defer { empty.cleanUp() }
        #expect(expectDataError { _ = try SessionDataset.load(from: empty.path) }?.description.contains("not a dataset folder") == true)
    }

    @Test("options that cannot work are rejected")
    func badOptions() {
        #expect(expectDataError { try PreprocessOptions(minimumSessionLength: 1).validate() } != nil)
        #expect(expectDataError { try PreprocessOptions(fraction: 0).validate() } != nil)
        #expect(expectDataError { try PreprocessOptions(testDays: -1).validate() } != nil)
    }
}
