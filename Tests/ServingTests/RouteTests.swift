import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Recommending
import Serving
import SessionData
import SRGNN
import Testing
import TestSupport

/// Every route and every refusal, in memory (`app.test(.router)`), and one request over a real socket.
@Suite struct RouteTests {
    @Test func recommendsForOneSessionInTheClickLogsIDs() async throws {
        let recommender = try Fixture.recommender()
        let expected = try recommender.recommend(session: ["1003", "a17", "1005"], k: 5)
        try await Fixture.app(recommender: recommender).test(.router) { client in
            // Integers and strings both name items; unknown ones come back as sent.
            let response = try await client.post("/v1/recommendations", #"{"items": [1003, "a17", "1005", 555, "zz"], "k": 5}"#)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.text.hasPrefix(#"{"items":[{"id":"#))
            #expect(response.text.hasSuffix(#","unknown_items":[555,"zz"]}"#))
            let items = try #require(try response.json["items"] as? [[String: Any]])
            #expect(items.map { Set($0.keys) } == Array(repeating: ["id", "score"], count: 5))
            #expect(items.map { rawID($0["id"]) } == expected.items.map(\.id))
            #expect(items.map { score($0["score"]) } == expected.items.map(\.score))
        }
    }

    /// Unknown ids go back as sent: strings as strings, numbers as numbers.
    @Test func unknownItemsKeepTheirForm() async throws {
        try await Fixture.app().test(.router) { client in
            let response = try await client.post(
                "/v1/recommendations",
                #"{"items": ["-01", "007", "-0", "12", "+5", "a17", "1234567890123456789012345", 1001, -3], "k": 1}"#)
            #expect(response.status == .ok)
            #expect(
                response.text.hasSuffix(#""unknown_items":["-01","-0","12","+5","1234567890123456789012345",-3]}"#),
                "\(response.text)")
        }
    }

    @Test func kDefaultsTo20AndExcludeSeenWorks() async throws {
        try await Fixture.app().test(.router) { client in
            let response = try await client.post("/v1/recommendations", #"{"items": ["1001", "1002"]}"#)
            #expect(response.status == .ok)
            #expect((try response.json["items"] as? [Any])?.count == 20)
            let unseen = try await client.post("/v1/recommendations", #"{"items": [1001, 1002], "k": 1000, "exclude_seen": true}"#)
            let ids = (try unseen.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
            #expect(!ids.contains(1001) && !ids.contains(1002))
            #expect((try unseen.json["items"] as? [Any])?.count == Fixture.rawIDs.count - 2)
        }
    }

    @Test func batchAnswersEachSessionInOrder() async throws {
        let recommender = try Fixture.recommender()
        let sessions = [["1001"], ["007", "x y"], ["1004", "nope"]]
        let expected = try recommender.recommend(sessions: sessions, k: 3)
        try await Fixture.app(recommender: recommender).test(.router) { client in
            let response = try await client.post(
                "/v1/recommendations/batch",
                #"{"sessions": [{"items": [1001]}, {"items": ["007", "x y"]}, {"items": ["1004", "nope"]}], "k": 3}"#)
            #expect(response.status == .ok)
            let results = try response.json["results"] as? [[String: Any]] ?? []
            #expect(results.count == 3)
            for (result, want) in zip(results, expected) {
                let ids = (result["items"] as? [[String: Any]])?.map { "\($0["id"]!)" } ?? []
                #expect(ids == want.items.map(\.id))
            }
            #expect(results[2]["unknown_items"] as? [String] == ["nope"])
        }
    }

    @Test func healthReadyModelAndMetrics() async throws {
        try await Fixture.app().test(.router) { client in
            let health = try await client.get("/health")
            #expect(health.status == .ok && health.text == #"{"status":"ok"}"#)
            let ready = try await client.get("/ready")
            #expect(ready.status == .ok && ready.text == #"{"items":\#(Fixture.rawIDs.count),"status":"ready"}"#)

            let model = try await client.get("/v1/model").json
            #expect(model["format"] as? String == "checkpoint")
            #expect(model["item_count"] as? Int == Fixture.rawIDs.count)
            #expect(model["epoch"] as? Int == 3)
            #expect((model["metrics"] as? [String: Double])?["MRR@20"] == 0.25)
            #expect(model["trained_at"] is String)
            let configuration = model["configuration"] as? [String: Any]
            #expect(configuration?["hidden_size"] as? Int == 8)
            #expect(configuration?["propagation_steps"] as? Int == 1)

            _ = try await client.post("/v1/recommendations", #"{"items": [1001]}"#)
            _ = try await client.post("/v1/recommendations", #"{"items": [1001], "k": 0}"#)
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            #expect(text.contains(#"http_requests_total{route="/v1/recommendations",method="POST",status="200"} 1"#))
            #expect(text.contains(#"http_requests_total{route="/v1/recommendations",method="POST",status="400"} 1"#))
            #expect(text.contains(#"http_requests_total{route="/health",method="GET",status="200"} 1"#))
            #expect(text.contains("# TYPE http_request_duration_seconds histogram"))
            #expect(text.contains(#"http_request_duration_seconds_bucket{route="/v1/recommendations",method="POST",le="0.02"}"#))
            #expect(text.contains("inference_batch_sessions_count"))
        }
    }

    @Test(
        .enabled(
            if: SharedPaths.exists(URL(fileURLWithPath: Fixture.barePath)),
            "needs the parity fixture Tests/Fixtures/reference/small_hybrid_step1.safetensors"))
    func bareWeightsFileDescribesItself() async throws {
        let recommender = try Recommender(contentsOf: Fixture.barePath)
        try await Fixture.app(recommender: recommender).test(.router) { client in
            let model = try await client.get("/v1/model").json
            #expect(model["format"] as? String == "bare-weights")
            #expect(model["item_count"] as? Int == 59)
            #expect(model["epoch"] == nil)
        }
    }

    // MARK: Refusals

    @Test(arguments: [
        (#"{"items": [1001"#, "malformed_json", "not valid JSON"),
        (#"not json"#, "malformed_json", "not valid JSON"),
        (#"[1001]"#, "invalid_request", "the body"),
        (#"{"k": 5}"#, "invalid_request", #""items" is missing"#),
        (#"{"items": "1001"}"#, "invalid_request", #""items" has the wrong type"#),
        (#"{"items": [1001, true]}"#, "invalid_request", #""items[1]" must be an item id"#),
        (#"{"items": [1001, 2.5]}"#, "invalid_request", #""items[1]" must be an item id"#),
        (#"{"items": [1001], "k": "20"}"#, "invalid_request", #""k" has the wrong type (expected an integer)"#),
        (#"{"items": [1001], "exclude_seen": "yes"}"#, "invalid_request", #""exclude_seen" has the wrong type"#),
        (#"{"items": [1001], "k": 0}"#, "invalid_k", "1...1000, got 0"),
        (#"{"items": [1001], "k": 1001}"#, "invalid_k", "1...1000, got 1001"),
    ])
    func badRequestsAre400(body: String, code: String, message: String) async throws {
        try await Fixture.app().test(.router) { client in
            let response = try await client.post("/v1/recommendations", body)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == code)
            #expect(response.errorMessage.contains(message), "\(response.errorMessage)")
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    @Test func unscorableSessionsAre422() async throws {
        try await Fixture.app().test(.router) { client in
            let empty = try await client.post("/v1/recommendations", #"{"items": []}"#)
            #expect(empty.status == .unprocessableContent && empty.errorCode == "empty_session")
            let unknown = try await client.post("/v1/recommendations", #"{"items": [1, "b2"]}"#)
            #expect(unknown.status == .unprocessableContent && unknown.errorCode == "no_known_items")
            #expect(unknown.errorMessage.contains("1, b2"))
            let batch = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": [1001]}, {"items": ["b2"]}]}"#)
            #expect(batch.status == .unprocessableContent && batch.errorCode == "no_known_items")
            #expect(batch.errorMessage.contains("sessions[1]"))
            let emptyBatch = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": []}]}"#)
            #expect(emptyBatch.status == .unprocessableContent && emptyBatch.errorCode == "empty_session")
            let noSessions = try await client.post("/v1/recommendations/batch", #"{"sessions": []}"#)
            #expect(noSessions.status == .unprocessableContent && noSessions.errorCode == "empty_batch")
            let badBatchK = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": [1001]}], "k": -1}"#)
            #expect(badBatchK.status == .badRequest && badBatchK.errorCode == "invalid_k")
            let badBatch = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": [1001]}, {"item": [1]}]}"#)
            #expect(badBatch.status == .badRequest && badBatch.errorMessage.contains(#""sessions[1].items" is missing"#))
        }
    }

    @Test func errorBodiesAreJSONWithEscapedMessages() async throws {
        try await Fixture.app().test(.router) { client in
            let empty = try await client.post("/v1/recommendations", #"{"items": []}"#)
            #expect(
                empty.text
                    == #"{"error":{"code":"empty_session","message":"the session has no items; give at least one clicked item id in \"items\""}}"#
            )
            // An unknown id with a quote, a backslash, a newline, a tab and a control character.
            let odd = try await client.post("/v1/recommendations", #"{"items": ["say \"hi\"\\\n\t\u0001end"]}"#)
            #expect(odd.status == .unprocessableContent)
            #expect(odd.text.contains(#"(say \"hi\"\\\n\t\u0001end)"#), "\(odd.text)")
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(odd.text.utf8)) as? [String: Any])
            let error = try #require(parsed["error"] as? [String: Any])
            #expect(Set(error.keys) == ["code", "message"])
            #expect(error["code"] as? String == "no_known_items")
            #expect((error["message"] as? String)?.contains("(say \"hi\"\\\n\t\u{1}end)") == true)
        }
    }

    @Test func oversizedBodiesAndBatchesAre413() async throws {
        let configuration = ServingConfiguration(port: 0, maxBatch: 2, maxBodyBytes: 200, inferenceThreads: 1)
        try await Fixture.app(configuration).test(.router) { client in
            let items = Array(repeating: "1001", count: 60).joined(separator: ",")
            let large = try await client.post("/v1/recommendations", "{\"items\": [\(items)]}")
            #expect(large.status == .contentTooLarge && large.errorCode == "body_too_large")
            #expect(large.errorMessage.contains("200 bytes"))
            let largeBatch = try await client.post("/v1/recommendations/batch", "{\"sessions\": [{\"items\": [\(items)]}]}")
            #expect(largeBatch.status == .contentTooLarge && largeBatch.errorCode == "body_too_large")
            let tooMany = try await client.post(
                "/v1/recommendations/batch", #"{"sessions": [{"items": [1001]}, {"items": [1002]}, {"items": [1003]}]}"#)
            #expect(tooMany.status == .contentTooLarge && tooMany.errorCode == "batch_too_large")
            #expect(tooMany.errorMessage.contains("limit of 2"))
            let fits = try await client.post("/v1/recommendations/batch", #"{"sessions": [{"items": [1001]}, {"items": [1002]}]}"#)
            #expect(fits.status == .ok)
        }
    }

    @Test func unknownRoutesAnswerInJSON() async throws {
        try await Fixture.app().test(.router) { client in
            let missing = try await client.get("/v2/nothing")
            #expect(missing.status == .notFound && missing.errorCode == "not_found")
            #expect(missing.errorMessage.contains("POST /v1/recommendations"))
            let wrongMethod = try await client.get("/v1/recommendations")
            #expect(wrongMethod.status == .methodNotAllowed && wrongMethod.errorCode == "method_not_allowed")
        }
    }

    // MARK: Same answers as `srgnn recommend`

    /// The ids and scores `srgnn recommend` prints: the model's top-k of the known items, ids in the
    /// click log's form.
    static func cliAnswer(modelPath: String, items: [String], k: Int) throws -> [ScoredItem<String>] {
        let loaded = try LoadedModel.load(from: modelPath)
        let recommendations = try loaded.model.recommend(session: loaded.internalIDs(of: items).known, k: k)
        return recommendations.map { ScoredItem(id: loaded.vocabulary.rawID(of: $0.id), score: $0.score) }
    }

    @Test(
        .enabled(
            if: SharedPaths.exists(URL(fileURLWithPath: Fixture.barePath)),
            "needs the parity fixture Tests/Fixtures/reference/small_hybrid_step1.safetensors"),
        arguments: [
            (Fixture.checkpointPath, #"["1003", "a17", "1005", "007"]"#, ["1003", "a17", "1005", "007"]),
            (Fixture.barePath, "[3, 17, 5, 17, 40]", ["3", "17", "5", "17", "40"]),
        ])
    func postGivesTheSameItemsAndScoresAsTheCLI(path: String, body: String, items: [String]) async throws {
        let cli = try Self.cliAnswer(modelPath: path, items: items, k: 20)
        try await Fixture.app(recommender: try Recommender(contentsOf: path)).test(.router) { client in
            let response = try await client.post("/v1/recommendations", "{\"items\": \(body), \"k\": 20}")
            let answer = try #require(try response.json["items"] as? [[String: Any]])
            #expect(answer.map { rawID($0["id"]) } == cli.map(\.id))
            // Bit for bit: one session alone, single-threaded BLAS, both ways.
            #expect(answer.map { score($0["score"]) } == cli.map(\.score))
            #expect(response.text.hasSuffix(#","unknown_items":[]}"#))
        }
    }

    // MARK: Over a real socket

    @Test func servesOverLoopback() async throws {
        try await Fixture.app().test(.live) { client in
            let response = try await client.post("/v1/recommendations", #"{"items": [1001, "x y"], "k": 3}"#)
            #expect(response.status == .ok)
            #expect((try response.json["items"] as? [Any])?.count == 3)
            let ready = try await client.get("/ready")
            #expect(ready.status == .ok)
        }
    }
}

/// The inference threads answer everything queued before they stop, and never outlive the queue.
@Suite struct InferenceQueueTests {
    @Test func concurrentRequestsAreAllAnsweredAndShutdownEndsTheThreads() async throws {
        let recommender = try Fixture.recommender()
        let queue = InferenceQueue(recommender: recommender, threads: 2, maxCoalescedSessions: 8, threadName: "tq-drain")
        let sessions = (0..<64).map { i in [Fixture.rawIDs[i % 24], Fixture.rawIDs[(i * 7) % 29]] }
        let answers = try await withThrowingTaskGroup(of: (Int, [RecommendationResult]).self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask { (index, try await queue.recommend([RecommendationQuery(session: session, k: 5)])) }
            }
            var answers = [Int: RecommendationResult]()
            for try await (index, result) in group { answers[index] = result[0] }
            return answers
        }
        #if os(Linux)
        #expect(osThreads(named: "tq-drain") == 2, "\(threadNames())")
        #endif
        await queue.shutdown()
        #expect(answers.count == 64)
        for (index, session) in sessions.enumerated() {
            #expect(answers[index]?.items.map(\.id) == (try recommender.recommend(session: session, k: 5)).items.map(\.id))
        }
        #expect(!queue.isAccepting)
        #expect(queue.runningThreads == 0)
        #expect(await eventually { osThreads(named: "tq-drain") == 0 })
        // Requests after shutdown are refused.
        await #expect(throws: ServingError.self) { try await queue.recommend([RecommendationQuery(session: ["1001"], k: 5)]) }
        // A second shutdown returns at once.
        await queue.shutdown()
    }

    @Test func aQueueDroppedWithoutShutdownStopsItsThreads() async throws {
        weak var dropped: InferenceQueue?
        do {
            let queue = InferenceQueue(
                recommender: try Fixture.recommender(), threads: 2, maxCoalescedSessions: 4,
                threadName: "tq-drop")
            dropped = queue
            let answer = try await queue.recommend([RecommendationQuery(session: ["1001"], k: 3)])
            #expect(answer[0].items.count == 3)
            #if os(Linux)
            #expect(await eventually { osThreads(named: "tq-drop") == 2 }, "the threads run, under their names: \(threadNames())")
            #endif
            // Used here so that the queue lives at least until this point.
            #expect(queue.runningThreads == 2)
        }
        #expect(dropped == nil, "the threads do not keep the queue alive")
        #expect(await eventually { osThreads(named: "tq-drop") == 0 })
    }
}

/// The OS names of this process's threads (Linux; empty elsewhere).
func threadNames() -> [String] {
    #if os(Linux)
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.map { task in
        ((try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .newlines)
    }
    #else
    return []
    #endif
}

/// Threads of this process whose OS name starts with `prefix`.
func osThreads(named prefix: String) -> Int {
    threadNames().filter { $0.hasPrefix(prefix) }.count
}

/// Whether `condition` holds within `seconds` (threads end, and get their names, asynchronously).
func eventually(seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(nanoseconds: 5_000_000)
    }
    return condition()
}

/// `GET /ready` turns to 503 once shutdown begins, while `GET /health` still answers.
@Suite struct ReadinessTests {
    @Test func notReadyAfterShutdownBegins() async throws {
        let queue = InferenceQueue(recommender: try Fixture.recommender(), threads: 1, maxCoalescedSessions: 4)
        let metrics = ServiceMetrics(), logger = Logger(label: "test")
        let router = buildRouter(
            configuration: ServingConfiguration(port: 0), queue: queue,
            registry: ModelRegistry(models: [queue.models.served], metrics: metrics, logger: logger),
            adminToken: nil, metrics: metrics, logger: logger)
        try await Application(router: router).test(.router) { client in
            #expect(try await client.get("/ready").status == .ok)
            await queue.shutdown()
            let ready = try await client.get("/ready")
            #expect(ready.status == .serviceUnavailable && ready.errorCode == "shutting_down")
            #expect(try await client.get("/health").status == .ok)
            let late = try await client.post("/v1/recommendations", #"{"items": [1001]}"#)
            #expect(late.status == .serviceUnavailable && late.errorCode == "shutting_down")
        }
    }
}

/// A JSON id as the raw id it stands for: a number's text, or the string.
func rawID(_ value: Any?) -> String? {
    if let string = value as? String { return string }
    if let number = value as? Int { return String(number) }
    return nil
}

/// A JSON score back as the Float it was written from (shortest round-trip text, read exactly).
func score(_ value: Any?) -> Float? {
    (value as? Double).flatMap { Float("\($0)") }
}
