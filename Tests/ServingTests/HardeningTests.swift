import Foundation
import Hummingbird
import HummingbirdTesting
import Recommending
import Serving
import SessionData
import SRGNN
import Testing
import TestSupport

/// Issue 17's attacks on the service, each with the answer now expected: broken framing is a 400,
/// a client that leaves is not a 5xx, ids come back as sent, slow clients are cut off, `k` and
/// methods are checked, and no filesystem path is shown.
@Suite struct HardeningTests {
    static let chunkedHead =
        "POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// Case 11: a chunk size line that is not hexadecimal is answered 400 with a JSON error, and the
    /// connection is closed (the rest of the body cannot be framed).
    @Test(arguments: ["zz", "-1", " 5", "0x5"])
    func malformedChunkSizeIs400(sizeLine: String) async throws {
        try await Fixture.app().test(.live) { client in
            let port = try #require(client.port)
            let answer = try await offThePool {
                let connection = try RawConnection(port: port)
                connection.send(Self.chunkedHead + "\(sizeLine)\r\n{\"items\": [1001]}\r\n0\r\n\r\n")
                return connection.receive(for: 5)
            }
            #expect(answer.text.hasPrefix("HTTP/1.1 400 "), "\(answer.text)")
            #expect(
                answer.text.contains(#"{"error":{"code":"malformed_request","message":"the request's HTTP framing is invalid"#),
                "\(answer.text)")
            #expect(answer.closed)
            let metrics = try await client.get("/metrics").text
            #expect(!metrics.contains(#"status="500""#), "\(metrics)")
        }
    }

    /// Case 11, the control: a well-framed chunked body is answered as usual.
    @Test func wellFormedChunkedBodyIsAnswered() async throws {
        try await Fixture.app().test(.live) { client in
            let port = try #require(client.port)
            let body = #"{"items": [1001], "k": 2}"#
            let answer = try await offThePool {
                let connection = try RawConnection(port: port)
                connection.send(
                    Self.chunkedHead.replacingOccurrences(of: "HTTP/1.1\r\n", with: "HTTP/1.1\r\nConnection: close\r\n")
                        + String(body.utf8.count, radix: 16) + "\r\n\(body)\r\n0\r\n\r\n")
                return connection.receive(for: 5)
            }
            #expect(answer.text.hasPrefix("HTTP/1.1 200 "), "\(answer.text)")
        }
    }

    /// Case 12: a client that disconnects mid-body is counted under 499, never 500.
    @Test func clientGoneMidBodyIsNot5xx() async throws {
        try await Fixture.app().test(.live) { client in
            let port = try #require(client.port)
            try await offThePool {
                let connection = try RawConnection(port: port)
                connection.send("POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"items\": [10")
                Thread.sleep(forTimeInterval: 0.2)
            }  // closed here
            var metrics = ""
            for _ in 0..<100 {
                metrics = try await client.get("/metrics").text
                if metrics.contains(#"status="499""#) { break }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            #expect(metrics.contains(#"http_requests_total{route="/v1/recommendations",method="POST",status="499"} 1"#), "\(metrics)")
            #expect(!metrics.contains(#"status="500""#))
        }
    }

    /// Case 13: unknown ids come back in the JSON type and text they were sent in; a JSON number is
    /// an integer's value, so `-0` comes back as `0`.
    @Test func sentIDsAreEchoedAsSent() async throws {
        try await Fixture.app().test(.router) { client in
            let response = try await client.post(
                "/v1/recommendations",
                #"{"items": ["12", 12, "-01", "-0", -0, "007", 1001, "+5", -3], "k": 1}"#)
            #expect(response.status == .ok)
            #expect(response.text.hasSuffix(#""unknown_items":["12",12,"-01","-0",0,"+5",-3]}"#), "\(response.text)")
            #expect((try? JSONSerialization.jsonObject(with: Data(response.text.utf8))) != nil)
            let batch = try await client.post(
                "/v1/recommendations/batch",
                #"{"sessions": [{"items": ["12", 1001]}, {"items": [12, "x y"]}], "k": 1}"#)
            #expect(batch.text.contains(#""unknown_items":["12"]"#) && batch.text.contains(#""unknown_items":[12]"#), "\(batch.text)")
        }
    }

    /// Case 13, the vocabulary side: ids from the click log that are not canonical integers are
    /// recommended as strings, valid JSON that keeps their text.
    @Test func vocabularyIDsKeepTheClickLogsText() async throws {
        let rawIDs = ["-01", "-0", "007", "12", "-5"]
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("srgnn-serving-ids-\(ProcessInfo.processInfo.processIdentifier).safetensors").path
        let configuration = SRGNNConfiguration(itemCount: rawIDs.count, hiddenSize: 8)
        let metadata = CheckpointMetadata(
            model: configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs), epoch: 0,
            metrics: [:], training: nil, history: nil)
        try LoadedModel.save(model: try SRGNNModel(configuration: configuration, seed: 1), metadata: metadata, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await Fixture.app(recommender: try Recommender(contentsOf: path)).test(.router) { client in
            let response = try await client.post("/v1/recommendations", #"{"items": ["-01"], "k": 5}"#)
            let items = try #require(try response.json["items"] as? [[String: Any]])
            let ids = items.map { item -> String in
                if let text = item["id"] as? String { return "\"\(text)\"" }
                return "\(item["id"]!)"
            }
            #expect(Set(ids) == [#""-01""#, #""-0""#, #""007""#, "12", "-5"], "\(response.text)")
        }
    }

    /// Case 14: a request trickled a byte at a time, head or body, is cut off at the request read
    /// timeout (well before the idle timeout), and the service still answers.
    @Test(arguments: [
        "POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        "POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{",
    ])
    func slowRequestIsClosedAtTheReadTimeout(start: String) async throws {
        let configuration = ServingConfiguration(
            port: 0, inferenceThreads: 1, idleTimeout: .seconds(30),
            requestReadTimeout: .milliseconds(500))
        try await Fixture.app(configuration).test(.live) { client in
            let port = try #require(client.port)
            let closedAfter = try await offThePool { () -> Double? in
                let connection = try RawConnection(port: port)
                let opened = Date()
                connection.send(start)
                // One byte every 100 ms: never idle, never complete.
                while Date().timeIntervalSince(opened) < 5 {
                    if connection.receive(for: 0.1).closed { return Date().timeIntervalSince(opened) }
                    connection.send("a")
                }
                return nil
            }
            let seconds = try #require(closedAfter, "the slow request was not cut off within 5 s")
            #expect(seconds >= 0.4 && seconds < 2.5, "closed after \(seconds) s")
            #expect(try await client.get("/ready").status == .ok)
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains("http_request_read_timeouts_total 1"), "\(metrics)")
            #expect(!metrics.contains(#"status="500""#), "\(metrics)")
        }
    }

    /// Case 14: a connection that sends nothing is closed at the idle timeout.
    @Test func idleConnectionIsClosedAtTheIdleTimeout() async throws {
        let configuration = ServingConfiguration(
            port: 0, inferenceThreads: 1, idleTimeout: .milliseconds(500),
            requestReadTimeout: .seconds(30))
        try await Fixture.app(configuration).test(.live) { client in
            let port = try #require(client.port)
            let (answer, seconds) = try await offThePool {
                let connection = try RawConnection(port: port)
                let opened = Date()
                let answer = connection.receive(for: 5)
                return (answer, Date().timeIntervalSince(opened))
            }
            #expect(answer.closed && answer.text.isEmpty)
            #expect(seconds >= 0.4 && seconds < 2.5, "closed after \(seconds) s")
        }
    }

    @Test func timeoutsAndConnectionCapAreValidated() {
        #expect(throws: ServingConfigurationError.self) { try ServingConfiguration(requestReadTimeout: .zero).validate() }
        #expect(throws: ServingConfigurationError.self) { try ServingConfiguration(idleTimeout: .seconds(-1)).validate() }
        #expect(throws: ServingConfigurationError.self) { try ServingConfiguration(maxConnections: 0).validate() }
        #expect(throws: Never.self) { try ServingConfiguration().validate() }
        let defaults = ServingConfiguration()
        #expect(defaults.idleTimeout == .seconds(30) && defaults.requestReadTimeout == .seconds(10))
        #expect(defaults.maxConnections == 2048)
    }

    /// Case 15: `k` that is a number but not an integer in range is an `invalid_k`, quoting it.
    @Test(arguments: [("2.5", "got 2.5"), ("1e20", "got 1e+20"), ("-1", "got -1"), ("20.5", "got 20.5")])
    func nonIntegerKIsInvalidK(k: String, quoted: String) async throws {
        try await Fixture.app().test(.router) { client in
            for route in ["/v1/recommendations", "/v1/recommendations/batch"] {
                let body = route.hasSuffix("batch") ? #"{"sessions": [{"items": [1001]}], "k": \#(k)}"# : #"{"items": [1001], "k": \#(k)}"#
                let response = try await client.post(route, body)
                #expect(response.status == .badRequest && response.errorCode == "invalid_k", "\(route): \(response.text)")
                #expect(response.errorMessage.contains("must be an integer in 1...1000"), "\(response.errorMessage)")
                #expect(response.errorMessage.contains(quoted), "\(response.errorMessage)")
            }
        }
    }

    /// Case 15: a known path asked with another method is a 405 with `Allow` and a JSON error.
    @Test(arguments: [
        (HTTPRequest.Method.get, "/v1/recommendations", "POST"),
        (.put, "/v1/recommendations", "POST"),
        (.delete, "/v1/recommendations", "POST"),
        (.get, "/v1/recommendations/batch", "POST"),
        (.post, "/v1/model", "GET, HEAD"),
        (.post, "/v1/models", "GET, HEAD"),
        (.get, "/v1/events", "POST"),
        (.delete, "/health", "GET, HEAD"),
    ])
    func wrongMethodIs405WithAllow(method: HTTPRequest.Method, path: String, allow: String) async throws {
        try await Fixture.app().test(.router) { client in
            let response = try await client.execute(uri: path, method: method)
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == allow)
            #expect(response.errorCode == "method_not_allowed")
            #expect(response.errorMessage.contains("use \(allow)"), "\(response.errorMessage)")
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    /// Every route answers its own method (the table behind `Allow` matches the router), and HEAD
    /// where it takes GET.
    @Test func everyListedRouteAnswersItsMethod() async throws {
        try await Fixture.app().test(.router) { client in
            for path in ["/v1/recommendations", "/v1/recommendations/batch"] {
                #expect(try await client.post(path, #"{"items": [1001], "sessions": [{"items": [1001]}]}"#).status == .ok)
            }
            // The route is there: a bad event is refused by it, not by the router.
            #expect(
                try await client.post("/v1/events", #"{"recommendation_id": "x", "item": 1, "type": "click"}"#).errorCode
                    == "invalid_recommendation_id")
            for path in ["/v1/model", "/v1/models", "/health", "/ready", "/metrics"] {
                #expect(try await client.get(path).status == .ok, "\(path)")
                let head = try await client.execute(uri: path, method: .head)
                #expect(head.status == .ok && head.body.readableBytes == 0, "\(path)")
            }
        }
    }

    /// Case 16: `GET /v1/model` names the dataset by its folder, never by its path.
    @Test(arguments: [
        ("/srv/private/data/diginetica/", "diginetica"),
        ("../shared/data/yoochoose1_64", "yoochoose1_64"),
        ("C:\\data\\ml-100k", "ml-100k"),
        ("train.txt", "train.txt"),
    ])
    func modelShowsTheDatasetNameNotItsPath(recorded: String, name: String) async throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("srgnn-serving-dataset-\(ProcessInfo.processInfo.processIdentifier)-\(name).safetensors").path
        let configuration = SRGNNConfiguration(itemCount: 3, hiddenSize: 8)
        let metadata = CheckpointMetadata(
            model: configuration, vocabulary: ItemVocabulary(rawIDs: ["1", "2", "3"]), epoch: 0,
            metrics: [:], training: nil, history: nil, dataset: recorded,
            datasetFingerprint: "fnv1a64:0123456789abcdef")
        try LoadedModel.save(model: try SRGNNModel(configuration: configuration, seed: 1), metadata: metadata, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await Fixture.app(recommender: try Recommender(contentsOf: path)).test(.router) { client in
            let response = try await client.get("/v1/model")
            #expect(try response.json["dataset"] as? String == name)
            #expect(try response.json["dataset_fingerprint"] as? String == "fnv1a64:0123456789abcdef")
            #expect(
                !response.text.contains("srv") && !response.text.contains("shared/") && !response.text.contains("C:"),
                "\(response.text)")
        }
    }
}
