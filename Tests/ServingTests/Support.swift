import Foundation
import Hummingbird
import HummingbirdTesting
import Recommending
import Serving
import SessionData
import SRGNN
import TestSupport

/// A small checkpoint with a vocabulary in several raw-id forms, written once per test process.
enum Fixture {
    /// Raw ids as a click log would have them: plain integers, a zero-padded id, words.
    static let rawIDs: [String] = (1...24).map { String(1000 + $0) } + ["007", "a17", "x y", "-5", "42"]

    static let checkpointPath: String = {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("srgnn-serving-tests-\(ProcessInfo.processInfo.processIdentifier).safetensors").path
        let configuration = SRGNNConfiguration(itemCount: rawIDs.count, hiddenSize: 8)
        let model = try! SRGNNModel(configuration: configuration, seed: 1)
        let metadata = CheckpointMetadata(
            model: configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs), epoch: 3,
            metrics: ["P@20": 0.5, "MRR@20": 0.25], training: nil, history: nil)
        try! LoadedModel.save(model: model, metadata: metadata, to: path)
        return path
    }()

    /// The official reference weights: a bare weights file, 59 items, d = 16.
    static let barePath = SharedPaths.referenceFixtures.appendingPathComponent("small_hybrid_step1.safetensors").path

    static func recommender(maxSessionLength: Int = Recommender.defaultMaxSessionLength) throws -> Recommender {
        try Recommender(contentsOf: checkpointPath, maxSessionLength: maxSessionLength)
    }

    static func app(
        _ configuration: ServingConfiguration = ServingConfiguration(port: 0, inferenceThreads: 2),
        recommender: Recommender? = nil
    ) throws -> some ApplicationProtocol {
        try buildApplication(configuration: configuration, model: ServedModel(recommender: recommender ?? self.recommender()))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object.
    var json: [String: Any] {
        get throws { try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:] }
    }

    /// The `error.code` of a JSON error body.
    var errorCode: String? {
        ((try? json)?["error"] as? [String: Any])?["code"] as? String
    }

    var errorMessage: String {
        ((try? json)?["error"] as? [String: Any])?["message"] as? String ?? ""
    }
}

extension TestClientProtocol {
    /// POSTs a JSON body.
    func post(_ uri: String, _ body: String, headers: HTTPFields = [.contentType: "application/json"]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A raw TCP connection to a server on loopback, for what an HTTP client will not send: broken
/// framing, a request cut short, bytes one at a time. Blocking; use it inside `offThePool`.
final class RawConnection {
    private let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, result == 0 else {
            close(fd)
            throw RawConnectionError(description: "cannot connect to 127.0.0.1:\(port) (errno \(errno))")
        }
    }

    deinit { close(fd) }

    /// Sends `text`; false once the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        #if canImport(Glibc)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        #else
        let sent = bytes.withUnsafeBytes { Darwin.send(fd, $0.baseAddress, $0.count, 0) }
        #endif
        return sent == bytes.count
    }

    /// What the server sends within `seconds`, and whether it closed the connection by then.
    /// What arrives within `seconds` (or until the peer closes; with `untilHeadersEnd`, also as
    /// soon as a response head has arrived in full).
    func receive(for seconds: Double, untilHeadersEnd: Bool = false) -> (text: String, closed: Bool) {
        var received = [UInt8]()
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return (String(decoding: received, as: UTF8.self), false) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(left * 1000) + 1) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
            if untilHeadersEnd, received.count >= 4,
                received.indices.dropLast(3).contains(where: { received[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) })
            {
                return (String(decoding: received, as: UTF8.self), false)
            }
        }
    }
}

struct RawConnectionError: Error, CustomStringConvertible {
    var description: String
}

/// Runs blocking `work` on a thread of its own, so that it holds no thread of Swift's cooperative
/// pool, which the server under test needs.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// The `click` and `purchase` lines of an events log's text, in order (the log also holds `start`
/// and `impression` lines; its keys are sorted, so each line names its type as `"type":"…"`).
func eventLines(_ text: String) -> [Substring] {
    text.split(separator: "\n").filter { $0.contains(#""type":"click""#) || $0.contains(#""type":"purchase""#) }
}
