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
        FileManager.default.temporaryDirectory.appendingPathComponent("srgnn-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
            .path
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
            #expect(
                error?.description.contains("truncated") == true || error?.description.contains("JSON") == true,
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
@Suite struct RecommendFixtureTests {
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

/// Issue 17: weights and checkpoints from outside are checked before anything is sized by them.
@Suite struct ModelHardeningTests {
    /// A safetensors file with `header` as its JSON header and `dataBytes` zero bytes of data.
    static func rawFile(_ header: String, dataBytes: Int = 16) -> Data {
        var json = Data(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(Data(count: dataBytes))
        return data
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test(
        "2: a shape whose element count overflows is an error, not a trap",
        arguments: [
            "[4611686018427387904, 4]", "[1e300]", "[9223372036854775807, 9223372036854775807]",
        ])
    func overflowingShape(shape: String) {
        let data = Self.rawFile(#"{"embedding.weight":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,16]}}"#)
        let text = Self.message { _ = try SafeTensorsFile(data: data, path: "w.st") }
        #expect(text.hasPrefix("w.st: tensor 'embedding.weight': "), "\(text)")
    }

    @Test("22: a fractional or negative shape is an error naming the tensor")
    func fractionalShape() {
        for shape in ["[310.5, 100]", "[-1, 4]"] {
            let data = Self.rawFile(#"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,16]}}"#)
            let text = Self.message { _ = try SafeTensorsFile(data: data, path: "w.st") }
            #expect(text.hasPrefix("w.st: tensor 'a': shape ["), "\(text)")
            #expect(text.hasSuffix("must be at most 8 whole numbers ≥ 0"), "\(text)")
        }
    }

    @Test("22: overlapping tensor offsets are an error")
    func overlappingOffsets() {
        let data = Self.rawFile(
            #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#)
        let text = Self.message { _ = try SafeTensorsFile(data: data, path: "w.st") }
        #expect(text == "w.st: tensors 'a' and 'b' overlap: data_offsets 0..<16 and 8..<16")
    }

    @Test("3: a file holding only a 2 × 20,000 embedding is refused before anything is allocated")
    func bareEmbeddingOnly() throws {
        var file = SafeTensorsFile()
        file.set("embedding.weight", shape: [2, 20_000], floats: [Float](repeating: 0, count: 40_000))
        let wide = Self.message { _ = try SRGNNParameters.load(from: file, path: "w.st") }
        #expect(wide == "w.st: tensor 'embedding.weight' has shape [2, 20000]: at most 2147483646 items and hidden size 4096")
        file = SafeTensorsFile()
        file.set("embedding.weight", shape: [2, 4_000], floats: [Float](repeating: 0, count: 8_000))
        let missing = Self.message { _ = try SRGNNParameters.load(from: file, path: "w.st") }
        #expect(missing == "w.st: missing tensor 'gnn.w_ih' (expected shape [12000, 8000], F32)")
    }

    @Test("4: a checkpoint whose metadata says step = 2^61 is refused at load; so is --step 2^61")
    func hugePropagationSteps() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let model = try BadInputTests.smallModel()
        let path = folder.path + "/m.st"
        let metadata = CheckpointMetadata(
            model: model.configuration, vocabulary: .identity(count: 9), epoch: 0, metrics: [:],
            training: nil, history: nil)
        var json = try JSONText.string(metadata)
        json = json.replacingOccurrences(of: "\"propagationSteps\":1", with: "\"step\":2305843009213693952")
        try model.parameters.safeTensors(metadata: [CheckpointMetadata.key: json]).write(to: path)
        let text = Self.message { _ = try LoadedModel.load(from: path) }
        #expect(
            text
                == "\(path): the checkpoint metadata: invalid model configuration: propagation steps must be in 1...16, got 2305843009213693952"
        )
        let bare = folder.path + "/bare.st"
        try model.saveWeights(to: bare)
        let steps = Self.message { _ = try LoadedModel.load(from: bare, propagationSteps: 100_000) }
        #expect(steps == "\(bare): invalid model configuration: propagation steps must be in 1...16, got 100000")
    }

    @Test("22: NaN or infinite weights are refused at load, naming the tensor")
    func nonFiniteWeights() throws {
        var parameters = try BadInputTests.smallModel().parameters
        var values = parameters.values(of: .attentionVector)
        values[2] = .nan
        parameters.setTensor(.attentionVector, values)
        let text = Self.message { _ = try SRGNNParameters.load(from: parameters.safeTensors(), path: "w.st") }
        #expect(text == "w.st: tensor 'linear_three.weight' holds nan at element 2; weights must be finite numbers")
    }

    @Test("17: the dataset fingerprint is saved in checkpoint metadata; files without it still load")
    func fingerprintField() throws {
        let metadata = CheckpointMetadata(
            model: SRGNNConfiguration(itemCount: 2), vocabulary: .identity(count: 2), epoch: 0,
            metrics: [:], training: nil, history: nil, datasetFingerprint: "fnv1a64:0123456789abcdef")
        let json = try JSONText.string(metadata)
        #expect(json.contains("\"datasetFingerprint\":\"fnv1a64:0123456789abcdef\""))
        let old = json.replacingOccurrences(of: ",\"datasetFingerprint\":\"fnv1a64:0123456789abcdef\"", with: "")
        #expect(try JSONDecoder().decode(CheckpointMetadata.self, from: Data(old.utf8)).datasetFingerprint == nil)
    }

    @Test("a device as a weights file is refused, not read forever")
    func deviceAsWeights() {
        let text = Self.message { _ = try SafeTensorsFile(contentsOf: "/dev/zero") }
        #expect(text == "/dev/zero: cannot read the file: is not a regular file (a device, pipe or socket), expected a file")
    }

    @Test("1: top-k with k = 100,000 over 1,000,000 items is exact")
    func largeTopK() {
        var generator = SeededGenerator(seed: 3)
        let values = (0..<1_000_000).map { _ in generator.uniform(-1, 1) }
        let top = values.withUnsafeBufferPointer { topK($0.baseAddress!, count: $0.count, k: 100_000) }
        #expect(top.count == 100_000)
        let expected = values.indices.sorted { (values[$0], -$0) > (values[$1], -$1) }.prefix(100_000)
        #expect(top.map { values[$0] } == expected.map { values[$0] })
    }
}
