import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing
import Training

/// `--validation-split examples|sessions|latest`: what each holds out, checked on every example.
@Suite("validation splits")
struct ValidationSplitTests {
    /// The split of earlier releases, copied verbatim: `examples` must reproduce it bit for bit,
    /// so that published results stay reproducible.
    static func earlierSplit(count: Int, seed: UInt64, fraction: Double) -> (train: [Int], validation: [Int]) {
        var indices = Array(0..<count)
        var generator = SeededGenerator(seed: seed ^ 0x5EED_0F_5B1D)
        indices.shuffle(using: &generator)
        let trainCount = Int((Double(count) * (1 - fraction)).rounded(.toNearestOrEven))
        return (Array(indices[..<trainCount]), Array(indices[trainCount...]))
    }

    static func trainer(
        _ split: ValidationSplit, seed: UInt64 = 11, fraction: Double = 0.1,
        dataset: SessionDataset = syntheticDataset()
    ) throws -> Trainer {
        var configuration = smallConfiguration()
        configuration.validationSplit = split
        configuration.seed = seed
        configuration.validationFraction = fraction
        return try Trainer(configuration: configuration, dataset: dataset, checkpointPath: "/tmp/unused")
    }

    @Test(
        "examples: the same indices in the same order as before, for any seed and fraction",
        arguments: [(0 as UInt64, 0.1), (11, 0.1), (12_345, 0.25), (7, 0.5)])
    func examplesSplitIsUnchanged(seed: UInt64, fraction: Double) throws {
        let dataset = syntheticDataset()
        let trainer = try Self.trainer(.examples, seed: seed, fraction: fraction, dataset: dataset)
        let earlier = Self.earlierSplit(count: dataset.train.count, seed: seed, fraction: fraction)
        #expect(trainer.trainIndices == earlier.train)
        #expect(trainer.validationIndices == earlier.validation)
    }

    @Test(
        "every split: disjoint, complete, and the size the fraction asks for",
        arguments: ValidationSplit.allCases, [0.1, 0.3])
    func sidesAreDisjointAndSized(split: ValidationSplit, fraction: Double) throws {
        let dataset = syntheticDataset()
        let trainer = try Self.trainer(split, fraction: fraction, dataset: dataset)
        let n = dataset.train.count
        #expect(Set(trainer.trainIndices).isDisjoint(with: trainer.validationIndices), "a validation example trains")
        #expect(Set(trainer.trainIndices).union(trainer.validationIndices) == Set(0..<n))
        #expect(trainer.trainIndices.count + trainer.validationIndices.count == n)
        let wanted = n - Int((Double(n) * (1 - fraction)).rounded(.toNearestOrEven))
        if split == .examples {
            #expect(trainer.validationIndices.count == wanted)
        } else {
            // Whole sessions until the target is reached: over by less than the longest session's examples.
            let longest = (0..<dataset.trainSessions.count).map { dataset.trainSessions.length(of: $0) - 1 }.max()!
            #expect(
                trainer.validationIndices.count >= wanted && trainer.validationIndices.count < wanted + longest,
                "\(trainer.validationIndices.count) validation examples for a target of \(wanted)")
        }
    }

    @Test("sessions and latest keep every session whole; examples does not", arguments: ValidationSplit.allCases)
    func sessionsStayWhole(split: ValidationSplit) throws {
        let dataset = syntheticDataset()
        let trainer = try Self.trainer(split, dataset: dataset)
        // The session of each example, from the sessions the examples were augmented from.
        var sessionOfExample = [Int]()
        for s in 0..<dataset.trainSessions.count { sessionOfExample += Array(repeating: s, count: dataset.trainSessions.length(of: s) - 1) }
        #expect(sessionOfExample.count == dataset.train.count)
        let trainSessions = Set(trainer.trainIndices.map { sessionOfExample[$0] })
        let validationSessions = Set(trainer.validationIndices.map { sessionOfExample[$0] })
        let split = trainSessions.intersection(validationSessions)
        if trainer.configuration.validationSplit == .examples {
            #expect(!split.isEmpty, "the reference's split puts prefixes of one session on both sides")
        } else {
            #expect(split.isEmpty, "sessions with prefixes on both sides: \(split.sorted().prefix(5))")
        }
    }

    @Test func latestHoldsOutTheLastSessions() throws {
        let dataset = syntheticDataset()
        let trainer = try Self.trainer(.latest, dataset: dataset)
        // The validation examples are exactly the tail of the training examples (sessions are
        // augmented in order), and so the last sessions.
        let n = dataset.train.count
        #expect(trainer.validationIndices == Array((n - trainer.validationIndices.count)..<n))
        #expect(trainer.trainIndices == Array(0..<(n - trainer.validationIndices.count)))
        // The seed does not move it.
        #expect(try Self.trainer(.latest, seed: 99, dataset: dataset).validationIndices == trainer.validationIndices)
    }

    @Test func sessionsAreDrawnAtRandomBySeed() throws {
        let dataset = syntheticDataset()
        let first = try Self.trainer(.sessions, seed: 1, dataset: dataset).validationIndices
        #expect(try Self.trainer(.sessions, seed: 1, dataset: dataset).validationIndices == first, "the same seed, the same split")
        #expect(try Self.trainer(.sessions, seed: 2, dataset: dataset).validationIndices != first)
        #expect(try Self.trainer(.latest, dataset: dataset).validationIndices != first, "random, not the latest")
    }

    /// A hand-made case: sessions of 4, 2, 3 and 2 clicks give 3, 1, 2 and 1 examples (7 in all);
    /// a fraction of 0.3 asks for 7 − round(4.9) = 2 examples; the latest sessions are 4 (1
    /// example) and then 3 (2 examples), so 3 are held out: examples 4, 5 and 6.
    @Test func latestByHand() throws {
        let sessions = SessionList([[1, 2, 3, 4], [5, 6], [1, 3, 5], [2, 4]])
        let dataset = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: ExampleSet(prefixes: [[1]], targets: [2]),
            vocabulary: .identity(count: 6), itemCount: 6)
        let trainer = try Self.trainer(.latest, fraction: 0.3, dataset: dataset)
        #expect(trainer.validationIndices == [4, 5, 6])
        #expect(trainer.trainIndices == [0, 1, 2, 3])
    }

    /// Selecting on test holds nothing out, so a session split there is a mistake worth naming.
    @Test func sessionSplitNeedsValidationSelection() {
        var configuration = TrainingConfiguration()
        configuration.selectOn = .test
        configuration.validationSplit = .latest
        let error = #expect(throws: TrainingError.self) { try configuration.validate() }
        guard case .invalidSetting(let key, let message)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(key == .validationSplit)
        #expect(message.contains("applies only when selecting on validation"))
    }

    /// The split is in the checkpoint's training metadata; a file without it reads as `examples`.
    @Test func checkpointRecordsTheSplit() throws {
        let folder = try temporaryFolder("split")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = smallConfiguration(epochs: 1)
        configuration.validationSplit = .sessions
        let path = folder + "/model.safetensors"
        _ = try Trainer(configuration: configuration, dataset: syntheticDataset(), checkpointPath: path).run()
        let file = try SafeTensorsFile(contentsOf: path)
        let metadata = file.metadata.values.joined(separator: "\n")
        #expect(metadata.contains("\"validationSplit\":\"sessions\""), "\(metadata.prefix(400))")
        let old = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(#"{"validationFraction": 0.2}"#.utf8))
        #expect(old.validationSplit == .examples)
    }
}
