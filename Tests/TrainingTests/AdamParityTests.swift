import Foundation
import Testing
import Training
import TestSupport

/// Three `torch.optim.Adam` steps on the same batch, against the reference's parameters after each.
@Suite(.enabled(if: SharedPaths.exists(SharedPaths.referenceFixtures), "needs ../shared/fixtures/reference beside the repository"))
struct AdamParityTests {
    @Test(arguments: ReferenceCase.all()) func threeStepsMatchTorch(_ reference: ReferenceCase) throws {
        let file = try SafeTensorsFile(contentsOf: reference.weightsPath)
        let (initial, _) = try SRGNNParameters.load(from: file, path: reference.weightsPath)
        let configuration = SRGNNConfiguration(itemCount: reference.embeddingRows - 1, hiddenSize: reference.hiddenSize,
                                               step: reference.step, nonhybrid: reference.nonhybrid)
        var model = try SRGNNModel(configuration: configuration, parameters: initial)
        var optimizer = Adam(for: model.parameters, configuration: configuration,
                             learningRate: reference.learningRate, weightDecay: reference.weightDecay)
        let batch = SessionBatch(sessions: reference.sessions, targets: reference.targets)
        let workspace = SRGNNWorkspace()
        var gradient = SRGNNParameters(zerosLike: model.parameters)
        for step in 1...3 {
            gradient.zero()
            let loss = model.lossAndGradient(batch, workspace: workspace, gradient: &gradient)
            // Losses of later steps depend on the earlier updates: float32 agreement to ~1e-6 relative.
            #expect(abs(Double(loss) - reference.lossPerStep[step - 1]) <= 1e-6 + 1e-5 * abs(reference.lossPerStep[step - 1]),
                    "loss before step \(step)")
            optimizer.step(&model.parameters, gradient: gradient)
            for name in ParameterName.allCases {
                let ours = model.parameters.tensor(name).scalars
                if let expected = file.floats("step\(step).\(name.rawValue)") {
                    // float32 Adam vs float32 torch (same formula, possibly different fusing).
                    let violation = closenessViolation(ours, expected, absolute: 1e-5, relative: 1e-4)
                    #expect(violation == nil, "\(name.rawValue) after step \(step) differs at \(String(describing: violation))")
                } else {
                    #expect(ours == initial.tensor(name).scalars, "\(name.rawValue) has no gradient and must not move")
                }
            }
        }
    }

    /// The training step updates the embedding inside the score layer; the torch parameters after
    /// each step must come out the same through it, with tiles small enough that rows of the batch's
    /// own items fall inside, at the borders of and between tiles.
    @Test(arguments: ReferenceCase.all(), [2_048, 3, 1]) func fusedTrainingStepMatchesTorch(_ reference: ReferenceCase, tileItems: Int) throws {
        let file = try SafeTensorsFile(contentsOf: reference.weightsPath)
        let (initial, _) = try SRGNNParameters.load(from: file, path: reference.weightsPath)
        let configuration = SRGNNConfiguration(itemCount: reference.embeddingRows - 1, hiddenSize: reference.hiddenSize,
                                               step: reference.step, nonhybrid: reference.nonhybrid)
        var step = TrainingStep(model: try SRGNNModel(configuration: configuration, parameters: initial),
                                learningRate: reference.learningRate, weightDecay: reference.weightDecay, threads: 2)
        step.tileItems = tileItems
        for index in 1...3 {
            let loss = step(prefixes: reference.sessions, targets: reference.targets)
            #expect(abs(Double(loss) - reference.lossPerStep[index - 1]) <= 1e-6 + 1e-5 * abs(reference.lossPerStep[index - 1]),
                    "loss before step \(index)")
            for name in ParameterName.allCases {
                let ours = step.model.parameters.tensor(name).scalars
                if let expected = file.floats("step\(index).\(name.rawValue)") {
                    let violation = closenessViolation(ours, expected, absolute: 1e-5, relative: 1e-4)
                    #expect(violation == nil, "\(name.rawValue) after step \(index) differs at \(String(describing: violation))")
                } else {
                    #expect(ours == initial.tensor(name).scalars, "\(name.rawValue) has no gradient and must not move")
                }
            }
        }
    }

    /// The fused step does per element exactly what a separate backward and `Adam.step` do, so
    /// the two give the same bits, over several steps of different batches on a bigger model.
    @Test func fusedTrainingStepEqualsSeparateSteps() throws {
        let configuration = SRGNNConfiguration(itemCount: 300, hiddenSize: 16)
        let sessions = SyntheticClickLog(itemCount: 300, sessionCount: 400, seed: 3).sessions().filter { $0.count >= 2 }
        var fused = TrainingStep(model: try SRGNNModel(configuration: configuration, seed: 5), learningRate: 1e-3,
                                 weightDecay: 1e-5, threads: 2)
        fused.tileItems = 64
        var model = fused.model
        var optimizer = Adam(for: model.parameters, configuration: configuration, learningRate: 1e-3, weightDecay: 1e-5)
        var gradient = SRGNNParameters(zerosLike: model.parameters)
        let workspace = SRGNNWorkspace()
        for index in 0..<6 {
            let chosen = sessions[(index * 50)..<(index * 50 + 50)]
            let prefixes = chosen.map { $0.dropLast() }, targets = chosen.map { $0.last! }
            let fusedLoss = fused(prefixes: prefixes, targets: targets)
            let batch = SessionBatch(sessions: prefixes.map(Array.init), targets: targets)
            let loss = model.lossAndGradient(batch, workspace: workspace, gradient: &gradient, threads: 2, accumulate: false,
                                             tileItems: fused.tileItems)
            optimizer.step(&model.parameters, gradient: gradient, threads: 2)
            #expect(fusedLoss == loss, "loss of step \(index)")
            for name in ParameterName.allCases {
                let ours = fused.model.parameters.tensor(name).scalars, expected = model.parameters.tensor(name).scalars
                let difference = ours.indices.first { ours[$0].bitPattern != expected[$0].bitPattern }
                #expect(difference == nil, "\(name.rawValue) after step \(index) differs at \(difference ?? -1)")
            }
            #expect(fused.optimizer.firstMoment == optimizer.firstMoment, "first moments after step \(index)")
            #expect(fused.optimizer.secondMoment == optimizer.secondMoment, "second moments after step \(index)")
        }
    }

    @Test func stepDecayUsesTheReferenceTiming() {
        let schedule = StepDecay(initialRate: 1e-3, stepSize: 3, gamma: 0.1)
        // The reference steps its scheduler before each epoch: epochs 0 and 1 at lr, epoch 2 decayed.
        #expect(schedule.rate(epoch: 0) == 1e-3)
        #expect(schedule.rate(epoch: 1) == 1e-3)
        #expect(abs(schedule.rate(epoch: 2) - 1e-4) < 1e-10)
        #expect(abs(schedule.rate(epoch: 5) - 1e-5) < 1e-11)
        let textbook = StepDecay(initialRate: 1e-3, stepSize: 3, gamma: 0.1, referenceTiming: false)
        #expect(textbook.rate(epoch: 2) == 1e-3)
        #expect(abs(textbook.rate(epoch: 3) - 1e-4) < 1e-10)
    }
}
