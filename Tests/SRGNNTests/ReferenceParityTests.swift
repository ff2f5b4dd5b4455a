import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// Parity with the official SR-GNN PyTorch code on the seeded cases of `Tests/Fixtures/reference`
/// (committed, read at test time; a missing case fails `everyCaseIsPresent`).
@Suite struct ReferenceParityTests {
    static let cases = ReferenceCase.all()

    struct Loaded {
        var model: SRGNNModel
        var file: SafeTensorsFile
        var batch: SessionBatch
    }

    static func load(_ reference: ReferenceCase, kernel: KernelPath = ScoreKernels.defaultPath) throws -> Loaded {
        let file = try SafeTensorsFile(contentsOf: reference.weightsPath)
        let (parameters, _) = try SRGNNParameters.load(from: file, path: reference.weightsPath)
        let configuration = SRGNNConfiguration(
            itemCount: reference.embeddingRows - 1, hiddenSize: reference.hiddenSize,
            propagationSteps: reference.step, nonhybrid: reference.nonhybrid)
        var model = try SRGNNModel(configuration: configuration, parameters: parameters)
        model.kernelPath = kernel
        return Loaded(model: model, file: file, batch: SessionBatch(sessions: reference.sessions, targets: reference.targets))
    }

    @Test func everyCaseIsPresent() {
        #expect(Self.cases.count >= 3, "expected the three reference cases, found \(Self.cases.map(\.name))")
    }

    /// Each session's graph equals the reference's `items`, `alias` and `A` once the padding node 0
    /// (present when the session is shorter than the batch's longest) is set aside.
    @Test(arguments: cases) func graphsMatch(_ reference: ReferenceCase) throws {
        let file = try SafeTensorsFile(contentsOf: reference.weightsPath)
        let itemsShape = file.entries["input.items"]!.shape, aliasShape = file.entries["input.alias"]!.shape
        let items = file.integers("input.items")!, alias = file.integers("input.alias")!, adjacency = file.floats("input.A")!
        let width = itemsShape[1], length = aliasShape[1]
        for (b, session) in reference.sessions.enumerated() {
            let graph = SessionGraph(session: session)
            let padded = session.count < length
            let shift = padded ? 1 : 0
            let referenceNodes = Array(items[(b * width)..<(b * width + graph.nodes.count + shift)])
            if padded { #expect(referenceNodes.first == 0, "session \(b): padding node expected first") }
            #expect(referenceNodes.dropFirst(shift).map(Int32.init) == graph.nodes, "session \(b) nodes")
            let referenceAlias = alias[(b * length)..<(b * length + session.count)].map { Int32($0 - shift) }
            #expect(referenceAlias == graph.alias, "session \(b) alias")
            let adjacencyIn = graph.adjacencyIn, adjacencyOut = graph.adjacencyOut
            let base = b * width * 2 * width
            for row in 0..<width {
                for column in 0..<width {
                    let inValue = adjacency[base + row * 2 * width + column]
                    let outValue = adjacency[base + row * 2 * width + width + column]
                    let (r, c) = (row - shift, column - shift)
                    if r >= 0, c >= 0, r < graph.nodes.count, c < graph.nodes.count {
                        #expect(inValue == adjacencyIn[r][c], "session \(b) A_in[\(r)][\(c)]")
                        #expect(outValue == adjacencyOut[r][c], "session \(b) A_out[\(r)][\(c)]")
                    } else {
                        #expect(inValue == 0 && outValue == 0, "session \(b): padding row/column \(row),\(column) must be empty")
                    }
                }
            }
        }
    }

    /// Scores within 1e-5 + 1e-4·|ref| (float32 BLAS vs float32 torch), and the top-20 lists.
    @Test(arguments: cases, ScoreKernels.supportedPaths)
    func scoresAndTopTwentyMatch(_ reference: ReferenceCase, kernel: KernelPath) throws {
        do {
            let loaded = try Self.load(reference, kernel: kernel)
            let count = reference.sessions.count * loaded.model.configuration.itemCount
            var ours = [Float](repeating: .nan, count: count)
            loaded.model.scores(loaded.batch, workspace: SRGNNWorkspace(), into: &ours)
            let expected = loaded.file.floats("output.scores")!
            let violation = closenessViolation(ours, expected, absolute: 1e-5, relative: 1e-4)
            #expect(violation == nil, "scores differ at \(String(describing: violation))")
            let items = loaded.model.configuration.itemCount
            for (b, expectedTop) in reference.top20.enumerated() {
                let top = ours.withUnsafeBufferPointer { topK($0.baseAddress! + b * items, count: items, k: 20) }
                #expect(top == expectedTop, "session \(b) top-20")
            }
        }
    }

    /// The loss within 1e-6 relative, and every gradient within 1e-6 + 1e-3·|ref|.
    @Test(arguments: cases, ScoreKernels.supportedPaths)
    func lossAndGradientsMatch(_ reference: ReferenceCase, kernel: KernelPath) throws {
        do {
            let loaded = try Self.load(reference, kernel: kernel)
            var gradient = SRGNNParameters(zerosLike: loaded.model.parameters)
            let loss = loaded.model.lossAndGradient(loaded.batch, workspace: SRGNNWorkspace(), gradient: &gradient)
            // float32 log-sum-exp over a few dozen items vs torch's: agreement to a few ulps.
            #expect(abs(Double(loss) - reference.lossPerStep[0]) <= 1e-6 + 1e-5 * abs(reference.lossPerStep[0]))
            for name in ParameterName.allCases {
                let ours = gradient.values(of: name)
                if let expected = loaded.file.floats("grad." + name.rawValue) {
                    let violation = closenessViolation(ours, expected, absolute: 1e-6, relative: 1e-3)
                    #expect(violation == nil, "gradient of \(name.rawValue) differs at \(String(describing: violation))")
                } else {
                    // The reference gives no gradient to tensors its forward pass never uses.
                    #expect(!name.isUsed(nonhybrid: reference.nonhybrid), "fixture lacks grad.\(name.rawValue)")
                    #expect(ours.allSatisfy { $0 == 0 }, "\(name.rawValue) is unused and must get no gradient")
                }
            }
        }
    }
}
