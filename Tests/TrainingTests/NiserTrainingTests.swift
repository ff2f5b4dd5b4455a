import Evaluation
import Foundation
import SessionData
import SRGNN
import Testing
import TensorCore
import Training

/// NISER+ through the trainer: seeded dropout, the loss falls, checkpoints and resumption keep
/// the variant, and a warm start keeps (or refuses to change) it.
@Suite struct NiserTrainingTests {
    static func niserConfiguration(epochs: Int) -> TrainingConfiguration {
        var configuration = smallConfiguration(epochs: epochs)
        configuration.apply(.niser)
        return configuration
    }

    static func step(seed dropoutSeed: UInt64) throws -> TrainingStep {
        let configuration = niserConfiguration(epochs: 1).modelConfiguration(itemCount: 60)
        return TrainingStep(
            model: try SRGNNModel(configuration: configuration, seed: 3), learningRate: 1e-3, l2Penalty: 1e-5,
            threads: 1, dropoutSeed: dropoutSeed)
    }

    @Test func trainingStepDropoutFollowsItsSeed() throws {
        let dataset = syntheticDataset()
        let prefixes = (0..<50).map { dataset.train.prefix($0) }, targets = Array(dataset.train.targets.prefix(50))
        func losses(_ seed: UInt64) throws -> [Float] {
            var step = try Self.step(seed: seed)
            return (0..<3).map { _ in step(prefixes: prefixes, targets: targets) }
        }
        #expect(try losses(1) == losses(1), "same seed, same losses")
        #expect(try losses(1) != losses(2), "another seed drops other elements")
    }

    @Test func variantSettingsAreThePapers() {
        var configuration = TrainingConfiguration()
        configuration.apply(.niser)
        let model = configuration.modelConfiguration(itemCount: 10)
        #expect(model.normalize && model.scale == 16 && model.positionEmbeddingRows == 200 && model.dropout == 0.1)
        #expect(model.variant == .niser)
        configuration.apply(.srgnn)
        #expect(configuration == TrainingConfiguration(), "srgnn is the default configuration")
    }

    @Test func olderTrainingConfigurationsReadAsSRGNN() throws {
        let json = #"{"hiddenSize": 8, "l2": 0.5}"#
        let configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8))
        #expect(!configuration.normalize && configuration.positionEmbeddingRows == 0 && configuration.dropout == 0)
        let niser = Self.niserConfiguration(epochs: 1)
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(niser)) == niser)
    }

    /// Two epochs on synthetic sessions: the loss falls, the checkpoint is NISER+ and scores as the
    /// trained model; a resumed run ends where a straight one does (dropout reseeded per epoch).
    @Test func trainsSavesAndResumes() throws {
        let folder = try temporaryFolder("niser")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        let straight = try Trainer(
            configuration: Self.niserConfiguration(epochs: 3), dataset: dataset,
            checkpointPath: folder + "/a.safetensors"
        ).run()
        #expect(straight.history[2].loss < straight.history[0].loss, "the loss falls: \(straight.history.map(\.loss))")
        let loaded = try LoadedModel.load(from: folder + "/a.safetensors")
        #expect(loaded.model.configuration.variant == .niser)
        #expect(loaded.model.configuration == Self.niserConfiguration(epochs: 3).modelConfiguration(itemCount: dataset.itemCount))

        _ = try Trainer(configuration: Self.niserConfiguration(epochs: 2), dataset: dataset, checkpointPath: folder + "/b.safetensors")
            .run()
        let resumed = try Trainer(
            configuration: Self.niserConfiguration(epochs: 3), dataset: dataset,
            checkpointPath: folder + "/b.safetensors"
        ).run(resume: true)
        func comparable(_ history: [EpochRecord]) -> [EpochRecord] {
            history.map {
                var r = $0; r.seconds = 0; return r
            }
        }
        #expect(comparable(resumed.history) == comparable(straight.history))
    }

    @Test func warmStartKeepsTheVariantOrRefusesAnother() throws {
        let folder = try temporaryFolder("niser-warm")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/parent.safetensors"
        _ = try Trainer(configuration: Self.niserConfiguration(epochs: 1), dataset: WarmStartTests.parentData(), checkpointPath: path).run()
        let warm = try WarmStart.load(from: path)
        #expect(
            throws: TrainingError.invalidSetting(
                .normalize,
                "\(path) was trained with normalised embeddings (NISER), which a warm start keeps; the setting asks for unnormalised ones (SR-GNN) (leave it out to take the model's)"
            )
        ) {
            _ = try Trainer(
                configuration: smallConfiguration(epochs: 1), dataset: WarmStartTests.newData(),
                checkpointPath: folder + "/srgnn.safetensors", warmStart: warm)
        }
        var authorsCode = Self.niserConfiguration(epochs: 1)
        authorsCode.authorsCode = true
        #expect(
            throws: TrainingError.invalidSetting(
                .authorsCode,
                "\(path) was trained with the paper's choices, which a warm start keeps; the setting asks for the authors' code's (leave it out to take the model's)"
            )
        ) {
            _ = try Trainer(
                configuration: authorsCode, dataset: WarmStartTests.newData(),
                checkpointPath: folder + "/authors.safetensors", warmStart: warm)
        }
        let child = try Trainer(
            configuration: Self.niserConfiguration(epochs: 1), dataset: WarmStartTests.newData(),
            checkpointPath: folder + "/child.safetensors", warmStart: warm)
        let model = try child.initialModel()
        #expect(model.configuration.variant == .niser)
        #expect(
            model.parameters.values(of: .reversePositionEmbedding) == warm.parent.model.parameters.values(of: .reversePositionEmbedding))
    }
}
