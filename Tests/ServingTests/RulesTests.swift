import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Recommending
import Serving
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// A checkpoint over `Fixture.rawIDs` with recent popularity, and a catalog of its items.
// @unchecked: `TemporaryFolder` (another module's struct, so not inferred Sendable) holds only a path.
struct RulesFixture: @unchecked Sendable {
    /// Recent popularity, most clicked first: internal ids and their clicks.
    static let popular: [Int32] = [5, 1, 26, 12, 7, 3, 10]
    static let clicks: [Int] = [70, 60, 50, 40, 30, 20, 10]
    static let colours = ["red", "green", "blue"]

    let folder: TemporaryFolder
    let checkpoint: String
    let catalogPath: String
    /// The catalog as written: raw id → (available, colour, size). "42" has no row.
    let rows: [String: (available: Bool, colour: String, size: String)]

    init() throws {
        folder = try TemporaryFolder(prefix: "srgnn-rules")
        checkpoint = folder.path + "/model.safetensors"
        let configuration = SRGNNConfiguration(itemCount: Fixture.rawIDs.count, hiddenSize: 8)
        var metadata = CheckpointMetadata(
            model: configuration, vocabulary: ItemVocabulary(rawIDs: Fixture.rawIDs), epoch: 1,
            metrics: [:], training: nil, history: nil)
        metadata.recentPopularity = RecentPopularity(fraction: 0.1, sessions: 20, items: Self.popular, clicks: Self.clicks)
        try LoadedModel.save(model: try SRGNNModel(configuration: configuration, seed: 11), metadata: metadata, to: checkpoint)
        var rows = [String: (available: Bool, colour: String, size: String)]()
        for (index, raw) in Fixture.rawIDs.enumerated() where raw != "42" {
            let id = index + 1
            rows[raw] = (id % 5 != 0, Self.colours[id % 3], String(id % 4))
        }
        self.rows = rows
        catalogPath = try folder.file("items.csv", Self.csv(rows))
    }

    /// The catalog file's text, with a row for an item the model does not know.
    static func csv(_ rows: [String: (available: Bool, colour: String, size: String)]) -> String {
        "item_id,available,colour,size\n"
            + rows.keys.sorted().map { raw in
                let row = rows[raw]!
                return "\"\(raw)\",\(row.available),\(row.colour),\(row.size)"
            }.joined(separator: "\n") + "\n\"new-item\",true,red,1\n"
    }

    func loader(fallback: Fallback = .popularity, catalog: Bool = true) -> ModelLoader {
        ModelLoader(catalogPath: catalog ? catalogPath : nil, fallback: fallback)
    }

    func app(
        fallback: Fallback = .popularity, catalog: Bool = true,
        configuration: ServingConfiguration = ServingConfiguration(port: 0, inferenceThreads: 2),
        token: AdminToken? = nil
    ) throws -> some ApplicationProtocol {
        try buildApplication(
            configuration: configuration, model: try loader(fallback: fallback, catalog: catalog).load(checkpoint),
            adminToken: token, logger: ReloadFixture.quiet)
    }

    /// Whether a rule set lets `raw` through (the catalog's availability and values, `exclude`).
    func allows(_ raw: String, filter: [String: [String]], exclude: Set<String>, includeUnavailable: Bool) -> Bool {
        if exclude.contains(raw) { return false }
        let row = rows[raw]
        if !includeUnavailable && row?.available == false { return false }
        for (attribute, values) in filter {
            guard let row else { return false }
            if !values.contains(attribute == "colour" ? row.colour : row.size) { return false }
        }
        return true
    }

    /// The recent popular items a cold session gets under a rule set, best first.
    func popularAnswer(filter: [String: [String]] = [:], exclude: Set<String> = [], k: Int = 20) -> [ScoredItem<String>] {
        let items = zip(Self.popular, Self.clicks).map { ScoredItem(id: Fixture.rawIDs[Int($0) - 1], score: Float($1)) }
        return Array(items.filter { allows($0.id, filter: filter, exclude: exclude, includeUnavailable: false) }.prefix(k))
    }
}

extension TestResponse {
    /// The answer's items as (raw id, score).
    var scoredItems: [ScoredItem<String>] {
        get throws {
            try (json["items"] as? [[String: Any]] ?? []).map { ScoredItem(id: rawID($0["id"]) ?? "?", score: score($0["score"]) ?? .nan) }
        }
    }
}

/// Item rules, the catalog and the cold-session fallback over HTTP.
@Suite struct RulesTests {
    let session = #"["1003", "a17", "1005"]"#

    @Test func excludeLeavesOutTheGivenItemsAndIgnoresUnknownOnes() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let all = try await client.post("/v1/recommendations", #"{"items": \#(session), "k": 29, "include_unavailable": true}"#)
            #expect(try all.scoredItems.count == 29)
            let top = try all.scoredItems.prefix(3).map(\.id)
            let body =
                #"{"items": \#(session), "k": 29, "include_unavailable": true, "exclude": [\#(top.map { "\"\($0)\"" }.joined(separator: ", ")), "nope"]}"#
            let excluded = try await client.post("/v1/recommendations", body)
            #expect(excluded.status == .ok, "\(excluded.text)")
            #expect(try excluded.scoredItems == Array(try all.scoredItems.dropFirst(3)))
            // An unknown excluded id is not an unknown item of the session.
            #expect(try excluded.json["unknown_items"] as? [Any] != nil)
            #expect(excluded.text.hasSuffix(#""unknown_items":[]}"#))
        }
    }

    @Test func filterAndAvailabilityFollowTheCatalog() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let red = try await client.post(
                "/v1/recommendations", #"{"items": \#(session), "k": 29, "filter": {"colour": ["red", "blue"]}}"#)
            #expect(red.status == .ok, "\(red.text)")
            let ids = try red.scoredItems.map(\.id)
            let expected = Fixture.rawIDs.filter {
                fixture.allows($0, filter: ["colour": ["red", "blue"]], exclude: [], includeUnavailable: false)
            }
            #expect(Set(ids) == Set(expected))
            #expect(ids.count == expected.count)
            // Unavailable items come back only when asked for; "42" has no row, so it is available.
            let plain = try await client.post("/v1/recommendations", #"{"items": \#(session), "k": 29}"#).scoredItems.map(\.id)
            let unavailable = Set(fixture.rows.filter { !$0.value.available }.keys)
            #expect(!unavailable.isEmpty && Set(plain).isDisjoint(with: unavailable))
            #expect(plain.contains("42") && plain.count == 29 - unavailable.count)
            let everything = try await client.post("/v1/recommendations", #"{"items": \#(session), "k": 29, "include_unavailable": true}"#)
            #expect(try Set(everything.scoredItems.map(\.id)) == Set(Fixture.rawIDs))
            // Two attributes: an item must match both.
            let both = try await client.post(
                "/v1/recommendations", #"{"items": \#(session), "k": 29, "filter": {"colour": ["green"], "size": ["1"]}}"#)
            #expect(
                try Set(both.scoredItems.map(\.id))
                    == Set(
                        Fixture.rawIDs.filter {
                            fixture.allows($0, filter: ["colour": ["green"], "size": ["1"]], exclude: [], includeUnavailable: false)
                        }))
        }
    }

    /// Values compare by the catalog's one rule (issue 29, item 4): text that reads as a number
    /// compares by its value, sent as a number or a string (2, 2.0, "2.0" match "2", as
    /// `--filter size=2.0` does); other text as written (" 2" does not).
    @Test func filterNumbersMatchAsTheirShortestText() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        let expected = Set(Fixture.rawIDs.filter { fixture.allows($0, filter: ["size": ["2"]], exclude: [], includeUnavailable: false) })
        try #require(!expected.isEmpty)
        try await fixture.app().test(.router) { client in
            for value in ["2", #""2""#, "2.0", "2e0", #""2.0""#] {
                let response = try await client.post(
                    "/v1/recommendations", #"{"items": \#(session), "k": 29, "filter": {"size": [\#(value)]}}"#)
                #expect(response.status == .ok)
                #expect(try Set(response.scoredItems.map(\.id)) == expected, "\(value)")
            }
            for value in ["2.5", #"" 2""#, #""02""#] {
                let response = try await client.post(
                    "/v1/recommendations", #"{"items": \#(session), "k": 29, "filter": {"size": [\#(value)]}}"#)
                #expect(response.status == .ok)
                #expect(try response.scoredItems.isEmpty, "\(value)")
            }
        }
    }

    @Test func candidatesKeepTheirFullRankingScoresAndListUnknownOnesAfterTheSessions() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let full = try await client.post(
                "/v1/recommendations", #"{"items": ["1003", "zz", "a17"], "k": 29, "include_unavailable": true}"#)
            let scores = Dictionary(uniqueKeysWithValues: try full.scoredItems.map { ($0.id, $0.score) })
            let response = try await client.post(
                "/v1/recommendations",
                #"{"items": ["1003", "zz", "a17"], "k": 29, "include_unavailable": true, "candidates": [1010, "007", "q", 1002, 77, "x y"]}"#
            )
            #expect(response.status == .ok, "\(response.text)")
            let items = try response.scoredItems
            #expect(Set(items.map(\.id)) == ["1010", "007", "1002", "x y"])
            for item in items { #expect(item.score == scores[item.id], "\(item.id)") }
            #expect(items.map(\.score) == items.map(\.score).sorted(by: >))
            // The session's unknown ids, then the candidates', each in the form sent.
            #expect(response.text.hasSuffix(#""unknown_items":["zz","q",77]}"#), "\(response.text)")
            // The rules apply to candidates too, and k cuts the list.
            let ruled = try await client.post(
                "/v1/recommendations",
                #"{"items": ["1003"], "k": 2, "include_unavailable": true, "exclude": ["1010"], "candidates": [1010, "007", 1002, "x y"]}"#)
            #expect(try ruled.scoredItems.count == 2 && !ruled.scoredItems.contains { $0.id == "1010" })
        }
    }

    @Test func batchSessionsHaveRulesOfTheirOwn() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let response = try await client.post(
                "/v1/recommendations/batch",
                """
                {"sessions": [{"items": ["1003"], "filter": {"colour": ["red"]}},
                              {"items": ["1003"], "exclude": [1001], "candidates": [1001, 1002, "nope"]},
                              {"items": ["nope"], "filter": {"size": [1]}},
                              {"items": ["1003"], "include_unavailable": true}],
                 "k": 29}
                """)
            #expect(response.status == .ok, "\(response.text)")
            let results = try #require(try response.json["results"] as? [[String: Any]])
            #expect(results.count == 4)
            func ids(_ index: Int) -> [String] { (results[index]["items"] as? [[String: Any]] ?? []).compactMap { rawID($0["id"]) } }
            #expect(
                Set(ids(0))
                    == Set(
                        Fixture.rawIDs.filter { fixture.allows($0, filter: ["colour": ["red"]], exclude: [], includeUnavailable: false) }))
            #expect(ids(1) == ["1002"])
            #expect(results[1]["unknown_items"] as? [String] == ["nope"])
            #expect(ids(2) == fixture.popularAnswer(filter: ["size": ["1"]]).map(\.id))
            #expect(results[2]["fallback"] as? String == "popularity")
            #expect(results[0]["fallback"] == nil && results[1]["fallback"] == nil && results[3]["fallback"] == nil)
            #expect(ids(3).count == 29)
        }
    }

    /// Fields the service does not know are ignored, beside the ones it does.
    @Test func unknownFieldsAreIgnored() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let single = try await client.post(
                "/v1/recommendations",
                #"{"items": ["1003"], "k": 3, "session_id": "s-1", "recommendation_id": "r-9", "extra": {"a": [1]}}"#)
            let count = try single.scoredItems.count
            #expect(single.status == .ok && count == 3, "\(single.text)")
            let batch = try await client.post(
                "/v1/recommendations/batch",
                #"{"sessions": [{"items": ["1003"], "session_id": "s-1", "weight": 2}], "k": 3, "recommendation_id": "r"}"#)
            #expect(batch.status == .ok, "\(batch.text)")
        }
    }

    @Test func coldSessionsGetTheRecentPopularItemsWithRulesApplied() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            for items in ["[]", #"["nope", 12345]"#] {
                let response = try await client.post("/v1/recommendations", #"{"items": \#(items), "k": 4}"#)
                #expect(response.status == .ok, "\(response.text)")
                #expect(try response.scoredItems == fixture.popularAnswer(k: 4))
                #expect(response.text.hasPrefix(#"{"fallback":"popularity","items":["#), "\(response.text)")
                let ruled = try await client.post(
                    "/v1/recommendations",
                    #"{"items": \#(items), "filter": {"colour": ["red", "green"]}, "exclude": ["1005"]}"#)
                #expect(try ruled.scoredItems == fixture.popularAnswer(filter: ["colour": ["red", "green"]], exclude: ["1005"]))
            }
            let unknown = try await client.post("/v1/recommendations", #"{"items": ["nope", 12345]}"#)
            #expect(unknown.text.hasSuffix(#""unknown_items":["nope",12345]}"#))
            // A session the model knows is scored by the model, and says nothing of a fallback.
            let warm = try await client.post("/v1/recommendations", #"{"items": ["1003"]}"#)
            #expect(warm.status == .ok && !warm.text.contains("fallback"))
        }
    }

    @Test func withoutTheFallbackColdSessionsAre422() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app(fallback: .none).test(.router) { client in
            let empty = try await client.post("/v1/recommendations", #"{"items": []}"#)
            #expect(empty.status == .unprocessableContent && empty.errorCode == "empty_session")
            let unknown = try await client.post("/v1/recommendations", #"{"items": ["nope"], "filter": {"colour": ["red"]}}"#)
            #expect(unknown.status == .unprocessableContent && unknown.errorCode == "no_known_items")
            let batch = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": ["1003"]}, {"items": []}]}"#)
            #expect(batch.status == .unprocessableContent && batch.errorMessage.contains("sessions[1]"))
            let model = try await client.get("/v1/model").json
            #expect(model["fallback"] as? String == "none")
        }
    }

    @Test func filtersNeedACatalogThatHasTheAttribute() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let unknown = try await client.post("/v1/recommendations", #"{"items": ["1003"], "filter": {"weight": ["1"]}}"#)
            #expect(unknown.status == .badRequest && unknown.errorCode == "invalid_filter")
            #expect(unknown.errorMessage == "the catalog has no attribute 'weight' (it has: colour, size)")
            // Checked for cold sessions too, and named by index in a batch.
            let batch = try await client.post(
                "/v1/recommendations/batch",
                #"{"sessions": [{"items": ["1003"]}, {"items": [], "filter": {"Colour": ["red"]}}]}"#)
            #expect(batch.status == .badRequest && batch.errorCode == "invalid_filter")
            #expect(batch.errorMessage.hasPrefix("sessions[1]: the catalog has no attribute 'Colour'"), "\(batch.errorMessage)")
        }
        try await fixture.app(catalog: false).test(.router) { client in
            let response = try await client.post("/v1/recommendations", #"{"items": ["1003"], "filter": {"colour": ["red"]}}"#)
            #expect(response.status == .badRequest && response.errorCode == "invalid_filter")
            #expect(response.errorMessage.contains("no catalog is loaded"))
            // The other rules need no catalog.
            let plain = try await client.post(
                "/v1/recommendations", #"{"items": ["1003"], "k": 3, "exclude": [1001], "include_unavailable": true}"#)
            #expect(plain.status == .ok)
            let model = try await client.get("/v1/model").json
            #expect(model["catalog"] == nil)
        }
    }

    @Test(arguments: [
        (#""exclude": "1001""#, #""exclude" has the wrong type"#),
        (#""exclude": [1001, 2.5]"#, #""exclude[1]" must be an item id"#),
        (#""candidates": [true]"#, #""candidates[0]" must be an item id"#),
        (#""candidates": {"a": 1}"#, #""candidates" has the wrong type"#),
        (#""filter": ["red"]"#, #""filter" has the wrong type"#),
        (#""filter": {"colour": "red"}"#, #""filter.colour" has the wrong type"#),
        (#""filter": {"colour": [true]}"#, #""filter.colour[0]" has the wrong type (expected a string or a number)"#),
        (#""filter": {"colour": [null]}"#, #""filter.colour[0]" has the wrong type (expected a string or a number)"#),
        (#""include_unavailable": "yes""#, #""include_unavailable" has the wrong type (expected true or false)"#),
    ])
    func badRuleTypesAre400NamingTheField(field: String, message: String) async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let response = try await client.post("/v1/recommendations", #"{"items": ["1003"], \#(field)}"#)
            #expect(response.status == .badRequest && response.errorCode == "invalid_request")
            #expect(response.errorMessage.contains(message), "\(response.errorMessage)")
            let batch = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": ["1003"], \#(field)}]}"#)
            #expect(batch.status == .badRequest && batch.errorCode == "invalid_request")
            #expect(batch.errorMessage.contains("sessions[0]."), "\(batch.errorMessage)")
        }
    }

    @Test func longRuleListsAre413() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        let configuration = ServingConfiguration(port: 0, inferenceThreads: 1, maxRuleItems: 3)
        try await fixture.app(configuration: configuration).test(.router) { client in
            let fits = try await client.post(
                "/v1/recommendations", #"{"items": ["1003"], "exclude": [1, 2, 3], "candidates": [1001, 1002, 1003]}"#)
            #expect(fits.status == .ok)
            let exclude = try await client.post("/v1/recommendations", #"{"items": ["1003"], "exclude": [1, 2, 3, 4]}"#)
            #expect(exclude.status == .contentTooLarge && exclude.errorCode == "list_too_long")
            #expect(exclude.errorMessage.contains(#""exclude" has 4 ids, over the limit of 3"#), "\(exclude.errorMessage)")
            let candidates = try await client.post(
                "/v1/recommendations/batch",
                #"{"sessions": [{"items": ["1003"]}, {"items": ["1003"], "candidates": [1, 2, 3, 4, 5]}]}"#)
            #expect(candidates.status == .contentTooLarge && candidates.errorMessage.contains(#""sessions[1].candidates" has 5 ids"#))
            let filter = try await client.post(
                "/v1/recommendations", #"{"items": ["1003"], "filter": {"colour": ["red", "green"], "size": [1, 2]}}"#)
            #expect(filter.status == .contentTooLarge && filter.errorMessage.contains(#""filter" has 4 values"#))
        }
    }

    @Test func modelDescribesTheCatalogAndTheFallback() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let model = try await client.get("/v1/model").json
            let catalog = try #require(model["catalog"] as? [String: Any])
            #expect(catalog["file"] as? String == "items.csv")
            #expect(catalog["items"] as? Int == fixture.rows.count + 1)
            #expect(catalog["unavailable"] as? Int == fixture.rows.values.filter { !$0.available }.count)
            #expect(catalog["attributes"] as? [String] == ["colour", "size"])
            #expect(model["fallback"] as? String == "popularity")
        }
        // A checkpoint without recent popularity has no fallback, whatever was asked.
        try await Fixture.app(recommender: try Recommender(contentsOf: Fixture.checkpointPath, fallback: .popularity)).test(.router) {
            client in
            let model = try await client.get("/v1/model").json
            #expect(model["fallback"] as? String == "none")
        }
    }

    /// Property: over random sessions, filters, excludes and availability, no answer (single or
    /// batch, model or fallback) holds an item the rules leave out, and every answer is as long
    /// as the rules allow.
    @Test func noAnswerEverHoldsAnItemTheRulesLeaveOut() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            var rng = SeededGenerator(seed: 21)
            for round in 0..<120 {
                let session = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                    Bool.random(using: &rng) && Int.random(in: 0..<6, using: &rng) == 0
                        ? "unknown-\(round)" : Fixture.rawIDs.randomElement(using: &rng)!
                }
                var filter = [String: [String]]()
                if Bool.random(using: &rng) { filter["colour"] = RulesFixture.colours.filter { _ in Bool.random(using: &rng) } }
                if Int.random(in: 0..<3, using: &rng) == 0 { filter["size"] = [String(Int.random(in: 0..<4, using: &rng))] }
                let exclude = Set((0..<Int.random(in: 0...5, using: &rng)).map { _ in Fixture.rawIDs.randomElement(using: &rng)! })
                let includeUnavailable = Int.random(in: 0..<4, using: &rng) == 0
                let excludeSeen = Bool.random(using: &rng)
                let k = [1, 3, 10, 29].randomElement(using: &rng)!
                let body: [String: Any] = [
                    "items": session, "k": k, "exclude": Array(exclude), "filter": filter,
                    "include_unavailable": includeUnavailable, "exclude_seen": excludeSeen,
                ]
                let text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
                let single = round % 2 == 0
                let response =
                    single
                    ? try await client.post("/v1/recommendations", text)
                    : try await client.post(
                        "/v1/recommendations/batch",
                        #"{"sessions": [\#(text), {"items": ["1001"]}], "k": \#(k), "exclude_seen": \#(excludeSeen)}"#)
                #expect(response.status == .ok, "\(text): \(response.text)")
                let answer = single ? try response.json : try #require((try response.json["results"] as? [[String: Any]])?.first)
                let ids = (answer["items"] as? [[String: Any]] ?? []).compactMap { rawID($0["id"]) }
                let cold = !session.contains { Fixture.rawIDs.contains($0) }
                #expect((answer["fallback"] as? String == "popularity") == cold, "\(text)")
                let seen = excludeSeen && !cold ? Set(session) : []
                for id in ids {
                    #expect(
                        fixture.allows(id, filter: filter, exclude: exclude.union(seen), includeUnavailable: includeUnavailable),
                        "\(id) in the answer to \(text)")
                }
                let allowed =
                    cold
                    ? fixture.popularAnswer(filter: filter, exclude: exclude, k: 29).filter {
                        includeUnavailable || fixture.rows[$0.id]?.available != false
                    }.count
                    : Fixture.rawIDs.filter {
                        fixture.allows($0, filter: filter, exclude: exclude.union(seen), includeUnavailable: includeUnavailable)
                    }.count
                if !(cold && includeUnavailable) { #expect(ids.count == min(k, allowed), "\(text)") }
            }
        }
    }
}

/// `GET /v1/model`'s `catalog.unavailable`.
func unavailableRows(_ client: some TestClientProtocol) async throws -> Int? {
    let model = try await client.get("/v1/model").json
    return (model["catalog"] as? [String: Any])?["unavailable"] as? Int
}

/// The catalog is read again with every model: a reload picks up its changes, and a malformed one
/// is refused like a bad model file while the old model and catalog keep serving.
@Suite struct CatalogReloadTests {
    @Test func aReloadPicksUpAChangedCatalogAndRefusesAMalformedOne() async throws {
        let fixture = try RulesFixture()
        defer { fixture.folder.cleanUp() }
        let session = #"{"items": ["1003", "a17"], "k": 29}"#
        try await fixture.app(token: try AdminToken(ReloadFixture.token)).test(.router) { client in
            let before = try await client.post("/v1/recommendations", session).scoredItems.map(\.id)
            let top = try #require(before.first { fixture.rows[$0] != nil })
            #expect(try await unavailableRows(client) == fixture.rows.values.filter { !$0.available }.count)

            // The best item goes out of stock: after the reload it is no longer recommended.
            var rows = fixture.rows
            rows[top]!.available = false
            try RulesFixture.csv(rows).write(toFile: fixture.catalogPath, atomically: true, encoding: .utf8)
            let reloaded = try await client.reload()
            #expect(reloaded.status == .ok, "\(reloaded.text)")
            let after = try await client.post("/v1/recommendations", session).scoredItems.map(\.id)
            #expect(after == before.filter { $0 != top })
            let unavailable = rows.values.filter { !$0.available }.count
            #expect(try await unavailableRows(client) == unavailable)

            // A malformed catalog (line 3 says "maybe") is refused, naming the line; nothing changes.
            var lines = RulesFixture.csv(fixture.rows).split(separator: "\n").map(String.init)
            lines[2] = lines[2].replacingOccurrences(of: ",true,", with: ",maybe,").replacingOccurrences(of: ",false,", with: ",maybe,")
            try (lines.joined(separator: "\n") + "\n").write(toFile: fixture.catalogPath, atomically: true, encoding: .utf8)
            let refused = try await client.reload()
            #expect(refused.status == .unprocessableContent && refused.errorCode == "model_refused")
            #expect(
                refused.errorMessage.contains("\(fixture.catalogPath): line 3: field 'available': expected true/false"),
                "\(refused.errorMessage)")
            #expect(refused.errorMessage.contains("still serving"))
            #expect(try await client.post("/v1/recommendations", session).scoredItems.map(\.id) == after)
            #expect(try await unavailableRows(client) == unavailable)
        }
    }
}
