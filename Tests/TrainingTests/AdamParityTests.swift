import Foundation
import Testing
import Training
import TestSupport

/// Three `torch.optim.Adam` steps on the same batch, against the reference's parameters after each.
@Suite(.enabled(if: SharedPaths.exists(SharedPaths.referenceFixtures), "needs ../shared/fixtures/reference beside the repository"))
struct AdamParityTests {
    /// How a step is taken: a separate backward and `Adam.step`, or `TrainingStep`, which updates
    /// the embedding inside the score layer — with tiles small enough that rows of the batch's own
    /// items fall inside, at the borders of and between tiles.
    enum StepPath: CaseIterable, CustomTestStringConvertible {
        case separate, fused, fusedTilesOfThree, fusedTilesOfOne
        var testDescription: String { "\(self)" }
        var tileItems: Int { switch self { case .separate, .fused: 1_024; case .fusedTilesOfThree: 3; case .fusedTilesOfOne: 1 } }
    }

    @Test(arguments: ReferenceCase.all(), StepPath.allCases) func threeStepsMatchTorch(_ reference: ReferenceCase, path: StepPath) throws {
        let file = try SafeTensorsFile(contentsOf: reference.weightsPath)
        let (initial, _) = try SRGNNParameters.load(from: file, path: reference.weightsPath)
        let configuration = SRGNNConfiguration(itemCount: reference.embeddingRows - 1, hiddenSize: reference.hiddenSize,
                                               step: reference.step, nonhybrid: reference.nonhybrid)
        var step = TrainingStep(model: try SRGNNModel(configuration: configuration, parameters: initial),
                                learningRate: reference.learningRate, weightDecay: reference.weightDecay, threads: 2)
        step.tileItems = path.tileItems
        var optimizer = Adam(for: initial, configuration: configuration,
                             learningRate: reference.learningRate, weightDecay: reference.weightDecay)
        let batch = SessionBatch(sessions: reference.sessions, targets: reference.targets)
        let workspace = SRGNNWorkspace()
        var gradient = SRGNNParameters(zerosLike: initial)
        for index in 1...3 {
            let loss: Float
            if path == .separate {
                gradient.zero()
                loss = step.model.lossAndGradient(batch, workspace: workspace, gradient: &gradient)
                optimizer.step(&step.model.parameters, gradient: gradient)
            } else {
                loss = step(prefixes: reference.sessions, targets: reference.targets)
            }
            // Losses of later steps depend on the earlier updates: float32 agreement to ~1e-6 relative.
            #expect(abs(Double(loss) - reference.lossPerStep[index - 1]) <= 1e-6 + 1e-5 * abs(reference.lossPerStep[index - 1]),
                    "loss before step \(index)")
            for name in ParameterName.allCases {
                let ours = step.model.parameters.tensor(name).scalars
                if let expected = file.floats("step\(index).\(name.rawValue)") {
                    // float32 Adam vs float32 torch (same formula, possibly different fusing).
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
