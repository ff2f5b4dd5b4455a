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

/// Runs blocking `work` that may hang on the FIFO at `fifo` (the code before issue 29 opened it
/// blocking): when it has not returned within `seconds`, the FIFO is opened at both ends, which
/// lets a blocked open go on (and a blocked read end), and the test fails instead of hanging.
func unblockingFIFO<T: Sendable>(_ fifo: String, seconds: Double = 20, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    let finished = LockedBox(false), fired = LockedBox(false)
    let guardTask = Task.detached {
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        guard !finished.value else { return }
        fired.set(true)
        let both = open(fifo, O_RDWR | O_NONBLOCK)
        if both >= 0 { close(both) }
    }
    defer { guardTask.cancel() }
    let result = try await offThePool(work)
    finished.set(true)
    #expect(!fired.value, "blocked on the FIFO \(fifo) for \(seconds) s")
    return result
}

/// Issue 29's service items (9, 11, 12, 14, 16): files checked without blocking, signed
/// recommendation ids and the events budget, the events log's failed writes and rotation, reload
/// overlap, and the small HTTP gaps.
@Suite struct ServiceHardeningTests {
    let session = ["1003", "a17", "1005"]

    // MARK: Item 9: files checked without blocking

    /// A FIFO, a device or a folder at `--catalog` is refused at once, naming what it is; the
    /// reload after it is not held up.
    @Test func aFIFOOrDeviceCatalogIsRefusedAtOnce() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let fifo = fixture.folder.path + "/catalog.csv"
        #expect(mkfifo(fifo, 0o600) == 0)
        let first = fixture.first
        for (path, words) in [(fifo, "FIFO"), ("/dev/zero", "is a device"), (fixture.folder.path, "is a folder")] {
            let refusal = try await unblockingFIFO(fifo) { () -> String in
                do { _ = try ModelLoader(catalogPath: path).load(first); return "loaded" } catch { return "\(error)" }
            }
            #expect(refusal.contains("the catalog \(path)") && refusal.contains(words), "\(refusal)")
        }
    }

    /// Through the service: a reload with a FIFO catalog is a 422 at once, and so is the next one.
    @Test func aReloadWithAFIFOCatalogDoesNotWedgeTheNext() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let fifo = fixture.folder.path + "/items.csv"
        #expect(mkfifo(fifo, 0o600) == 0)
        let app = try buildApplication(
            configuration: ServingConfiguration(port: 0, inferenceThreads: 1),
            model: try ModelLoader().load(fixture.first), loader: ModelLoader(catalogPath: fifo),
            adminToken: try AdminToken(ReloadFixture.token), logger: ReloadFixture.quiet)
        let guardTask = Task.detached {
            // Lets the old code's blocked opens go on, every second after 20 s, so that the test
            // fails rather than hangs.
            try await Task.sleep(nanoseconds: 20_000_000_000)
            while !Task.isCancelled {
                let both = open(fifo, O_RDWR | O_NONBLOCK)
                if both >= 0 { close(both) }
                try await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        defer { guardTask.cancel() }
        try await app.test(.live) { client in
            for _ in 0..<2 {
                let started = Date()
                let response = try await client.reload()
                #expect(response.status == .unprocessableContent && response.errorMessage.contains("FIFO"), "\(response.text)")
                #expect(Date().timeIntervalSince(started) < 15)
            }
        }
    }

    /// The events log, the admin token file and the events key file are checked the same way.
    @Test func otherFilesAreCheckedTheSameWay() async throws {
        let folder = try TemporaryFolder(prefix: "srgnn-files")
        defer { folder.cleanUp() }
        let fifo = folder.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let refusals = try await unblockingFIFO(fifo) { () -> [String] in
            [
                { _ = try EventsLog(path: fifo) }, { _ = try AdminToken(contentsOfFile: fifo) },
                { _ = try RecommendationIDSigner(contentsOfFile: fifo) },
            ]
            .map { make -> String in
                do { _ = try make(); return "accepted" } catch { return "\(error)" }
            }
        }
        for refusal in refusals { #expect(refusal.contains(fifo) && refusal.contains("FIFO"), "\(refusal)") }
        #if os(Linux)
        #expect(throws: ServingError.self) { try EventsLog(path: "/dev/full") }
        #endif
    }

    // MARK: Item 11: signed recommendation ids, the item cap, the events budget

    /// Ids are `<variant>.<32 hex>.<32 hex>`; an altered, unsigned, re-labelled or foreign id is a
    /// 400 and nothing is counted; a key file keeps ids valid across a restart.
    @Test func recommendationIDsAreSignedAndOthersRefused() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let metrics = ServiceMetrics()
        let keyFile = try fixture.folder.file("events.key", "0123456789abcdef0123456789abcdef\n")
        let signer = try RecommendationIDSigner(contentsOfFile: keyFile)
        let app = try buildApplication(
            configuration: ServingConfiguration(port: 0, inferenceThreads: 2),
            models: try [fixture.first, fixture.second].map { try ModelLoader().load($0) },
            split: ReloadFixture.fiftyFifty, signer: signer, metrics: metrics, logger: ReloadFixture.quiet)
        let issued = try await app.test(.router) { client in
            let a = try await client.variants(of: ["x"], model: "a")[0].id, b = try await client.variants(of: ["x"], model: "b")[0].id
            #expect(a.wholeMatch(of: /a\.[0-9a-f]{32}\.[0-9a-f]{32}/) != nil, "\(a)")
            let parts = a.split(separator: ".")
            let flipped = String(a.dropLast()) + (a.last == "0" ? "1" : "0")
            let refused: [(String, String)] = [
                (flipped, "not signed by this service"),
                ("a." + parts[1], "unsigned"),
                ("b." + parts[1] + "." + parts[2], "not signed by this service"),
                ("a.5f0c2a9e8d7b4c3a1f0e9d8c7b6a5f4e", "unsigned"),
                (RecommendationIDSigner.generated().makeID(variant: "a"), "not signed by this service"),
                (a + "." + parts[2], "not one this service issues"),
            ]
            for (id, words) in refused {
                let response = try await client.event(id)
                #expect(response.status == .badRequest && response.errorCode == "invalid_recommendation_id", "\(id): \(response.text)")
                #expect(response.errorMessage.contains(words), "\(response.errorMessage)")
            }
            #expect(
                metrics.exposition().split(separator: "\n").filter { $0.hasPrefix("srgnn_variant_events_total{") }.allSatisfy {
                    $0.hasSuffix(" 0")
                })
            #expect(try await client.event(a).status == .ok)
            #expect(try await client.event(b).status == .ok)
            return a
        }
        // Another start with the same key file takes the ids issued before; one with a new key does not.
        let again = try buildApplication(
            configuration: ServingConfiguration(port: 0), models: [try ModelLoader().load(fixture.first)],
            split: try VariantSplit(names: ["a"]), signer: try RecommendationIDSigner(contentsOfFile: keyFile),
            logger: ReloadFixture.quiet)
        try await again.test(.router) { client in
            let response = try await client.event(issued)
            #expect(response.status == .ok)
        }
        let fresh = try buildApplication(
            configuration: ServingConfiguration(port: 0), models: [try ModelLoader().load(fixture.first)],
            split: try VariantSplit(names: ["a"]), logger: ReloadFixture.quiet)
        try await fresh.test(.router) { client in
            let response = try await client.event(issued)
            #expect(response.status == .badRequest)
        }
    }

    /// A key file under 16 bytes (after trimming) is refused without quoting it.
    @Test func shortEventsKeysAreRefused() throws {
        let folder = try TemporaryFolder(prefix: "srgnn-key")
        defer { folder.cleanUp() }
        let short = try folder.file("short", "fifteen-bytes-k\n")
        #expect(throws: ServingConfigurationError.self) { try RecommendationIDSigner(contentsOfFile: short) }
        do { _ = try RecommendationIDSigner(contentsOfFile: short) } catch {
            #expect("\(error)".contains("at least 16") && !"\(error)".contains("fifteen"))
        }
        #expect(throws: ServingConfigurationError.self) { try RecommendationIDSigner(key: Array("fifteen-bytes-k".utf8)) }
        #expect(throws: Never.self) { try RecommendationIDSigner(contentsOfFile: try folder.file("ok", "  sixteen-bytes-ok \n")) }
    }

    /// `item` is capped like a session id; the longest line the log can get stays under its stated bound.
    @Test func itemIsCappedAndLinesAreBounded() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        try await fixture.abApp(eventsLog: try EventsLog(path: path)).test(.router) { client in
            let id = try await client.variants(of: ["x"], model: "a")[0].id
            let long = try await client.event(id, item: "\"" + String(repeating: "x", count: 257) + "\"")
            #expect(long.status == .badRequest && long.errorCode == "invalid_item" && long.errorMessage.contains("got 257"), "\(long.text)")
            #expect(try await client.event(id, item: #""""#).errorCode == "invalid_item")
            // The worst item: 256 control characters, each written as \u00XX.
            let worst = "\"" + String(repeating: "\\u0001", count: 256) + "\""
            #expect(try await client.event(id, item: worst, type: "purchase").status == .ok)
            #expect(try await client.event(id, item: "\"" + String(repeating: "😀", count: 256) + "\"").status == .ok)
        }
        let lines = eventLines(try String(contentsOfFile: path, encoding: .utf8))
        #expect(lines.count == 2)
        for line in lines { #expect(line.utf8.count + 1 <= EventsLog.maximumLineBytes, "\(line.utf8.count)") }
    }

    /// Over `maxEventsPerSecond`, events are 429 with `Retry-After`, not logged nor counted.
    @Test func eventsOverTheBudgetAre429() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        var configuration = ServingConfiguration(port: 0, inferenceThreads: 1)
        configuration.maxEventsPerSecond = 2
        let app = try buildApplication(
            configuration: configuration, models: [try ModelLoader().load(fixture.first)],
            split: try VariantSplit(names: ["a"]), eventsLog: try EventsLog(path: path), logger: ReloadFixture.quiet)
        let (statuses, seconds) = try await app.test(.router) { client in
            let id = try await client.variants(of: ["x"], model: "a")[0].id
            var statuses = [Int]()
            let started = Date()
            for _ in 0..<30 {
                let response = try await client.event(id)
                statuses.append(response.status.code)
                if response.status == .tooManyRequests {
                    #expect(response.headers[.retryAfter] == "1" && response.errorCode == "too_many_events")
                }
            }
            return (statuses, Date().timeIntervalSince(started))
        }
        let recorded = statuses.filter { $0 == 200 }.count
        // A burst of 2, then 2 a second while the 30 requests run.
        #expect(recorded >= 2 && recorded <= 2 + Int(seconds * 2) + 1, "\(recorded) in \(seconds) s: \(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 30 - recorded && (seconds > 10 || recorded < 30), "\(statuses)")
        #expect(eventLines(try String(contentsOfFile: path, encoding: .utf8)).count == recorded)
    }

    // MARK: Item 12: the events log

    /// A write that fails part-way is cut back off the file: the client is told 503, and the log
    /// holds whole lines only.
    @Test func aFailedWriteLeavesNoHalfLine() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        let failNext = LockedBox(false), halfWritten = LockedBox(false)
        let log = try EventsLog(
            path: path,
            write: { descriptor, bytes, count in
                // Armed: part of the line goes out, then the disk is full.
                if halfWritten.take() {
                    errno = ENOSPC
                    return -1
                }
                guard failNext.take() else { return write(descriptor, bytes, count) }
                halfWritten.set(true)
                return write(descriptor, bytes, count / 2)
            })
        try await fixture.abApp(eventsLog: log).test(.router) { client in
            let id = try await client.variants(of: ["x"], model: "a")[0].id
            #expect(try await client.event(id).status == .ok)
            failNext.set(true)
            let failed = try await client.event(id, item: "1005")
            #expect(failed.status == .serviceUnavailable && failed.errorCode == "events_log_unavailable", "\(failed.text)")
            #expect(try await client.event(id, item: "1007", type: "purchase").status == .ok)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(text.hasSuffix("\n") && eventLines(text).count == 2, "\(text)")
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)") }
        #expect(!text.contains("1005"))
    }

    /// A deleted or renamed (rotated) log is opened again at its path on the next event, and on `reopen()`.
    @Test func aDeletedOrRotatedLogIsReopened() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        let log = try EventsLog(path: path)
        try await fixture.abApp(eventsLog: log).test(.router) { client in
            let id = try await client.variants(of: ["x"], model: "a")[0].id
            #expect(try await client.event(id).status == .ok)
            #expect(rename(path, path + ".1") == 0)
            #expect(try await client.event(id, item: "1005").status == .ok)
            #expect(eventLines(try String(contentsOfFile: path, encoding: .utf8)).count == 1)
            #expect(eventLines(try String(contentsOfFile: path + ".1", encoding: .utf8)).count == 1)
            #expect(unlink(path) == 0)
            #expect(try await client.event(id, item: "1006").status == .ok)
            #expect(try String(contentsOfFile: path, encoding: .utf8).contains("1006"))
            try await log.reopen()
            #expect(try await client.event(id, item: "1007").status == .ok)
            #expect(eventLines(try String(contentsOfFile: path, encoding: .utf8)).count == 2)
        }
    }

    // MARK: Item 14: reload overlap

    /// A model sharing nothing with the served one is refused unless forced; the answer carries
    /// the overlap; a catalog's overlap is checked too.
    @Test func aReloadSharingTooLittleNeedsForce() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let disjoint = try ReloadFixture.checkpoint(
            at: fixture.folder.path + "/disjoint.safetensors",
            rawIDs: Fixture.rawIDs.map { "new-" + $0 }, seed: 3)
        try await fixture.app().test(.router) { client in
            let same = try await client.reload(#"{"model": "\#(fixture.second)"}"#)
            #expect(same.status == .ok)
            #expect((try same.json["overlap"] as? [String: Any])?["previous_model"] as? Double == 1, "\(same.text)")
            let refused = try await client.reload(#"{"model": "\#(disjoint)"}"#)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "model_refused", "\(refused.text)")
            #expect(refused.errorMessage.contains("0.0 % of the served model's items") && refused.errorMessage.contains(#""force": true"#))
            #expect(try await client.get("/v1/model").json["sha256"] as? String == (try ReloadFixture.sha256(fixture.second)))
            let forced = try await client.reload(#"{"model": "\#(disjoint)", "force": true}"#)
            #expect(forced.status == .ok, "\(forced.text)")
            #expect((try forced.json["overlap"] as? [String: Any])?["previous_model"] as? Double == 0)
        }
        // With a catalog of the old items, the catalog's overlap refuses it too.
        let catalog = try fixture.folder.file("items.csv", "item_id,colour\n" + Fixture.rawIDs.map { "\"\($0)\",red\n" }.joined())
        let loader = ModelLoader(catalogPath: catalog)
        let withCatalog = try buildApplication(
            configuration: ServingConfiguration(port: 0, inferenceThreads: 1),
            model: try loader.load(fixture.first), loader: loader,
            adminToken: try AdminToken(ReloadFixture.token), logger: ReloadFixture.quiet)
        try await withCatalog.test(.router) { client in
            let refused = try await client.reload(#"{"model": "\#(disjoint)"}"#)
            #expect(refused.errorMessage.contains("0.0 % of the catalog's rows"), "\(refused.text)")
            let forced = try await client.reload(#"{"model": "\#(disjoint)", "force": true}"#)
            #expect((try forced.json["overlap"] as? [String: Any])?["catalog"] as? Double == 0, "\(forced.text)")
        }
    }

    // MARK: Item 16: small gaps

    /// The scheme `bearer` is case-insensitive (RFC 7235); tokens under 16 bytes are refused.
    @Test func bearerSchemeIsCaseInsensitiveAndShortTokensRefused() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        try await fixture.app().test(.router) { client in
            for scheme in ["bearer", "BEARER", "Bearer"] {
                let response = try await client.reload("", headers: [.authorization: "\(scheme) \(ReloadFixture.token)"])
                #expect(response.status == .ok, "\(scheme): \(response.text)")
            }
            #expect(try await client.reload("", headers: [.authorization: "bearer"]).status == .unauthorized)
            #expect(try await client.reload("", headers: [.authorization: "bearerx \(ReloadFixture.token)"]).status == .unauthorized)
        }
        #expect(throws: ServingConfigurationError.self) { try AdminToken("fifteen-bytes-k") }
        #expect(throws: Never.self) { try AdminToken("sixteen-bytes-ok") }
    }

    /// `Expect: 100-continue` is answered with 100 before the body is sent; a body announced over
    /// the limit gets 413 at once instead.
    @Test func expectContinueIsAnswered() async throws {
        let configuration = ServingConfiguration(port: 0, maxBodyBytes: 4096, inferenceThreads: 1)
        try await Fixture.app(configuration).test(.live) { client in
            let port = try #require(client.port)
            let (interim, final, refused) = try await offThePool { () -> (String, String, String) in
                let body = #"{"items": ["1003"], "k": 2}"#
                let connection = try RawConnection(port: port)
                connection.send(
                    "POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n"
                )
                // Each wait ends as soon as a response head is in (a busy machine may take a while).
                let interim = connection.receive(for: 10, untilHeadersEnd: true).text
                connection.send(body)
                let final = connection.receive(for: 10, untilHeadersEnd: true).text
                let large = try RawConnection(port: port)
                large.send("POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
                return (interim, final, large.receive(for: 10, untilHeadersEnd: true).text)
            }
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "\(interim)")
            #expect(final.hasPrefix("HTTP/1.1 200"), "\(final)")
            #expect(refused.hasPrefix("HTTP/1.1 413") && !refused.contains("100 Continue"), "\(refused)")
        }
    }

    /// A compressed body is a 415 naming the encoding, with `Accept-Encoding: identity`.
    @Test func compressedBodiesAre415() async throws {
        try await Fixture.app().test(.router) { client in
            for encoding in ["gzip", "deflate, gzip", "br"] {
                let response = try await client.post(
                    "/v1/recommendations", #"{"items": ["1003"]}"#,
                    headers: [.contentType: "application/json", .contentEncoding: encoding])
                #expect(
                    response.status == .unsupportedMediaType && response.errorCode == "unsupported_content_encoding", "\(response.text)")
                #expect(response.headers[.acceptEncoding] == "identity")
            }
            let identity = try await client.post(
                "/v1/recommendations", #"{"items": ["1003"]}"#,
                headers: [.contentType: "application/json", .contentEncoding: "identity"])
            #expect(identity.status == .ok)
        }
    }

    /// A 405 is counted under the route its path names, not `NotFound`.
    @Test func methodNotAllowedIsLabelledWithItsRoute() async throws {
        let metrics = ServiceMetrics()
        let app = try buildApplication(
            configuration: ServingConfiguration(port: 0, inferenceThreads: 1),
            model: ServedModel(recommender: try Fixture.recommender()), metrics: metrics)
        try await app.test(.router) { client in
            let wrongMethod = try await client.get("/v1/recommendations"), nowhere = try await client.get("/nowhere")
            #expect(wrongMethod.status == .methodNotAllowed && nowhere.status == .notFound)
        }
        let exposition = metrics.exposition()
        #expect(exposition.contains(#"http_requests_total{route="/v1/recommendations",method="GET",status="405"} 1"#), "\(exposition)")
        #expect(!exposition.contains(#"route="NotFound",method="GET",status="405""#))
        #expect(!exposition.contains("nowhere"))
    }

    /// One client address holds at most `maxConnectionsPerClient` connections: the next is closed
    /// at once, and once one closes a new one is served.
    @Test func connectionsPerClientAreLimited() async throws {
        var configuration = ServingConfiguration(port: 0, inferenceThreads: 1, idleTimeout: .seconds(30))
        configuration.maxConnectionsPerClient = 3
        let metrics = ServiceMetrics()
        let app = try buildApplication(
            configuration: configuration, model: ServedModel(recommender: try Fixture.recommender()),
            metrics: metrics)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // The test client may hold a connection of its own from the same address, so connections
            // are opened (each checked with a request) until one is refused.
            let (admitted, refused, seconds, after) = try await offThePool { () -> (Int, (text: String, closed: Bool), Double, String) in
                var open = [RawConnection]()
                while open.count < 4 {
                    let connection = try RawConnection(port: port)
                    let started = Date()
                    connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    // An admitted connection's answer may be slow on a busy machine (the whole suite
                    // runs in parallel); a refused one is closed at once, which ends the wait.
                    let answer = connection.receive(for: 10, untilHeadersEnd: true)
                    guard answer.text.hasPrefix("HTTP/1.1 200") else {
                        let seconds = Date().timeIntervalSince(started)
                        let admitted = open.count
                        // Not even one admitted (a machine too busy to answer in time): the expectation below says so.
                        guard !open.isEmpty else { return (0, answer, seconds, "") }
                        open.removeLast()
                        Thread.sleep(forTimeInterval: 0.3)
                        let next = try RawConnection(port: port)
                        next.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        return (admitted, answer, seconds, next.receive(for: 10, untilHeadersEnd: true).text)
                    }
                    open.append(connection)
                }
                return (open.count, ("", false), 0, "")
            }
            #expect((2...3).contains(admitted), "\(admitted) connections admitted with a limit of 3")
            #expect(refused.closed && refused.text.isEmpty && seconds < 0.5, "\(refused) after \(seconds) s")
            #expect(after.hasPrefix("HTTP/1.1 200"), "\(after)")
        }
        #expect(gauge("http_connections_refused_per_client_total", in: metrics.exposition()) == 1)
        #expect(throws: ServingConfigurationError.self) {
            var bad = ServingConfiguration()
            bad.maxConnectionsPerClient = 0
            try bad.validate()
        }
    }
}

/// A value shared between the test and a closure running elsewhere.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `stored` is only touched under `lock`.
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    func set(_ newValue: Value) { lock.withLock { stored = newValue } }

    var value: Value { lock.withLock { stored } }
}

extension LockedBox where Value == Bool {
    /// The value; clears it.
    func take() -> Bool {
        lock.withLock {
            defer { stored = false }; return stored
        }
    }
}
