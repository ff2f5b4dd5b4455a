import Foundation
import SessionData
import SRGNN

/// A fitted baseline as a file (`srgnn fit`): what it needs to answer like SR-GNN's checkpoint
/// does — the baseline and its parameters, the vocabulary of raw ids, the training sessions (and
/// their times), and the recent popularity for the fallback — in a safetensors file.
///
/// Tensors: `session_offsets` (I64, sessions + 1), `session_items` (I32, internal ids in click
/// order), `session_times` (I64 unix seconds, when the data has times). Metadata key
/// `srgnn.knn-model`: ``Header`` as JSON. The file is checksummed and written atomically, like a
/// checkpoint; loading refits the index in memory (linear in the clicks).
public struct NeighbourhoodModelFile: Sendable, Equatable {
    public static let metadataKey = "srgnn.knn-model"
    public static let formatName = "srgnn-knn-model"
    public static let version = 1

    public struct Header: Codable, Sendable, Equatable {
        public var format = NeighbourhoodModelFile.formatName
        public var version = NeighbourhoodModelFile.version
        /// The baseline's name (`vstan`, …).
        public var model: String
        /// Its parameters by name (``Baseline/parameters``): every one, so later defaults cannot change it.
        public var parameters: [String: BaselineParameterValue]
        public var vocabulary: ItemVocabulary
        public var recentPopularity: RecentPopularity?
        public var dataset: String?
        public var datasetFingerprint: String?
        public var createdAt: String
        public var versions: [String: String]

        enum CodingKeys: String, CodingKey {
            case format, version, model, parameters, vocabulary, dataset, versions
            case recentPopularity = "recent_popularity", datasetFingerprint = "dataset_fingerprint", createdAt = "created_at"
        }
    }

    public var header: Header
    public var sessions: SessionList
    public var times: [Int64]?

    public var baseline: Baseline { Baseline(rawValue: header.model)! }
    public var itemCount: Int { header.vocabulary.count }

    /// The file of `baseline` as `fitters` configure it, fitted on `sessions` (internal ids of `vocabulary`).
    public init(
        baseline: Baseline, fitters: BaselineFitters, sessions: SessionList, times: [Int64]?, vocabulary: ItemVocabulary,
        dataset: String? = nil, datasetFingerprint: String? = nil, createdAt: Date = Date()
    ) {
        precondition(times == nil || times!.count == sessions.count, "one time per session")
        header = Header(
            model: baseline.rawValue,
            parameters: Dictionary(uniqueKeysWithValues: baseline.parameters.map { ($0.name, $0.value(in: fitters)) }),
            vocabulary: vocabulary, recentPopularity: RecentPopularity(of: sessions, itemCount: vocabulary.count), dataset: dataset,
            datasetFingerprint: datasetFingerprint, createdAt: ISO8601DateFormatter().string(from: createdAt),
            versions: ["srgnn": srgnnVersion])
        self.sessions = sessions
        self.times = times
    }

    /// The fitters the header's parameters configure (defaults for the rest; `threads` for fitting).
    public func fitters(threads: Int = 1) throws(NeighbourhoodModelError) -> BaselineFitters {
        var fitters = BaselineFitters()
        fitters.itemKNN.threads = threads
        fitters.sequentialRules.threads = threads
        for (name, value) in header.parameters.sorted(by: { $0.key < $1.key }) {
            guard let parameter = baseline.parameter(named: name) else {
                throw NeighbourhoodModelError("\(baseline.displayName) has no parameter '\(name)'")
            }
            do { try parameter.set(value, in: &fitters) } catch { throw NeighbourhoodModelError(error.description) }
        }
        if let problem = baseline.problem(in: fitters) { throw NeighbourhoodModelError(problem) }
        return fitters
    }

    /// The fitted scorer (the index is built here).
    public func scorer(threads: Int = 1) throws(NeighbourhoodModelError) -> any SessionScorer {
        try fitters(threads: threads).fitter(for: baseline).fit(sessions: sessions.arrays, times: times, itemCount: itemCount)
    }

    /// The safetensors form.
    public func safeTensors() throws -> SafeTensorsFile {
        func bytes<T>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }
        var entries: [String: SafeTensorsFile.Entry] = [
            "session_offsets": .init(
                dtype: .i64, shape: [sessions.offsets.count], data: bytes(sessions.offsets.map { Int64($0).littleEndian })),
            "session_items": .init(dtype: .i32, shape: [sessions.items.count], data: bytes(sessions.items.map(\.littleEndian))),
        ]
        if let times { entries["session_times"] = .init(dtype: .i64, shape: [times.count], data: bytes(times.map(\.littleEndian))) }
        return SafeTensorsFile(entries: entries, metadata: [Self.metadataKey: try JSONText.string(header)])
    }

    /// Writes the file through a temporary file, renamed when complete.
    public func write(to path: String) throws { try safeTensors().write(to: path) }

    /// Reads and checks `path`: every error names the file and what is wrong with it.
    public init(contentsOf path: String) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: path) } catch { throw NeighbourhoodModelError("\(path): \(error)") }
        try self.init(file, path: path)
    }

    public init(_ file: SafeTensorsFile, path: String) throws {
        func fail(_ message: String) -> NeighbourhoodModelError { NeighbourhoodModelError("\(path): \(message)") }
        guard let json = file.metadata[Self.metadataKey] else {
            throw fail(
                "not a fitted baseline (no \(Self.metadataKey) metadata; an SR-GNN checkpoint is served with --model, not as a baseline)")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(json.utf8)) } catch {
            throw fail("the \(Self.metadataKey) metadata is not a fitted baseline's header: \(error)")
        }
        guard header.format == Self.formatName else { throw fail("format '\(header.format)', expected \(Self.formatName)") }
        guard header.version <= Self.version else {
            throw fail("version \(header.version) was written by a newer srgnn (this one reads up to \(Self.version))")
        }
        guard Baseline(rawValue: header.model) != nil else { throw fail("unknown baseline '\(header.model)'") }
        guard let offsets = file.integers("session_offsets"), let items = file.integers("session_items") else {
            throw fail("the session_offsets and session_items tensors are missing")
        }
        guard offsets.first == 0, offsets.last == items.count, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw fail("session_offsets must rise from 0 to the \(items.count) clicks")
        }
        let itemCount = header.vocabulary.count
        if let bad = items.first(where: { $0 < 1 || $0 > itemCount }) {
            throw fail("session_items holds item \(bad), outside the vocabulary's 1...\(itemCount)")
        }
        let times = file.integers("session_times")
        if let times, times.count != offsets.count - 1 {
            throw fail("session_times has \(times.count) entries for \(offsets.count - 1) sessions")
        }
        self.header = header
        sessions = SessionList(items: items.map { Int32($0) }, offsets: offsets)
        self.times = times?.map { Int64($0) }
        do { _ = try fitters() } catch { throw fail(error.description) }
    }
}

/// A fitted-baseline file that cannot be used, with the reason.
public struct NeighbourhoodModelError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
