import Foundation

/// The dataset folder the tool reads and writes (documented in docs/DATASET.md):
///
///     dataset.json         manifest: format, version, counts, item count, click count, provenance
///     items.txt            line k is the raw id of internal item k (k = 1...item_count)
///     train_sessions.txt   one training session per line: internal ids separated by spaces
///     test_examples.txt    one test example per line: prefix ids separated by spaces, a tab, the label
///     train_examples.txt   (only when needed) training examples, in the format of test_examples.txt
///     train_session_times.txt  (when known) line i is training session i's date, in Unix seconds
///
/// Training examples are normally not stored: they are the prefix augmentation of
/// `train_sessions.txt` without its first `train_example_skip` examples. Only a converted SR-GNN
/// folder whose `train.txt` is not such an augmentation gets `train_examples.txt`. Every file is written atomically, the
/// manifest last, so a folder with a manifest is complete.
public enum DatasetFolder {
    public static let manifestName = "dataset.json"
    public static let itemsName = "items.txt"
    public static let trainSessionsName = "train_sessions.txt"
    public static let testExamplesName = "test_examples.txt"
    public static let trainExamplesName = "train_examples.txt"
    public static let trainSessionTimesName = "train_session_times.txt"
    public static let formatName = "srgnn-session-dataset"

    /// The manifest, `dataset.json`.
    public struct Manifest: Codable, Sendable, Equatable {
        public var format = DatasetFolder.formatName
        public var version = 1
        public var itemCount: Int
        public var clickCount: Int?
        public var trainSessions: Int
        public var trainExamples: Int
        public var trainExampleSkip: Int
        /// `true` when training examples are stored in `train_examples.txt` instead of derived.
        public var trainExamplesStored: Bool?
        /// `true` when `train_session_times.txt` holds each training session's date.
        public var trainSessionTimesStored: Bool?
        public var testExamples: Int
        /// Where the data came from (input path and format), when preprocessed by this tool.
        public var source: [String: String]?
        public var options: PreprocessOptions?
        public var summary: PreprocessSummary?
    }

    public enum Kind: Sendable, Equatable {
        /// This tool's folder (has `dataset.json`).
        case native
        /// A folder written by the official SR-GNN script (`all_train_seq.txt`, `train.txt`, `test.txt`).
        case srgnnPickles
    }

    /// What kind of dataset folder `path` is, or an error saying what was expected.
    public static func kind(of path: String) throws -> Kind {
        guard FileIO.isDirectory(path) else {
            throw SessionDataError(file: path, FileIO.exists(path) ? "expected a dataset folder, found a file" : "no such folder")
        }
        if FileIO.exists(path + "/" + manifestName) { return .native }
        if FileIO.exists(path + "/test.txt") && (FileIO.exists(path + "/all_train_seq.txt") || FileIO.exists(path + "/train.txt")) {
            return .srgnnPickles
        }
        throw SessionDataError(
            file: path,
            "not a dataset folder: expected \(manifestName) (this tool's format) or an SR-GNN folder with test.txt and all_train_seq.txt or train.txt"
        )
    }

    // MARK: Writing

    /// Writes `dataset` to `directory` (created when missing); files are replaced atomically.
    public static func write(
        _ dataset: SessionDataset, to directory: String, source: [String: String]? = nil,
        options: PreprocessOptions? = nil, summary: PreprocessSummary? = nil
    ) throws {
        try FileIO.makeDirectory(directory)
        // Temporary files left by an interrupted earlier write of this folder.
        for name in [itemsName, trainSessionsName, testExamplesName, trainExamplesName, trainSessionTimesName, manifestName] {
            FileIO.removeStaleTemporaries(of: directory + "/" + name)
        }
        var items = [UInt8]()
        for (k, raw) in dataset.vocabulary.rawIDs.enumerated() {
            guard !raw.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else {
                throw SessionDataError(
                    file: directory + "/" + itemsName, location: .line(k + 1), "raw item id \(raw.debugDescription) contains a line break")
            }
            items.append(contentsOf: raw.utf8)
            items.append(0x0A)
        }
        try FileIO.writeAtomically(items, to: directory + "/" + itemsName)

        // The text files are written in pieces: a large log's are hundreds of megabytes.
        var text = try TextFileWriter(path: directory + "/" + trainSessionsName)
        for s in 0..<dataset.trainSessions.count {
            appendIDs(dataset.trainSessions[s], to: &text.buffer)
            text.buffer.append(0x0A)
            try text.flushWhenFull()
        }
        try text.commit()

        try writeExamples(dataset.test, to: directory + "/" + testExamplesName)
        let derived = dataset.train.isAugmentation(of: dataset.trainSessions, skippingFirst: dataset.trainExampleSkip)
        if !derived {
            try writeExamples(dataset.train, to: directory + "/" + trainExamplesName)
        } else if FileIO.exists(directory + "/" + trainExamplesName) {
            unlink(directory + "/" + trainExamplesName)  // stale from an earlier write
        }
        if let times = dataset.trainSessionTimes {
            var text = try TextFileWriter(path: directory + "/" + trainSessionTimesName)
            for time in times {
                text.buffer.append(contentsOf: String(time).utf8)
                text.buffer.append(0x0A)
                try text.flushWhenFull()
            }
            try text.commit()
        } else if FileIO.exists(directory + "/" + trainSessionTimesName) {
            unlink(directory + "/" + trainSessionTimesName)  // stale from an earlier write
        }

        let manifest = Manifest(
            itemCount: dataset.itemCount, clickCount: dataset.clickCount,
            trainSessions: dataset.trainSessions.count, trainExamples: dataset.train.count,
            trainExampleSkip: dataset.trainExampleSkip, trainExamplesStored: derived ? nil : true,
            trainSessionTimesStored: dataset.trainSessionTimes == nil ? nil : true,
            testExamples: dataset.test.count,
            source: source, options: options, summary: summary)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: Data
        do { json = try encoder.encode(manifest) } catch {
            throw SessionDataError(file: directory + "/" + manifestName, "cannot encode the manifest: \(error)")
        }
        try FileIO.writeAtomically(Array(json) + [0x0A], to: directory + "/" + manifestName)
    }

    /// Also writes the SR-GNN pickles (`all_train_seq.txt`, `train.txt`, `test.txt`, protocol 4)
    /// so that the official code and its follow-ups can read the same data.
    public static func writeSRGNNPickles(_ dataset: SessionDataset, to directory: String) throws {
        try FileIO.makeDirectory(directory)
        try FileIO.writeAtomically(Pickle.encode(dataset.trainSessions), to: directory + "/all_train_seq.txt")
        try FileIO.writeAtomically(Pickle.encode(dataset.train), to: directory + "/train.txt")
        try FileIO.writeAtomically(Pickle.encode(dataset.test), to: directory + "/test.txt")
    }

    private static func writeExamples(_ examples: ExampleSet, to path: String) throws {
        var text = try TextFileWriter(path: path)
        for i in 0..<examples.count {
            appendIDs(examples.prefix(i), to: &text.buffer)
            text.buffer.append(0x09)
            appendIDs(CollectionOfOne(examples.targets[i]), to: &text.buffer)
            text.buffer.append(0x0A)
            try text.flushWhenFull()
        }
        try text.commit()
    }

    /// A text file written atomically (`AtomicFileWriter`) from a buffer flushed every megabyte
    /// or so, instead of being held whole.
    struct TextFileWriter {
        static let flushSize = 1 << 20
        let file: AtomicFileWriter
        var buffer: [UInt8] = []

        init(path: String) throws {
            file = try AtomicFileWriter(path: path)
            buffer.reserveCapacity(Self.flushSize + 4096)
        }

        mutating func flushWhenFull() throws {
            if buffer.count >= Self.flushSize { try flush() }
        }

        mutating func flush() throws {
            try buffer.withUnsafeBytes { try file.write($0) }
            buffer.removeAll(keepingCapacity: true)
        }

        /// Writes what is left and moves the file into place.
        mutating func commit() throws {
            try flush()
            try file.commit()
        }
    }

    private static func appendIDs<C: Collection>(_ ids: C, to text: inout [UInt8]) where C.Element == Int32 {
        var first = true
        var digits = [UInt8](repeating: 0, count: 12)
        for id in ids {
            if !first { text.append(0x20) }
            first = false
            var v = Int(id), n = 0
            repeat {
                digits[n] = UInt8(0x30 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            for k in stride(from: n - 1, through: 0, by: -1) { text.append(digits[k]) }
        }
    }

    // MARK: Reading

    /// Loads this tool's folder, every session whole; the training examples are views of the
    /// sessions' clicks (memory O(clicks)).
    public static func loadNative(_ directory: String) throws -> SessionDataset {
        let manifestPath = directory + "/" + manifestName
        let manifest: Manifest
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            manifest = try decoder.decode(Manifest.self, from: Data(try FileIO.readAll(manifestPath)))
        } catch let error as SessionDataError {
            throw error
        } catch {
            throw SessionDataError(
                file: manifestPath,
                "expected the dataset manifest (JSON with format, version, item_count, train_sessions, train_examples, train_example_skip, test_examples): \(error)"
            )
        }
        guard manifest.format == formatName, manifest.version == 1 else {
            throw SessionDataError(
                file: manifestPath, field: "format",
                "expected format '\(formatName)' version 1, found '\(manifest.format)' version \(manifest.version)")
        }
        // Every count is checked before anything is sized by it.
        let countLimit = Int(Int32.max)
        for (field, value, minimum, maximum) in [
            ("item_count", manifest.itemCount, 1, InputLimits.maximumItemCount),
            ("train_sessions", manifest.trainSessions, 0, countLimit),
            ("train_examples", manifest.trainExamples, 0, countLimit),
            ("train_example_skip", manifest.trainExampleSkip, 0, countLimit),
            ("test_examples", manifest.testExamples, 0, countLimit),
            ("click_count", manifest.clickCount ?? 0, 0, Int.max),
        ] where !(minimum...maximum).contains(value) {
            throw SessionDataError(file: manifestPath, field: field, "expected an integer in \(minimum)...\(maximum), found \(value)")
        }
        let itemsPath = directory + "/" + itemsName
        let itemBytes = try FileIO.readAll(itemsPath)
        var rawIDs = itemBytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if rawIDs.last == "" { rawIDs.removeLast() }
        guard rawIDs.count == manifest.itemCount else {
            throw SessionDataError(
                file: itemsPath, location: .line(rawIDs.count),
                "expected \(manifest.itemCount) items (the manifest's item_count), found \(rawIDs.count) lines")
        }
        var firstLine = [RawKey: Int](minimumCapacity: rawIDs.count)  // byte for byte, like every raw id
        for (k, raw) in rawIDs.enumerated() {
            if let earlier = firstLine.updateValue(k + 1, forKey: RawKey(raw)) {
                throw SessionDataError(
                    file: itemsPath, location: .line(k + 1),
                    "raw item id '\(quotedPrefix(raw))' repeats line \(earlier); each item must appear once")
            }
        }
        let sessionsPath = directory + "/" + trainSessionsName
        let sessions = try parseSessions(try FileIO.readAll(sessionsPath), file: sessionsPath, itemCount: manifest.itemCount)
        guard sessions.count == manifest.trainSessions else {
            throw SessionDataError(
                file: sessionsPath, "expected \(manifest.trainSessions) sessions (the manifest's train_sessions), found \(sessions.count)")
        }
        let testPath = directory + "/" + testExamplesName
        let test = try parseExamples(try FileIO.readAll(testPath), file: testPath, itemCount: manifest.itemCount)
        guard test.count == manifest.testExamples else {
            throw SessionDataError(
                file: testPath, "expected \(manifest.testExamples) examples (the manifest's test_examples), found \(test.count)")
        }
        let train: ExampleSet
        if manifest.trainExamplesStored == true {
            let trainPath = directory + "/" + trainExamplesName
            train = try parseExamples(try FileIO.readAll(trainPath), file: trainPath, itemCount: manifest.itemCount)
            guard train.count == manifest.trainExamples else {
                throw SessionDataError(
                    file: trainPath, "expected \(manifest.trainExamples) examples (the manifest's train_examples), found \(train.count)")
            }
        } else {
            train = ExampleSet.augmenting(sessions, skippingFirst: manifest.trainExampleSkip)
            guard train.count == manifest.trainExamples else {
                throw SessionDataError(
                    file: manifestPath, field: "train_examples",
                    "expected \(train.count) (augmented sessions minus train_example_skip), found \(manifest.trainExamples)")
            }
        }
        var times: [Int64]? = nil
        if manifest.trainSessionTimesStored == true {
            let timesPath = directory + "/" + trainSessionTimesName
            times = try parseTimes(try FileIO.readAll(timesPath), file: timesPath, sessionCount: sessions.count)
        }
        return SessionDataset(
            trainSessions: sessions, train: train, test: test,
            vocabulary: ItemVocabulary(rawIDs: rawIDs), itemCount: manifest.itemCount,
            clickCount: manifest.clickCount, trainExampleSkip: manifest.trainExampleSkip, trainSessionTimes: times)
    }

    /// Loads a folder written by the official SR-GNN script. Training examples come from
    /// `train.txt`, or by prefix augmentation of `all_train_seq.txt` when it is absent; the item
    /// count is the largest id; raw ids are the ids themselves. Every session and prefix is kept
    /// whole, as the reference reads them; each pickle may expand to at most `budget` values
    /// (`InputLimits.maximumExampleValues`). The examples are views of the sessions' clicks.
    public static func loadSRGNN(_ directory: String, budget: Int = InputLimits.maximumExampleValues) throws -> SessionDataset {
        let sessionsPath = directory + "/all_train_seq.txt", trainPath = directory + "/train.txt", testPath = directory + "/test.txt"
        let hasSessions = FileIO.exists(sessionsPath), hasTrain = FileIO.exists(trainPath)
        // The files are independent: decode them in parallel (2 cores).
        let paths = [hasSessions ? sessionsPath : nil, hasTrain ? trainPath : nil, testPath]
        let results = UnsafeResults(count: 3)
        DispatchQueue.concurrentPerform(iterations: 3) { k in
            guard let path = paths[k] else { return }
            results.set(
                k,
                Result {
                    let bytes = try FileIO.readAll(path)
                    if k == 0 { return .sessions(try Pickle.readSessions(bytes, file: path, budget: budget)) }
                    return .examples(try Pickle.readExamples(bytes, file: path, budget: budget))
                })
        }
        var sessions: SessionList? = nil, train: ExampleSet? = nil, test = ExampleSet()
        for k in 0..<3 {
            guard let result = results.get(k) else { continue }
            switch try result.get() {
            case .sessions(let s): sessions = s
            case .examples(let e): if k == 1 { train = e } else { test = e }
            }
        }
        var trainSessions = sessions ?? train!.reconstructedSessions()
        var trainExamples = train ?? ExampleSet.augmenting(trainSessions)
        var itemCount = Int(max(trainSessions.maximumItem, trainExamples.maximumItem, test.maximumItem))
        // Ids are the reference's embedding rows when they are dense; sparse ids (say one item
        // numbered 2,147,483,647) are renumbered so that memory follows the items that occur.
        var vocabulary: ItemVocabulary
        if let distinct = sparseIDs(itemCount, [trainSessions.items, trainExamples.items, trainExamples.targets, test.items, test.targets])
        {
            func renumber(_ ids: inout [Int32]) {
                for k in ids.indices {
                    var low = 0, high = distinct.count - 1
                    while low < high {
                        let mid = (low + high) / 2
                        if distinct[mid] < ids[k] { low = mid + 1 } else { high = mid }
                    }
                    ids[k] = Int32(low + 1)
                }
            }
            renumber(&trainSessions.items)
            renumber(&trainExamples.items)
            renumber(&trainExamples.targets)
            renumber(&test.items)
            renumber(&test.targets)
            itemCount = distinct.count
            vocabulary = ItemVocabulary(rawIDs: distinct.map { String($0) })
        } else {
            vocabulary = .identity(count: itemCount)
        }
        let testSessions = test.reconstructedSessions()
        // A train.txt that is a suffix of the sessions' augmentation (the Yoochoose fractions) is
        // recorded as a skip, so that our folder need not store it.
        var skip = 0
        if train != nil {
            let full = trainSessions.items.count - trainSessions.count
            if full > trainExamples.count, ExampleSet.augmenting(trainSessions, skippingFirst: full - trainExamples.count) == trainExamples
            {
                skip = full - trainExamples.count
            }
        }
        return SessionDataset(
            trainSessions: trainSessions, train: trainExamples, test: test,
            vocabulary: vocabulary, itemCount: itemCount,
            clickCount: trainSessions.clickCount + testSessions.clickCount, trainExampleSkip: skip)
    }

    /// The ids that occur, sorted, when the largest id exceeds what they can justify (more than
    /// 65,536 + 4 × the number of distinct ids); `nil` when identity ids are cheap enough.
    static func sparseIDs(_ maximum: Int, _ lists: [[Int32]]) -> [Int32]? {
        let slack = 65_536
        guard maximum > slack else { return nil }
        var all = [Int32]()
        all.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        for list in lists { all.append(contentsOf: list) }
        all.sort()
        var distinct = [Int32]()
        for id in all where distinct.last != id { distinct.append(id) }
        return maximum > slack + 4 * distinct.count ? distinct : nil
    }

    enum Decoded: Sendable {
        case sessions(SessionList)
        case examples(ExampleSet)
    }

    /// One slot per parallel task, each written by exactly one task.
    final class UnsafeResults: @unchecked Sendable {
        private var slots: [Result<Decoded, any Error>?]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ k: Int, _ value: Result<Decoded, any Error>) { lock.lock(); slots[k] = value; lock.unlock() }
        func get(_ k: Int) -> Result<Decoded, any Error>? { lock.lock(); defer { lock.unlock() }; return slots[k] }
    }

    // MARK: Text parsing

    /// Parses `train_sessions.txt`: one session per line, ids separated by spaces.
    static func parseSessions(_ bytes: [UInt8], file: String, itemCount: Int) throws -> SessionList {
        var sessions = SessionList()
        sessions.items.reserveCapacity(bytes.count / 4)
        try bytes.withUnsafeBufferPointer { buffer in
            var line = 1, k = 0
            let n = buffer.count
            while k < n {
                try parseIDs(buffer, &k, line: line, file: file, itemCount: itemCount, stopAt: 0x0A, into: &sessions.items)
                guard sessions.items.count - sessions.offsets.last! >= 1 else {
                    throw SessionDataError(
                        file: file, location: .line(line), "expected a session (item ids separated by spaces), found an empty line")
                }
                sessions.offsets.append(sessions.items.count)
                k += 1  // newline
                line += 1
            }
        }
        return sessions
    }

    /// Parses `train_session_times.txt`: one integer (Unix seconds, optionally negative) per line,
    /// exactly `sessionCount` lines, one per training session.
    static func parseTimes(_ bytes: [UInt8], file: String, sessionCount: Int) throws -> [Int64] {
        var times: [Int64] = []
        times.reserveCapacity(sessionCount)
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            guard times.count < sessionCount else { break }  // an extra line: reported below
            var textEnd = lineEnd
            if textEnd > lineStart && bytes[textEnd - 1] == 0x0D { textEnd -= 1 }
            let found = String(decoding: bytes[lineStart..<textEnd], as: UTF8.self)
            guard let time = Int64(found) else {
                throw SessionDataError(
                    file: file, location: .line(times.count + 1),
                    "expected an integer (the session's time in Unix seconds), found '\(quotedPrefix(found))'")
            }
            times.append(time)
            lineStart = lineEnd + 1
        }
        guard times.count == sessionCount, lineStart >= bytes.count else {
            // The first line that is missing or extra.
            throw SessionDataError(
                file: file, location: .line(times.count + 1),
                "expected \(sessionCount) lines, one per training session in \(trainSessionsName), found \(times.count == sessionCount ? "more" : "\(times.count)")"
            )
        }
        return times
    }

    /// Parses `test_examples.txt`: prefix ids separated by spaces, a tab, the label.
    static func parseExamples(_ bytes: [UInt8], file: String, itemCount: Int) throws -> ExampleSet {
        var examples = ExampleSet()
        var prefix: [Int32] = [], label: [Int32] = []
        try bytes.withUnsafeBufferPointer { buffer in
            var line = 1, k = 0
            let n = buffer.count
            while k < n {
                prefix.removeAll(keepingCapacity: true)
                try parseIDs(buffer, &k, line: line, file: file, itemCount: itemCount, stopAt: 0x09, into: &prefix)
                guard k < n, buffer[k] == 0x09, !prefix.isEmpty else {
                    throw SessionDataError(
                        file: file, location: .line(line), "expected a prefix (item ids separated by spaces), a tab and the label")
                }
                k += 1
                label.removeAll(keepingCapacity: true)
                try parseIDs(buffer, &k, line: line, file: file, itemCount: itemCount, stopAt: 0x0A, into: &label)
                guard label.count == 1 else {
                    throw SessionDataError(file: file, location: .line(line), "expected one label after the tab, found \(label.count) ids")
                }
                examples.append(prefix: prefix, target: label[0])
                k += 1
                line += 1
            }
        }
        return examples
    }

    /// Reads space-separated ids from `k` up to (not including) `stopAt` or a newline or the end.
    @inline(__always)
    private static func parseIDs(
        _ buffer: UnsafeBufferPointer<UInt8>, _ k: inout Int, line: Int, file: String,
        itemCount: Int, stopAt: UInt8, into ids: inout [Int32]
    ) throws {
        let n = buffer.count
        var value = 0, inNumber = false
        while k < n {
            let byte = buffer[k]
            if byte == stopAt || byte == 0x0A { break }
            let digit = byte &- 0x30
            if digit < 10 {
                value = value * 10 + Int(digit)
                inNumber = true
                if value > itemCount {
                    throw SessionDataError(
                        file: file, location: .line(line),
                        "expected item ids in 1...\(itemCount) (the manifest's item_count), found one larger")
                }
            } else if byte == 0x20 || byte == 0x0D {
                if inNumber {
                    guard value >= 1 else { throw SessionDataError(file: file, location: .line(line), "expected item ids ≥ 1, found 0") }
                    ids.append(Int32(value))
                }
                value = 0
                inNumber = false
            } else {
                throw SessionDataError(
                    file: file, location: .line(line),
                    "expected digits, spaces\(stopAt == 0x09 ? ", a tab" : "") and line breaks, found byte \(Pickle.hex(byte))")
            }
            k += 1
        }
        if inNumber {
            guard value >= 1 else { throw SessionDataError(file: file, location: .line(line), "expected item ids ≥ 1, found 0") }
            ids.append(Int32(value))
        }
    }
}

extension SessionDataset {
    /// Loads a dataset folder, this tool's or an SR-GNN pickle folder, detected by its files.
    /// Errors name the file and what was expected; a pickle over `budget` values (see
    /// `InputLimits.maximumExampleValues`) is refused with a message naming the limit.
    public static func load(from path: String, budget: Int = InputLimits.maximumExampleValues) throws -> SessionDataset {
        switch try DatasetFolder.kind(of: path) {
        case .native: return try DatasetFolder.loadNative(path)
        case .srgnnPickles: return try DatasetFolder.loadSRGNN(path, budget: budget)
        }
    }

    /// Writes this dataset as a folder of this tool's format (see `DatasetFolder`).
    public func write(to directory: String) throws {
        try DatasetFolder.write(self, to: directory)
    }
}
