import Evaluation
import Foundation
import Recommending
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// The `Recommender` (what `srgnn recommend` and the service answer with) and the `SRGNNScorer`
/// (what evaluation measures) share one `InferenceModel` and agree: the recommender's list is the
/// scorer's scores sorted, and its first item is the one the scorer ranks first.
@Suite struct SharedInferenceTests {
    @Test(arguments: [ModelVariant.srgnn, .niser])
    func recommenderAndScorerOnOneInferenceModelRankAlike(variant: ModelVariant) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        var configuration = SRGNNConfiguration(itemCount: 200, hiddenSize: 9)
        variant.configure(&configuration)
        let model = try SRGNNModel(configuration: configuration, seed: 21)
        let rawIDs = (1...200).map { "i\($0)" }
        let path = folder.path + "/model.safetensors"
        try LoadedModel.save(
            model: model,
            metadata: CheckpointMetadata(
                model: configuration, vocabulary: ItemVocabulary(rawIDs: rawIDs), epoch: 0, metrics: [:], training: nil,
                history: nil), to: path)
        let loaded = try LoadedModel.load(from: path)
        let inference = InferenceModel(loaded.model)
        let recommender = Recommender(model: loaded, inference: inference)
        let scorer = SRGNNScorer(inference: inference, batchSize: 4, tileItems: 64)
        #expect(recommender.inference === scorer.inference)

        let sessions: [[Int32]] = [[1, 2, 3], [200], [17, 4, 17, 99], [50, 51, 52, 53, 54]]
        var scores = [Float](repeating: .nan, count: sessions.count * 200)
        scores.withUnsafeMutableBufferPointer { scorer.score(sessions: sessions.map { $0[...] }, into: $0) }
        let answers = try recommender.recommend(sessions: sessions.map { $0.map { rawIDs[Int($0) - 1] } }, k: 200)
        var firsts = [Int32]()
        for (row, answer) in answers.enumerated() {
            let row = Array(scores[(row * 200)..<((row + 1) * 200)])
            // Best first, ties to the lower id: the order the recommender promises.
            let expected = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
            #expect(answer.items.map(\.id) == expected.map { rawIDs[$0] })
            #expect(answer.items.map(\.score) == expected.map { row[$0] })
            firsts.append(Int32(expected[0] + 1))
        }
        // Each session's first item is ranked first by the scorer's tiled ranking.
        var positions = [TargetPosition](repeating: TargetPosition(greater: -1, tied: 0), count: sessions.count)
        positions.withUnsafeMutableBufferPointer {
            scorer.targetPositions(sessions: sessions.map { $0[...] }, targets: firsts, into: $0)
        }
        #expect(positions.allSatisfy { $0.greater == 0 })
    }
}
