import Foundation
import Hummingbird
import HummingbirdTesting
import Recommending
import Serving
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport
@testable import SRGNNCLI

/// `srgnn recommend` with a catalog, item rules and the fallback: `--items` answers as the library
/// does, and every `--input` line's items are, byte for byte, what `--items --json` prints and what
/// the service answers for the same session and rules.
@Suite("srgnn recommend: catalog, rules, fallback")
struct RulesCommandTests {
    static let rawIDs = BatchRecommendTests.rawIDs
    static let colours = ["red", "green", "blue"]

    /// A checkpoint with recent popularity and a JSON-lines catalog (sizes as JSON numbers; "42"
    /// has no row), written once per test process.
    static let files: (model: String, catalog: String) = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "srgnn-rules-cli-\(ProcessInfo.processInfo.processIdentifier)"
        ).path
        try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let configuration = SRGNNConfiguration(itemCount: rawIDs.count, hiddenSize: 10)
        var metadata = CheckpointMetadata(
            model: configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs), epoch: 0, metrics: [:],
            training: nil, history: nil)
        metadata.recentPopularity = RecentPopularity(
            fraction: 0.1, sessions: 30, items: [3, 1, 57, 20, 8, 5, 11, 40],
            clicks: [80, 70, 60, 50, 40, 30, 20, 10])
        let model = folder + "/model.safetensors"
        try! LoadedModel.save(model: try! SRGNNModel(configuration: configuration, seed: 12), metadata: metadata, to: model)
        let lines = rawIDs.enumerated().filter { $0.element != "42" }.map { index, raw in
            let id = index + 1
            return #"{"id": "\#(raw)", "available": \#(id % 6 != 0), "colour": "\#(colours[id % 3])", "size": \#(id % 4)}"#
        }
        let catalog = folder + "/items.jsonl"
        try! (lines.joined(separator: "\n") + "\n").write(toFile: catalog, atomically: true, encoding: .utf8)
        return (model, catalog)
    }()

    static func recommend(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        try runSRGNN(["recommend", "--model", files.model, "--catalog", files.catalog] + arguments)
    }

    /// The library's answer, as `--items --json` prints it.
    static func libraryJSON(_ query: RecommendationQuery, fallback: Fallback = .popularity) throws -> String {
        let recommender = Recommender(
            model: try LoadedModel.load(from: files.model), catalog: try Catalog.load(from: files.catalog), fallback: fallback)
        let result = try recommender.recommend([query])[0]
        return try JSONText.string(RecommendationResponse(items: result.items, unknownItems: nil, fallback: result.fallback))
    }

    @Test(
        "--items takes each rule, alone and together, and answers as the library does",
        arguments: [
            (["--exclude", "501,a17,nope"], RecommendationQuery(session: ["503", "a17"], k: 20, exclude: ["501", "a17", "nope"])),
            (["--filter", "colour=red,blue"], RecommendationQuery(session: ["503", "a17"], k: 20, filter: ["colour": ["red", "blue"]])),
            (
                ["--filter", "size=2", "--filter", "colour=green"],
                RecommendationQuery(session: ["503", "a17"], k: 20, filter: ["size": ["2"], "colour": ["green"]])
            ),
            (["--include-unavailable"], RecommendationQuery(session: ["503", "a17"], k: 20, includeUnavailable: true)),
            (
                ["--candidates", "510,007,zz,530"],
                RecommendationQuery(session: ["503", "a17"], k: 20, candidates: ["510", "007", "zz", "530"])
            ),
            (
                [
                    "--exclude", "510", "--filter", "colour=red", "--include-unavailable", "--candidates", "510,513,516,519,nope",
                    "--exclude-seen",
                ],
                RecommendationQuery(
                    session: ["503", "a17"], k: 20, excludeSeen: true, exclude: ["510"], filter: ["colour": ["red"]],
                    includeUnavailable: true,
                    candidates: ["510", "513", "516", "519", "nope"])
            ),
        ])
    func itemsTakesEachRule(flags: [String], query: RecommendationQuery) throws {
        let result = try Self.recommend(["--items", "503,a17", "--json"] + flags)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.trimmingCharacters(in: .newlines) == (try Self.libraryJSON(query)))
        #expect(!result.output.contains("fallback"))
    }

    @Test("--retrieval approximate rescoring every item answers as exact ranking, rules applied; a bad candidate count is refused")
    func approximateRetrieval() throws {
        let rules = ["--filter", "colour=red,blue", "--exclude", "510", "--k", "7"]
        let exact = try Self.recommend(["--items", "503,a17", "--json"] + rules)
        let approximate = try Self.recommend(
            ["--items", "503,a17", "--json", "--retrieval", "approximate", "--retrieval-candidates", "\(Self.rawIDs.count)"] + rules)
        #expect(exact.status == 0 && approximate.status == 0, "\(approximate.error)")
        #expect(approximate.output == exact.output && exact.output.contains(#""items":[{"#))
        let refused = try Self.recommend(["--items", "503", "--retrieval", "approximate", "--retrieval-candidates", "0"])
        #expect(refused.status != 0 && refused.error.contains("--retrieval-candidates must be in 1...100000"), "\(refused.error)")
        let unknown = try Self.recommend(["--items", "503", "--retrieval", "hnsw"])
        #expect(unknown.status != 0 && unknown.error.contains("retrieval"), "\(unknown.error)")
    }

    @Test("a session with no known item gets the recent popular items, rules applied; --fallback none refuses it")
    func fallback() throws {
        for items in ["", "nope,zz"] {
            let result = try Self.recommend(["--items", items, "--json", "--filter", "colour=red,green", "--k", "3"])
            #expect(result.status == 0, "\(result.error)")
            let session = items.isEmpty ? [] : items.split(separator: ",").map(String.init)
            let expected = try Self.libraryJSON(RecommendationQuery(session: session, k: 3, filter: ["colour": ["red", "green"]]))
            #expect(result.output.trimmingCharacters(in: .newlines) == expected)
            #expect(expected.hasPrefix(#"{"fallback":"popularity","items":[{"id":"#))
            #expect(result.error.contains("note: no known item in the session: answered with the checkpoint's recent most clicked items"))
            let refused = try Self.recommend(["--items", items, "--fallback", "none"])
            #expect(refused.status != 0)
            #expect(
                refused.error.contains(items.isEmpty ? "the session has no items" : "none of the session's items is known"),
                "\(refused.error)")
        }
        // Text output too: rank, id, click count.
        let text = try Self.recommend(["--items", "nope", "--k", "2"])
        #expect(text.output == "1\t503\t80.0\n2\t501\t70.0\n", "\(text.output)")
    }

    @Test("--input: empty and all-unknown sessions get the fallback, counted; --fallback none keeps the old answers")
    func batchFallback() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file(
            "sessions.jsonl",
            """
            {"session_id": "e", "items": [], "filter": {"colour": ["green"]}}
            {"session_id": "u", "items": ["nope"], "candidates": [501, 504, "zz"]}
            {"session_id": "k", "items": [503]}
            """)
        let result = try Self.recommend(["--input", input, "--k", "2"])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        let green = try Self.libraryJSON(RecommendationQuery(session: [], k: 2, filter: ["colour": ["green"]]))
        #expect(lines.first == String(green.dropLast()) + #","session_id":"e","unknown_items":[]}"#)
        // Only popular items among the candidates: 504 is not one.
        #expect(
            lines.dropFirst().first
                == #"{"fallback":"popularity","items":[{"id":501,"score":70}],"session_id":"u","unknown_items":["nope","zz"]}"#, "\(lines)")
        #expect(lines.last?.hasPrefix(#"{"items":["#) == true)
        #expect(result.error.contains("3 sessions, 0 skipped, 2 unknown items, 2 sessions with no known item"), "\(result.error)")
        let strict = try Self.recommend(["--input", input, "--fallback", "none"])
        #expect(strict.status != 0 && strict.error.contains(#"\#(input): line 1: "items" is empty"#), "\(strict.error)")
    }

    @Test(
        "bad rule flags and catalogs are errors that say what to fix",
        arguments: [
            (["--filter", "colour"], "--filter 'colour': expected attribute=value[,value…]"),
            (["--filter", "=red"], "--filter '=red': expected attribute=value"),
            (["--filter", "colour="], "--filter colour= is empty: give at least one value"),
            (["--filter", "colour=red,,blue"], "--filter colour=: the value at position 2 is empty"),
            (["--exclude", ""], "--exclude is empty"),
            (["--candidates", "1,"], "--candidates: the value at position 2 is empty"),
            (["--fallback", "sometimes"], "--fallback"),
            (["--filter", "weight=1"], "the catalog has no attribute 'weight' (it has: colour, size)"),
        ])
    func badFlags(flags: [String], message: String) throws {
        let result = try Self.recommend(["--items", "503"] + flags)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "\(result.error)")
    }

    @Test("a filter without a catalog, a missing or malformed catalog: errors naming the file and line")
    func catalogErrors() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let noCatalog = try runSRGNN(["recommend", "--model", Self.files.model, "--items", "503", "--filter", "colour=red"])
        #expect(noCatalog.status != 0 && noCatalog.error.contains("--filter needs --catalog"), "\(noCatalog.error)")
        // A line's filter without a catalog: the line is refused, naming it.
        let lines = try folder.file("sessions.jsonl", #"{"session_id": 1, "items": ["503"], "filter": {"colour": ["red"]}}"# + "\n")
        let noCatalogLine = try runSRGNN(["recommend", "--model", Self.files.model, "--input", lines])
        #expect(
            noCatalogLine.status != 0 && noCatalogLine.error.contains(#"\#(lines): line 1: "filter": no catalog is loaded"#),
            "\(noCatalogLine.error)")
        let missing = try runSRGNN(["recommend", "--model", Self.files.model, "--items", "503", "--catalog", folder.path + "/none.csv"])
        #expect(missing.status != 0 && missing.error.contains(folder.path + "/none.csv"), "\(missing.error)")
        let bad = try folder.file("items.csv", "id,available,colour\n503,true,red\n504,perhaps,blue\n")
        let malformed = try runSRGNN(["recommend", "--model", Self.files.model, "--items", "503", "--catalog", bad])
        #expect(malformed.status != 0)
        #expect(malformed.error.contains("\(bad): line 3: field 'available': expected true/false"), "\(malformed.error)")
    }

    @Test("a line's rules apply over the flags': exclude lists united, filter attributes replaced, the rest replaced")
    func lineRulesOverFlags() throws {
        let flags = ItemRules(
            exclude: [JSONItemID("1"), JSONItemID("2")], filter: ["colour": [.init("red")], "size": [.init("1")]],
            includeUnavailable: true, candidates: [JSONItemID("9")])
        let line = ItemRules(exclude: [JSONItemID("3")], filter: ["colour": [.init("blue")]], includeUnavailable: false)
        let rules = line.applied(over: flags)
        #expect(rules.exclude?.map(\.raw) == ["1", "2", "3"])
        #expect(rules.filter == ["colour": [.init("blue")], "size": [.init("1")]])
        #expect(rules.includeUnavailable == false)
        #expect(rules.candidates?.map(\.raw) == ["9"])
        #expect(ItemRules().applied(over: flags) == flags)
        #expect(ItemRules(candidates: []).applied(over: flags).candidates == [])
    }

    @Test(
        "a line with a bad rule stops the run naming the line and the field",
        arguments: [
            (#"{"session_id": 1, "items": ["503"], "filter": {"colour": "red"}}"#, #"line 2: "filter.colour" has the wrong type"#),
            (
                #"{"session_id": 1, "items": ["503"], "filter": {"colour": [true]}}"#,
                #"line 2: "filter.colour[0]" has the wrong type (expected a string or a number)"#
            ),
            (#"{"session_id": 1, "items": ["503"], "exclude": [1.5]}"#, #"line 2: "exclude[0]" must be a string or an integer"#),
            (
                #"{"session_id": 1, "items": ["503"], "include_unavailable": 1}"#,
                #"line 2: "include_unavailable" has the wrong type (expected true or false)"#
            ),
            (
                #"{"session_id": 1, "items": ["503"], "filter": {"weight": [1]}}"#,
                #"line 2: "filter": the catalog has no attribute 'weight'"#
            ),
        ])
    func badLineRules(line: String, message: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file("sessions.jsonl", #"{"session_id": 0, "items": ["503"]}"# + "\n" + line + "\n")
        let result = try Self.recommend(["--input", input])
        #expect(result.status != 0)
        #expect(result.error.contains("\(input): \(message)"), "\(result.error)")
    }

    /// One random session with rules of its own, as JSON members (`"exclude": […], …`).
    struct Case {
        var items: [String]
        var exclude: [String]?
        var filter: [String: [String]]?
        var includeUnavailable: Bool?
        var candidates: [String]?

        static func ids(_ ids: [String]) -> String {
            "[" + ids.map { id in Int64(id).map { String($0) == id } == true ? id : "\"\(id)\"" }.joined(separator: ", ") + "]"
        }

        /// The rule members, each only when set.
        var ruleMembers: String {
            var members = [String]()
            if let exclude { members.append(#""exclude": \#(Self.ids(exclude))"#) }
            if let filter {
                let attributes = filter.keys.sorted().map { key in
                    // Sizes as JSON numbers, as in the catalog; colours as strings.
                    #""\#(key)": [\#(filter[key]!.map { key == "size" ? $0 : "\"\($0)\"" }.joined(separator: ", "))]"#
                }
                members.append(#""filter": {\#(attributes.joined(separator: ", "))}"#)
            }
            if let includeUnavailable { members.append(#""include_unavailable": \#(includeUnavailable)"#) }
            if let candidates { members.append(#""candidates": \#(Self.ids(candidates))"#) }
            return members.map { ", " + $0 }.joined()
        }

        /// These rules over the flags' (written out again here, not through `ItemRules.applied`).
        func merged(flagExclude: [String], flagFilter: [String: [String]]) -> Case {
            var merged = self
            merged.exclude = flagExclude + (exclude ?? [])
            merged.filter = flagFilter.merging(filter ?? [:]) { _, line in line }
            return merged
        }

        /// The same rules as `srgnn recommend` flags.
        var flags: [String] {
            var flags = [String]()
            // `--option=value`: an id such as -5 must not read as an option.
            if let exclude, !exclude.isEmpty { flags.append("--exclude=" + exclude.joined(separator: ",")) }
            for (attribute, values) in (filter ?? [:]).sorted(by: { $0.key < $1.key }) where !values.isEmpty {
                flags.append("--filter=\(attribute)=" + values.joined(separator: ","))
            }
            if includeUnavailable == true { flags.append("--include-unavailable") }
            if let candidates, !candidates.isEmpty { flags.append("--candidates=" + candidates.joined(separator: ",")) }
            return flags
        }
    }

    static func cases(_ count: Int, seed: UInt64) -> [Case] {
        var rng = SeededGenerator(seed: seed)
        func some(_ n: Int) -> [String] {
            (0..<n).map { _ in Int.random(in: 0..<10, using: &rng) == 0 ? "nope" : rawIDs.randomElement(using: &rng)! }
        }
        return (0..<count).map { index in
            var item = Case(items: index % 7 == 3 ? ["nope", "zz"] : some(Int.random(in: 1...5, using: &rng)))
            if Bool.random(using: &rng) { item.exclude = some(Int.random(in: 1...4, using: &rng)) }
            if Bool.random(using: &rng) {
                // Non-empty value lists, so that the flags can say the same.
                item.filter =
                    Bool.random(using: &rng)
                    ? ["colour": [colours.randomElement(using: &rng)!, "blue"]] : ["size": ["\(Int.random(in: 0..<4, using: &rng))"]]
            }
            if Int.random(in: 0..<3, using: &rng) == 0 { item.includeUnavailable = Bool.random(using: &rng) }
            if Int.random(in: 0..<4, using: &rng) == 0 { item.candidates = some(Int.random(in: 1...8, using: &rng)) }
            return item
        }
    }

    /// The `{"items":[…]}` part of a batch line or an HTTP answer (its other keys sort after
    /// "items", "fallback" before), as `--json` prints it.
    static func itemsPart(_ text: Substring, before key: String) throws -> String {
        let end = try #require(text.range(of: ",\"\(key)\":"))
        return String(text[..<end.lowerBound]) + "}"
    }

    @Test("with rules, each --input line's items equal --items --json and the service's answer, byte for byte")
    func batchEqualsItemsAndTheService() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let cases = Self.cases(14, seed: 31)
        let input = try folder.file(
            "sessions.jsonl",
            cases.enumerated().map { index, item in
                #"{"session_id": \#(index), "items": \#(Case.ids(item.items))\#(item.ruleMembers)}"#
            }.joined(separator: "\n") + "\n")
        let flagExclude = ["a17", "510"], flagFilter = ["colour": ["red", "green"]]
        let batch = try Self.recommend([
            "--input", input, "--k", "6", "--chunk-lines", "4", "--threads", "2",
            "--exclude", flagExclude.joined(separator: ","), "--filter", "colour=red,green",
        ])
        #expect(batch.status == 0, "\(batch.error)")
        let lines = batch.output.split(separator: "\n")
        try #require(lines.count == cases.count)

        let loader = ModelLoader(catalogPath: Self.files.catalog, fallback: .popularity)
        let app = try buildApplication(
            configuration: ServingConfiguration(port: 0, inferenceThreads: 1), model: try loader.load(Self.files.model))
        try await app.test(.router) { client in
            for (index, (line, item)) in zip(lines, cases).enumerated() {
                let merged = item.merged(flagExclude: flagExclude, flagFilter: flagFilter)
                let expected = try #require(
                    try Self.recommend(["--items=" + merged.items.joined(separator: ","), "--json", "--k", "6"] + merged.flags).output
                        .split(separator: "\n").first.map(String.init), "line \(index + 1)")
                #expect(try Self.itemsPart(line, before: "session_id") == expected, "line \(index + 1)")
                let response = try await client.execute(
                    uri: "/v1/recommendations", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"items": \#(Case.ids(merged.items)), "k": 6\#(merged.ruleMembers)}"#))
                #expect(response.status == .ok, "line \(index + 1): \(String(buffer: response.body))")
                let http = String(buffer: response.body)
                #expect(try Self.itemsPart(Substring(http), before: "model") == expected, "line \(index + 1)")
                // The unknown ids, the session's then the candidates', as the service lists them.
                let unknown = http[http.range(of: #""unknown_items":"#)!.upperBound...].dropLast()
                #expect(line.hasSuffix(#""session_id":\#(index),"unknown_items":\#(unknown)}"#), "line \(index + 1): \(line) vs \(http)")
            }
        }
        #expect(cases.contains { $0.items == ["nope", "zz"] } && batch.output.contains(#""fallback":"popularity""#))
    }
}
