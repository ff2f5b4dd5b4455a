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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small checkpoints in a folder of their own, and a service with admin routes over one of them.
// @unchecked: `TemporaryFolder` (another module's struct, so not inferred Sendable) holds only a path.
struct ReloadFixture: @unchecked Sendable {
    static let token = "reload-test-token-5f1c9e"
    static let authorized: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(token)"]
    /// Reloads log at info and error; the tests read the answers instead.
    static let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    let folder: TemporaryFolder
    /// Fixture's vocabulary, two different seeds: same items, other answers.
    let first: String
    let second: String

    init() throws {
        folder = try TemporaryFolder(prefix: "srgnn-reload")
        first = try Self.checkpoint(at: folder.path + "/first.safetensors", rawIDs: Fixture.rawIDs, seed: 1)
        second = try Self.checkpoint(at: folder.path + "/second.safetensors", rawIDs: Fixture.rawIDs, seed: 2)
    }

    /// Writes a checkpoint of a seeded random model over `rawIDs`; returns its path.
    @discardableResult
    static func checkpoint(
        at path: String, rawIDs: [String], seed: UInt64, lineage: CheckpointLineage? = nil,
        trainingData: TrainingDataSummary? = nil
    ) throws -> String {
        let configuration = SRGNNConfiguration(itemCount: rawIDs.count, hiddenSize: 8)
        let metadata = CheckpointMetadata(
            model: configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs), epoch: Int(seed),
            metrics: [:], training: nil, history: nil, trainingData: trainingData, lineage: lineage)
        try LoadedModel.save(model: try SRGNNModel(configuration: configuration, seed: seed), metadata: metadata, to: path)
        return path
    }

    /// A service over `path` with admin routes behind `token` (nil: admin disabled).
    func app(
        _ path: String? = nil, token: AdminToken? = try? AdminToken(ReloadFixture.token), reloadOnHangup: Bool = false,
        metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = ReloadFixture.quiet,
        inferenceThreads: Int = 2
    ) throws -> some ApplicationProtocol {
        try buildApplication(
            configuration: ServingConfiguration(port: 0, inferenceThreads: inferenceThreads),
            model: try ModelLoader().load(path ?? first), adminToken: token, reloadOnHangup: reloadOnHangup,
            metrics: metrics, logger: logger)
    }

    static func sha256(_ path: String) throws -> String { try LoadedModel.load(from: path).sha256 }

    /// The ids a model recommends for `session`, as the service would answer alone.
    static func answer(_ path: String, _ session: [String], k: Int = 5) throws -> [String] {
        try Recommender(contentsOf: path).recommend(session: session, k: k).items.map(\.id)
    }
}

extension TestClientProtocol {
    func reload(_ body: String = "", headers: HTTPFields = ReloadFixture.authorized) async throws -> TestResponse {
        try await execute(uri: "/v1/admin/reload", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// The ids recommended for `session` (raw ids as strings).
    func recommended(_ session: [String], k: Int = 5) async throws -> [String] {
        let items = session.map { "\"\($0)\"" }.joined(separator: ", ")
        let response = try await post("/v1/recommendations", "{\"items\": [\(items)], \"k\": \(k)}")
        #expect(response.status == .ok, "\(response.text)")
        return (try response.json["items"] as? [[String: Any]] ?? []).compactMap { rawID($0["id"]) }
    }
}

/// Hot reload through `POST /v1/admin/reload` and SIGHUP: swaps, refusals, the token, metrics.
@Suite struct ReloadTests {
    let session = ["1003", "a17", "1005"]

    @Test func reloadSwapsTheModelForNewRequests() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let firstAnswer = try ReloadFixture.answer(fixture.first, session)
        let secondAnswer = try ReloadFixture.answer(fixture.second, session)
        #expect(firstAnswer != secondAnswer, "the two seeds must answer differently for this test to mean anything")
        try await fixture.app().test(.router) { client in
            let before = try await client.get("/v1/model").json
            #expect(before["sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
            #expect(before["model_file"] as? String == "first.safetensors")
            #expect(try await client.recommended(session) == firstAnswer)

            let reload = try await client.reload(#"{"model": "\#(fixture.second)"}"#)
            #expect(reload.status == .ok, "\(reload.text)")
            let answer = try reload.json
            #expect(answer["status"] as? String == "reloaded")
            #expect(answer["variant"] as? String == "default")
            #expect(answer["path"] as? String == fixture.second)
            #expect(answer["sha256"] as? String == (try ReloadFixture.sha256(fixture.second)))
            #expect(answer["previous_sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
            #expect(answer["item_count"] as? Int == Fixture.rawIDs.count)

            let after = try await client.get("/v1/model").json
            #expect(after["sha256"] as? String == (try ReloadFixture.sha256(fixture.second)))
            #expect(after["model_file"] as? String == "second.safetensors")
            #expect(after["epoch"] as? Int == 2)
            #expect(after["loaded_at"] as? String != nil)
            #expect(try await client.recommended(session) == secondAnswer)

            // No body: the served file again.
            let again = try await client.reload()
            #expect(again.status == .ok, "\(again.text)")
            #expect(try again.json["sha256"] as? String == (try ReloadFixture.sha256(fixture.second)))
        }
    }

    /// Every kind of bad file is refused with a 422 naming it and the reason; the old model serves on.
    @Test(arguments: ["missing", "truncated", "not safetensors", "wrong shapes", "directory"])
    func badFileIsRefusedAndTheOldModelServesOn(kind: String) async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path: String, reason: String
        switch kind {
        case "missing":
            path = fixture.folder.path + "/nowhere.safetensors"
            reason = "missing or unreadable"
        case "truncated":
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture.second)))
            path = try fixture.folder.file("truncated.safetensors", bytes: Array(bytes.prefix(bytes.count / 2)))
            reason = "truncated"
        case "not safetensors":
            path = try fixture.folder.file("notes.safetensors", "model weights, honest\n")
            reason = "not safetensors"
        case "wrong shapes":
            // Metadata for 30 items over an embedding of 29: the shapes disagree.
            path = fixture.folder.path + "/shapes.safetensors"
            let configuration = SRGNNConfiguration(itemCount: Fixture.rawIDs.count, hiddenSize: 8)
            let claimed = SRGNNConfiguration(itemCount: Fixture.rawIDs.count + 1, hiddenSize: 8)
            let metadata = CheckpointMetadata(
                model: claimed, vocabulary: ItemVocabulary(rawIDs: Fixture.rawIDs + ["extra"]),
                epoch: 0, metrics: [:], training: nil, history: nil)
            try LoadedModel.save(model: try SRGNNModel(configuration: configuration, seed: 3), metadata: metadata, to: path)
            reason = "embedding.weight"
        default:
            path = fixture.folder.path
            reason = "not a regular file"
        }
        try await expectRefusal(of: path, naming: reason, fixture: fixture)
    }

    /// A bare weights file (the official code's tensors, no vocabulary) cannot replace a checkpoint.
    @Test(
        .enabled(
            if: SharedPaths.exists(URL(fileURLWithPath: Fixture.barePath)),
            "needs the parity fixture Tests/Fixtures/reference/small_hybrid_step1.safetensors"))
    func bareWeightsFileIsRefusedAndTheOldModelServesOn() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await expectRefusal(of: Fixture.barePath, naming: "not a checkpoint", fixture: fixture)
    }

    /// Reloading `path` answers 422 naming it and `reason`; the first model keeps serving and the
    /// failure is counted.
    func expectRefusal(of path: String, naming reason: String, fixture: ReloadFixture) async throws {
        let metrics = ServiceMetrics()
        let firstAnswer = try ReloadFixture.answer(fixture.first, session)
        try await fixture.app(metrics: metrics).test(.router) { client in
            let refused = try await client.reload(#"{"model": "\#(path)"}"#)
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.errorCode == "model_refused")
            #expect(refused.errorMessage.contains(path), "\(refused.errorMessage)")
            #expect(refused.errorMessage.contains(reason), "\(refused.errorMessage)")
            #expect(refused.errorMessage.contains("still serving \(fixture.first)"), "\(refused.errorMessage)")
            #expect(refused.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(try await client.get("/v1/model").json["sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
            #expect(try await client.recommended(session) == firstAnswer)
            let exposition = try await client.get("/metrics").text
            #expect(exposition.contains(#"srgnn_model_reload_failures_total{model="default"} 1"#), "\(exposition)")
            #expect(exposition.contains(#"srgnn_model_reloads_total{model="default"} 0"#))
        }
    }

    @Test func badReloadBodiesAre400() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            let malformed = try await client.reload(#"{"model": "#)
            #expect(malformed.status == .badRequest && malformed.errorCode == "malformed_json")
            let wrongType = try await client.reload(#"{"model": 5}"#)
            #expect(wrongType.status == .badRequest && wrongType.errorMessage.contains(#""model" has the wrong type"#))
            let empty = try await client.reload(#"{"model": ""}"#)
            #expect(empty.status == .badRequest && empty.errorMessage.contains(#""model" is empty"#))
            // `{}` is the served file again.
            #expect(try await client.reload("{}").status == .ok)
        }
    }

    @Test func reloadCountsAndLoadTimesAreInMetrics() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let metrics = ServiceMetrics()
        try await fixture.app(metrics: metrics).test(.router) { client in
            let start = try await client.get("/metrics").text
            #expect(start.contains(#"srgnn_model_reloads_total{model="default"} 0"#), "\(start)")
            #expect(start.contains(#"srgnn_model_reload_failures_total{model="default"} 0"#))
            #expect(start.contains("# TYPE srgnn_model_load_seconds gauge"))
            #expect(start.contains("# TYPE srgnn_model_loaded_timestamp_seconds gauge"))
            let loadedBefore = try #require(gauge(#"srgnn_model_loaded_timestamp_seconds{model="default"}"#, in: start))
            #expect(abs(loadedBefore - Date().timeIntervalSince1970) < 600)
            #expect(try #require(gauge(#"srgnn_model_load_seconds{model="default"}"#, in: start)) > 0)

            #expect(try await client.reload(#"{"model": "\#(fixture.second)"}"#).status == .ok)
            #expect(try await client.reload(#"{"model": "\#(fixture.folder.path)/none"}"#).status == .unprocessableContent)
            #expect(try await client.reload().status == .ok)
            let end = try await client.get("/metrics").text
            #expect(end.contains(#"srgnn_model_reloads_total{model="default"} 2"#), "\(end)")
            #expect(end.contains(#"srgnn_model_reload_failures_total{model="default"} 1"#))
            #expect(try #require(gauge(#"srgnn_model_loaded_timestamp_seconds{model="default"}"#, in: end)) >= loadedBefore)
            #expect(end.contains(#"http_requests_total{route="/v1/admin/reload",method="POST",status="422"} 1"#))
        }
    }

    /// A model over other items: the item count, `/ready` and the answers follow it.
    @Test func reloadToADifferentItemCount() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let grown = Fixture.rawIDs + (1...11).map { "new\($0)" }
        let grownPath = try ReloadFixture.checkpoint(at: fixture.folder.path + "/grown.safetensors", rawIDs: grown, seed: 4)
        let shrunkPath = try ReloadFixture.checkpoint(
            at: fixture.folder.path + "/shrunk.safetensors",
            rawIDs: Array(Fixture.rawIDs.prefix(5)), seed: 5)
        try await fixture.app().test(.router) { client in
            let unknown = try await client.post("/v1/recommendations", #"{"items": ["new3"]}"#)
            #expect(unknown.status == .unprocessableContent && unknown.errorCode == "no_known_items")

            #expect(try await client.reload(#"{"model": "\#(grownPath)"}"#).status == .ok)
            #expect(try await client.get("/ready").json["items"] as? Int == grown.count)
            #expect(try await client.get("/v1/model").json["item_count"] as? Int == grown.count)
            #expect(try await client.recommended(["new3", "1001"], k: 40).count == grown.count)

            // 5 of the 29 items: under the default overlap of 0.5, so it takes "force".
            #expect(try await client.reload(#"{"model": "\#(shrunkPath)"}"#).status == .unprocessableContent)
            #expect(try await client.reload(#"{"model": "\#(shrunkPath)", "force": true}"#).status == .ok)
            #expect(try await client.get("/ready").json["items"] as? Int == 5)
            #expect(try await client.recommended(["1001"], k: 20) == (try ReloadFixture.answer(shrunkPath, ["1001"], k: 20)))
            let gone = try await client.post("/v1/recommendations", #"{"items": ["new3", "1010"]}"#)
            #expect(gone.status == .unprocessableContent && gone.errorCode == "no_known_items")
        }
    }

    /// Recommendation requests sent while the model is swapped back and forth (and a bad file is
    /// refused) are all answered, each by one whole model: the first's answer or the second's.
    @Test func concurrentRequestsDuringReloadsAllSucceed() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let sessions = (0..<12).map { i in [Fixture.rawIDs[i % 24], Fixture.rawIDs[(i * 7 + 3) % 29]] }
        let allowed = try sessions.map { session in
            Set([try ReloadFixture.answer(fixture.first, session), try ReloadFixture.answer(fixture.second, session)])
        }
        let corrupt = try fixture.folder.file("corrupt.safetensors", bytes: [8, 0, 0, 0, 0, 0, 0, 0, 123])
        let (first, second) = (fixture.first, fixture.second)
        try await fixture.app().test(.router) { client in
            let (answers, reloads) = try await withThrowingTaskGroup(of: (Int, [String]?, HTTPResponse.Status).self) { group in
                for request in 0..<240 {
                    group.addTask {
                        let index = request % sessions.count
                        let items = sessions[index].map { "\"\($0)\"" }.joined(separator: ", ")
                        let response = try await client.post("/v1/recommendations", "{\"items\": [\(items)], \"k\": 5}")
                        let ids = (try? response.json["items"] as? [[String: Any]])?.compactMap { rawID($0["id"]) }
                        return (index, ids, response.status)
                    }
                }
                group.addTask {
                    var statuses = [String]()
                    for round in 0..<9 {
                        let path = [second, corrupt, first][round % 3]
                        statuses.append("\(try await client.reload(#"{"model": "\#(path)"}"#).status.code)")
                        try await Task.sleep(nanoseconds: 2_000_000)
                    }
                    return (-1, statuses, .ok)
                }
                var answers = [(Int, [String]?, HTTPResponse.Status)](), reloads = [String]()
                for try await result in group {
                    if result.0 < 0 { reloads = result.1 ?? [] } else { answers.append(result) }
                }
                return (answers, reloads)
            }
            #expect(reloads == ["200", "422", "200", "200", "422", "200", "200", "422", "200"])
            #expect(answers.count == 240)
            for (index, ids, status) in answers {
                #expect(status == .ok)
                #expect(ids.map { allowed[index].contains($0) } == true, "session \(index) got \(ids ?? [])")
            }
        }
    }

    /// In the queue: a request that started on the old model is answered by it after the swap, and
    /// the old model is freed once nothing holds it.
    @Test func inFlightRequestsKeepTheirModelAndTheOldOneIsFreed() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let reloader = ModelRegistry(models: [try ModelLoader().load(fixture.first)], logger: ReloadFixture.quiet).all[0]
        let queue = InferenceQueue(models: reloader, threads: 1, maxCoalescedSessions: 8, threadName: "tq-reload")
        let query = RecommendationQuery(session: session, k: 5)
        weak var firstModel: ServedModel?
        do {
            let started = queue.models.served
            firstModel = started
            try await reloader.reload(from: fixture.second, trigger: "test")
            let late = try await queue.recommend([query], on: started)
            #expect(late[0].items.map(\.id) == (try ReloadFixture.answer(fixture.first, session)))
        }
        let current = try await queue.recommend([query])
        #expect(current[0].items.map(\.id) == (try ReloadFixture.answer(fixture.second, session)))
        #expect(await eventually { firstModel == nil }, "the replaced model is freed after its last request")
        // Many reloads keep one model alive, not all of them.
        var replaced = [() -> ServedModel?]()
        for round in 0..<6 {
            let old = try await reloader.reload(from: round % 2 == 0 ? fixture.first : fixture.second, trigger: "test").replaced
            weak let weakOld = old
            replaced.append { weakOld }
        }
        #expect(await eventually { replaced.allSatisfy { $0() == nil } })
        await queue.shutdown()
    }

    @Test func reloadsRunOneAtATime() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let reloader = ModelRegistry(models: [try ModelLoader().load(fixture.first)], logger: ReloadFixture.quiet).all[0]
        let models = reloader
        // Each reload replaces exactly the model the one before it put in: no two replace the same one.
        let initial = models.served
        let (first, second) = (fixture.first, fixture.second)
        let pairs = try await withThrowingTaskGroup(of: (served: ServedModel, replaced: ServedModel).self) { group in
            for round in 0..<8 {
                group.addTask {
                    let reloaded = try await reloader.reload(from: round % 2 == 0 ? second : first, trigger: "test")
                    return (reloaded.served, reloaded.replaced)
                }
            }
            return try await group.reduce(into: [(served: ServedModel, replaced: ServedModel)]()) { $0.append($1) }
        }
        // All held here, so no identifier is reused.
        let replaced = Set(pairs.map { ObjectIdentifier($0.replaced) })
        let served = Set(pairs.map { ObjectIdentifier($0.served) })
        #expect(replaced.count == 8)
        #expect(replaced == served.subtracting([ObjectIdentifier(models.served)]).union([ObjectIdentifier(initial)]))
    }

    // MARK: The admin token

    @Test func adminRoutesNeedTheBearerToken() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            for headers: HTTPFields in [
                [:],
                [.authorization: "Bearer wrong-token"],
                [.authorization: "Bearer \(ReloadFixture.token)x"],
                [.authorization: "Bearer \(ReloadFixture.token.dropLast())"],
                [.authorization: "Basic \(Data("admin:\(ReloadFixture.token)".utf8).base64EncodedString())"],
                [.authorization: ReloadFixture.token],
            ] {
                let response = try await client.reload(#"{"model": "\#(fixture.second)"}"#, headers: headers)
                #expect(response.status == .unauthorized, "\(headers)")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(response.errorCode == "unauthorized")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(!response.text.contains(ReloadFixture.token))
            }
            #expect(try await client.get("/v1/model").json["sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
            #expect(try await client.reload(#"{"model": "\#(fixture.second)"}"#).status == .ok)
        }
    }

    @Test func adminRoutesAreDisabledWithoutAToken() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app(token: nil).test(.router) { client in
            for headers: HTTPFields in [[:], ReloadFixture.authorized] {
                let response = try await client.reload(#"{"model": "\#(fixture.second)"}"#, headers: headers)
                #expect(response.status == .forbidden)
                #expect(response.errorCode == "admin_disabled")
                #expect(response.errorMessage.contains("--admin-token-file"))
            }
            #expect(try await client.get("/v1/model").json["sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
            #expect(try await client.get("/v1/admin/reload").status == .methodNotAllowed)
        }
    }

    @Test func tokenFileIsTrimmedAndBadFilesAreRefused() throws {
        let folder = try TemporaryFolder(prefix: "srgnn-token")
        defer { folder.cleanUp() }
        let token = try AdminToken(contentsOfFile: try folder.file("token", "s3cret-Token_1-of-16+\n"))
        #expect(token.matches("s3cret-Token_1-of-16+"))
        #expect(!token.matches("s3cret-Token_1-of-16+\n") && !token.matches("s3cret-Token_1-of-16") && !token.matches(""))
        #expect(try AdminToken(contentsOfFile: try folder.file("crlf", "  abcdefghijklmnop\r\n")).matches("abcdefghijklmnop"))
        #expect("\(token)" == "<redacted>" && String(reflecting: token) == "AdminToken(<redacted>)")

        func refusal(_ path: String) -> String {
            do { _ = try AdminToken(contentsOfFile: path); return "accepted" } catch { return "\(error)" }
        }
        let empty = try folder.file("empty", "")
        #expect(refusal(empty).contains("\(empty) is empty"))
        let blank = try folder.file("blank", " \n\n")
        #expect(refusal(blank).contains("\(blank) is empty"))
        #expect(refusal(folder.path + "/none").contains("cannot read the admin token file \(folder.path)/none"))
        #expect(refusal(folder.path).contains("cannot read the admin token file"))
        let spaced = try folder.file("spaced", "two words\n")
        #expect(refusal(spaced).contains("space") && !refusal(spaced).contains("two words"))
    }

    /// Nothing the service logs, at any level, holds the token (right or wrong ones sent).
    @Test func theTokenIsNeverLogged() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let logs = CapturedLogs()
        let logger = Logger(label: "srgnn.serve.test") { _ in CapturingLogHandler(logs: logs) }
        let wrong = "wrong-\(ReloadFixture.token)"
        try await fixture.app(logger: logger).test(.live) { client in
            let reloaded = try await client.reload(#"{"model": "\#(fixture.second)"}"#)
            #expect(reloaded.status == .ok)
            #expect(try await client.reload(#"{"model": "\#(fixture.folder.path)/none"}"#).status == .unprocessableContent)
            #expect(try await client.reload("", headers: [.authorization: "Bearer \(wrong)"]).status == .unauthorized)
            #expect(try await client.reload("{", headers: ReloadFixture.authorized).status == .badRequest)
        }
        let text = logs.text
        #expect(text.contains("reloaded (POST /v1/admin/reload)"), "\(text)")
        #expect(text.contains("refused"))
        #expect(!text.contains(ReloadFixture.token) && !text.contains(wrong), "\(text)")
    }

}

/// SIGHUP goes to the whole process: the tests that send it run one at a time, so that one's
/// signals reach only its own service. Each ignores SIGHUP (once per process, `ignoreHangup()`)
/// so that a signal sent before its service listens does not end the test process.
@Suite(.serialized) struct HangupTests {
    let session = ["1003", "a17", "1005"]

    /// SIGHUP reloads the served file's path (here rewritten with another model) and does not end the process.
    @Test func sighupReloadsTheServedPath() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        // The test process must survive a SIGHUP sent before the service listens for it.
        ignoreHangup()
        let served = fixture.folder.path + "/served.safetensors"
        try FileManager.default.copyItem(atPath: fixture.first, toPath: served)
        let metrics = ServiceMetrics()
        try await fixture.app(served, token: nil, reloadOnHangup: true, metrics: metrics).test(.live) { client in
            #expect(try await client.get("/v1/model").json["sha256"] as? String == (try ReloadFixture.sha256(fixture.first)))
            try Data(contentsOf: URL(fileURLWithPath: fixture.second)).write(to: URL(fileURLWithPath: served), options: .atomic)
            let want = try ReloadFixture.sha256(fixture.second)
            var sha = ""
            for _ in 0..<100 where sha != want {
                kill(getpid(), SIGHUP)
                try await Task.sleep(nanoseconds: 50_000_000)
                sha = try await client.get("/v1/model").json["sha256"] as? String ?? ""
            }
            #expect(sha == want)
            #expect(try await client.recommended(session) == (try ReloadFixture.answer(fixture.second, session)))
        }
        #expect(metrics.exposition().contains(#"srgnn_model_reload_failures_total{model="default"} 0"#))
    }

    /// SIGHUP reloads each variant from its own path; one refused does not stop the other.
    @Test func sighupReloadsEveryVariantOnItsOwn() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        ignoreHangup()
        let servedA = fixture.folder.path + "/hup-a.safetensors", servedB = fixture.folder.path + "/hup-b.safetensors"
        try FileManager.default.copyItem(atPath: fixture.first, toPath: servedA)
        try FileManager.default.copyItem(atPath: fixture.first, toPath: servedB)
        let metrics = ServiceMetrics()
        try await fixture.abApp([servedA, servedB], reloadOnHangup: true, metrics: metrics).test(.live) { client in
            try Data("corrupt".utf8).write(to: URL(fileURLWithPath: servedA), options: .atomic)
            try Data(contentsOf: URL(fileURLWithPath: fixture.second)).write(to: URL(fileURLWithPath: servedB), options: .atomic)
            let want = try ReloadFixture.sha256(fixture.second)
            var shas = [String?]()
            for _ in 0..<100 where shas.last != want {
                kill(getpid(), SIGHUP)
                try await Task.sleep(nanoseconds: 50_000_000)
                shas = (try await client.get("/v1/models").json["variants"] as? [[String: Any]] ?? []).map { $0["sha256"] as? String }
            }
            #expect(shas == [try ReloadFixture.sha256(fixture.first), want])
        }
        #expect(try #require(gauge(#"srgnn_model_reload_failures_total{model="a"}"#, in: metrics.exposition())) >= 1)
        #expect(gauge(#"srgnn_model_reload_failures_total{model="b"}"#, in: metrics.exposition()) == 0)
    }
}

extension HangupTests {
    /// SIGHUP opens the events log again at its path (after a rotation renamed it away), before any
    /// event comes: the file is there again at once.
    @Test func sighupReopensTheEventsLog() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        ignoreHangup()
        let path = fixture.folder.path + "/events.jsonl"
        try await fixture.abApp(eventsLog: try EventsLog(path: path), reloadOnHangup: true).test(.live) { client in
            #expect(rename(path, path + ".1") == 0)
            var reopened = false
            for _ in 0..<100 where !reopened {
                kill(getpid(), SIGHUP)
                try await Task.sleep(nanoseconds: 50_000_000)
                reopened = FileManager.default.fileExists(atPath: path)
            }
            #expect(reopened, "SIGHUP did not open the events log again")
        }
    }
}

/// A Prometheus sample's value: the line `name value`.
func gauge(_ name: String, in exposition: String) -> Double? {
    exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
}

/// Every line logged, as text (level, message, metadata).
final class CapturedLogs: @unchecked Sendable {
    // @unchecked: `lines` is only touched under `lock`.
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}

struct CapturingLogHandler: LogHandler {
    let logs: CapturedLogs
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        logs.append(
            "\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 }) \(event.error.map { "\($0)" } ?? "")")
    }
}
