import SessionData
import SRGNN
import TensorCore
import Testing
import Training

@Suite struct BehaviourTests {
    /// The model can fit one small batch: the loss falls by at least an order of magnitude.
    @Test func fitsOneBatch() throws {
        let sessions: [[Int32]] = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10, 2], [11, 12, 11], [3, 1], [13], [14, 15, 16]]
        let targets: [Int32] = [4, 6, 10, 11, 13, 14, 15, 1]
        let configuration = SRGNNConfiguration(itemCount: 20, hiddenSize: 16)
        var model = try SRGNNModel(configuration: configuration, seed: 3)
        var optimizer = Adam(for: model.parameters, configuration: configuration, learningRate: 1e-2, l2Penalty: 0)
        let batch = SessionBatch(sessions: sessions, targets: targets)
        let workspace = SRGNNWorkspace()
        var gradient = SRGNNParameters(zerosLike: model.parameters)
        var losses = [Float]()
        for _ in 0..<150 {
            gradient.zero()
            losses.append(model.lossAndGradient(batch, workspace: workspace, gradient: &gradient))
            optimizer.update(&model.parameters, gradient: gradient)
        }
        #expect(losses.last! < losses.first! / 10, "loss went from \(losses.first!) to \(losses.last!)")
        let top = try model.recommend(session: sessions[0], k: 1)
        #expect(top.first?.id == targets[0], "the fitted model ranks the target first")
    }
}
