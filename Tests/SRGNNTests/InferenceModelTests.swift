import SessionData
import SRGNN
import TensorCore
import Testing

/// `InferenceModel`, the one owner of inference: its prepared items (packed, or a NISER model's
/// Ê) change only the speed, never a number, on every kernel path.
@Suite struct InferenceModelTests {
    /// d = 10 fits no vector width; 300 items cross several panels and a partial one.
    static func models() throws -> [(name: String, model: SRGNNModel)] {
        var niser = SRGNNConfiguration(itemCount: 300, hiddenSize: 10)
        ModelVariant.niser.configure(&niser)
        return [
            ("SR-GNN", try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 300, hiddenSize: 10), seed: 11)),
            ("NISER+", try SRGNNModel(configuration: niser, seed: 12)),
        ]
    }

    static let sessions: [[Int32]] = [[1, 2, 3, 2, 4], [5], [6, 2, 6, 2, 1, 6], [30, 31, 7, 40], [12, 12, 12], [299, 300, 150]]
    static let targets: [Int32] = [7, 300, 1, 33, 12, 150]

    /// Scores, ranks and selections through the InferenceModel equal, bit for bit, the model's own
    /// on unprepared items, on every supported path; the items are prepared for the path given.
    @Test(arguments: ScoreKernels.supportedPaths)
    func scoresRanksAndSelectionsEqualTheModelsUnprepared(path: KernelPath) throws {
        for (name, var model) in try Self.models() {
            model.kernelPath = path
            do {
                let inference = InferenceModel(model, path: path)
                #expect(inference.path == path)
                #expect(inference.packedItems?.path == (path == .blas ? nil : path), "\(name) \(path): packed for its path")
                #expect((inference.normalizedItems != nil) == (path == .blas && model.configuration.normalize), "\(name) \(path)")
                let items = model.configuration.itemCount, count = Self.sessions.count
                var prepared = [Float](repeating: .nan, count: count * items), unprepared = prepared
                inference.scores(SessionBatch(sessions: Self.sessions), threads: 2, into: &prepared)
                model.scores(SessionBatch(sessions: Self.sessions), workspace: SRGNNWorkspace(), threads: 2, into: &unprepared)
                #expect(prepared == unprepared, "\(name) \(path): scores")

                let batch = SessionBatch(sessions: Self.sessions, targets: Self.targets)
                var preparedRanks = [Int32](repeating: 0, count: count), unpreparedRanks = preparedRanks
                inference.ranks(batch, threads: 2, tileItems: 128, into: &preparedRanks)
                model.ranks(batch, workspace: SRGNNWorkspace(), threads: 2, tileItems: 128, into: &unpreparedRanks)
                #expect(preparedRanks == unpreparedRanks, "\(name) \(path): ranks")

                let selections: [ItemSelection] = Self.sessions.indices.map {
                    $0 % 2 == 0 ? .best(k: 25, allowed: nil) : .candidates([300, 1, 77, 150], k: 3)
                }
                let chosen = try inference.select(sessions: Self.sessions, selections: selections)
                #expect(chosen == (try model.recommend(sessions: Self.sessions, selections: selections)), "\(name) \(path): select")
                #expect(
                    try inference.recommend(sessions: Self.sessions, k: 300) == (try model.recommend(sessions: Self.sessions, k: 300)),
                    "\(name) \(path): recommend")
            }
        }
    }

    /// A bad session is refused by the model's own check, before anything is scored.
    @Test func aBadSessionThrows() throws {
        let inference = InferenceModel(try Self.models()[0].model)
        #expect(throws: ModelError.self) { try inference.recommend(sessions: [[1], [301]], k: 5) }
        #expect(throws: ModelError.self) { try inference.recommend(sessions: [[]], k: 5) }
    }
}
