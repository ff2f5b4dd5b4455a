import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// Bad input throws an error that names what is wrong; nothing crashes.
@Suite struct BadInputTests {
    static func smallModel() throws -> SRGNNModel {
        try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 9, hiddenSize: 4), seed: 1)
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("srgnn-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name)").path
    }

    @Test func itemOutsideTheVocabulary() throws {
        let model = try Self.smallModel()
        #expect(throws: ModelError.itemOutOfRange(item: 10, position: 1, itemCount: 9)) { try model.recommend(session: [3, 10], k: 5) }
        #expect(throws: ModelError.itemOutOfRange(item: 0, position: 0, itemCount: 9)) { try model.recommend(session: [0], k: 5) }
        #expect(throws: ModelError.itemOutOfRange(item: -4, position: 2, itemCount: 9)) { try model.recommend(session: [1, 2, -4], k: 5) }
    }

    @Test func emptySession() throws {
        let model = try Self.smallModel()
        #expect(throws: ModelError.emptySession) { try model.recommend(session: [], k: 5) }
    }

    @Test func savedWeightsRoundTrip() throws {
        let model = try Self.smallModel()
        let path = Self.temporaryPath("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path)
        let file = try LoadedModel.load(from: path)
        let (loaded, ignored) = (file.model, file.ignoredTensors)
        #expect(loaded.parameters == model.parameters)
        #expect(ignored == ["gnn.linear_edge_f.bias", "gnn.linear_edge_f.weight"])
        #expect(try loaded.recommend(session: [1, 2], k: 9) == model.recommend(session: [1, 2], k: 9))
    }

    @Test func truncatedWeightsFile() throws {
        let data = try Self.smallModel().parameters.safeTensors().serialized()
        for length in [0, 5, 40, data.count - 1] {
            let error = #expect(throws: ModelError.self) {
                _ = try SRGNNParameters.load(from: SafeTensorsFile(data: data.prefix(length), path: "w.safetensors"), path: "w.safetensors")
            }
            #expect(error?.description.contains("w.safetensors") == true)
            #expect(error?.description.contains("truncated") == true || error?.description.contains("JSON") == true,
                    "length \(length): \(String(describing: error))")
        }
    }

    @Test func missingTensor() throws {
        var file = try Self.smallModel().parameters.safeTensors()
        file.entries["gnn.w_hh"] = nil
        let error = #expect(throws: ModelError.self) { try SRGNNParameters.load(from: file, path: "m.safetensors") }
        #expect(error?.description == "m.safetensors: missing tensor 'gnn.w_hh' (expected shape [12, 4], F32)")
    }

    @Test func wrongShape() throws {
        var file = try Self.smallModel().parameters.safeTensors()
        file.set("linear_one.weight", shape: [4, 3], floats: [Float](repeating: 0, count: 12))
        let error = #expect(throws: ModelError.self) { try SRGNNParameters.load(from: file, path: "m.safetensors") }
        #expect(error?.description == "m.safetensors: tensor 'linear_one.weight' has shape [4, 3], expected [4, 4]")
    }

    @Test func wrongDtype() throws {
        var file = try Self.smallModel().parameters.safeTensors()
        file.entries["gnn.b_iah"] = SafeTensorsFile.Entry(dtype: .f64, shape: [4], data: Data(count: 32))
        let error = #expect(throws: ModelError.self) { try SRGNNParameters.load(from: file, path: "m.safetensors") }
        #expect(error?.description == "m.safetensors: tensor 'gnn.b_iah' has dtype F64, expected F32 with shape [4]")
    }

    @Test func notASafetensorsFile() throws {
        let path = Self.temporaryPath("foreign.bin")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("PK\u{3}\u{4} this is a zip, not weights".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ModelError.self) { try LoadedModel.load(from: path) }
        #expect(error?.description.hasPrefix(path) == true)
        #expect(throws: ModelError.self) { try LoadedModel.load(from: Self.temporaryPath("absent.safetensors")) }
    }
}

/// `srgnn recommend`'s library path on the reference fixture: the first session's top-20.
@Suite(.enabled(if: SharedPaths.exists(SharedPaths.referenceFixtures), "needs ../shared/fixtures/reference"))
struct RecommendFixtureTests {
    @Test func bareOfficialWeightsGiveTheReferenceTopTwenty() throws {
        let reference = try #require(ReferenceCase.all().first { $0.name == "small_hybrid_step1" })
        let file = try LoadedModel.load(from: reference.weightsPath)
        let (model, ignored) = (file.model, file.ignoredTensors)
        #expect(ignored.contains("gnn.linear_edge_f.weight"))
        let top = try model.recommend(session: reference.sessions[0], k: 20)
        #expect(top.map { Int($0.id) - 1 } == reference.top20[0])
        #expect(zip(top, top.dropFirst()).allSatisfy { $0.score >= $1.score })
    }
}
