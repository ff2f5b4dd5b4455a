import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing

/// Issue 29, item 2: sessions are no longer cut to 200 clicks, so the model must take longer ones.
/// NISER+ learns 200 position rows; clicks further from the reference click share the last row (the
/// gradient checks in NiserTests cover that sharing on short sessions with few rows).
@Suite struct LongSessionTests {
    @Test("a 300-click session scores finitely with NISER+'s 200 position rows, both position orders", arguments: [false, true])
    func niserPlusScoresALongSession(authorsCode: Bool) throws {
        let configuration = SRGNNConfiguration(
            itemCount: 40, hiddenSize: 4, normalize: true,
            positionEmbeddingRows: SRGNNConfiguration.niserPositionRows, dropout: 0.1,
            authorsCode: authorsCode)
        let model = try SRGNNModel(configuration: configuration, seed: 3)
        let session = (0..<300).map { Int32($0 * 7 % 40 + 1) }
        var scores = [Float](repeating: .nan, count: configuration.itemCount)
        scores.withUnsafeMutableBufferPointer {
            model.scores(SessionBatch(sessions: [session]), workspace: SRGNNWorkspace(), into: $0.baseAddress!)
        }
        #expect(scores.allSatisfy { $0.isFinite })
    }
}
