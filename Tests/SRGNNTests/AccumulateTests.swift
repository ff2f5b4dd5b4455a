import SessionData
import SRGNN
import TensorCore
import Testing

@Suite struct AccumulateTests {
    /// `.overwrite` sets the gradient to exactly what adding into zeros gives, whatever it held.
    @Test func overwriteEqualsAccumulateIntoZeros() throws {
        let model = try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 30, hiddenSize: 8, propagationSteps: 2), seed: 4)
        let batch = SessionBatch(sessions: [[1, 2, 3, 2], [4], [5, 6, 5]], targets: [7, 8, 9])
        var added = SRGNNParameters(zerosLike: model.parameters)
        model.lossAndGradient(batch, workspace: SRGNNWorkspace(), gradient: &added)
        var overwritten = SRGNNParameters(zerosLike: model.parameters)
        for i in overwritten.storage.indices { overwritten.storage[i] = Float(i % 7) }
        model.lossAndGradient(batch, workspace: SRGNNWorkspace(), gradient: &overwritten, mode: .overwrite, threads: 2)
        #expect(added == overwritten)
    }
}
