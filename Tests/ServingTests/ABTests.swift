import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Serving
import SRGNN
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Two variants over `ReloadFixture`'s checkpoints: `a` serves `first`, `b` serves `second`.
extension ReloadFixture {
    static let fiftyFifty = try! VariantSplit(names: ["a", "b"], weights: [50, 50])

    func abApp(
        _ paths: [String]? = nil, split: VariantSplit = ReloadFixture.fiftyFifty, eventsLog: EventsLog? = nil,
        reloadOnHangup: Bool = false, signer: RecommendationIDSigner = .generated(),
        metrics: ServiceMetrics = ServiceMetrics()
    ) throws -> some ApplicationProtocol {
        try buildApplication(
            configuration: ServingConfiguration(port: 0, inferenceThreads: 2),
            models: try (paths ?? [first, second]).map { try ModelLoader().load($0) }, split: split,
            adminToken: try AdminToken(ReloadFixture.token), reloadOnHangup: reloadOnHangup,
            eventsLog: eventsLog, signer: signer, metrics: metrics, logger: ReloadFixture.quiet)
    }
}

extension TestClientProtocol {
    /// `(model, recommendation_id)` of each answer of one batch request.
    func variants(of sessionIDs: [String], model: String? = nil) async throws -> [(model: String, id: String)] {
        let sessions = sessionIDs.map { #"{"items": ["1003", "a17"], "session_id": "\#($0)"}"# }.joined(separator: ", ")
        let chosen = model.map { #", "model": "\#($0)""# } ?? ""
        let response = try await post("/v1/recommendations/batch", #"{"sessions": [\#(sessions)], "k": 3\#(chosen)}"#)
        #expect(response.status == .ok, "\(response.text)")
        return (try response.json["results"] as? [[String: Any]] ?? []).map {
            ($0["model"] as? String ?? "", $0["recommendation_id"] as? String ?? "")
        }
    }

    /// The sha256 of each variant's model, in order (`GET /v1/models`).
    func variantSHAs() async throws -> [String] {
        (try await get("/v1/models").json["variants"] as? [[String: Any]] ?? []).map { $0["sha256"] as? String ?? "" }
    }

    func event(_ recommendationID: String, item: String = "1003", type: String = "click") async throws -> TestResponse {
        try await post("/v1/events", #"{"recommendation_id": "\#(recommendationID)", "item": \#(item), "type": "\#(type)"}"#)
    }
}

/// A/B variants: the split and its stable hash, `model` and `session_id`, attribution of events,
/// the events log, and per-variant reloads.
@Suite struct ABTests {
    // MARK: The split

    /// Pinned so that a change of hash (or of its mapping onto the weights) breaks this test: any
    /// replica, in any language, must agree. The points were computed apart from this code:
    /// `python3 -c 'import hashlib; print(int.from_bytes(hashlib.sha256(b"session-42").digest()[:8], "big") * 100 >> 64)'` → 57.
    @Test func sessionIDsMapToPinnedVariants() throws {
        let abc = try VariantSplit(names: ["a", "b", "c"])
        #expect(ReloadFixture.fiftyFifty.index(forSession: "session-42") == 1)  // point 57 of 100
        #expect(try VariantSplit(names: ["a", "b"], weights: [90, 10]).index(forSession: "session-42") == 0)  // 57
        #expect(try VariantSplit(names: ["a", "b"], weights: [90, 10]).index(forSession: "s0") == 1)  // 92
        #expect(ReloadFixture.fiftyFifty.index(forSession: "ünïcode-☃") == 1)  // 74: UTF-8 bytes
        #expect(abc.index(forSession: "session-42") == 1 && abc.index(forSession: "user-1") == 2)  // points 1, 2 of 3
        // A variant of weight 0 is skipped: point 57 falls to c.
        #expect(try VariantSplit(names: ["a", "b", "c"], weights: [50, 0, 50]).index(forSession: "session-42") == 2)
        #expect(VariantSplit.single.index(forSession: "anything") == 0)
        // 100 variants of weight 1: the index is the point itself, pinned to the unit.
        let hundred = try VariantSplit(names: (0..<100).map { "v\($0)" })
        #expect(["session-42", "user-1", "user-2", "abc", "ünïcode-☃"].map(hundred.index(forSession:)) == [57, 77, 84, 72, 74])
    }

    @Test func tenThousandSessionIDsSplitByTheWeights() throws {
        // Sequential ids (the hard case for a weak hash) and random ones; 50 % ± 2 % is 4 standard
        // deviations of a fair 10,000-draw count, so the random half fails once in ~16,000 runs.
        for ids in [(0..<10_000).map { "user-\($0)" }, (0..<10_000).map { _ in UUID().uuidString }] {
            let toA = ids.filter { ReloadFixture.fiftyFifty.index(forSession: $0) == 0 }.count
            #expect((4_800...5_200).contains(toA), "\(toA) of 10,000 to a")
        }
        let ninety = try VariantSplit(names: ["a", "b"], weights: [90, 10])
        let toB = (0..<10_000).filter { ninety.index(forSession: "user-\($0)") == 1 }.count
        #expect((800...1_200).contains(toB), "\(toB) of 10,000 to b")
        let random = (0..<10_000).filter { _ in ninety.randomIndex() == 1 }.count
        #expect((800...1_200).contains(random), "\(random) of 10,000 random draws to b")
    }

    @Test func commandLineVariantsAndEveryMistake() throws {
        let single = try VariantSplit.fromCommandLine(models: ["/m/x=1/model.safetensors"], split: nil)
        #expect(single.split.names == ["default"] && single.paths == ["/m/x=1/model.safetensors"])
        let named = try VariantSplit.fromCommandLine(models: ["a=A.safetensors", "b-2=/m/B.safetensors"], split: "a=90,b-2=10")
        #expect(named.split.names == ["a", "b-2"] && named.split.weights == [90, 10])
        #expect(named.paths == ["A.safetensors", "/m/B.safetensors"])
        #expect(named.split.share(0) == 0.9)
        let equal = try VariantSplit.fromCommandLine(models: ["a=A", "b=B", "c=C"], split: nil)
        #expect(equal.split.weights == [1, 1, 1])
        #expect(try VariantSplit.fromCommandLine(models: ["a=A", "b=B"], split: "b=0,a=3").split.weights == [3, 0])

        func refusal(_ models: [String], _ split: String?) -> String {
            do { _ = try VariantSplit.fromCommandLine(models: models, split: split); return "accepted" } catch { return "\(error)" }
        }
        #expect(refusal([], nil).contains("--model PATH"))
        #expect(refusal(["A", "b=B"], nil).contains("--model A has no name"))
        #expect(refusal(["a=A", "a=B"], nil).contains("\"a\" is given twice"))
        #expect(refusal(["a=A", "b="], nil).contains("--model b= names no file"))
        #expect(refusal(["a=A", "\(String(repeating: "n", count: 33))=B"], nil).contains("has no name"))
        #expect(refusal(["a=A", "b=B"], "a=90,c=10").contains("c is not a variant; the variants are a, b"))
        #expect(refusal(["a=A", "b=B"], "a=90").contains("gives no weight to b"))
        #expect(refusal(["a=A", "b=B"], "a=90,a=5,b=1").contains("a is given twice"))
        #expect(refusal(["a=A", "b=B"], "a=ninety,b=10").contains("must be a non-negative integer, got \"ninety\""))
        #expect(refusal(["a=A", "b=B"], "a=-1,b=10").contains("non-negative integer, got \"-1\""))
        #expect(refusal(["a=A", "b=B"], "a=1.5,b=10").contains("got \"1.5\""))
        #expect(refusal(["a=A", "b=B"], "a=0,b=0").contains("every weight is 0"))
        #expect(refusal(["a=A", "b=B"], "a90,b=10").contains("\"a90\" is not NAME=WEIGHT"))
        #expect(refusal(["a=A", "b=B"], "a=\(Int.max),b=1").contains("too large"))
        #expect(refusal(["a=A"], "a=1,").contains("\"\" is not NAME=WEIGHT"))
    }

    // MARK: Picking a variant

    /// 10,000 random session ids through the batch route: each variant answers 50 % ± 2 %, with its
    /// own model, and each answer names the variant the split's hash gives.
    @Test func sessionIDsSplitTrafficThroughTheService() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let firstAnswer = try ReloadFixture.answer(fixture.first, ["1003", "a17"], k: 3)
        let secondAnswer = try ReloadFixture.answer(fixture.second, ["1003", "a17"], k: 3)
        #expect(firstAnswer != secondAnswer)
        let metrics = ServiceMetrics()
        try await fixture.abApp(metrics: metrics).test(.router) { client in
            var toA = 0
            for _ in 0..<100 {
                let ids = (0..<100).map { _ in UUID().uuidString }
                let sessions = ids.map { #"{"items": ["1003", "a17"], "session_id": "\#($0)"}"# }.joined(separator: ", ")
                let response = try await client.post("/v1/recommendations/batch", #"{"sessions": [\#(sessions)], "k": 3}"#)
                let results = try #require(try response.json["results"] as? [[String: Any]])
                for (id, result) in zip(ids, results) {
                    let model = try #require(result["model"] as? String)
                    #expect(model == ["a", "b"][ReloadFixture.fiftyFifty.index(forSession: id)])
                    let items = (result["items"] as? [[String: Any]])?.compactMap { rawID($0["id"]) }
                    #expect(items == (model == "a" ? firstAnswer : secondAnswer))
                    #expect((result["recommendation_id"] as? String)?.hasPrefix(model + ".") == true)
                    if model == "a" { toA += 1 }
                }
            }
            #expect((4_800...5_200).contains(toA), "\(toA) of 10,000 to a")
            let exposition = try await client.get("/metrics").text
            #expect(gauge(#"srgnn_variant_recommendations_total{model="a"}"#, in: exposition) == Double(toA))
            #expect(gauge(#"srgnn_variant_recommendations_total{model="b"}"#, in: exposition) == Double(10_000 - toA))
        }
    }

    /// A session id gets the same variant on every request and after a restart (a second app
    /// built apart), on both routes.
    @Test func aSessionIDKeepsItsVariantAcrossRestarts() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let ids = (0..<100).map { "visitor-\($0)" }
        var runs = [[String]]()
        for _ in 0..<2 {
            runs.append(
                try await fixture.abApp().test(.router) { client in
                    let batch = try await client.variants(of: ids).map { $0.model }
                    #expect(try await client.variants(of: ids).map { $0.model } == batch)
                    for id in ids.prefix(10) {
                        let single = try await client.post("/v1/recommendations", #"{"items": [1003], "session_id": "\#(id)"}"#)
                        #expect(try single.json["model"] as? String == batch[ids.firstIndex(of: id)!])
                    }
                    return batch
                })
        }
        #expect(runs[0] == runs[1])
        #expect(Set(runs[0]) == ["a", "b"])
        #expect(runs[0] == ids.map { ["a", "b"][ReloadFixture.fiftyFifty.index(forSession: $0)] })
    }

    @Test func modelWinsOverSessionIDAndBadChoicesAre400() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.abApp().test(.router) { client in
            // "session-42" hashes to b (pinned above).
            let hashed = try await client.post("/v1/recommendations", #"{"items": [1003], "session_id": "session-42"}"#)
            #expect(try hashed.json["model"] as? String == "b")
            let chosen = try await client.post("/v1/recommendations", #"{"items": [1003], "session_id": "session-42", "model": "a"}"#)
            #expect(try chosen.json["model"] as? String == "a")
            let items = (try chosen.json["items"] as? [[String: Any]])?.compactMap { rawID($0["id"]) }
            #expect(items == (try ReloadFixture.answer(fixture.first, ["1003"], k: 20)))
            #expect(try await client.variants(of: ["session-42", "s0", "x"], model: "a").map { $0.model } == ["a", "a", "a"])

            let unknown = try await client.post("/v1/recommendations", #"{"items": [1003], "model": "c"}"#)
            #expect(unknown.status == .badRequest && unknown.errorCode == "unknown_model")
            #expect(unknown.errorMessage.contains(#"the variants are "a", "b""#), "\(unknown.errorMessage)")
            let unknownInBatch = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": [1003]}], "model": "A"}"#)
            #expect(unknownInBatch.status == .badRequest && unknownInBatch.errorCode == "unknown_model")

            let long = String(repeating: "é", count: 257)
            let tooLong = try await client.post("/v1/recommendations", #"{"items": [1003], "session_id": "\#(long)"}"#)
            #expect(tooLong.status == .badRequest && tooLong.errorCode == "invalid_session_id")
            #expect(
                tooLong.errorMessage.contains(#""session_id" must be a string of 1…256 characters, got 257"#), "\(tooLong.errorMessage)")
            let longWithModel = try await client.post("/v1/recommendations", #"{"items": [1003], "model": "a", "session_id": "\#(long)"}"#)
            #expect(longWithModel.status == .badRequest && longWithModel.errorCode == "invalid_session_id")
            let longest = try await client.post("/v1/recommendations", #"{"items": [1003], "session_id": "\#(long.dropLast())"}"#)
            #expect(longest.status == .ok)
            let empty = try await client.post(
                "/v1/recommendations/batch",
                #"{"sessions": [{"items": [1003], "session_id": "x"}, {"items": [1003], "session_id": ""}]}"#)
            #expect(empty.status == .badRequest && empty.errorCode == "invalid_session_id")
            #expect(empty.errorMessage.contains(#""sessions[1].session_id""#), "\(empty.errorMessage)")
            let number = try await client.post("/v1/recommendations", #"{"items": [1003], "session_id": 42}"#)
            #expect(number.status == .badRequest && number.errorMessage.contains(#""session_id" has the wrong type (expected a string)"#))
            let modelNumber = try await client.post("/v1/recommendations", #"{"items": [1003], "model": 1}"#)
            #expect(modelNumber.status == .badRequest && modelNumber.errorMessage.contains(#""model" has the wrong type"#))
        }
    }

    /// Without `model` or `session_id` the split draws: over 200 requests both variants answer.
    @Test func withNeitherTheSplitDrawsAtRandom() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.abApp().test(.router) { client in
            var seen = [String: Int]()
            for _ in 0..<200 {
                let response = try await client.post("/v1/recommendations", #"{"items": [1003], "k": 1}"#)
                seen[try response.json["model"] as? String ?? "none", default: 0] += 1
            }
            #expect(Set(seen.keys) == ["a", "b"], "\(seen)")
        }
    }

    /// A single model is the variant `default`; ids are unique.
    @Test func aSingleModelIsTheDefaultVariant() async throws {
        try await Fixture.app().test(.router) { client in
            var ids = Set<String>()
            for _ in 0..<50 {
                let answer = try await client.post("/v1/recommendations", #"{"items": [1003], "k": 1}"#).json
                #expect(answer["model"] as? String == "default")
                let id = try #require(answer["recommendation_id"] as? String)
                #expect(id.count == "default.".count + 32 + 1 + 32 && id.hasPrefix("default."), "\(id)")
                ids.insert(id)
            }
            #expect(ids.count == 50)
            #expect(try await client.get("/v1/model").json["name"] as? String == "default")
        }
    }

    @Test func modelsDescribesEveryVariantAndTheSplit() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let split = try VariantSplit(names: ["a", "b"], weights: [90, 10])
        try await fixture.abApp(split: split).test(.router) { client in
            let models = try await client.get("/v1/models").json
            #expect(models["split"] as? [String: Int] == ["a": 90, "b": 10])
            let variants = try #require(models["variants"] as? [[String: Any]])
            #expect(variants.map { $0["name"] as? String } == ["a", "b"])
            #expect(variants.map { $0["share"] as? Double } == [0.9, 0.1])
            #expect(variants[0]["sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
            #expect(variants[1]["sha256"] as? String == (try ReloadFixture.sha256(fixture.second)))
            #expect(variants[1]["model_file"] as? String == "second.safetensors")
            let first = try await client.get("/v1/model").json
            #expect(first["name"] as? String == "a" && first["share"] == nil)
            #expect(first["sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
        }
    }

    // MARK: Events

    /// Events are credited to the variant named in the id, counted per variant, and appended to the
    /// log; a restart (a new app and log on the same path, the same events key) keeps the lines and adds to them.
    @Test func eventsAreCountedAndAppendedAcrossRestarts() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        let metrics = ServiceMetrics()
        let signer = try RecommendationIDSigner(key: Array("a key of at least sixteen bytes".utf8))
        let issued = try await fixture.abApp(eventsLog: try EventsLog(path: path), signer: signer, metrics: metrics).test(.router) {
            client in
            let issued = try await client.variants(of: ["session-42"], model: "a") + client.variants(of: ["session-42"])
            #expect(issued.map { $0.model } == ["a", "b"])
            let recorded = try await client.event(issued[0].id)
            #expect(recorded.status == .ok, "\(recorded.text)")
            #expect(recorded.text == #"{"model":"a","status":"recorded"}"#)
            #expect(try await client.event(issued[1].id, item: #""a17""#, type: "purchase").status == .ok)
            #expect(try await client.event(issued[1].id, item: "1005").status == .ok)
            let exposition = try await client.get("/metrics").text
            #expect(gauge(#"srgnn_variant_events_total{model="a",type="click"}"#, in: exposition) == 1, "\(exposition)")
            #expect(gauge(#"srgnn_variant_events_total{model="a",type="purchase"}"#, in: exposition) == 0)
            #expect(gauge(#"srgnn_variant_events_total{model="b",type="click"}"#, in: exposition) == 1)
            #expect(gauge(#"srgnn_variant_events_total{model="b",type="purchase"}"#, in: exposition) == 1)
            #expect(gauge(#"srgnn_variant_recommendations_total{model="a"}"#, in: exposition) == 1)
            return issued
        }
        let before = try String(contentsOfFile: path, encoding: .utf8)
        let lines = eventLines(before).map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 3 && before.hasSuffix("\n"))
        #expect(lines.map { $0?["model"] as? String } == ["a", "b", "b"])
        #expect(lines.map { $0?["type"] as? String } == ["click", "purchase", "click"])
        #expect(lines.map { $0?["recommendation_id"] as? String } == [issued[0].id, issued[1].id, issued[1].id])
        // Items keep the JSON form they were sent in.
        #expect(lines[0]?["item"] as? Int == 1003 && lines[1]?["item"] as? String == "a17")
        let time = try #require(lines[0]?["time"] as? String)
        #expect(try #require(ISO8601DateFormatter.withFractionalSeconds.date(from: time)).timeIntervalSinceNow > -600, "\(time)")

        // Restart: the ids issued before still credit their variant, and the log grows.
        try await fixture.abApp(eventsLog: try EventsLog(path: path), signer: signer).test(.router) { client in
            let response = try await client.event(issued[0].id, type: "purchase")
            #expect(response.status == .ok)
        }
        let after = try String(contentsOfFile: path, encoding: .utf8)
        #expect(after.hasPrefix(before) && eventLines(after).count == 4)
        #expect(eventLines(after).last?.contains(#""type":"purchase""#) == true)
    }

    /// Every malformed event is a 400 naming what to fix, and nothing is counted or logged.
    @Test(arguments: [
        (#"{"item": 1, "type": "click"}"#, "invalid_request", #""recommendation_id" is missing"#),
        (#"{"recommendation_id": "ID", "type": "click"}"#, "invalid_request", #""item" is missing"#),
        (#"{"recommendation_id": "ID", "item": 1}"#, "invalid_request", #""type" is missing"#),
        (
            #"{"recommendation_id": "ID", "item": 1, "type": "view"}"#, "invalid_event_type",
            #""type" must be "click" or "purchase", got "view""#
        ),
        (#"{"recommendation_id": "ID", "item": 1, "type": "Click"}"#, "invalid_event_type", "got \"Click\""),
        (#"{"recommendation_id": "ID", "item": 1.5, "type": "click"}"#, "invalid_request", #""item" must be an item id"#),
        (#"{"recommendation_id": "ID", "item": null, "type": "click"}"#, "invalid_request", #""item""#),
        (#"{"recommendation_id": 7, "item": 1, "type": "click"}"#, "invalid_request", #""recommendation_id" has the wrong type"#),
        (#"{"recommendation_id": "CID", "item": 1, "type": "click"}"#, "invalid_recommendation_id", #"a variant not served now ("c."#),
        (
            #"{"recommendation_id": "c.0123456789abcdef0123456789abcdef", "item": 1, "type": "click"}"#, "invalid_recommendation_id",
            "unsigned"
        ),
        (
            #"{"recommendation_id": "a.0123456789abcdef", "item": 1, "type": "click"}"#, "invalid_recommendation_id",
            "<variant>.<32 hex digits>"
        ),
        (
            #"{"recommendation_id": "a.0123456789ABCDEF0123456789ABCDEF", "item": 1, "type": "click"}"#, "invalid_recommendation_id",
            "\"a.0123"
        ),
        (
            #"{"recommendation_id": "a0123456789abcdef0123456789abcdef", "item": 1, "type": "click"}"#, "invalid_recommendation_id",
            "recommendation_id"
        ),
        (#"{"recommendation_id": "", "item": 1, "type": "click"}"#, "invalid_recommendation_id", "recommendation_id"),
        (#"{"recommendation_id": "ID""#, "malformed_json", "not valid JSON"),
        ("[]", "invalid_request", "the body"),
    ])
    func malformedEventsAre400(body: String, code: String, message: String) async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        let metrics = ServiceMetrics()
        let signer = RecommendationIDSigner.generated()
        try await fixture.abApp(eventsLog: try EventsLog(path: path), signer: signer, metrics: metrics).test(.router) { client in
            let id = try await client.variants(of: ["x"], model: "a")[0].id
            let response = try await client.post(
                "/v1/events",
                body.replacingOccurrences(of: "\"ID\"", with: "\"\(id)\"")
                    .replacingOccurrences(of: "\"CID\"", with: "\"\(signer.makeID(variant: "c"))\""))
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.errorCode == code, "\(response.text)")
            #expect(response.errorMessage.contains(message), "\(response.errorMessage)")
        }
        #expect(eventLines(try String(contentsOfFile: path, encoding: .utf8)).isEmpty)
        #expect(
            metrics.exposition().split(separator: "\n").filter { $0.hasPrefix("srgnn_variant_events_total{") }.allSatisfy {
                $0.hasSuffix(" 0")
            })
    }

    @Test func anEventBodyOverTheLimitIs413() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.abApp().test(.router) { client in
            let huge = String(repeating: "x", count: (1 << 20) + 1)
            let response = try await client.post("/v1/events", #"{"recommendation_id": "a.\#(huge)", "item": 1, "type": "click"}"#)
            #expect(response.status == .contentTooLarge && response.errorCode == "body_too_large")
        }
    }

    /// Without a log, events are counted only; a log that cannot be written is a 503, not counted.
    @Test func eventsWithoutALogAndALogThatFails() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.abApp().test(.router) { client in
            let id = try await client.variants(of: ["x"], model: "b")[0].id
            #expect(try await client.event(id).status == .ok)
            #expect(gauge(#"srgnn_variant_events_total{model="b",type="click"}"#, in: try await client.get("/metrics").text) == 1)
        }
        // Every write refused with ENOSPC, as on a full disk.
        let full = try EventsLog(
            path: fixture.folder.path + "/full.jsonl",
            write: { _, _, _ in
                errno = ENOSPC; return -1
            })
        try await fixture.abApp(eventsLog: full).test(.router) { client in
            let id = try await client.variants(of: ["x"], model: "b")[0].id
            let failed = try await client.event(id)
            #expect(failed.status == .serviceUnavailable && failed.errorCode == "events_log_unavailable", "\(failed.text)")
            #expect(failed.errorMessage.contains("not recorded"))
            #expect(gauge(#"srgnn_variant_events_total{model="b",type="click"}"#, in: try await client.get("/metrics").text) == 0)
        }
        let folder = fixture.folder.path
        #expect(throws: ServingError.self) { try EventsLog(path: folder) }
        #expect(throws: ServingError.self) { try EventsLog(path: folder + "/missing/events.jsonl") }
    }

    // MARK: Reloads

    /// One variant reloads while the other keeps its model; `model` without `variant` is refused
    /// with several variants; no body reloads each from its own file.
    @Test func eachVariantReloadsOnItsOwn() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let third = try ReloadFixture.checkpoint(at: fixture.folder.path + "/third.safetensors", rawIDs: Fixture.rawIDs, seed: 3)
        let (firstSHA, secondSHA, thirdSHA) = (
            try ReloadFixture.sha256(fixture.first), try ReloadFixture.sha256(fixture.second),
            try ReloadFixture.sha256(third)
        )
        let metrics = ServiceMetrics()
        try await fixture.abApp(metrics: metrics).test(.router) { client in
            let reloaded = try await client.reload(#"{"variant": "b", "model": "\#(third)"}"#)
            #expect(reloaded.status == .ok, "\(reloaded.text)")
            #expect(try reloaded.json["variant"] as? String == "b")
            #expect(try reloaded.json["previous_sha256"] as? String == secondSHA)
            #expect(try await client.variantSHAs() == [firstSHA, thirdSHA])
            let answer = try await client.post("/v1/recommendations", #"{"items": [1003], "model": "b", "k": 5}"#)
            #expect(
                (try answer.json["items"] as? [[String: Any]])?.compactMap { rawID($0["id"]) }
                    == (try ReloadFixture.answer(third, ["1003"])))

            let ambiguous = try await client.reload(#"{"model": "\#(third)"}"#)
            #expect(ambiguous.status == .badRequest && ambiguous.errorCode == "variant_required", "\(ambiguous.text)")
            #expect(ambiguous.errorMessage.contains(#""a", "b""#))
            let unknown = try await client.reload(#"{"variant": "c"}"#)
            #expect(unknown.status == .badRequest && unknown.errorCode == "unknown_variant")

            let refused = try await client.reload(#"{"variant": "a", "model": "\#(fixture.folder.path)/none"}"#)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "model_refused")
            #expect(refused.errorMessage.hasPrefix("a: ") && refused.errorMessage.contains("still serving \(fixture.first)"))
            #expect(try await client.variantSHAs() == [firstSHA, thirdSHA])

            // No variant, no model: each from its own file (b's is now `third`).
            let all = try await client.reload()
            #expect(all.status == .ok, "\(all.text)")
            let entries = try #require(try all.json["variants"] as? [[String: Any]])
            #expect(try all.json["status"] as? String == "reloaded")
            #expect(entries.map { $0["variant"] as? String } == ["a", "b"])
            #expect(entries.map { $0["path"] as? String } == [fixture.first, third])
            #expect(try await client.variantSHAs() == [firstSHA, thirdSHA])

            let exposition = try await client.get("/metrics").text
            #expect(gauge(#"srgnn_model_reloads_total{model="a"}"#, in: exposition) == 1)
            #expect(gauge(#"srgnn_model_reloads_total{model="b"}"#, in: exposition) == 2)
            #expect(gauge(#"srgnn_model_reload_failures_total{model="a"}"#, in: exposition) == 1)
            #expect(gauge(#"srgnn_model_reload_failures_total{model="b"}"#, in: exposition) == 0)
        }
    }

    /// Reloading every variant: one refused file does not stop the others, and the 422 says which.
    @Test func reloadingAllGoesOnPastARefusal() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let servedA = fixture.folder.path + "/a.safetensors", servedB = fixture.folder.path + "/b.safetensors"
        try FileManager.default.copyItem(atPath: fixture.first, toPath: servedA)
        try FileManager.default.copyItem(atPath: fixture.first, toPath: servedB)
        try await fixture.abApp([servedA, servedB]).test(.router) { client in
            try Data("not a model".utf8).write(to: URL(fileURLWithPath: servedA))
            try Data(contentsOf: URL(fileURLWithPath: fixture.second)).write(to: URL(fileURLWithPath: servedB))
            let response = try await client.reload()
            #expect(response.status == .unprocessableContent && response.errorCode == "model_refused")
            #expect(response.errorMessage.hasPrefix("a: cannot reload from \(servedA)"), "\(response.errorMessage)")
            #expect(response.errorMessage.hasSuffix("; reloaded b"), "\(response.errorMessage)")
            let shas = (try await client.get("/v1/models").json["variants"] as? [[String: Any]] ?? []).map { $0["sha256"] as? String }
            #expect(shas == [try ReloadFixture.sha256(fixture.first), try ReloadFixture.sha256(fixture.second)])
        }
    }

}

extension ISO8601DateFormatter {
    /// `2026-12-01T09:34:11.123Z`, as the events log writes it.
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
