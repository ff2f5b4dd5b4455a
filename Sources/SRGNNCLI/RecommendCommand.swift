import ArgumentParser
import Evaluation
import Foundation
import Serving
import SessionData
import SRGNN
import TensorCore

/// `srgnn recommend`: the top-k next items for one session (`--items`), or for every session of a
/// JSON-lines file (`--input`), through the one `Recommender` path that `srgnn serve` answers with.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Recommend the next items for one session, or for every session of a JSON-lines file.",
        discussion: """
            MODEL is a checkpoint from srgnn train (items are your raw ids, as in your click log) or a \
            bare weights file in safetensors with the official SR-GNN names, for example one exported \
            from the official PyTorch code (items are then row numbers 1...n-1, and --step and \
            --nonhybrid say how it was trained). Scores are the model's logits s_h · e_item (NISER+: σ · cosine); the answer \
            is the one srgnn serve gives, bit for bit.

            --items: one session; unknown items are dropped with a note on stderr.

            --input FILE: one session a line, {"session_id": "s1", "items": [214826, "a17"]} (ids as \
            strings or integers, as the service takes them; blank lines are ignored). Each line gives, \
            in input order, {"items": [{"id": …, "score": …}, …], "session_id": …, "unknown_items": \
            [...]} (keys sorted, ids echoed as sent); the "items" are exactly what --items --json \
            prints for that session. A session none of whose items the model knows (the service \
            answers 422) gets "items": [] with its "unknown_items", and is counted in the summary. \
            A session longer than --max-session-length keeps its most recent clicks, as with --items. \
            A bad line (not JSON, no "session_id" or "items", an id that is not a string or an \
            integer, a line over 1 MiB) stops the run with its file and line number, or with \
            --skip-invalid is reported and skipped. An empty "items" is answered by --fallback like \
            any session the model cannot embed; it is a bad line only when nothing can answer it \
            (--fallback none, or a model without a popularity list: a bare weights file or an older \
            checkpoint). The file is streamed a few thousand lines at \
            a time, scored on --threads cores; progress and a summary go to stderr. --output is \
            written under a temporary name and renamed when complete, so a failed run leaves no file.

            Item rules: --exclude, --filter (needs --catalog), --include-unavailable and --candidates \
            apply to --items and to every --input line. A line may carry its own, as the service takes \
            them: "exclude": [ids] (added to --exclude), "filter": {"attribute": [values]} (an \
            attribute given replaces --filter's values for it), "include_unavailable": true|false and \
            "candidates": [ids] (replace the flags). A session the model cannot embed (empty, or only \
            unknown items) is answered by --fallback: popularity (the default) gives the checkpoint's \
            recent most clicked items, rules applied, and "fallback": "popularity" in the JSON.
            """
    )

    @Option(name: .long, help: "Checkpoint, or a bare weights file (safetensors, official SR-GNN tensor names).")
    var model: String

    @Option(
        name: .long,
        help: "The session's clicks, oldest first, comma-separated (e.g. 3,17,5); '' for a session without clicks (answered by --fallback)."
    )
    var items: String?

    @Option(name: .long, help: "A JSON-lines file of sessions, {\"session_id\": …, \"items\": [...]} a line.")
    var input: String?

    @Option(name: .long, help: "With --input: the file to write, one JSON line per session (default: standard output).")
    var output: String?

    @Option(name: .long, parsing: .unconditional, help: "How many items to return (1...\(CommandLimits.maximumK)).")
    var k = Recommender.defaultK

    @Flag(name: .long, help: "Leave out the items of the session itself.")
    var excludeSeen = false

    @Flag(name: .long, help: "With --input: report bad lines on stderr and skip them instead of stopping.")
    var skipInvalid = false

    @Option(
        name: .long, parsing: .unconditional,
        help: "With --input: worker threads (1...\(CommandLimits.maximumThreads); default: all cores).")
    var threads: Int?

    /// Lines read and scored at a time; tests set it small to cross chunk boundaries.
    @Option(name: .long, parsing: .unconditional, help: .hidden)
    var chunkLines = BatchRecommendation.defaultChunkLines

    @OptionGroup var session: SessionLengthOption

    @OptionGroup var architecture: ArchitectureOptions

    @OptionGroup var catalog: CatalogOptions

    @OptionGroup var rules: ItemRuleOptions

    @Flag(name: .long, help: "Print JSON: {\"items\":[{\"id\":…,\"score\":…},…]} (--input always writes JSON lines).")
    var json = false

    func validate() throws {
        guard (1...CommandLimits.maximumK).contains(k) else {
            throw ValidationError("--k must be in 1...\(CommandLimits.maximumK), got \(k)")
        }
        if !rules.filter.isEmpty && catalog.catalog == nil {
            throw ValidationError("--filter needs --catalog: the catalog file gives items the attributes to filter on")
        }
        switch (items, input) {
        case (nil, nil):
            throw ValidationError("give --items (one session, e.g. --items 3,17,5) or --input (a JSON-lines file of sessions)")
        case (.some, .some):
            throw ValidationError("--items and --input cannot be used together: --items is one session, --input a file of them")
        case (.some, nil):
            for (option, given) in [("--output", output != nil), ("--skip-invalid", skipInvalid), ("--threads", threads != nil)] where given
            {
                throw ValidationError("\(option) applies to --input, not to --items")
            }
            _ = try parseItems()
        case (nil, .some):
            if let threads, !(1...CommandLimits.maximumThreads).contains(threads) {
                throw ValidationError("--threads must be in 1...\(CommandLimits.maximumThreads), got \(threads)")
            }
            guard (1...BatchRecommendation.maximumChunkLines).contains(chunkLines) else {
                throw ValidationError("--chunk-lines must be in 1...\(BatchRecommendation.maximumChunkLines), got \(chunkLines)")
            }
        }
    }

    /// The `--items` session; empty for `--items ''` (a session without clicks, as `"items": []`).
    func parseItems() throws -> [String] {
        let fields = (items ?? "").split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if fields.count == 1 && fields[0].isEmpty { return [] }
        if let index = fields.firstIndex(of: "") {
            throw ValidationError("--items: the item at position \(index + 1) is empty")
        }
        return fields
    }

    func run() throws {
        // Each session's products are single-threaded (parallelism is across sessions); it also
        // keeps OpenBLAS from splitting a product differently from `srgnn serve`.
        setBLASThreads(1)
        if let input {
            try recommendForFile(input)
        } else {
            try recommendForItems(try parseItems())
        }
    }

    func loadRecommender() throws -> Recommender {
        let loaded = try LoadedModel.load(from: model, propagationSteps: architecture.propagationSteps, nonhybrid: architecture.nonhybrid)
        reportLoaded(loaded, path: model)
        let recommender = Recommender(
            model: loaded, maxSessionLength: session.maxSessionLength,
            catalog: try catalog.catalog.map { try Catalog.load(from: $0) }, fallback: catalog.fallback)
        if let path = catalog.catalog, let index = recommender.catalog, index.rowsNotInModel > 0 {
            printNote("\(path): \(index.rowsNotInModel) catalog rows name items the model does not know (ignored)")
        }
        return recommender
    }

    func recommendForItems(_ rawItems: [String]) throws {
        let recommender = try loadRecommender()
        let sent = rawItems.map(JSONItemID.init)
        let result: RecommendationResult
        do {
            result = try recommender.recommend([try rules.rules.query(session: sent, k: k, excludeSeen: excludeSeen)])[0]
        } catch let error as RecommenderError {
            throw CommandError("\(error)")
        }
        if !result.unknownItems.isEmpty {
            printNote(
                "unknown items dropped: \(quotedPrefix(result.unknownItems.joined(separator: ", "))) (the model knows \(recommender.itemCount) items)"
            )
        }
        if result.fallback == .popularity {
            printNote("no known item in the session: answered with the checkpoint's recent most clicked items (--fallback popularity)")
        }
        if json {
            print(try JSONText.string(RecommendationResponse(items: result.items, unknownItems: nil, fallback: result.fallback)))
        } else {
            for (rank, entry) in result.items.enumerated() {
                print("\(rank + 1)\t\(entry.id)\t\(entry.score)")
            }
        }
    }

    func recommendForFile(_ input: String) throws {
        // Fail on a missing input or an unwritable output before the model is loaded.
        guard FileManager.default.isReadableFile(atPath: input) else {
            throw CommandError("\(input): cannot open for reading (no such file, or not readable)")
        }
        if let output {
            // The output replaces its file when complete: one of the inputs would be lost.
            let inputs = [("--input", input), ("--model", model)] + (catalog.catalog.map { [("--catalog", $0)] } ?? [])
            if let (option, path) = inputs.first(where: { FileIO.isSameFile($0.1, output) }) {
                throw CommandError(
                    "--output \(output) is the file of \(option) \(path): writing it would replace what is being read; give another path")
            }
            try FileIO.checkWritable(output)
            // Temporaries of a run killed without a chance to clean up (SIGKILL, power loss).
            FileIO.removeStaleTemporaries(of: output)
        }
        let batch = BatchRecommendation(
            recommender: try loadRecommender(), k: k, excludeSeen: excludeSeen, rules: try rules.rules,
            skipInvalid: skipInvalid,
            threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, chunkLines: chunkLines)
        let progress = BatchProgress()
        let summary: BatchRecommendation.Summary
        if let output {
            // The handler is in place before the temporary file exists: no signal can fall between.
            let cleanup = RemoveOnSignal()
            defer { cleanup.cancel() }
            let file = try AtomicFileWriter(path: output, beforeCreating: cleanup.arm)
            summary = try batch.run(input: input, write: { try file.write($0) }, progress: progress)
            try file.commit()
        } else {
            summary = try batch.run(
                input: input,
                write: { bytes in
                    try FileHandle.standardOutput.write(contentsOf: Data(bytes))
                }, progress: progress)
        }
        progress.finish(summary)
    }
}

/// While alive, SIGINT, SIGTERM and SIGHUP remove a temporary file and end the process with the
/// conventional status (128 + the signal): an interrupted `--output` leaves nothing behind.
/// A plain signal handler, not a Dispatch source: worker threads started earlier do not block the
/// signals, so a source would never hear them. The handler does only what is safe in one
/// (`unlink`, `_exit`), on a path prepared beforehand by `arm`; `cancel()` restores the default
/// action.
final class RemoveOnSignal {
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    init() {
        for number in Self.signals { signal(number, removeTemporaryAndExit) }
    }

    /// The file to remove on a signal (set before it is created).
    func arm(_ temporaryPath: String) {
        let previous = signalTemporaryPath
        signalTemporaryPath = strdup(temporaryPath)
        free(previous)
    }

    func cancel() {
        for number in Self.signals { signal(number, SIG_DFL) }
        let path = signalTemporaryPath
        signalTemporaryPath = nil
        free(path)
    }
}

/// The temporary file `RemoveOnSignal` removes (one batch run per process).
nonisolated(unsafe) private var signalTemporaryPath: UnsafeMutablePointer<CChar>?

private func removeTemporaryAndExit(_ number: Int32) {
    if let path = signalTemporaryPath { unlink(path) }
    _exit(128 + number)
}

/// Recommendations for every session of a JSON-lines file, streamed: a chunk of lines is read,
/// its sessions parsed, scored and encoded on `threads` workers (each scoring `scoringBatch`
/// sessions per product through the shared `Recommender`), its lines written in input order,
/// then the next chunk. Memory is a chunk of lines and one workspace per worker, whatever the
/// file's length.
struct BatchRecommendation {
    static let defaultChunkLines = 4_096
    static let maximumChunkLines = 1_000_000
    /// A chunk also ends after this many input bytes, so long lines do not make it large.
    static let chunkBytes = 16 << 20
    /// Sessions per product: a worker's score matrix is `scoringBatch × items` floats (44 MB at
    /// Diginetica's 43,097 items).
    static let scoringBatch = 256
    /// Bad lines quoted one by one under --skip-invalid; the rest are only counted.
    static let quotedInvalidLines = 10
    /// What a line looks like, for error messages.
    static let example = #"{"session_id": "s1", "items": [214826, "a17"]}"#

    let recommender: Recommender
    let k: Int
    let excludeSeen: Bool
    /// The flags' item rules; each line's own apply over them (`ItemRules.applied(over:)`).
    let rules: ItemRules
    let skipInvalid: Bool
    let threads: Int
    let chunkLines: Int

    init(
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

    struct Summary: Equatable {
        /// Lines written, one per valid session.
        var sessions = 0
        /// Invalid lines skipped (--skip-invalid).
        var skipped = 0
        /// Unknown item ids over all sessions (each occurrence).
        var unknownItems = 0
        /// Sessions with no known item (answered by the fallback, or written with empty "items").
        var sessionsWithoutKnownItems = 0
        var seconds = 0.0
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
    func run(input: String, write: (UnsafeRawBufferPointer) throws -> Void, progress: BatchProgress) throws -> Summary {
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
                outcomes[index] = .invalid(Self.describe(error))
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

    /// A decoding error in words: which field, and what was wrong.
    static func describe(_ error: DecodingError) -> String {
        func field(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return "\"\(text)\""
        }
        switch error {
        case let .typeMismatch(type, context):
            if context.codingPath.isEmpty { return "the line is not a JSON object; expected e.g. \(example)" }
            if type == JSONItemID.self { return "\(field(context.codingPath)) must be a string or an integer" }
            if context.codingPath.first?.stringValue == "items" {
                return "\(field(context.codingPath)) must be an array of item ids, e.g. \(example)"
            }
            // An item rule: exclude, filter, include_unavailable, candidates.
            return "\(field(context.codingPath)) has the wrong type (expected \(expectedName(type)))"
        case let .valueNotFound(type, context):
            if type == JSONItemID.self { return "\(field(context.codingPath)) must be a string or an integer" }
            return "\(field(context.codingPath)) is null; expected e.g. \(example)"
        case let .keyNotFound(key, context):
            return "\(field(context.codingPath + [key])) is missing; expected e.g. \(example)"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty { return "not valid JSON; expected e.g. \(example)" }
            return "\(field(context.codingPath)) is invalid (\(context.debugDescription))"
        @unknown default:
            return "not of the expected form; expected e.g. \(example)"
        }
    }
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

/// A note on stderr.
func printNote(_ message: String) {
    FileHandle.standardError.write(Data("note: \(message)\n".utf8))
}

/// Batch progress on stderr: on a terminal one line redrawn at most five times a second,
/// elsewhere a plain line every ten seconds; notes (skipped lines) on lines of their own; a summary.
final class BatchProgress {
    let interactive = isatty(STDERR_FILENO) != 0
    private var lastDraw = 0.0
    private var drawn = false

    func update(sessions: Int, seconds: Double) {
        guard seconds - lastDraw >= (interactive ? 0.2 : 10) else { return }
        lastDraw = seconds
        let line = String(format: "%d sessions, %.0f sessions/s", sessions, Double(sessions) / max(seconds, 1e-9))
        if interactive {
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }

    func note(_ message: String) {
        clear()
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    func finish(_ summary: BatchRecommendation.Summary) {
        clear()
        let skipped =
            summary.skipped > BatchRecommendation.quotedInvalidLines
            ? " (\(summary.skipped - BatchRecommendation.quotedInvalidLines) more not shown)" : ""
        FileHandle.standardError.write(
            Data(
                String(
                    format: "%d sessions, %d skipped%@, %d unknown items, %d sessions with no known item, %.1f s, %.0f sessions/s\n",
                    summary.sessions, summary.skipped, skipped, summary.unknownItems, summary.sessionsWithoutKnownItems,
                    summary.seconds, Double(summary.sessions) / max(summary.seconds, 1e-9)
                ).utf8))
    }

    private func clear() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }
}

/// The longest session scored; shared by `recommend` and `serve` so that both give one answer.
struct SessionLengthOption: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: "Longest session scored (1...\(CommandLimits.maximumSessionLength)); longer ones keep their most recent clicks.")
    var maxSessionLength = Recommender.defaultMaxSessionLength

    func validate() throws {
        guard (1...CommandLimits.maximumSessionLength).contains(maxSessionLength) else {
            throw ValidationError("--max-session-length must be in 1...\(CommandLimits.maximumSessionLength), got \(maxSessionLength)")
        }
    }
}

/// Options that a bare weights file cannot carry: how the model was built.
struct ArchitectureOptions: ParsableArguments {
    @Option(
        name: [.customLong("propagation-steps"), .customLong("step")], parsing: .unconditional,
        help: "Gated graph propagation steps the model was trained with (1...\(SRGNNConfiguration.maximumPropagationSteps)).")
    var propagationSteps = SRGNNConfiguration(itemCount: 1).propagationSteps

    @Flag(name: .long, help: "The model was trained without the hybrid readout (s_h = s_g).")
    var nonhybrid = false

    func validate() throws {
        guard (1...SRGNNConfiguration.maximumPropagationSteps).contains(propagationSteps) else {
            throw ValidationError(
                "--propagation-steps must be in 1...\(SRGNNConfiguration.maximumPropagationSteps), got \(propagationSteps)")
        }
    }
}

/// Tells on stderr what the user should know about a model file that loaded: its load notes and
/// its ignored tensors.
func reportLoaded(_ loaded: LoadedModel, path: String) {
    for note in loaded.notes { FileHandle.standardError.write(Data("note: \(path): \(note)\n".utf8)) }
    reportIgnored(loaded.reportableIgnoredTensors, path: path)
}

/// Lists on stderr the tensors of a weights file that the model does not use (the reference's
/// unused `gnn.linear_edge_f.*` included, so nothing is dropped silently).
func reportIgnored(_ names: [String], path: String) {
    guard !names.isEmpty else { return }
    let shown = names.count > 12 ? names.prefix(12).joined(separator: ", ") + ", … (\(names.count) in all)" : names.joined(separator: ", ")
    FileHandle.standardError.write(Data("note: \(path): ignored tensors not used by the model: \(shown)\n".utf8))
}
