import Foundation
import Recommending
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// NISER / NISER+: every new op's gradient against finite differences of the Double model, dropout
/// (off at inference, seeded in training), checkpoints and the serving path.
@Suite struct NiserTests {
    static let sessions = GradientCheckTests.sessions
    static let targets = GradientCheckTests.targets

    /// One gradient check: which NISER parts are on, how the backward runs, and the dropout mask's
    /// seed (nil: the inference forward, no dropout, even when the configuration has some).
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var normalize = false
        var scale: Float = 16
        var positionRows = 0
        var dropout: Float = 0
        var authorsCode = false
        var nonhybrid = false
        var propagationSteps = 1
        var tileItems = 1_024
        var pass = GradientCheckTests.Pass.accumulate
        var dropoutSeed: UInt64? = nil
        var testDescription: String { "\(name) \(pass) tiles \(tileItems)" }

        func configuration() -> SRGNNConfiguration {
            SRGNNConfiguration(
                itemCount: 6, hiddenSize: 3, propagationSteps: propagationSteps, nonhybrid: nonhybrid,
                normalize: normalize, scale: scale, positionEmbeddingRows: positionRows, dropout: dropout,
                authorsCode: authorsCode)
        }
    }

    static let cases: [Case] = [
        // Item normalisation (graph input and scores) with the session normalisation and σ.
        Case(name: "normalize", normalize: true),
        Case(name: "normalize", normalize: true, scale: 3, tileItems: 2, pass: .overwrite),
        Case(name: "normalize", normalize: true, propagationSteps: 2, tileItems: 4, pass: .fused),
        Case(name: "normalize nonhybrid", normalize: true, nonhybrid: true, tileItems: 2, pass: .fused),
        // Position embeddings alone; 3 rows, so the clicks of a 5- or 6-click session share the last.
        Case(name: "positions", positionRows: 3),
        Case(name: "positions", positionRows: 8, tileItems: 2, pass: .fused),
        // Dropout alone, with a fixed mask.
        Case(name: "dropout mask", dropout: 0.3, pass: .overwrite, dropoutSeed: 5),
        // NISER+ whole: dropout off, and with a fixed mask, through every pass.
        Case(name: "NISER+ no dropout", normalize: true, positionRows: 4, dropout: 0.1),
        Case(name: "NISER+ no dropout", normalize: true, positionRows: 4, dropout: 0.1, tileItems: 4, pass: .fused),
        Case(name: "NISER+ mask", normalize: true, positionRows: 4, dropout: 0.3, dropoutSeed: 9),
        Case(name: "NISER+ mask", normalize: true, positionRows: 4, dropout: 0.3, tileItems: 2, pass: .overwrite, dropoutSeed: 9),
        Case(
            name: "NISER+ mask", normalize: true, positionRows: 4, dropout: 0.3, propagationSteps: 2, tileItems: 4, pass: .fused,
            dropoutSeed: 9),
        // NISER+ as its authors' code runs it: positions from the first click, softmax attention,
        // and (with a mask) dropout on the graph's output too.
        Case(name: "authors' code no dropout", normalize: true, positionRows: 4, dropout: 0.1, authorsCode: true),
        Case(
            name: "authors' code no dropout", normalize: true, positionRows: 8, dropout: 0.1, authorsCode: true, nonhybrid: true,
            tileItems: 2, pass: .fused),
        Case(
            name: "authors' code mask", normalize: true, positionRows: 4, dropout: 0.3, authorsCode: true, tileItems: 2,
            pass: .overwrite, dropoutSeed: 9),
        Case(
            name: "authors' code mask", normalize: true, positionRows: 3, dropout: 0.3, authorsCode: true, propagationSteps: 2,
            tileItems: 4, pass: .fused, dropoutSeed: 9),
    ]

    /// The masks a training forward draws from `seed` for `batch` (the graph's input, then, with
    /// the authors' code, its output), as rows of the Double model.
    static func dropoutMasks(seed: UInt64, probability: Float, batch: SessionBatch, hiddenSize d: Int, count: Int = 1) -> [[[Double]]] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            var mask = [Float](repeating: 0, count: batch.nodeCount * d)
            mask.withUnsafeMutableBufferPointer { Dropout.drawMask($0, probability: probability, generator: &generator) }
            return (0..<batch.nodeCount).map { node in mask[(node * d)..<(node * d + d)].map(Double.init) }
        }
    }

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ testCase: Case) throws {
        let configuration = testCase.configuration()
        var model = try SRGNNModel(configuration: configuration, seed: 11)
        let batch = SessionBatch(sessions: Self.sessions, targets: Self.targets)
        let workspace = SRGNNWorkspace()
        var reference = DoubleReferenceModel(model)
        if let seed = testCase.dropoutSeed {
            let masks = Self.dropoutMasks(
                seed: seed, probability: configuration.dropout, batch: batch, hiddenSize: 3,
                count: configuration.authorsCode ? 2 : 1)
            reference.dropoutMask = masks[0]
            if configuration.authorsCode { reference.outputDropoutMask = masks[1] }
            for mask in masks { #expect(mask.joined().contains(0), "the mask drops something") }
        }
        let referenceLoss = reference.loss(sessions: Self.sessions, targets: Self.targets)
        var analyticGradients = [KernelPath: SRGNNParameters]()
        for kernel in ScoreKernels.supportedPaths {
            model.kernelPath = kernel
            do {
                analyticGradients[kernel] = try GradientCheckTests.analyticGradient(
                    &model, batch, workspace, tileItems: testCase.tileItems, pass: testCase.pass, dropoutSeed: testCase.dropoutSeed)
                let loss = model.loss(batch, workspace: workspace, tileItems: testCase.tileItems)
                // Float32 forward vs Double forward: a few float32 ulps of a loss of a few units (σ = 16 widens the logits).
                #expect(
                    abs(Double(loss) - referenceLoss) < 1e-5 * max(1, abs(referenceLoss)),
                    "\(kernel): loss \(loss) vs Double \(referenceLoss)")
            }
        }
        // Central differences in Double (see `centralDifferences`); σ = 16 makes the logits 16×
        // larger, so the float32 analytic gradient gets 1e-4 absolute.
        for name in ParameterName.allCases {
            let numeric = reference.centralDifferences(of: name, sessions: Self.sessions, targets: Self.targets)
            if name == .reversePositionEmbedding { #expect(numeric.count == 3 * testCase.positionRows) }
            for (kernel, analyticGradient) in analyticGradients {
                let violation = closenessViolation(analyticGradient.values(of: name), numeric, absolute: 1e-4, relative: 1e-3)
                #expect(violation == nil, "\(kernel) \(name.rawValue): analytic vs numeric at \(String(describing: violation))")
            }
            if !name.isUsed(by: configuration) { #expect(numeric.allSatisfy { $0 == 0 }) }
        }
    }

    static func niserPlus(items: Int = 40, hiddenSize: Int = 8, dropout: Float = 0.5, authorsCode: Bool = false) -> SRGNNConfiguration {
        var configuration = SRGNNConfiguration(itemCount: items, hiddenSize: hiddenSize)
        ModelVariant.niser.configure(&configuration)
        configuration.dropout = dropout
        configuration.authorsCode = authorsCode
        return configuration
    }

    static let scoringSessions: [[Int32]] = [[1, 2, 3, 2, 4], [5], [6, 2, 6, 2, 1, 6], [30, 31, 7, 40], [12, 12, 12]]

    func scores(_ model: SRGNNModel, _ sessions: [[Int32]]) -> [Float] {
        var scores = [Float](repeating: .nan, count: sessions.count * model.configuration.itemCount)
        model.scores(SessionBatch(sessions: sessions), workspace: SRGNNWorkspace(), into: &scores)
        return scores
    }

    @Test(arguments: [false, true])
    func dropoutIsOffAtInference(authorsCode: Bool) throws {
        let model = try SRGNNModel(configuration: Self.niserPlus(dropout: 0.5, authorsCode: authorsCode), seed: 3)
        var withoutDropout = Self.niserPlus(dropout: 0.5, authorsCode: authorsCode)
        withoutDropout.dropout = 0
        let reference = try SRGNNModel(configuration: withoutDropout, parameters: model.parameters)
        let first = scores(model, Self.scoringSessions), second = scores(model, Self.scoringSessions)
        #expect(first == second, "inference is deterministic")
        #expect(first == scores(reference, Self.scoringSessions), "inference equals the model without dropout")
        #expect(first.allSatisfy { $0.isFinite && abs($0) <= SRGNNConfiguration.niserScale * 1.0001 }, "scores are σ · cosine")
    }

    @Test(arguments: [false, true])
    func dropoutIsSeededInTraining(authorsCode: Bool) throws {
        let model = try SRGNNModel(configuration: Self.niserPlus(dropout: 0.5, authorsCode: authorsCode), seed: 3)
        let batch = SessionBatch(sessions: Self.scoringSessions, targets: [7, 8, 9, 10, 11])
        func loss(seed: UInt64) -> Float {
            let workspace = SRGNNWorkspace()
            var generator = SeededGenerator(seed: seed)
            model.forward(batch, workspace: workspace, dropoutGenerator: &generator)
            return model.loss(batch, workspace: workspace)
        }
        let inference: Float = {
            let workspace = SRGNNWorkspace()
            model.forward(batch, workspace: workspace)
            return model.loss(batch, workspace: workspace)
        }()
        #expect(loss(seed: 1) == loss(seed: 1), "same seed, same loss")
        #expect(loss(seed: 1) != loss(seed: 2), "another seed drops other elements")
        #expect(loss(seed: 1) != inference, "training drops, inference does not")
    }

    @Test func srgnnIsUnchangedByTheNewCode() throws {
        // The SR-GNN configuration draws and lays out exactly the parameters it always did.
        let configuration = SRGNNConfiguration(itemCount: 6, hiddenSize: 3)
        let model = try SRGNNModel(configuration: configuration, seed: 11)
        #expect(model.parameters.positionRows == 0 && model.parameters.values(of: .reversePositionEmbedding).isEmpty)
        #expect(configuration.variant == .srgnn && !model.parameters.tensorNames.contains(.reversePositionEmbedding))
        // A NISER+ model of the same seed shares every SR-GNN tensor's initial values (drawn first).
        let niser = try SRGNNModel(configuration: Self.niserPlus(items: 6, hiddenSize: 3), seed: 11)
        for name in ParameterName.allCases where name != .reversePositionEmbedding {
            #expect(niser.parameters.values(of: name) == model.parameters.values(of: name))
        }
    }

    /// A saved NISER+ checkpoint: its settings and position tensor come back, and so do its scores.
    static func savedNiserPlus(_ folder: TemporaryFolder) throws -> (model: SRGNNModel, path: String) {
        let model = try SRGNNModel(configuration: Self.niserPlus(items: 40, hiddenSize: 8, dropout: 0.1), seed: 21)
        let metadata = CheckpointMetadata(
            model: model.configuration, vocabulary: ItemVocabulary(rawIDs: (1...40).map { "i\($0)" }),
            epoch: 0, metrics: [:], training: nil, history: nil)
        let path = folder.path + "/niser.safetensors"
        try LoadedModel.save(model: model, metadata: metadata, to: path)
        return (model, path)
    }

    @Test func checkpointRoundTripKeepsTheVariantAndScores() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (model, path) = try Self.savedNiserPlus(folder)
        let loaded = try LoadedModel.load(from: path)
        #expect(loaded.model.configuration == model.configuration)
        #expect(loaded.model.configuration.variant == .niser)
        #expect(loaded.model.parameters == model.parameters)
        #expect(loaded.reportableIgnoredTensors.isEmpty)
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.entries[ParameterName.reversePositionEmbedding.rawValue]?.shape == [SRGNNConfiguration.niserPositionRows, 8])
        let json = try #require(file.metadata[CheckpointMetadata.key])
        for key in ["\"variant\":\"niser\"", "\"normalize\":true", "\"scale\":16", "\"positionEmbeddingRows\":200", "\"dropout\":0.1"] {
            #expect(json.replacingOccurrences(of: " ", with: "").contains(key), "metadata records \(key)")
        }
        #expect(scores(loaded.model, Self.scoringSessions) == scores(model, Self.scoringSessions))
    }

    @Test func checkpointKeepsTheAuthorsCodeReadout() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let model = try SRGNNModel(configuration: Self.niserPlus(dropout: 0.1, authorsCode: true), seed: 21)
        let paper = try SRGNNModel(configuration: Self.niserPlus(dropout: 0.1), parameters: model.parameters)
        let metadata = CheckpointMetadata(
            model: model.configuration, vocabulary: ItemVocabulary(rawIDs: (1...40).map { "i\($0)" }),
            epoch: 0, metrics: [:], training: nil, history: nil)
        let path = folder.path + "/authors.safetensors"
        try LoadedModel.save(model: model, metadata: metadata, to: path)
        let loaded = try LoadedModel.load(from: path)
        #expect(loaded.model.configuration.authorsCode && loaded.model.configuration.variant == .niser)
        #expect(scores(loaded.model, Self.scoringSessions) == scores(model, Self.scoringSessions))
        #expect(scores(model, Self.scoringSessions) != scores(paper, Self.scoringSessions), "the readout differs from the paper's")
    }

    @Test func oldCheckpointMetadataReadsAsSRGNN() throws {
        let json = #"{"itemCount": 5, "hiddenSize": 4, "propagationSteps": 1, "nonhybrid": false}"#
        let configuration = try JSONDecoder().decode(SRGNNConfiguration.self, from: Data(json.utf8))
        #expect(configuration == SRGNNConfiguration(itemCount: 5, hiddenSize: 4))
        #expect(configuration.variant == .srgnn)
    }

    @Test func aNiserWeightsFileWithoutMetadataIsAClearError() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (model, _) = try Self.savedNiserPlus(folder)
        let bare = folder.path + "/bare.safetensors"
        try model.saveWeights(to: bare)
        #expect(throws: ModelError.self) { try LoadedModel.load(from: bare) }
    }

    @Test func recommenderAgreesWithTheTrainingSideForward() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (model, path) = try Self.savedNiserPlus(folder)
        let recommender = try Recommender(contentsOf: path)
        let items = model.configuration.itemCount
        let all = scores(model, Self.scoringSessions)
        let answers = try recommender.recommend(sessions: Self.scoringSessions.map { $0.map { "i\($0)" } }, k: 10)
        for (row, answer) in answers.enumerated() {
            let expected = all.withUnsafeBufferPointer { topK($0.baseAddress! + row * items, count: items, k: 10) }
            #expect(answer.items.map(\.id) == expected.map { "i\($0 + 1)" }, "session \(row)")
            for (item, column) in zip(answer.items, expected) {
                // Packed items vs the training-side unpacked product: same kernel arithmetic up to summation order.
                #expect(abs(item.score - all[row * items + column]) <= 1e-5 * SRGNNConfiguration.niserScale)
            }
        }
        // And on every kernel path, packed or not, through the model's own recommend.
        for kernel in ScoreKernels.supportedPaths {
            var model = model
            model.kernelPath = kernel
            do {
                let packed = PackedItemEmbedding(model)
                let viaModel = try model.recommend(sessions: Self.scoringSessions, k: 10, packedItems: packed)
                let unpacked = try model.recommend(sessions: Self.scoringSessions, k: 10)
                #expect(viaModel.map { $0.map(\.id) } == unpacked.map { $0.map(\.id) }, "\(kernel)")
            }
        }
    }

    @Test func ranksUseTheNormalisedItems() throws {
        let model = try SRGNNModel(configuration: Self.niserPlus(), seed: 5)
        let targets: [Int32] = [3, 9, 1, 22, 40]
        let all = scores(model, Self.scoringSessions)
        var ranks = [Int32](repeating: 0, count: targets.count)
        model.ranks(SessionBatch(sessions: Self.scoringSessions, targets: targets), workspace: SRGNNWorkspace(), tileItems: 7, into: &ranks)
        let items = model.configuration.itemCount
        for (row, target) in targets.enumerated() {
            let targetScore = all[row * items + Int(target) - 1]
            let higher = (0..<items).filter { all[row * items + $0] > targetScore }.count
            #expect(Int(ranks[row]) == higher + 1, "session \(row)")
        }
        // Ê made once (an evaluator's, a server's) gives the very numbers of the per-call Ê.
        let normalized = try #require(NormalizedItemEmbedding(model))
        var ranksOnce = [Int32](repeating: 0, count: targets.count)
        model.ranks(
            SessionBatch(sessions: Self.scoringSessions, targets: targets), workspace: SRGNNWorkspace(), tileItems: 7,
            normalizedItems: normalized, into: &ranksOnce)
        #expect(ranksOnce == ranks)
        var scoresOnce = [Float](repeating: .nan, count: all.count)
        model.scores(
            SessionBatch(sessions: Self.scoringSessions), workspace: SRGNNWorkspace(), normalizedItems: normalized, into: &scoresOnce)
        #expect(scoresOnce == all)
        #expect(
            try model.recommend(sessions: Self.scoringSessions, k: 5, normalizedItems: normalized)
                == model.recommend(sessions: Self.scoringSessions, k: 5))
        #expect(
            NormalizedItemEmbedding(try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 5, hiddenSize: 4), seed: 1)) == nil,
            "SR-GNN scores E itself")
    }
}
