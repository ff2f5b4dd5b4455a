import Foundation
@testable import Recommending
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport
import Serving
@testable import SRGNNCLI

/// `srgnn recommend --input`: every line's answer is, byte for byte, what `srgnn recommend --items
/// --json` prints for the session; order, unknown items, bad lines, chunking and the atomic output.
@Suite("srgnn recommend --input")
struct BatchRecommendTests {
    /// Raw ids in several forms: plain integers, a zero-padded one, a word, one with a space, a negative.
    static let rawIDs: [String] = (1...55).map { String(500 + $0) } + ["007", "a17", "x y", "-5", "42"]

    /// A small checkpoint (60 items, d = 10), written once per test process.
    static let modelPath: String = {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("srgnn-batch-tests-\(ProcessInfo.processInfo.processIdentifier).safetensors").path
        let configuration = SRGNNConfiguration(itemCount: rawIDs.count, hiddenSize: 10)
        let model = try! SRGNNModel(configuration: configuration, seed: 7)
        try! LoadedModel.save(
            model: model,
            metadata: CheckpointMetadata(
                model: configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs),
                epoch: 0, metrics: [:], training: nil, history: nil), to: path)
        return path
    }()

    /// Random sessions of 1–9 raw ids, now and then an unknown one.
    static func sessions(_ count: Int, seed: UInt64) -> [[String]] {
        var rng = SeededGenerator(seed: seed)
        func below(_ n: Int) -> Int { min(n - 1, Int(rng.uniform(0, Float(n)))) }
        return (0..<count).map { _ in
            (0...below(9)).map { _ in below(12) == 0 ? "unknown-\(below(3))" : rawIDs[below(rawIDs.count)] }
        }
    }

    /// One JSON line per session: ids alternate between string and number forms where they can.
    static func jsonLines(_ sessions: [[String]]) -> String {
        sessions.enumerated().map { index, items in
            let sessionID = index % 2 == 0 ? "\"s\(index)\"" : "\(1000 + index)"
            let ids = items.enumerated().map { position, raw in
                (position % 2 == 1 && Int64(raw).map { String($0) == raw } == true) ? raw : "\"\(raw)\""
            }
            return "{\"session_id\": \(sessionID), \"items\": [\(ids.joined(separator: ", "))]}"
        }.joined(separator: "\n") + "\n"
    }

    /// What `srgnn recommend --items … --json` prints (one line), or nil when it refuses the session.
    static func itemsAnswer(_ session: [String], options: [String] = []) throws -> String? {
        let result = try runSRGNN(["recommend", "--model", modelPath, "--items=" + session.joined(separator: ","), "--json"] + options)
        return result.status == 0 ? result.output.trimmingCharacters(in: .newlines) : nil
    }

    /// A batch output line's `{"items":[…]}` part, as `--json` prints it (keys are sorted, so
    /// "items" comes first and "session_id" right after it).
    static func itemsPart(_ line: Substring) throws -> String {
        let end = try #require(line.range(of: ",\"session_id\":"))
        return String(line[..<end.lowerBound]) + "}"
    }

    static func run(_ input: String, _ options: [String]) throws -> (status: Int32, output: String, error: String) {
        try runSRGNN(["recommend", "--model", modelPath, "--input", input] + options)
    }

    @Test("each line equals recommend --items --json, in input order, unknown items listed")
    func linesEqualRecommendItems() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sessions = Self.sessions(24, seed: 1)
        let input = try folder.file("sessions.jsonl", Self.jsonLines(sessions))
        let output = folder.path + "/recs.jsonl"
        let result = try Self.run(input, ["--output", output, "--k", "7", "--chunk-lines", "5", "--threads", "2"])
        #expect(result.status == 0, "\(result.error)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == sessions.count)
        var unknownTotal = 0
        for (index, (line, session)) in zip(lines, sessions).enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if index % 2 == 0 {
                #expect(object["session_id"] as? String == "s\(index)")
            } else {
                #expect(object["session_id"] as? Int == 1000 + index)
            }
            let unknown = session.filter { !Self.rawIDs.contains($0) }
            unknownTotal += unknown.count
            #expect((object["unknown_items"] as? [Any])?.map { "\($0)" } == unknown, "line \(index + 1)")
            if let expected = try Self.itemsAnswer(session, options: ["--k", "7"]) {
                #expect(try Self.itemsPart(line) == expected, "line \(index + 1)")
            } else {
                #expect((object["items"] as? [Any])?.isEmpty == true, "line \(index + 1): a session of unknown items only")
            }
        }
        #expect(result.error.contains("\(sessions.count) sessions, 0 skipped, \(unknownTotal) unknown items"), "\(result.error)")
    }

    @Test("chunk sizes and thread counts give the same bytes; stdout without --output", arguments: [1, 3, 24, 1_000])
    func chunkingDoesNotChangeTheOutput(chunkLines: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // 24 sessions and a blank line in the middle (ignored).
        var text = Self.jsonLines(Self.sessions(24, seed: 2))
        text = text.replacingOccurrences(of: "\n{\"session_id\": 1011", with: "\n\n{\"session_id\": 1011")
        let input = try folder.file("sessions.jsonl", text)
        let reference = try Self.run(input, ["--threads", "1"])
        #expect(reference.status == 0, "\(reference.error)")
        #expect(reference.output.split(separator: "\n").count == 24)
        let chunked = try Self.run(input, ["--chunk-lines", "\(chunkLines)", "--threads", "2", "--output", folder.path + "/out.jsonl"])
        #expect(chunked.status == 0, "\(chunked.error)")
        #expect(try String(contentsOfFile: folder.path + "/out.jsonl", encoding: .utf8) == reference.output)
    }

    @Test("--exclude-seen leaves out the session's items, as --items --exclude-seen does")
    func excludeSeen() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sessions = Self.sessions(10, seed: 3).map { $0.filter { Self.rawIDs.contains($0) } }.filter { !$0.isEmpty }
        let input = try folder.file("sessions.jsonl", Self.jsonLines(sessions))
        let result = try Self.run(input, ["--exclude-seen", "--k", "9", "--chunk-lines", "4"])
        #expect(result.status == 0, "\(result.error)")
        for (line, session) in zip(result.output.split(separator: "\n"), sessions) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let ids = try #require(object["items"] as? [[String: Any]]).map { "\($0["id"]!)" }
            #expect(ids.count == 9)
            #expect(Set(ids).isDisjoint(with: session), "\(ids) \(session)")
            #expect(try Self.itemsPart(line) == Self.itemsAnswer(session, options: ["--k", "9", "--exclude-seen"]))
        }
    }

    @Test("a session of unknown items only gets empty items and is counted")
    func unknownOnlySession() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file(
            "sessions.jsonl",
            """
            {"session_id": "a", "items": ["nope", 99999]}
            {"session_id": "b", "items": ["a17", "nope"]}
            """)
        let result = try Self.run(input, [])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.first == #"{"items":[],"session_id":"a","unknown_items":["nope",99999]}"#)
        #expect(lines.last?.hasSuffix(#""session_id":"b","unknown_items":["nope"]}"#) == true)
        #expect(result.error.contains("2 sessions, 0 skipped, 3 unknown items, 1 sessions with no known item"), "\(result.error)")
    }

    @Test(
        "a bad line stops the run with its file and line number, and leaves no output file",
        arguments: [
            (#"{"session_id": 3, "items": [1.5]}"#, #"line 3: "items[0]" must be a string or an integer"#),
            (#"{"session_id": 3, "items": [null]}"#, #"line 3: "items[0]" must be a string or an integer"#),
            (#"{"session_id": 3, "items": []}"#, #"line 3: "items" is empty"#),
            (#"{"session_id": 3}"#, #"line 3: "items" is missing"#),
            (#"{"items": ["a17"]}"#, #"line 3: "session_id" is missing"#),
            (#"{"session_id": 2.5, "items": ["a17"]}"#, #"line 3: "session_id" must be a string or an integer"#),
            (#"{"session_id": 3, "items": "a17"}"#, #"line 3: "items" must be an array of item ids"#),
            (#"{"session_id": 3, "items": ["a17"]"#, "line 3: not valid JSON"),
            (#"["a17"]"#, "line 3: the line is not a JSON object"),
        ])
    func badLine(line: String, message: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file(
            "sessions.jsonl", Self.jsonLines(Self.sessions(2, seed: 4)) + line + "\n" + Self.jsonLines(Self.sessions(3, seed: 5)))
        let output = folder.path + "/recs.jsonl"
        let result = try Self.run(input, ["--output", output, "--chunk-lines", "2"])
        #expect(result.status != 0)
        #expect(result.error.contains("\(input): \(message)"), "\(result.error)")
        // Nothing under the final name, and no temporary file left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["sessions.jsonl"])
    }

    @Test("--skip-invalid reports bad lines (the first ten), skips them and counts them")
    func skipInvalid() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let good = Self.sessions(5, seed: 6)
        var lines = Self.jsonLines(good).split(separator: "\n").map(String.init)
        // Twelve bad lines after the second good one, and an over-long one (over 1 MiB) at the end.
        lines.insert(contentsOf: (0..<12).map { _ in "not json" }, at: 2)
        lines.append(#"{"session_id": "long", "items": [""# + String(repeating: "x", count: 1 << 20) + #""]}"#)
        let input = try folder.file("sessions.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try Self.run(input, ["--skip-invalid", "--chunk-lines", "4", "--output", folder.path + "/out.jsonl"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("skipped: \(input): line 3: not valid JSON"), "\(result.error)")
        #expect(result.error.contains("skipped: \(input): line 12: not valid JSON"))
        #expect(!result.error.contains("line 13: not valid JSON"))
        #expect(result.error.contains("5 sessions, 13 skipped (3 more not shown)"), "\(result.error)")
        let written = try String(contentsOfFile: folder.path + "/out.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(written.count == 5)
        // The session after the bad lines is answered as usual.
        #expect(try Self.itemsPart(written[2]) == Self.itemsAnswer(good[2]))

        let stopped = try Self.run(input, ["--chunk-lines", "100"])
        #expect(stopped.status != 0)
        #expect(stopped.error.contains("\(input): line 3: not valid JSON"), "\(stopped.error)")
    }

    @Test("a line over 1 MiB is an error naming it")
    func overlongLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file(
            "sessions.jsonl",
            #"{"session_id": 1, "items": ["a17"]}"# + "\n"
                + #"{"session_id": 2, "items": [""# + String(repeating: "7", count: 2 << 20) + "\"]}\n")
        let result = try Self.run(input, [])
        #expect(result.status != 0)
        #expect(
            result.error.contains("\(input): line 2: the line is longer than 1048576 bytes (the limit for one session line)"),
            "\(result.error.prefix(300))")
        #expect(result.error.count < 600)
    }

    @Test(
        "--items and --input: exactly one; the batch options need --input",
        arguments: [
            (["--items", "a17", "--input", "x.jsonl"], "--items and --input cannot be used together"),
            ([], "give --items (one session, e.g. --items 3,17,5) or --input"),
            (["--items", "a17", "--output", "x.jsonl"], "--output applies to --input, not to --items"),
            (["--items", "a17", "--skip-invalid"], "--skip-invalid applies to --input, not to --items"),
            (["--input", "x.jsonl", "--threads", "0"], "--threads must be in 1...256, got 0"),
        ])
    func optionErrors(arguments: [String], message: String) throws {
        let result = try runSRGNN(["recommend", "--model", Self.modelPath] + arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "\(result.error)")
    }

    @Test("output lines assembled from pieces equal JSONText's encoding of the whole line")
    func assembledLinesEqualTheEncoder() throws {
        let batch = BatchRecommendation(
            recommender: try Recommender(contentsOf: Self.modelPath), k: 20, excludeSeen: false,
            skipInvalid: false, threads: 1, chunkLines: 10)
        var rng = SeededGenerator(seed: 9)
        // Vocabulary ids and others (written by the fallback): quotes, commas, a backslash, unicode, "-0".
        let ids = Self.rawIDs + [#"a,"b"#, #"c\d"#, "é 🙂", "-0", "99999999999999999999", "12", "a/b", "<&>'", "", "-12"]
        let scores: [Float] = [0, -0.0, 1, -1.5, .leastNonzeroMagnitude, 3.4028235e38, 1e-5, 123456.79, .nan, .infinity, -.infinity, 0.1]
        var answers = [(line: BatchSessionLine, result: RecommendationResult)]()
        for index in 0..<40 {
            let count = Int(rng.uniform(0, 6))
            let items = (0..<count).map { _ in
                ScoredItem(
                    id: ids[min(ids.count - 1, Int(rng.uniform(0, Float(ids.count))))],
                    score: rng.uniform(0, 1) < 0.5
                        ? scores[min(scores.count - 1, Int(rng.uniform(0, Float(scores.count))))] : rng.uniform(-30, 30))
            }
            let sent = [
                JSONItemID(raw: "nope", form: .string), JSONItemID(raw: "-7", form: .number), JSONItemID(raw: "a17", form: .string),
            ]
            let sessionID = index % 3 == 0 ? JSONItemID(raw: "s\(index) \"q\"", form: .string) : JSONItemID(raw: "\(index)", form: .number)
            answers.append(
                (
                    BatchSessionLine(sessionID: sessionID, items: sent),
                    RecommendationResult(
                        items: items, unknownItems: index % 2 == 0 ? ["nope", "-7"] : [],
                        fallback: index % 5 == 1 ? .popularity : nil)
                ))
        }
        let assembled = batch.outputLines(answers)
        for (answer, line) in zip(answers, assembled) {
            let expected = try JSONText.data(
                BatchRecommendationLine(
                    sessionID: answer.line.sessionID,
                    response: RecommendationResponse(answer.result, sent: answer.line.items)))
            #expect(
                line == Array(expected) + [0x0A], "\(String(decoding: line, as: UTF8.self)) vs \(String(decoding: expected, as: UTF8.self))"
            )
        }
    }

    @Test("scores are written as JSONText writes them, over a million floats of every magnitude")
    func scoresAsTheEncoderWritesThem() throws {
        var rng = SeededGenerator(seed: 10)
        var floats: [Float] = [
            0, -0.0, 1, -1, 0.5, 100, 1e7, 1.5e7, 16_777_216, 1e-5, 1e-7, .leastNonzeroMagnitude,
            .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .nan, .infinity,
        ]
        for _ in 0..<1_000_000 {
            floats.append(
                Float(
                    bitPattern: UInt32(truncatingIfNeeded: Int(rng.uniform(0, 1) * 65_536)) << 16
                        | UInt32(truncatingIfNeeded: Int(rng.uniform(0, 1) * 65_536))))
        }
        let encoded = BatchRecommendation.elements(Array(try JSONText.data(floats.map { $0.isFinite ? $0 : nil })))
        #expect(encoded.count == floats.count)
        for (float, expected) in zip(floats, encoded) {
            var text = [UInt8]()
            BatchRecommendation.appendScore(float, to: &text)
            if text != Array(expected) {
                Issue.record(
                    "\(float.bitPattern): \(String(decoding: text, as: UTF8.self)) vs \(String(decoding: expected, as: UTF8.self))")
                return
            }
        }
    }

    @Test("a line's items are read as the service reads them (JSONItemID), every form")
    func itemsDecodeAsJSONItemID() throws {
        let values = [
            #"17"#, #""17""#, #""007""#, #"-0"#, #""-0""#, #"-5"#, #"9223372036854775807"#, #"9223372036854775808"#,
            #"1.5"#, #"1.0"#, #"1e3"#, #"true"#, #"null"#, #"{}"#, #"[]"#, #""a\"b""#, #""é""#, #"-9223372036854775808"#,
        ]
        for value in values {
            let line = #"{"session_id": 1, "items": ["# + value + "]}"
            let service = try? JSONDecoder().decode([JSONItemID].self, from: Data("[\(value)]".utf8))
            let batch = try? JSONDecoder().decode(BatchSessionLine.self, from: Data(line.utf8)).items
            #expect(batch == service, "\(value)")
        }
    }

    @Test("a line of the common form reads as the decoder reads it; any other goes to the decoder")
    func commonFormEqualsTheDecoder() throws {
        let ids = [
            #"17"#, #""17""#, #""007""#, #"-0"#, #""-0""#, #"-5"#, #"0"#, #"007"#, #"123456789012345678"#,
            #"9223372036854775807"#, #"1.5"#, #"1e3"#, #"true"#, #"null"#, #""a/b c""#, #""a\"b""#, #""é""#, #""""#, #"--5"#, #"5-"#,
        ]
        var lines = [String]()
        for id in ids {
            lines.append(#"{"session_id": 1, "items": [\#(id)]}"#)
            lines.append(#"{"items":[3,\#(id),4],"session_id":\#(id)}"#)
            lines.append(#" \#t{ "session_id" :"s" , "items" : [ \#(id) , 9 ] }\#r "#)
        }
        lines += [
            #"{"session_id": 1, "items": []}"#, #"{"session_id": 1}"#, #"{"items": [1]}"#, #"{"session_id": 1, "items": [1], "k": 3}"#,
            #"{"session_id": 1, "items": [1], "exclude": [2]}"#, #"{"session_id": 1, "session_id": 2, "items": [1]}"#,
            #"{"session_id": 1, "items": [1,]}"#, #"{"session_id": 1, "items": [1]} x"#, #"{"session_id": 1, "items": [1]"#,
            #"{"session_id": 1 "items": [1]}"#, #"[1]"#, "", #"{"session_id": [1], "items": [1]}"#,
            #"{"session_\u0069d": 1, "items": [1]}"#,
        ]
        var fast = 0
        for line in lines {
            let decoded = try? JSONDecoder().decode(BatchSessionLine.self, from: Data(line.utf8))
            let common = Array(line.utf8).withUnsafeBufferPointer { BatchSessionLine(commonForm: $0) }
            guard let common else { continue }
            fast += 1
            #expect(common.sessionID == decoded?.sessionID && common.items == decoded?.items && common.rules == decoded?.rules, "\(line)")
        }
        // The common form is taken for the lines that have it (plain ids, either key order, spacing).
        #expect(fast == 28, "\(fast) of \(lines.count) lines read in the common form")
    }

    @Test("--items takes --exclude-seen")
    func itemsExcludeSeen() throws {
        let all = try #require(try Self.itemsAnswer(["a17", "007"], options: ["--k", "60"]))
        let excluded = try #require(try Self.itemsAnswer(["a17", "007"], options: ["--k", "60", "--exclude-seen"]))
        #expect(all.contains(#""id":"a17""#) && all.contains(#""id":"007""#))
        #expect(!excluded.contains(#""id":"a17""#) && !excluded.contains(#""id":"007""#))
    }
}
