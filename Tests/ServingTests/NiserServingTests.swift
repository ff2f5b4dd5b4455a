import Foundation
import Hummingbird
import HummingbirdTesting
import Recommending
import Serving
import SessionData
import SRGNN
import Testing
import TestSupport

/// A NISER+ checkpoint served: the service says which model it is and answers as the Recommender.
@Suite struct NiserServingTests {
    static func niserRecommender(_ folder: TemporaryFolder) throws -> Recommender {
        var configuration = SRGNNConfiguration(itemCount: Fixture.rawIDs.count, hiddenSize: 8)
        ModelVariant.niser.configure(&configuration)
        let model = try SRGNNModel(configuration: configuration, seed: 2)
        let metadata = CheckpointMetadata(
            model: configuration, vocabulary: ItemVocabulary(rawIDs: Fixture.rawIDs), epoch: 0,
            metrics: [:], training: nil, history: nil)
        let path = folder.path + "/niser.safetensors"
        try LoadedModel.save(model: model, metadata: metadata, to: path)
        return try Recommender(contentsOf: path)
    }

    @Test func servesANiserCheckpoint() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let recommender = try Self.niserRecommender(folder)
        let expected = try recommender.recommend(session: ["1003", "a17", "1005"], k: 5)
        try await Fixture.app(recommender: recommender).test(.router) { client in
            let model = try await client.get("/v1/model").json
            #expect((model["configuration"] as? [String: Any])?["model_variant"] as? String == "niser")
            let response = try await client.post("/v1/recommendations", #"{"items": [1003, "a17", "1005"], "k": 5}"#)
            #expect(response.status == .ok)
            let items = try #require(try response.json["items"] as? [[String: Any]])
            #expect(items.map { rawID($0["id"]) } == expected.items.map(\.id))
            #expect(items.map { score($0["score"]) } == expected.items.map(\.score))
            // σ · cosine: never beyond σ.
            #expect(expected.items.allSatisfy { abs($0.score) <= SRGNNConfiguration.niserScale * 1.0001 })
        }
        try await Fixture.app().test(.router) { client in
            let model = try await client.get("/v1/model").json
            #expect((model["configuration"] as? [String: Any])?["model_variant"] as? String == "srgnn")
        }
    }
}
