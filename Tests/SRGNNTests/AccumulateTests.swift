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

@Suite struct ThreadCountTests {
    /// Loss and gradient are the same bits on 1, 2 or 3 threads over many tiles, whichever worker
    /// takes which tile: each tile's part of ds_h is added in tile order, not per worker. Not on
    /// `blas`, whose blocking of the graph network's products depends on how they are split.
    @Test(arguments: ScoreKernels.supportedPaths.filter { $0 != .blas })
    func gradientDoesNotDependOnThreadsOrTileOrder(kernel: KernelPath) throws {
        let configuration = SRGNNConfiguration(itemCount: 300, hiddenSize: 10)
        var model = try SRGNNModel(configuration: configuration, seed: 8)
        model.kernelPath = kernel
        let sessions = SyntheticClickLog(itemCount: 300, sessionCount: 120, seed: 6).sessions().filter { $0.count >= 2 }.prefix(40)
        let batch = SessionBatch(sessions: sessions.map { Array($0.dropLast()) }, targets: sessions.map { $0.last! })
        do {
            func gradient(threads: Int) -> (Float, SRGNNParameters) {
                var gradient = SRGNNParameters(zerosLike: model.parameters)
                let loss = model.lossAndGradient(
                    batch, workspace: SRGNNWorkspace(), gradient: &gradient, mode: .overwrite,
                    threads: threads, tileItems: 7)
                return (loss, gradient)
            }
            let (loss, expected) = gradient(threads: 1)
            for threads in [2, 3, 2, 3, 2] {
                let (otherLoss, other) = gradient(threads: threads)
                #expect(otherLoss == loss, "\(kernel) loss on \(threads) threads")
                let difference = other.storage.indices.first { other.storage[$0].bitPattern != expected.storage[$0].bitPattern }
                #expect(difference == nil, "\(kernel) gradient on \(threads) threads differs at \(difference ?? -1)")
            }
        }
    }
}
