import Foundation
import SessionData
import SRGNN
import Testing
import TensorCore
import Training

/// Warm start: a parent trained on items i1...i40, new data on i11...i60 (numbered in another
/// order), so that 20 items are new, 30 are shared under other internal ids and 10 are absent.
@Suite struct WarmStartTests {
    static func parentData() -> SessionDataset {
        var dataset = syntheticDataset(sessions: 300, items: 40, seed: 3)
        dataset.vocabulary = ItemVocabulary(rawIDs: (1...40).map { "i\($0)" })
        return dataset
    }

    static func newData() -> SessionDataset {
        var dataset = syntheticDataset(sessions: 300, items: 50, seed: 4)
        dataset.vocabulary = ItemVocabulary(rawIDs: (1...50).map { "i\(61 - $0)" })
        return dataset
    }

    /// Trains the parent for one epoch into `folder`; returns its path.
    static func trainParent(in folder: String) throws -> String {
        let path = folder + "/parent.safetensors"
        _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: parentData(), checkpointPath: path).run()
        return path
    }

    @Test func growsTheVocabularyRowByRow() throws {
        let folder = try temporaryFolder("warm-rows")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parentPath = try Self.trainParent(in: folder)
        let warm = try WarmStart.load(from: parentPath)
        let parent = warm.parent
        var configuration = smallConfiguration(epochs: 1)
        configuration.seed = 99
        let trainer = try Trainer(
            configuration: configuration, dataset: Self.newData(), checkpointPath: folder + "/child.safetensors",
            warmStart: warm)

        // Old ids keep their internal ids; the 20 new ones follow, in the new data's order.
        let vocabulary = trainer.dataset.vocabulary
        #expect(trainer.addedItems == 20)
        #expect(vocabulary.count == 60)
        #expect(Array(vocabulary.rawIDs.prefix(40)) == parent.vocabulary.rawIDs)
        #expect(Array(vocabulary.rawIDs.suffix(20)) == (41...60).reversed().map { "i\($0)" })
        // The data says the same raw ids after the renumbering.
        let original = Self.newData()
        for i in 0..<original.train.count {
            #expect(trainer.dataset.train.prefix(i).map(vocabulary.rawID) == original.train.prefix(i).map(original.vocabulary.rawID))
            #expect(vocabulary.rawID(of: trainer.dataset.train.targets[i]) == original.vocabulary.rawID(of: original.train.targets[i]))
        }

        // Row by row: old items (and the padding row) keep their embeddings, new items get the
        // cold start's draw, every other tensor is the parent's.
        let model = try trainer.initialModel()
        let cold = try SRGNNModel(configuration: model.configuration, seed: configuration.seed)
        let d = model.configuration.hiddenSize
        let embedding = model.parameters.values(of: .embedding), parentEmbedding = parent.model.parameters.values(of: .embedding)
        let coldEmbedding = cold.parameters.values(of: .embedding)
        for row in 0...60 {
            let values = Array(embedding[(row * d)..<((row + 1) * d)])
            let expected =
                row <= 40 ? Array(parentEmbedding[(row * d)..<((row + 1) * d)]) : Array(coldEmbedding[(row * d)..<((row + 1) * d)])
            #expect(values == expected, "embedding row \(row)")
        }
        for name in ParameterName.allCases where name != .embedding {
            #expect(model.parameters.values(of: name) == parent.model.parameters.values(of: name), "\(name.rawValue)")
        }

        // Before any step, a session of old items ranks the old items as the parent did.
        var generator = SeededGenerator(seed: 8)
        for _ in 0..<20 {
            let session = (0..<Int.random(in: 1...6, using: &generator)).map { _ in Int32.random(in: 1...40, using: &generator) }
            let before = try parent.model.recommend(session: session, k: 40)
            let after = try model.recommend(session: session, k: 60).filter { $0.id <= 40 }
            #expect(after.map(\.id) == before.map(\.id), "session \(session)")
            for (a, b) in zip(after, before) { #expect(abs(a.score - b.score) <= 1e-5 * max(1, abs(b.score))) }
        }
    }

    @Test func checkpointRecordsItsLineage() throws {
        let folder = try temporaryFolder("warm-lineage")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parentPath = try Self.trainParent(in: folder)
        let childPath = folder + "/child.safetensors"
        _ = try Trainer(
            configuration: smallConfiguration(epochs: 1), dataset: Self.newData(), checkpointPath: childPath,
            warmStart: try WarmStart.load(from: parentPath, optimizerStatePath: parentPath + ".state")
        ).run()
        let child = try LoadedModel.load(from: childPath)
        let lineage = try #require(child.metadata?.lineage)
        #expect(lineage.parentSHA256 == (try sha256sum(parentPath)))
        #expect(child.sha256 == (try sha256sum(childPath)))
        #expect(lineage.parentItems == 40 && lineage.addedItems == 20 && lineage.ancestors.isEmpty)
        #expect(lineage.optimizerState == parentPath + ".state")
        #expect(lineage.parentDatasetFingerprint == Self.parentData().fingerprint)
        #expect(
            child.metadata?.trainingData
                == TrainingDataSummary(
                    trainSessions: 300 * 9 / 10, trainExamples: Self.newData().train.count,
                    testExamples: Self.newData().test.count, items: 60))
        // A grandchild lists the parent as its ancestor, and evaluating it on the parent's data
        // takes that data into its vocabulary.
        let grandchildPath = folder + "/grandchild.safetensors"
        _ = try Trainer(
            configuration: smallConfiguration(epochs: 1), dataset: Self.newData(), checkpointPath: grandchildPath,
            warmStart: try WarmStart.load(from: childPath)
        ).run()
        let grandchild = try LoadedModel.load(from: grandchildPath)
        #expect(grandchild.metadata?.lineage?.ancestors == [lineage.parentSHA256])
        #expect(grandchild.metadata?.lineage?.addedItems == 0)
        let aligned = try grandchild.aligned(Self.parentData(), modelPath: grandchildPath, datasetPath: "parent-data")
        #expect(aligned.itemCount == 60 && aligned.test.count == Self.parentData().test.count)
    }

    @Test func refusesWhatItCannotUse() throws {
        let folder = try temporaryFolder("warm-errors")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parentPath = try Self.trainParent(in: folder)
        // An architecture flag that conflicts with the parent's.
        var wider = smallConfiguration(epochs: 1)
        wider.hiddenSize = 16
        #expect(throws: TrainingError.self) {
            try Trainer(
                configuration: wider, dataset: Self.newData(), checkpointPath: folder + "/x.safetensors",
                warmStart: try WarmStart.load(from: parentPath))
        }
        // Not a checkpoint, and a corrupt one: errors name the file.
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: folder + "/text.safetensors"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: parentPath))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: folder + "/cut.safetensors"))
        for name in ["text", "cut", "absent"] {
            let error = #expect(throws: TrainingError.self) { try WarmStart.load(from: folder + "/\(name).safetensors") }
            #expect(
                error?.description.hasPrefix("cannot warm-start from \(folder)/\(name).safetensors: ") == true,
                "\(error?.description ?? "")")
        }
        // A training state of another model.
        let otherPath = folder + "/other.safetensors"
        _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: Self.newData(), checkpointPath: otherPath).run()
        let mismatch = #expect(throws: TrainingError.self) {
            try Trainer(
                configuration: smallConfiguration(epochs: 1), dataset: Self.newData(), checkpointPath: folder + "/y.safetensors",
                warmStart: try WarmStart.load(from: parentPath, optimizerStatePath: otherPath + ".state")
            ).run()
        }
        #expect(mismatch?.description.contains("other.safetensors.state") == true)
        #expect(!FileManager.default.fileExists(atPath: folder + "/y.safetensors"))
    }

    /// A bare weights file (official names, no metadata): items are its row numbers.
    @Test func startsFromBareWeights() throws {
        let folder = try temporaryFolder("warm-bare")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parent = try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 40, hiddenSize: 8), seed: 5)
        try parent.saveWeights(to: folder + "/bare.safetensors")
        let trainer = try Trainer(
            configuration: smallConfiguration(epochs: 1), dataset: syntheticDataset(items: 50),
            checkpointPath: folder + "/child.safetensors", warmStart: try WarmStart.load(from: folder + "/bare.safetensors"))
        #expect(trainer.addedItems == 10)
        #expect(trainer.dataset.vocabulary == .identity(count: 50))
        let model = try trainer.initialModel()
        #expect(Array(model.parameters.values(of: .embedding).prefix(41 * 8)) == parent.parameters.values(of: .embedding))
    }
}

/// The SHA-256 that coreutils computes, as an independent oracle.
func sha256sum(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

/// The popularity a checkpoint keeps for sessions it cannot embed counts the recent sessions only.
@Suite struct RecentPopularityTests {
    @Test func countsTheLastSessionsMostClickedFirst() {
        // Ten sessions; the last two (20 %) are [3, 5, 3] and [5, 2, 3]: 3 ×3, 5 ×2, 2 ×1.
        var sessions = SessionList()
        for _ in 0..<8 { sessions.append([Int32(1), 1, 4]) }
        sessions.append([Int32(3), 5, 3])
        sessions.append([Int32(5), 2, 3])
        let popularity = RecentPopularity(of: sessions, itemCount: 6, fraction: 0.2)
        #expect(popularity.sessions == 2)
        #expect(popularity.items == [3, 5, 2] && popularity.clicks == [3, 2, 1])
        #expect(RecentPopularity(of: sessions, itemCount: 6, fraction: 0.2, limit: 2).items == [3, 5])
        // Ties go to the smaller id; at least one session is counted.
        #expect(RecentPopularity(of: sessions, itemCount: 6, fraction: 0.01).items == [2, 3, 5])
        #expect(RecentPopularity(of: SessionList(), itemCount: 6).items.isEmpty)
    }

    @Test func checkpointsCarryIt() throws {
        let folder = try temporaryFolder("popularity")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = syntheticDataset()
        _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: dataset, checkpointPath: folder + "/m.safetensors").run()
        let saved = try LoadedModel.load(from: folder + "/m.safetensors").metadata?.recentPopularity
        #expect(saved == RecentPopularity(of: dataset.trainSessions, itemCount: dataset.itemCount))
        #expect(saved?.items.isEmpty == false)
    }
}
