import Evaluation
import Foundation
import Hummingbird
import HummingbirdTesting
import Recommending
@testable import Serving
import SessionData
import TensorCore
import SRGNN
import Testing
import TestSupport

/// A baseline from `srgnn fit` served beside an SR-GNN checkpoint: both variants answer, the
/// baseline's answers are its own scorer's, `/v1/models` describes it, and it reloads.
@Suite struct FittedBaselineServingTests {
    /// A VSTAN file over the fixture's raw ids, fitted on seeded random sessions.
    static func fittedFile(at path: String, seed: UInt64, k: Int = 100) throws -> NeighbourhoodModelFile {
        var rng = SeededGenerator(seed: seed)
        let count = Fixture.rawIDs.count
        let sessions = (0..<300).map { _ in
            (0..<(2 + Int(rng.uniform(0, 5)))).map { _ in Int32(1 + Int(rng.uniform(0, Float(count))) % count) }
        }
        var fitters = BaselineFitters()
        fitters.vstan.k = k
        let file = NeighbourhoodModelFile(
            baseline: .vstan, fitters: fitters, sessions: SessionList(sessions), times: nil,
            vocabulary: ItemVocabulary(rawIDs: Fixture.rawIDs), dataset: "random")
        try file.write(to: path)
        return file
    }

    @Test func aFittedBaselineServesAsAVariantAndReloads() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let knn = fixture.folder.path + "/vstan.safetensors", other = fixture.folder.path + "/vstan2.safetensors"
        let file = try Self.fittedFile(at: knn, seed: 11)
        _ = try Self.fittedFile(at: other, seed: 12, k: 20)
        let expected = try file.scorer().recommend(for: [3, 26], k: 5).map { Fixture.rawIDs[Int($0) - 1] }
        try await fixture.abApp([fixture.first, knn]).test(.router) { client in
            let response = try await client.post("/v1/recommendations", #"{"items": ["1003", "a17"], "k": 5, "model": "b"}"#)
            #expect(response.status == .ok, "\(response.text)")
            let items = (try response.json["items"] as? [[String: Any]] ?? []).map { "\($0["id"]!)" }
            #expect(items == expected)
            let fromA = try await client.post("/v1/recommendations", #"{"items": ["1003", "a17"], "k": 5, "model": "a"}"#)
            #expect(fromA.status == .ok)

            let variants = try #require(try await client.get("/v1/models").json["variants"] as? [[String: Any]])
            #expect(variants.map { $0["format"] as? String } == ["checkpoint", "baseline"])
            let baseline = try #require(variants[1]["baseline"] as? [String: Any])
            #expect(baseline["model"] as? String == "vstan")
            #expect((baseline["parameters"] as? [String: Any])?["k"] as? Double == 100)
            #expect(variants[1]["configuration"] == nil)

            let reloaded = try await client.reload(#"{"variant": "b", "model": "\#(other)"}"#)
            #expect(reloaded.status == .ok, "\(reloaded.text)")
            let after = try #require(try await client.get("/v1/models").json["variants"] as? [[String: Any]])
            #expect(((after[1]["baseline"] as? [String: Any])?["parameters"] as? [String: Any])?["k"] as? Double == 20)
            // A damaged baseline file is refused and b keeps serving.
            let broken = fixture.folder.path + "/broken.safetensors"
            var tensors = try NeighbourhoodModelFile(contentsOf: other).safeTensors()
            tensors.metadata[NeighbourhoodModelFile.metadataKey] = "{}"
            try tensors.write(to: broken)
            let refused = try await client.reload(#"{"variant": "b", "model": "\#(broken)"}"#)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "model_refused", "\(refused.text)")
        }
    }
}
