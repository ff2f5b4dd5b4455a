import Foundation
import Testing
import TestSupport
@testable import SessionData

/// Issue 17: hostile or careless input to the data layer gives an error naming the file, the line
/// or example and the limit, and memory follows the input's real content. One test per case.
@Suite struct DataHardeningTests {
    /// A pickle `([[…]], [labels])` of the given prefixes, as Python writes it.
    static func examplesPickle(_ prefixes: [[Int]], _ labels: [Int]) -> [UInt8] {
        Pickle.encode(.tuple([.list(prefixes.map { .list($0.map { .int($0) }) }), .list(labels.map { .int($0) })]))
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test("5: an empty prefix in a test pickle is rejected at read time, naming the file and example")
    func emptyPrefix() throws {
        let bytes = Self.examplesPickle([[1, 2], []], [3, 2])
        let text = Self.message { _ = try Pickle.readExamples(bytes, file: "test.txt") }
        #expect(text == "test.txt: example 1: expected a prefix of at least one item id, found an empty list")
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try folder.file("test.txt", bytes: Self.examplesPickle([[]], [2]))
        _ = try folder.file("all_train_seq.txt", bytes: Pickle.encode(SessionList([[1, 2]])))
        let loaded = Self.message { _ = try SessionDataset.load(from: folder.path) }
        #expect(loaded.contains("test.txt: example 0: expected a prefix"), "\(loaded)")
    }

    @Test("6: item id 2,147,483,647 costs memory for the items that occur, not for its value")
    func sparseItemIDs() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try folder.file("all_train_seq.txt", bytes: Pickle.encode(SessionList([[1, 2_147_483_647, 5]])))
        _ = try folder.file("test.txt", bytes: Self.examplesPickle([[5]], [2_147_483_647]))
        let dataset = try SessionDataset.load(from: folder.path)
        #expect(dataset.itemCount == 3)
        #expect(dataset.vocabulary.rawIDs == ["1", "5", "2147483647"])
        #expect(dataset.trainSessions.arrays == [[1, 3, 2]])
        #expect(dataset.test.targets == [3])
    }

    @Test("6: dense ids keep the reference's identity numbering")
    func denseItemIDs() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try folder.file("all_train_seq.txt", bytes: Pickle.encode(SessionList([[1, 60_000, 5]])))
        _ = try folder.file("test.txt", bytes: Self.examplesPickle([[5]], [1]))
        let dataset = try SessionDataset.load(from: folder.path)
        #expect(dataset.itemCount == 60_000)
        #expect(dataset.vocabulary.internalID(of: "60000") == 60_000)
    }

    @Test("7, issues 29 and 31: a 200,000-click session is read whole, and its examples are views of its clicks")
    func longPickleSession() throws {
        let long = (0..<200_000).map { $0 % 50 + 1 }
        let sessions = try Pickle.readSessions(
            Pickle.encode(.list([.list(long.map { .int($0) }), .list([.int(1), .int(2)])])), file: "all_train_seq.txt")
        #expect(sessions.length(of: 0) == 200_000)
        #expect(sessions.arrays[0] == long.map { Int32($0) })
        #expect(sessions.arrays[1] == [1, 2])
        // Copied, its prefixes would hold 200,000 · 199,999 / 2 ids (20 billion, 80 GB); as views
        // the set holds the 200,002 clicks once and one label per example.
        let examples = ExampleSet.augmenting(sessions)
        #expect(examples.count == 199_999 + 1)
        #expect(examples.storedValues == 200_002 + 200_000)
        #expect(examples.prefix(0).count == 199_999 && examples.targets[0] == Int32(long.last!))
        #expect(Array(examples.prefix(199_998)) == [Int32(long[0])] && examples.targets[199_998] == Int32(long[1]))
        #expect(Array(examples.prefix(199_999)) == [1] && examples.targets[199_999] == 2)
    }

    /// `pickle.dump([[1, 2, 3]] * 50, f, protocol=3)` as CPython writes it (117 bytes): one list
    /// stored in the memo (`BINPUT 1`) and fetched 49 more times (`BINGET 1`).
    static let sharedListPickle: [UInt8] = {
        var bytes: [UInt8] = [0x80, 3, 0x5D, 0x71, 0, 0x28, 0x5D, 0x71, 1, 0x28, 0x4B, 1, 0x4B, 2, 0x4B, 3, 0x65]
        for _ in 0..<49 { bytes += [0x68, 1] }  // BINGET 1
        bytes += [0x65, 0x2E]
        return bytes
    }()

    @Test("issue 29 item 1: lists Python shares through its memo are read, as Python reads them")
    func memoSharedListsAreRead() throws {
        #expect(Self.sharedListPickle.count == 117)
        let value = try Pickle.decode(Self.sharedListPickle, file: "all_train_seq.txt")
        #expect(value == .list(Array(repeating: .list([.int(1), .int(2), .int(3)]), count: 50)))
        let sessions = try Pickle.readSessions(Self.sharedListPickle, file: "all_train_seq.txt")
        #expect(sessions.arrays == Array(repeating: [1, 2, 3], count: 50))
        // The same sharing in a test set: 50 prefixes [1, 2, 3], labels [4] * 50.
        var examples: [UInt8] = Array(Self.sharedListPickle.dropLast(2))  // the prefixes, then APPENDS
        examples += [0x65, 0x5D, 0x71, 2, 0x28]
        for _ in 0..<50 { examples += [0x4B, 4] }  // BININT1 4
        examples += [0x65, 0x86, 0x71, 3, 0x2E]  // APPENDS, TUPLE2, BINPUT 3, STOP
        let test = try Pickle.readExamples(examples, file: "test.txt")
        #expect(test.prefixArrays == Array(repeating: [1, 2, 3], count: 50))
        #expect(test.targets == Array(repeating: 4, count: 50))
    }

    @Test("7, issue 29 item 1: a pickle expanding through the memo past the budget is refused as a limit, not as malformed")
    func memoReuse() throws {
        // PROTO 2, EMPTY_LIST, MARK, (EMPTY_LIST BINPUT 0, MARK BININT1 1 … APPENDS) once, then
        // BINGET 0 10,000 times, APPENDS, STOP: 1,000,100 values from 20 kB.
        var bytes: [UInt8] = [0x80, 2, 0x5D, 0x28, 0x5D, 0x71, 0, 0x28]
        for _ in 0..<100 { bytes += [0x4B, 7] }
        bytes += [0x65]
        for _ in 0..<10_000 { bytes += [0x68, 0] }
        bytes += [0x65, 0x2E]
        let sessions = try Pickle.readSessions(bytes, file: "all_train_seq.txt")
        #expect(sessions.count == 10_001 && sessions.clickCount == 1_000_100)
        let text = Self.message { _ = try Pickle.readSessions(bytes, file: "all_train_seq.txt", budget: 1_000_000) }
        #expect(text.hasPrefix("all_train_seq.txt: "), "\(text)")
        #expect(text.contains("limit of 1000000") && text.contains("not malformed data") && !text.contains("malformed pickle"), "\(text)")
        let decoded = Self.message { _ = try Pickle.decode(bytes, file: "all_train_seq.txt", budget: 1_000_000) }
        #expect(decoded == text)
    }

    /// Found by FuzzPickle: a list appended to itself through the memo sent every reader into
    /// endless recursion (a stack overflow). Also: lists nested deeper than any SR-GNN file.
    @Test("a list that contains itself, or nesting 100,000 deep, is refused without recursion")
    func cyclesAndDepth() throws {
        // PROTO 4, EMPTY_LIST MEMOIZE, MARK, EMPTY_LIST MEMOIZE, MARK, BININT1 1, BINGET 1 (the list
        // being built), EMPTY_LIST …: the fuzzer's input, minimised.
        let cycle: [UInt8] = [0x80, 4, 0x5D, 0x94, 0x28, 0x5D, 0x94, 0x28, 0x4B, 1, 0x68, 1, 0x65, 0x65, 0x2E]
        for read in [{ _ = try Pickle.decode(cycle, file: "test.txt") }, { _ = try Pickle.readExamples(cycle, file: "test.txt") }] {
            let text = Self.message(read)
            #expect(text.contains("a list contains itself"), "\(text)")
        }
        var deep: [UInt8] = [0x80, 2]
        for _ in 0..<100_000 { deep += [0x5D, 0x28] }
        for _ in 0..<100_000 { deep += [0x65] }
        deep += [0x2E]
        let text = Self.message { _ = try Pickle.decode(deep, file: "test.txt") }
        #expect(text.contains("nested more than"), "\(text)")
    }

    @Test("7, issues 29 and 31: a long line in train_sessions.txt is read whole, its examples views of it")
    func longNativeLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = SessionDataset(
            trainSessions: SessionList([[1, 2]]), train: .augmenting(SessionList([[1, 2]])),
            test: ExampleSet(prefixes: [[1]], targets: [2]), vocabulary: .identity(count: 2), itemCount: 2)
        try DatasetFolder.write(dataset, to: folder.path)
        let manifest = try String(contentsOfFile: folder.path + "/dataset.json", encoding: .utf8)
        func write(clicks: Int) throws {
            let line = (0..<clicks).map { String($0 % 2 + 1) }.joined(separator: " ")
            _ = try folder.file(DatasetFolder.trainSessionsName, line + "\n")
            _ = try folder.file(
                DatasetFolder.manifestName,
                manifest.replacingOccurrences(of: "\"train_examples\" : 1", with: "\"train_examples\" : \(clicks - 1)"))
        }
        try write(clicks: 300)
        let loaded = try SessionDataset.load(from: folder.path)
        #expect(loaded.trainSessions.length(of: 0) == 300)
        #expect(loaded.train.count == 299)
        #expect(loaded.train.prefix(0).count == 299)
        // 100,000 clicks make 99,999 examples: 5·10⁹ prefix clicks if copied, 200,000 values as views.
        try write(clicks: 100_000)
        let long = try SessionDataset.load(from: folder.path)
        #expect(long.train.count == 99_999 && long.train.prefix(0).count == 99_999)
        #expect(long.train.storedValues == 100_000 + 99_999)
    }

    @Test("7, issue 29 item 2: preprocessing keeps sessions over 200 clicks whole")
    func longClickLogSession() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        var rows = ["session_id,item_id,time"]
        for k in 0..<300 { rows.append("1,\(k % 3 + 1),\(1_000_000 + k)") }
        for k in 0..<20 { rows.append("\(k + 2),\(k % 3 + 1),\(1_000_000 + k)\n\(k + 2),\(k % 3 + 2),\(1_000_001 + k)") }
        rows.append("99,1,\(1_000_000 + 10 * 86400)\n99,2,\(1_000_000 + 10 * 86400)")
        let path = try folder.file("log.csv", rows.joined(separator: "\n") + "\n")
        let format = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("session_id"),
            item: .name("item_id"), time: .name("time"), timeFormat: .unix)
        let options = PreprocessOptions(minimumItemSupport: 1)
        let result = try Preprocessor.run(path: path, format: format, options: options)
        #expect(result.summary.longSessions == nil && result.summary.longSessionClicks == nil)
        #expect(result.dataset.trainSessions.arrays.map(\.count).max() == 300)
        #expect(result.summary.trainExamples == 299 + 20)
        #expect(!result.summary.render(options: options).contains("older clicks"))
        let s = result.summary
        #expect(s.clicksRead == s.trainClicks + s.testClicks + s.droppedClicks)
        #expect(s.droppedClicks == 0)
        // The examples are views: clicks once, plus one label per example.
        #expect(result.dataset.train.storedValues == s.trainClicks + s.trainExamples)
    }

    @Test("8 and 22: manifest counts out of range name the field and the limit")
    func manifestCounts() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = SessionDataset(
            trainSessions: SessionList([[1, 2]]), train: .augmenting(SessionList([[1, 2]])),
            test: ExampleSet(prefixes: [[1]], targets: [2]), vocabulary: .identity(count: 2), itemCount: 2)
        try DatasetFolder.write(dataset, to: folder.path)
        let original = try String(contentsOfFile: folder.path + "/dataset.json", encoding: .utf8)
        for (from, to, expected) in [
            (
                "\"train_example_skip\" : 0", "\"train_example_skip\" : -1",
                "field 'train_example_skip': expected an integer in 0...2147483647, found -1"
            ),
            ("\"item_count\" : 2", "\"item_count\" : -1", "field 'item_count': expected an integer in 1...2147483646, found -1"),
        ] {
            _ = try folder.file(DatasetFolder.manifestName, original.replacingOccurrences(of: from, with: to))
            let text = Self.message { _ = try SessionDataset.load(from: folder.path) }
            #expect(text.hasSuffix(expected), "\(text)")
        }
    }

    @Test("9: a timestamp of 9.3e18 is an error naming the line, before anything is written")
    func hugeTimestamp() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = try folder.file("x.inter", "session_id:token\titem_id:token\ttimestamp:float\n1\t1\t1\n1\t2\t9300000000000000000\n")
        let text = Self.message { _ = try Preprocessor.run(path: path, format: .recbole(), options: PreprocessOptions()) }
        #expect(text == "\(path): line 3: field 'timestamp:float': expected a time in the years 1 to 9999, found '9300000000000000000'")
        #expect(formatDate(9.3e18) == "9.3e+18")
    }

    @Test("21: a 2 MB first line is refused by its length; a long header is quoted by its first 80 characters")
    func longLines() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let huge = try folder.file("huge.csv", String(repeating: "x", count: 2 << 20) + "\n")
        let text = Self.message { _ = try ClickLogReader(format: .diginetica).read(huge) }
        #expect(text == "\(huge): line 1: the line is longer than 1048576 bytes (the limit for one click row)")
        let wide = try folder.file("wide.csv", String(repeating: "y", count: 500_000) + "\n1;2;3;4;2016-01-01\n")
        let quoted = Self.message { _ = try ClickLogReader(format: .diginetica).read(wide) }
        #expect(quoted.count < 400, "\(quoted.prefix(400))")
        #expect(quoted.contains("… (500000 bytes)"))
    }

    @Test("22: the 1-byte pickle \\x80 says the file ends after PROTO")
    func oneBytePickle() {
        let text = Self.message { _ = try Pickle.readSessions([0x80], file: "p") }
        #expect(text == "p: byte offset 1: truncated pickle: the file ends after the PROTO opcode, expected the protocol number (2 to 5)")
    }

    @Test("22: dates like 2016-02-31 are rejected; 2016-02-29 is a date")
    func impossibleDates() {
        func date(_ text: String) -> Double? {
            Array(text.utf8).withUnsafeBufferPointer { parseDate($0, 0, $0.count) }
        }
        #expect(date("2016-02-31") == nil)
        #expect(date("2015-02-29") == nil)
        #expect(date("2016-04-31") == nil)
        #expect(date("2016-02-29") != nil)
    }

    @Test("22: a repeated raw id in items.txt or a checkpoint vocabulary is an error")
    func duplicateRawIDs() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = SessionDataset(
            trainSessions: SessionList([[1, 2]]), train: .augmenting(SessionList([[1, 2]])),
            test: ExampleSet(prefixes: [[1]], targets: [2]), vocabulary: ItemVocabulary(rawIDs: ["a", "b"]), itemCount: 2)
        try DatasetFolder.write(dataset, to: folder.path)
        _ = try folder.file(DatasetFolder.itemsName, "a\na\n")
        let text = Self.message { _ = try SessionDataset.load(from: folder.path) }
        #expect(text.hasSuffix("items.txt: line 2: raw item id 'a' repeats line 1; each item must appear once"), "\(text)")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ItemVocabulary.self, from: Data(#"{"raw_ids":["x","x"]}"#.utf8)) }
    }

    @Test("20: writes go through symbolic links, refuse devices, and leave no temporary file")
    func atomicWrites() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let target = try folder.file("target.txt", "old")
        let link = folder.path + "/link.txt"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.txt")
        try FileIO.writeAtomically(Array("new".utf8), to: link)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "target.txt")
        let text = Self.message { try FileIO.writeAtomically([1], to: "/dev/null") }
        #expect(text == "/dev/null: is not a regular file (a device, pipe or socket); refusing to replace it")
        let missing = Self.message { try FileIO.checkWritable("/nonexistent/dir/m.st") }
        #expect(missing == "/nonexistent/dir/m.st: its folder /nonexistent/dir does not exist")
        // A stale temporary from a killed process is removed; nothing else is.
        _ = try folder.file(".target.txt.tmp-99999", "partial")
        #expect(FileIO.removeStaleTemporaries(of: link) == 1)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(left == ["link.txt", "target.txt"])
    }

    @Test("18: writing a dataset folder removes temporaries an interrupted write left there")
    func staleFolderTemporaries() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try folder.file(".train_sessions.txt.tmp-4242", "partial")
        let dataset = SessionDataset(
            trainSessions: SessionList([[1, 2]]), train: .augmenting(SessionList([[1, 2]])),
            test: ExampleSet(prefixes: [[1]], targets: [2]), vocabulary: .identity(count: 2), itemCount: 2)
        try DatasetFolder.write(dataset, to: folder.path)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!names.contains { $0.contains(".tmp-") }, "\(names)")
    }
}
