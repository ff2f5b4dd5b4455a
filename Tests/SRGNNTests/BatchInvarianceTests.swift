import Foundation
import Recommending
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// A session's scores do not depend on the sessions scored with it, on every kernel path but
/// `blas`: so `srgnn recommend --items`, `srgnn recommend --input` (batches) and the service
/// (alone or coalesced) give the same floats. Compared exactly, not within a tolerance.
@Suite struct BatchInvarianceTests {
    /// d = 10 is not a multiple of any vector width; 300 items cross several panels and a partial one.
    static func model(seed: UInt64 = 3) throws -> SRGNNModel {
        try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 300, hiddenSize: 10), seed: seed)
    }

    /// Sessions of 1 to 12 clicks with repeats, so some have 1–3 distinct items (once scored by
    /// BLAS when alone) and some many.
    static func sessions(_ count: Int, seed: UInt64) -> [[Int32]] {
        var rng = SeededGenerator(seed: seed)
        func below(_ n: Int) -> Int { min(n - 1, Int(rng.uniform(0, Float(n)))) }
        return (0..<count).map { _ in
            let length = 1 + below(12)
            let pool = (0..<3).map { _ in Int32(1 + below(300)) }
            return (0..<length).map { _ in below(10) < 4 ? pool[below(3)] : Int32(1 + below(300)) }
        }
    }

    @Test(arguments: ScoreKernels.supportedPaths.filter { $0 != .blas })
    func aSessionScoresTheSameAloneAndInAnyBatch(path: KernelPath) throws {
        var model = try Self.model()
        model.kernelPath = path
        let sessions = Self.sessions(40, seed: 5)
        do {
            // k = every item: all scores are compared.
            let together = try model.recommend(sessions: sessions, k: 300)
            for (index, session) in sessions.enumerated() {
                #expect(try model.recommend(session: session, k: 300) == together[index], "\(path) session \(index) alone")
            }
            let reversed = try model.recommend(sessions: sessions.reversed(), k: 300)
            #expect(Array(reversed.reversed()) == together, "\(path) in another order")
            let packed = try #require(PackedItemEmbedding(model, path: path))
            #expect(try model.recommend(sessions: sessions, k: 300, packedItems: packed) == together, "\(path) packed")
            #expect(try model.recommend(sessions: [sessions[0]], k: 300, packedItems: packed) == [together[0]], "\(path) packed alone")
        }
    }

    /// The `Recommender` (items packed at load) answers a session in a batch exactly as alone, with
    /// and without `excludeSeen`, and as the model does.
    @Test func recommenderAnswersAreBatchInvariant() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let model = try Self.model(seed: 4)
        let rawIDs = (1...300).map { "i\($0)" }
        let path = folder.path + "/model.safetensors"
        try LoadedModel.save(
            model: model,
            metadata: CheckpointMetadata(
                model: model.configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs),
                epoch: 0, metrics: [:], training: nil, history: nil), to: path)
        let recommender = try Recommender(contentsOf: path)
        let sessions = Self.sessions(30, seed: 6).map { $0.map { rawIDs[Int($0) - 1] } }
        for excludeSeen in [false, true] {
            let together = try recommender.recommend(sessions: sessions, k: 25, excludeSeen: excludeSeen)
            for (index, session) in sessions.enumerated() {
                let alone = try recommender.recommend(session: session, k: 25, excludeSeen: excludeSeen)
                #expect(alone == together[index], "session \(index), excludeSeen \(excludeSeen)")
                if excludeSeen { #expect(alone.items.allSatisfy { !session.contains($0.id) }) }
            }
        }
        let direct = try model.recommend(session: [1, 2, 3], k: 25)
        #expect(try recommender.recommend(session: ["i1", "i2", "i3"], k: 25).items.map(\.score) == direct.map(\.score))
    }
}
