import Foundation
import SessionData
import SRGNN
import TensorCore

/// Recommendations for every session of a JSON-lines file, streamed: a chunk of lines is read,
/// its sessions parsed, scored and encoded on `threads` workers (each scoring `scoringBatch`
/// sessions per product through the shared `Recommender`), its lines written in input order,
/// then the next chunk. Memory is a chunk of lines and one workspace per worker, whatever the
/// file's length.
public struct BatchRecommendation: Sendable {
    /// Lines read and scored at a time, by default (`srgnn recommend --chunk-lines`).
    public static let defaultChunkLines = 4_096
    public static let maximumChunkLines = 1_000_000
    /// A chunk also ends after this many input bytes, so long lines do not make it large.
    static let chunkBytes = 16 << 20
    /// Sessions per product: a worker's score matrix is `scoringBatch × items` floats (44 MB at
    /// Diginetica's 43,097 items).
    static let scoringBatch = 256
    /// Bad lines quoted one by one under --skip-invalid; the rest are only counted.
    public static let quotedInvalidLines = 10
    /// What a line looks like, for error messages.
    public static let example = #"{"session_id": "s1", "items": [214826, "a17"]}"#

    let recommender: Recommender
    let k: Int
    let excludeSeen: Bool
    /// The flags' item rules; each line's own apply over them (`ItemRules.applied(over:)`).
    let rules: ItemRules
    let skipInvalid: Bool
    let threads: Int
    let chunkLines: Int

    public init(
        recommender: Recommender, k: Int, excludeSeen: Bool, rules: ItemRules = ItemRules(), skipInvalid: Bool, threads: Int,
        chunkLines: Int
    ) {
        self.recommender = recommender
        self.k = k
        self.excludeSeen = excludeSeen
        self.rules = rules
        self.skipInvalid = skipInvalid
        self.threads = threads
        self.chunkLines = chunkLines
    }

    /// What a run did, for the summary on stderr.
    public struct Summary: Equatable, Sendable {
        /// Lines written, one per valid session.
        public var sessions = 0
        /// Invalid lines skipped (--skip-invalid).
        public var skipped = 0
        /// Unknown item ids over all sessions (each occurrence).
        public var unknownItems = 0
        /// Sessions with no known item (answered by the fallback, or written with empty "items").
        public var sessionsWithoutKnownItems = 0
        public var seconds = 0.0

        public init() {}
    }

    /// One input line as read: its number, and its bytes' range in the chunk (nil: over-long).
    private struct Line {
        var number: Int
        var bytes: Range<Int>?
    }

    /// What became of one line: its output line, or why it is invalid.
    private enum Outcome {
        case written([UInt8], unknownItems: Int, noKnownItem: Bool)
        case invalid(String)
    }

    /// Reads `input`, hands every chunk's output lines to `write` in input order, and returns the
    /// counts. A bad line throws `SessionDataError` naming `input` and the line, unless skipped.
    public func run(input: String, write: (UnsafeRawBufferPointer) throws -> Void, progress: BatchProgress) throws -> Summary {
        var summary = Summary()
        let clock = ContinuousClock(), start = clock.now
        var bytes = [UInt8](), lines = [Line]()
        func flush() throws {
            try process(bytes: bytes, lines: lines, input: input, write: write, summary: &summary, progress: progress)
            summary.seconds = seconds(clock.now - start)
            progress.update(sessions: summary.sessions, seconds: summary.seconds)
            bytes.removeAll(keepingCapacity: true)
            lines.removeAll(keepingCapacity: true)
        }
        // An over-long line (each over 1 MiB of input) waits in the chunk for the next line.
        try FileIO.forEachLine(
            input, limitName: "one session line",
            overlongLine: { number in
                lines.append(Line(number: number, bytes: nil))
            }
        ) { line, number in
            // Blank lines (a trailing newline, spacing) are not sessions.
            guard line.contains(where: { !isJSONWhitespace($0) }) else { return }
            lines.append(Line(number: number, bytes: bytes.count..<(bytes.count + line.count)))
            bytes.append(contentsOf: line)
            if lines.count >= chunkLines || bytes.count >= Self.chunkBytes { try flush() }
        }
        if !lines.isEmpty { try flush() }
        summary.seconds = seconds(clock.now - start)
        return summary
    }

    /// One chunk: outcomes on the workers, then lines written (and bad ones reported) in order.
    private func process(
        bytes: [UInt8], lines: [Line], input: String, write: (UnsafeRawBufferPointer) throws -> Void,
        summary: inout Summary, progress: BatchProgress
    ) throws {
        var outcomes = [Outcome](repeating: .invalid(""), count: lines.count)
        outcomes.withUnsafeMutableBufferPointer { outcomes in
            // Each worker writes only its own range of outcomes.
            nonisolated(unsafe) let outcomes = outcomes
            parallelChunks(lines.count, threads: threads, minimumPerThread: 16) { range in
                bytes.withUnsafeBufferPointer { bytes in
                    answer(lines[range], bytes: bytes, into: UnsafeMutableBufferPointer(rebasing: outcomes[range]))
                }
            }
        }
        var text = [UInt8]()
        for (line, outcome) in zip(lines, outcomes) {
            switch outcome {
            case let .written(json, unknownItems, noKnownItem):
                text += json
                summary.sessions += 1
                summary.unknownItems += unknownItems
                if noKnownItem { summary.sessionsWithoutKnownItems += 1 }
            case let .invalid(message):
                let error = SessionDataError(file: input, location: .line(line.number), message)
                guard skipInvalid else {
                    // The lines before the bad one still go out, as they would have streamed.
                    try text.withUnsafeBytes(write)
                    throw error
                }
                summary.skipped += 1
                if summary.skipped <= Self.quotedInvalidLines { progress.note("skipped: \(error)") }
            }
        }
        try text.withUnsafeBytes(write)
    }

    /// Parses, scores and encodes `lines` (a worker's share of a chunk) into `outcomes`.
    private func answer(_ lines: ArraySlice<Line>, bytes: UnsafeBufferPointer<UInt8>, into outcomes: UnsafeMutableBufferPointer<Outcome>) {
        let decoder = JSONDecoder()
        // Sessions the model can score, by position in `lines`, and those it knows none of.
        var parsed = [(index: Int, line: BatchSessionLine)]()
        var scored = [(index: Int, line: BatchSessionLine, query: RecommendationQuery)]()
        for (index, line) in lines.enumerated() {
            guard let range = line.bytes else {
                outcomes[index] = .invalid(
                    "the line is longer than \(InputLimits.maximumLineLength) bytes (the limit for one session line)")
                continue
            }
            if let line = BatchSessionLine(commonForm: UnsafeBufferPointer(rebasing: bytes[range])) {
                parsed.append((index, line))
                continue
            }
            do {
                parsed.append((index, try decoder.decode(BatchSessionLine.self, from: Data(UnsafeBufferPointer(rebasing: bytes[range])))))
            } catch let error as DecodingError {
                outcomes[index] = .invalid(describe(error, in: .batchLine(example: Self.example)))
            } catch {
                outcomes[index] = .invalid("not valid JSON; expected e.g. \(Self.example)")
            }
        }
        for (index, var line) in parsed {
            // From here on the line carries the rules in force: its own over the flags'.
            line.rules = line.rules.applied(over: rules)
            let query = line.rules.query(session: line.items, k: k, excludeSeen: excludeSeen)
            do {
                try recommender.validate(query)
                scored.append((index, line, query))
            } catch RecommenderError.noKnownItems(_, let unknown) {
                // As the service's 422, but a line of its own: empty items, the unknown ones listed.
                let json = outputLines([(line, RecommendationResult(items: [], unknownItems: unknown))])[0]
                outcomes[index] = .written(json, unknownItems: unknown.count, noKnownItem: true)
            } catch RecommenderError.emptySession {
                outcomes[index] = .invalid(
                    "\"items\" is empty; a session needs at least one item (or a model with a popularity fallback), e.g. \(Self.example)")
            } catch RecommenderError.invalidFilter(_, let reason) {
                outcomes[index] = .invalid("\"filter\": \(reason)")
            } catch {
                outcomes[index] = .invalid("\(error)")
            }
        }
        for start in stride(from: 0, to: scored.count, by: Self.scoringBatch) {
            let part = scored[start..<min(start + Self.scoringBatch, scored.count)]
            do {
                let results = try recommender.recommend(part.map(\.query))
                let lines = outputLines(zip(part, results).map { ($0.line, $1) })
                for ((entry, result), json) in zip(zip(part, results), lines) {
                    outcomes[entry.index] = .written(json, unknownItems: result.unknownItems.count, noKnownItem: result.fallback != nil)
                }
            } catch {
                // Every query was validated above; kept so that nothing is lost if that changes.
                for entry in part { outcomes[entry.index] = .invalid("\(error)") }
            }
        }
    }

    /// The output lines (each ending in a newline) of several sessions: byte for byte
    /// `JSONText.data(BatchRecommendationLine(…))`, written directly, since running the encoder line
    /// by line, item by item cost more than scoring. Keys in sorted order: "fallback" (from its raw
    /// value), "items", "session_id", "unknown_items". Ids go through `appendID`, scores through
    /// `appendScore`. Each line's `rules` are the ones in force (its candidates' unknown ids are listed).
    func outputLines(_ answers: [(line: BatchSessionLine, result: RecommendationResult)]) -> [[UInt8]] {
        answers.map { line, result in
            var text = [UInt8]()
            // ~30 bytes an item: one allocation a line.
            text.reserveCapacity(64 + 32 * result.items.count)
            text.append(0x7B)
            if let fallback = result.fallback { text += #""fallback":"\#(fallback.rawValue)","#.utf8 }
            text += #""items":["#.utf8
            for (position, item) in result.items.enumerated() {
                if position > 0 { text.append(0x2C) }
                text += #"{"id":"#.utf8
                Self.appendID(JSONItemID(item.id), to: &text)
                text += #","score":"#.utf8
                Self.appendScore(item.score, to: &text)
                text.append(0x7D)
            }
            text += #"],"session_id":"#.utf8
            Self.appendID(line.sessionID, to: &text)
            text += #","unknown_items":["#.utf8
            if !result.unknownItems.isEmpty {
                let echoed = RecommendationResponse(result, sent: line.rules.sent(session: line.items)).unknownItems ?? []
                for (position, id) in echoed.enumerated() {
                    if position > 0 { text.append(0x2C) }
                    Self.appendID(id, to: &text)
                }
            }
            text += "]}\n".utf8
            return text
        }
    }

    /// An id as JSONText writes a `JSONItemID`: a canonical Int64 in number form as its digits, a
    /// string that needs no escaping between quotes, anything else through the encoder.
    static func appendID(_ id: JSONItemID, to text: inout [UInt8]) {
        var raw = id.raw
        let written = raw.withUTF8 { bytes -> Bool in
            guard !bytes.isEmpty else { return false }
            if id.form != .string, isCanonicalInteger(bytes) {
                text.append(contentsOf: bytes)
                return true
            }
            // JSONText writes printable ASCII other than `"` and `\` as is (slashes unescaped).
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) else { return false }
            text.append(0x22)
            text.append(contentsOf: bytes)
            text.append(0x22)
            return true
        }
        if !written { text += json(id) }
    }

    /// Whether `bytes` are the text `String(Int64)` gives: `-`? then digits without a leading zero
    /// (except "0"), and no more than 18 digits, so that the value surely fits.
    static func isCanonicalInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let digits = bytes.first == 0x2D ? UnsafeBufferPointer(rebasing: bytes.dropFirst()) : bytes
        guard (1...18).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        // "0" alone is canonical; "-0" and leading zeros are not.
        return digits[0] != 0x30 || (digits.count == 1 && digits.count == bytes.count)
    }

    /// A score as JSONText writes a `ScoredItem`'s: JSONEncoder writes a finite Float as its
    /// `description` without a trailing ".0" (a test holds the two equal over a million floats);
    /// non-finite as null. Through the encoder it cost ~1 µs a score, a tenth of the batch.
    static func appendScore(_ score: Float, to text: inout [UInt8]) {
        guard score.isFinite else { text += "null".utf8; return }
        var description = score.description
        description.withUTF8 { bytes in
            let integral = bytes.count > 2 && bytes[bytes.count - 2] == 0x2E && bytes[bytes.count - 1] == 0x30  // "….0"
            text.append(contentsOf: integral ? UnsafeBufferPointer(rebasing: bytes.dropLast(2)) : bytes)
        }
    }

    /// The elements of a JSON array as JSONText writes it (compact), cut at its top-level commas.
    static func elements(_ array: [UInt8]) -> [ArraySlice<UInt8>] {
        guard array.count > 2 else { return [] }
        var elements = [ArraySlice<UInt8>](), depth = 0, inString = false, escaped = false, start = 1
        for index in 1..<(array.count - 1) {
            let byte = array[index]
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x5B, 0x7B: depth += 1
            case 0x5D, 0x7D: depth -= 1
            case 0x2C where depth == 0:
                elements.append(array[start..<index])
                start = index + 1
            default: break
            }
        }
        elements.append(array[start..<(array.count - 1)])
        return elements
    }

    /// `value` as JSONText writes it (these values always encode).
    static func json(_ value: some Encodable) -> [UInt8] { Array(try! JSONText.data(value)) }
}

/// One line of a batch input: `{"session_id": …, "items": [...]}` and the item rules the service
/// takes (`ItemRules`); the id is kept as sent (a string, or an integer, as an item id).
struct BatchSessionLine: Decodable {
    var sessionID: JSONItemID
    var items: [JSONItemID]
    var rules: ItemRules

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case items
    }

    init(sessionID: JSONItemID, items: [JSONItemID], rules: ItemRules = ItemRules()) {
        self.sessionID = sessionID
        self.items = items
        self.rules = rules
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sessionID = try container.decode(JSONItemID.self, forKey: .sessionID)
        // The ids JSONItemID reads (a string, or an integer that fits in Int64), tried integer
        // first: JSONItemID tries a string first, and for an integer id that failure (a thrown
        // DecodingError) cost a tenth of a batch of integer ids. A test holds the two equal.
        var list = try container.nestedUnkeyedContainer(forKey: .items)
        var items = [JSONItemID]()
        items.reserveCapacity(list.count ?? 0)
        while !list.isAtEnd {
            if let number = try? list.decode(Int64.self) {
                items.append(JSONItemID(raw: String(number), form: .number))
            } else if let text = try? list.decode(String.self) {
                items.append(JSONItemID(raw: text, form: .string))
            } else {
                items.append(try list.decode(JSONItemID.self))  // throws JSONItemID's own error
            }
        }
        self.items = items
        rules = try ItemRules(from: decoder)
    }
}

extension BatchSessionLine {
    /// The line when it has the common form, `{"session_id": ID, "items": [ID, …]}` (keys in either
    /// order, JSON whitespace anywhere), each id an integer of up to 18 digits or a string of
    /// printable ASCII without escapes; else nil, and JSONDecoder reads it (and words any error).
    /// The same value as `init(from:)` (a test holds them equal), without the decoder (~5 % of a batch).
    init?(commonForm bytes: UnsafeBufferPointer<UInt8>) {
        var at = 0
        func skipSpace() { while at < bytes.count && isJSONWhitespace(bytes[at]) { at += 1 } }
        func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }
        // A string's bytes, or nil if it needs unescaping or UTF-8 decoding.
        func plainString() -> UnsafeBufferPointer<UInt8>? {
            guard take(0x22) else { return nil }
            let start = at
            while at < bytes.count && bytes[at] != 0x22 {
                guard bytes[at] >= 0x20 && bytes[at] < 0x7F && bytes[at] != 0x5C else { return nil }
                at += 1
            }
            guard at < bytes.count else { return nil }
            at += 1
            return UnsafeBufferPointer(rebasing: bytes[start..<(at - 1)])
        }
        func id() -> JSONItemID? {
            skipSpace()
            guard at < bytes.count else { return nil }
            if bytes[at] == 0x22 { return plainString().map { JSONItemID(raw: String(decoding: $0, as: UTF8.self), form: .string) } }
            let start = at
            while at < bytes.count && (bytes[at] == 0x2D || (0x30...0x39).contains(bytes[at])) { at += 1 }
            let digits = UnsafeBufferPointer(rebasing: bytes[start..<at])
            guard BatchRecommendation.isCanonicalInteger(digits) else { return nil }
            return JSONItemID(raw: String(decoding: digits, as: UTF8.self), form: .number)
        }
        var sessionID: JSONItemID?, items: [JSONItemID]?
        guard take(0x7B) else { return nil }
        repeat {
            guard let key = plainString(), take(0x3A) else { return nil }
            if sessionID == nil && key.elementsEqual("session_id".utf8) {
                guard let value = id() else { return nil }
                sessionID = value
            } else if items == nil && key.elementsEqual("items".utf8) {
                guard take(0x5B) else { return nil }
                var list = [JSONItemID]()
                if !take(0x5D) {
                    repeat {
                        guard let value = id() else { return nil }
                        list.append(value)
                    } while take(0x2C)
                    guard take(0x5D) else { return nil }
                }
                items = list
            } else {
                return nil  // another key (an item rule), or one given twice
            }
        } while take(0x2C)
        guard take(0x7D), let sessionID, let items else { return nil }
        skipSpace()
        guard at == bytes.count else { return nil }
        self.init(sessionID: sessionID, items: items)
    }
}

/// One line of a batch output: the service's answer for the session, with its id. What
/// `BatchRecommendation.outputLines` writes, faster (the tests hold them equal).
struct BatchRecommendationLine: Encodable {
    var sessionID: JSONItemID
    var response: RecommendationResponse

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case items, fallback
        case unknownItems = "unknown_items"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encodeIfPresent(response.fallback, forKey: .fallback)
        try container.encode(response.items, forKey: .items)
        try container.encode(response.unknownItems ?? [], forKey: .unknownItems)
    }
}

private func isJSONWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
