import Foundation
import Hummingbird
import HummingbirdTesting
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
        let metadata = CheckpointMetadata(model: configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs), epoch: 3,
                                          metrics: ["P@20": 0.5, "MRR@20": 0.25], training: nil, history: nil)
        try! LoadedModel.save(model: model, metadata: metadata, to: path)
        return path
    }()

    /// The official reference weights: a bare weights file, 59 items, d = 16.
    static let barePath = SharedPaths.referenceFixtures.appendingPathComponent("small_hybrid_step1.safetensors").path

    static func recommender(maxSessionLength: Int = Recommender.defaultMaxSessionLength) throws -> Recommender {
        try Recommender(contentsOf: checkpointPath, maxSessionLength: maxSessionLength)
    }

    static func app(_ configuration: ServingConfiguration = ServingConfiguration(port: 0, inferenceThreads: 2),
                    recommender: Recommender? = nil) throws -> some ApplicationProtocol {
        try buildApplication(configuration: configuration, recommender: recommender ?? self.recommender())
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
