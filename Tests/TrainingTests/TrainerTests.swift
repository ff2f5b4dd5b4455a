import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport
import Training

/// A small synthetic dataset: the first 90 % of sessions train, the rest give test examples.
func syntheticDataset(sessions: Int = 400, items: Int = 60, seed: UInt64 = 5) -> SessionDataset {
    let all = SyntheticClickLog(itemCount: items, sessionCount: sessions, seed: seed).sessions()
    let cut = all.count * 9 / 10
    let train = SessionList(Array(all[..<cut]))
    let test = ExampleSet.augmenting(SessionList(Array(all[cut...])))
    return SessionDataset(
        trainSessions: train, train: .augmenting(train), test: test,
        vocabulary: .identity(count: items), itemCount: items)
}

func temporaryFolder(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("srgnn-\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func smallConfiguration(epochs: Int = 3, threads: Int = 1) -> TrainingConfiguration {
    var configuration = TrainingConfiguration()
    configuration.hiddenSize = 8
    configuration.batchSize = 32
    configuration.epochs = epochs
    configuration.learningRate = 5e-3
    configuration.seed = 11
    configuration.threads = threads
    return configuration
}

@Suite struct TrainerTests {
    /// Training, saving, reloading: the checkpoint scores exactly as the trained model did.
    @Test func savedCheckpointReloadsToIdenticalScores() throws {
        let folder = try temporaryFolder("checkpoint")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        let path = folder + "/model.safetensors"
        let trainer = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: dataset, checkpointPath: path)
        let result = try trainer.run()
        let loaded = try LoadedModel.load(from: path)
        #expect(loaded.metadata?.epoch == result.bestEpoch)
        #expect(loaded.metadata?.trainingHistory?.count == 2)
        #expect(loaded.vocabulary == dataset.vocabulary)
        // The saved epoch's test metrics are reproduced by the reloaded model.
        let metrics = Evaluator(cutoffs: [20], listLength: nil)
            .evaluate(SRGNNScorer(model: loaded.model), on: TestExample.examples(of: dataset.test)).keyedMetrics
        #expect(metrics["HR@20"] == loaded.metadata?.metrics["test.HR@20"])
        let again = try LoadedModel.load(from: path)
        #expect(try again.model.recommend(session: [1, 2, 3], k: 10) == loaded.model.recommend(session: [1, 2, 3], k: 10))
    }

    /// `--evaluation-examples`: each epoch measures a fixed seeded sample of the test examples,
    /// and the reloaded model reproduces the logged metrics on exactly that sample.
    @Test func evaluationExamplesMeasureAFixedSample() throws {
        let all = Array(100..<400)
        let sample = Trainer.evaluationSample(all, budget: 50, seed: 3)
        #expect(sample.count == 50 && sample == sample.sorted() && Set(sample).isSubset(of: Set(all)))
        #expect(sample == Trainer.evaluationSample(all, budget: 50, seed: 3))
        #expect(sample != Trainer.evaluationSample(all, budget: 50, seed: 4))
        #expect(Trainer.evaluationSample(all, budget: 0, seed: 3) == all)
        #expect(Trainer.evaluationSample(all, budget: 300, seed: 3) == all)

        let folder = try temporaryFolder("evaluation-sample")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        var configuration = smallConfiguration(epochs: 1)
        configuration.selectOn = .last
        configuration.validationSplit = .examples  // nothing is held out when keeping the last epoch
        configuration.evaluationExamples = 25
        let path = folder + "/model.safetensors"
        let result = try Trainer(configuration: configuration, dataset: dataset, checkpointPath: path).run()
        let model = try LoadedModel.load(from: path).model
        let evaluator = Evaluator(cutoffs: [20], listLength: nil)
        let measured = TestExample.examples(
            of: dataset.test, indices: Trainer.evaluationSample(Array(0..<dataset.test.count), budget: 25, seed: configuration.seed))
        let onSample = evaluator.evaluate(SRGNNScorer(model: model), on: measured).keyedMetrics
        let onAll = evaluator.evaluate(SRGNNScorer(model: model), on: TestExample.examples(of: dataset.test)).keyedMetrics
        #expect(dataset.test.count > 25)
        #expect(result.history[0].test?["MRR@20"] == onSample["MRR@20"])
        #expect(result.history[0].test?["MRR@20"] != onAll["MRR@20"])
    }

    /// An interrupted run resumed from its last epoch ends exactly as an uninterrupted one, with
    /// the full softmax and with the sampled one (whose negatives are drawn again the same).
    @Test(arguments: [TrainingLoss.full, .sampled])
    func resumedRunEqualsUninterruptedRun(loss: TrainingLoss) throws {
        let folder = try temporaryFolder("resume-\(loss.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        func configuration(epochs: Int) -> TrainingConfiguration {
            var configuration = smallConfiguration(epochs: epochs)
            configuration.loss = loss
            configuration.negatives = 16
            return configuration
        }
        let straight = try Trainer(
            configuration: configuration(epochs: 4), dataset: dataset, checkpointPath: folder + "/a.safetensors"
        ).run()
        _ = try Trainer(configuration: configuration(epochs: 2), dataset: dataset, checkpointPath: folder + "/b.safetensors").run()
        let resumed = try Trainer(configuration: configuration(epochs: 4), dataset: dataset, checkpointPath: folder + "/b.safetensors")
            .run(resume: true)
        // Everything but the wall-clock seconds.
        func comparable(_ history: [EpochRecord]) -> [EpochRecord] {
            history.map {
                var r = $0; r.seconds = 0; return r
            }
        }
        #expect(comparable(resumed.history) == comparable(straight.history))
        let a = try SafeTensorsFile(contentsOf: folder + "/a.safetensors.state")
        let b = try SafeTensorsFile(contentsOf: folder + "/b.safetensors.state")
        for name in ParameterName.allCases {
            #expect(a.floats(name.rawValue) == b.floats(name.rawValue), "\(name.rawValue) after resume")
            #expect(a.floats("adam.v." + name.rawValue) == b.floats("adam.v." + name.rawValue))
        }
        // The log of the resumed run holds every epoch once.
        let log = try String(contentsOfFile: folder + "/b.safetensors.log.jsonl", encoding: .utf8)
        #expect(log.split(separator: "\n").count == 4)
    }

    /// The same seed with one thread gives identical metrics.
    @Test func sameSeedSameMetrics() throws {
        let folder = try temporaryFolder("seed")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        let first = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: dataset, checkpointPath: folder + "/1.safetensors")
            .run()
        let second = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: dataset, checkpointPath: folder + "/2.safetensors")
            .run()
        #expect(first.history.map(\.test) == second.history.map(\.test))
        #expect(first.history.map(\.loss) == second.history.map(\.loss))
        var other = smallConfiguration(epochs: 2)
        other.seed = 12
        let third = try Trainer(configuration: other, dataset: dataset, checkpointPath: folder + "/3.safetensors").run()
        #expect(third.history.map(\.loss) != first.history.map(\.loss), "another seed should give another run")
    }

    @Test func validationSplitFollowsTheFraction() throws {
        let dataset = syntheticDataset()
        let trainer = try Trainer(configuration: smallConfiguration(), dataset: dataset, checkpointPath: "/tmp/unused")
        #expect(trainer.trainIndices.count + trainer.validationIndices.count == dataset.train.count)
        // Whole sessions (the default split) until they hold the fraction: at most one session over.
        let aimed = dataset.train.count - Int((Double(dataset.train.count) * 0.9).rounded(.toNearestOrEven))
        let longestSession = (0..<dataset.trainSessions.count).map { dataset.trainSessions[$0].count }.max() ?? 0
        #expect(trainer.validationIndices.count >= aimed && trainer.validationIndices.count < aimed + longestSession)
        #expect(Set(trainer.trainIndices).isDisjoint(with: trainer.validationIndices))
        var reference = smallConfiguration()
        reference.selectOn = .test
        reference.validationSplit = .examples  // selecting on test holds nothing out: no session split
        let all = try Trainer(configuration: reference, dataset: dataset, checkpointPath: "/tmp/unused")
        #expect(all.trainIndices.count == dataset.train.count && all.validationIndices.isEmpty)
    }

    /// `--select-on last` (the refit) trains exactly as the reference protocol does, on every
    /// example, and keeps the last epoch, whatever the test set says.
    @Test func selectOnLastTrainsOnEveryExampleAndKeepsTheLastEpoch() throws {
        let folder = try temporaryFolder("last")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        var last = smallConfiguration(epochs: 3)
        last.selectOn = .last
        last.validationSplit = .examples
        var reference = last
        reference.selectOn = .test
        let kept = try Trainer(configuration: last, dataset: dataset, checkpointPath: folder + "/last.safetensors")
        #expect(kept.trainIndices.count == dataset.train.count && kept.validationIndices.isEmpty)
        let refit = try kept.run()
        let testRun = try Trainer(configuration: reference, dataset: dataset, checkpointPath: folder + "/test.safetensors").run()
        func comparable(_ history: [EpochRecord]) -> [EpochRecord] {
            history.map {
                var r = $0; r.seconds = 0; return r
            }
        }
        #expect(comparable(refit.history) == comparable(testRun.history), "the same training, epoch by epoch")
        #expect(refit.bestEpoch == 2 && !refit.stoppedEarly)
        let loaded = try LoadedModel.load(from: folder + "/last.safetensors")
        #expect(loaded.metadata?.epoch == 2, "the checkpoint is the last epoch's")
        // Holding out a split contradicts keeping every example, as with --select-on test.
        last.validationSplit = .sessions
        #expect(throws: TrainingError.self) { try last.validate() }
    }

    /// Bad settings are rejected with a message that says what to fix.
    @Test(arguments: ["batch", "learning rate", "validation", "step", "decay"])
    func badConfigurationIsRejected(setting: String) {
        var configuration = TrainingConfiguration()
        let message: String
        switch setting {
        case "batch": configuration.batchSize = 0; message = "batch size must be at least 1"
        case "learning rate": configuration.learningRate = -1; message = "learning rate must be positive"
        case "validation": configuration.validationFraction = 1; message = "validation fraction must be in (0, 1)"
        case "step": configuration.propagationSteps = 0; message = "propagation steps must be at least 1"
        default: configuration.decayFactor = 2; message = "decay factor must be in (0, 1]"
        }
        let error = #expect(throws: TrainingError.self) { try configuration.validate() }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    /// Missing, truncated and mismatched checkpoints are errors that name the file and the problem.
    @Test func badCheckpoints() throws {
        let folder = try temporaryFolder("bad")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        let path = folder + "/model.safetensors"
        _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: dataset, checkpointPath: path).run()

        let missing = #expect(throws: ModelError.self) { try LoadedModel.load(from: folder + "/absent.safetensors") }
        #expect(missing?.description.contains("absent.safetensors") == true)

        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: folder + "/truncated.safetensors"))
        let truncated = #expect(throws: ModelError.self) { try LoadedModel.load(from: folder + "/truncated.safetensors") }
        #expect(truncated?.description.contains("truncated") == true)

        let other = syntheticDataset(items: 70)
        let loaded = try LoadedModel.load(from: path)
        let mismatch = #expect(throws: ModelError.self) {
            try loaded.aligned(other, modelPath: path, datasetPath: "other-data")
        }
        #expect(
            mismatch?.description
                == "\(path): 10 of other-data's 70 items are not in the model's vocabulary of 60 (first: '61'); was it trained on this dataset?"
        )
        var renamed = dataset
        renamed.vocabulary = ItemVocabulary(rawIDs: (1...60).map { "x\($0)" })
        #expect(throws: ModelError.self) { try loaded.aligned(renamed, modelPath: path, datasetPath: "renamed") }
        #expect(try loaded.aligned(dataset, modelPath: path, datasetPath: "same") == dataset)
    }
}

/// A few epochs on the raw Diginetica sample beat popularity on its test examples.
@Suite(
    .enabled(
        if: SharedPaths.exists(SharedPaths.data.appendingPathComponent("diginetica/train-item-views.sample.csv")),
        "needs ../shared/data/diginetica/train-item-views.sample.csv"))
struct SampleBehaviourTests {
    @Test func beatsPopularityOnTheDigineticaSample() throws {
        let result = try Preprocessor.run(
            path: SharedPaths.data.appendingPathComponent("diginetica/train-item-views.sample.csv").path,
            format: .diginetica, options: .diginetica)
        let dataset = result.dataset
        let folder = try temporaryFolder("sample")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = TrainingConfiguration()
        configuration.epochs = 4
        configuration.learningRate = 5e-3
        configuration.hiddenSize = 32
        configuration.seed = 1
        configuration.threads = 2
        _ = try Trainer(configuration: configuration, dataset: dataset, checkpointPath: folder + "/m.safetensors").run()
        let model = try LoadedModel.load(from: folder + "/m.safetensors").model
        let ours = Evaluator(cutoffs: [20], listLength: nil)
            .evaluate(SRGNNScorer(model: model), on: TestExample.examples(of: dataset.test)).keyedMetrics["HR@20"]!

        let pop = Popularity().fit(sessions: dataset.trainSessions.arrays, itemCount: dataset.itemCount)
        let popularity = Evaluator(cutoffs: [20]).evaluate(pop, prefixes: dataset.test.prefixArrays, targets: dataset.test.targets)
            .metrics[0].hitRate
        #expect(ours > popularity, "SR-GNN HR@20 \(ours) vs popularity \(popularity)")
    }
}
