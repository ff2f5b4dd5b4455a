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
