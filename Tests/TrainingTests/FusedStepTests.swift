import Evaluation
import SessionData
import SRGNN
import TensorCore
import Testing
import Training

/// The training step's own arithmetic, on synthetic data (no fixtures needed, so these always run).
@Suite struct FusedStepTests {
    /// The fused step does per element exactly what a separate backward and `Adam.update` do, so
    /// the two give the same bits, over several steps of different batches on a bigger model.
    @Test(arguments: [64, 7, 1], ScoreKernels.supportedPaths)
    func fusedTrainingStepEqualsSeparateSteps(tileItems: Int, kernel: KernelPath) throws {
        let configuration = SRGNNConfiguration(itemCount: 300, hiddenSize: 16)
        let sessions = SyntheticClickLog(itemCount: 300, sessionCount: 400, seed: 3).sessions().filter { $0.count >= 2 }
        var initial = try SRGNNModel(configuration: configuration, seed: 5)
        initial.kernelPath = kernel
        var fused = TrainingStep(model: initial, learningRate: 1e-3, l2Penalty: 1e-5, threads: 2)
        fused.tileItems = tileItems
        var model = fused.model
        var optimizer = Adam(for: model.parameters, configuration: configuration, learningRate: 1e-3, l2Penalty: 1e-5)
        var gradient = SRGNNParameters(zerosLike: model.parameters)
        let workspace = SRGNNWorkspace()
        for index in 0..<6 {
            let chosen = sessions[(index * 50)..<(index * 50 + 50)]
            let prefixes = chosen.map { $0.dropLast() }, targets = chosen.map { $0.last! }
            let fusedLoss = fused(prefixes: prefixes, targets: targets)
            let batch = SessionBatch(sessions: prefixes.map(Array.init), targets: targets)
            let loss = model.lossAndGradient(
                batch, workspace: workspace, gradient: &gradient, mode: .overwrite, threads: 2,
                tileItems: fused.tileItems)
            optimizer.update(&model.parameters, gradient: gradient, threads: 2, path: kernel)
            #expect(fusedLoss == loss, "loss of step \(index)")
            for name in ParameterName.allCases {
                let ours = fused.model.parameters.values(of: name), expected = model.parameters.values(of: name)
                let difference = ours.indices.first { ours[$0].bitPattern != expected[$0].bitPattern }
                #expect(difference == nil, "\(name.rawValue) after step \(index) differs at \(difference ?? -1)")
            }
            #expect(fused.optimizer.firstMoment == optimizer.firstMoment, "first moments after step \(index)")
            #expect(fused.optimizer.secondMoment == optimizer.secondMoment, "second moments after step \(index)")
        }
    }

    @Test func stepDecayUsesTheReferenceTiming() {
        let schedule = StepDecay(initialRate: 1e-3, interval: 3, factor: 0.1)
        // The reference steps its scheduler before each epoch: epochs 0 and 1 at lr, epoch 2 decayed.
        #expect(schedule.rate(epoch: 0) == 1e-3)
        #expect(schedule.rate(epoch: 1) == 1e-3)
        #expect(abs(schedule.rate(epoch: 2) - 1e-4) < 1e-10)
        #expect(abs(schedule.rate(epoch: 5) - 1e-5) < 1e-11)
        let textbook = StepDecay(initialRate: 1e-3, interval: 3, factor: 0.1, referenceTiming: false)
        #expect(textbook.rate(epoch: 2) == 1e-3)
        #expect(abs(textbook.rate(epoch: 3) - 1e-4) < 1e-10)
    }
}
