import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport
import Training

/// Three `torch.optim.Adam` steps on the same batch, against the reference's parameters after each.
@Suite struct AdamParityTests {
    /// How a step is taken: a separate backward and `Adam.update`, or `TrainingStep`, which updates
    /// the embedding inside the score layer — with tiles small enough that rows of the batch's own
    /// items fall inside, at the borders of and between tiles.
    enum StepPath: CaseIterable, CustomTestStringConvertible {
        case separate, fused, fusedTilesOfThree, fusedTilesOfOne
        var testDescription: String { "\(self)" }
        var tileItems: Int {
            switch self {
            case .separate, .fused: 1_024;
            case .fusedTilesOfThree: 3;
            case .fusedTilesOfOne: 1
            }
        }
    }

    /// The cases are committed (`Tests/Fixtures/reference`): none may go missing unnoticed.
    @Test func everyCaseIsPresent() {
        #expect(ReferenceCase.all().count >= 3, "expected the three reference cases, found \(ReferenceCase.all().map(\.name))")
    }

    /// Through every score-kernel path this machine runs.
    @Test(arguments: ReferenceCase.all(), StepPath.allCases) func threeStepsMatchTorch(_ reference: ReferenceCase, path: StepPath) throws {
        for kernel in ScoreKernels.supportedPaths {
            try checkThreeSteps(reference, path: path, kernel: kernel)
        }
    }

    func checkThreeSteps(_ reference: ReferenceCase, path: StepPath, kernel: KernelPath) throws {
        let file = try SafeTensorsFile(contentsOf: reference.weightsPath)
        let (initial, _) = try SRGNNParameters.load(from: file, path: reference.weightsPath)
        let configuration = SRGNNConfiguration(
            itemCount: reference.embeddingRows - 1, hiddenSize: reference.hiddenSize,
            propagationSteps: reference.step, nonhybrid: reference.nonhybrid)
        var model = try SRGNNModel(configuration: configuration, parameters: initial)
        model.kernelPath = kernel
        var step = TrainingStep(
            model: model,
            learningRate: reference.learningRate, l2Penalty: reference.weightDecay, threads: 2)
        step.tileItems = path.tileItems
        var optimizer = Adam(
            for: initial, configuration: configuration,
            learningRate: reference.learningRate, l2Penalty: reference.weightDecay)
        let batch = SessionBatch(sessions: reference.sessions, targets: reference.targets)
        let workspace = SRGNNWorkspace()
        var gradient = SRGNNParameters(zerosLike: initial)
        for index in 1...3 {
            let loss: Float
            if path == .separate {
                gradient.zero()
                loss = step.model.lossAndGradient(batch, workspace: workspace, gradient: &gradient)
                optimizer.update(&step.model.parameters, gradient: gradient, path: kernel)
            } else {
                loss = step(prefixes: reference.sessions, targets: reference.targets)
            }
            // Losses of later steps depend on the earlier updates: float32 agreement to ~1e-6 relative.
            #expect(
                abs(Double(loss) - reference.lossPerStep[index - 1]) <= 1e-6 + 1e-5 * abs(reference.lossPerStep[index - 1]),
                "loss before step \(index)")
            for name in ParameterName.allCases {
                let ours = step.model.parameters.values(of: name)
                if let expected = file.floats("step\(index).\(name.rawValue)") {
                    // float32 Adam vs float32 torch (same formula, possibly different fusing).
                    let violation = closenessViolation(ours, expected, absolute: 1e-5, relative: 1e-4)
                    #expect(violation == nil, "\(name.rawValue) after step \(index) differs at \(String(describing: violation))")
                } else {
                    #expect(ours == initial.values(of: name), "\(name.rawValue) has no gradient and must not move")
                }
            }
        }
    }
}
