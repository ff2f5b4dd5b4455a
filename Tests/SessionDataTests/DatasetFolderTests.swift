import Foundation
import Testing
import TestSupport
@testable import SessionData

@Suite("Dataset folders")
struct DatasetFolderTests {
    let sessions = SessionList([[1, 2, 3], [2, 4], [5, 5, 1]])
    var test: ExampleSet { ExampleSet.augmenting(SessionList([[3, 2, 1], [4, 5]])) }

    @Test(
        "SR-GNN pickle folders in protocols 2 to 5, test set as tuple or list, with or without train.txt",
        arguments: [2, 3, 4, 5])
    func srgnnFolders(protocolVersion: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try folder.file("all_train_seq.txt", bytes: Pickle.encode(sessions, protocol: protocolVersion))
        _ = try folder.file("test.txt", bytes: Pickle.encode(test, protocol: protocolVersion, asList: protocolVersion % 2 == 0))
        // No train.txt: training examples by prefix augmentation.
        let augmented = try SessionDataset.load(from: folder.path)
        #expect(augmented.train == ExampleSet.augmenting(sessions))
        #expect(augmented.test == test)
        #expect(augmented.itemCount == 5)
        #expect(augmented.vocabulary == .identity(count: 5))
        #expect(augmented.clickCount == 8 + 5)
        // With a train.txt that is the last 3 examples (a Yoochoose-style fraction): kept as a skip.
        let suffix = ExampleSet.augmenting(sessions, skippingFirst: 2)
        _ = try folder.file("train.txt", bytes: Pickle.encode(suffix, protocol: protocolVersion))
        let fractional = try SessionDataset.load(from: folder.path)
        #expect(fractional.train == suffix)
        #expect(fractional.trainExampleSkip == 2)
    }

    @Test("our folder round-trips, including training examples that are not an augmentation; writes leave no temporary files")
    func roundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let vocabulary = ItemVocabulary(rawIDs: ["a", "b b", "c", "214536502", "ü"])
        let plain = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: test,
            vocabulary: vocabulary, itemCount: 5, clickCount: 13)
        try plain.write(to: folder.path)
        #expect(try SessionDataset.load(from: folder.path) == plain)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
                == ["dataset.json", "items.txt", "test_examples.txt", "train_sessions.txt"])

        var odd = plain
        odd.train = ExampleSet(prefixes: [[5, 5], [2]], targets: [1, 4])
        try odd.write(to: folder.path)
        #expect(try SessionDataset.load(from: folder.path) == odd)
        #expect(FileManager.default.fileExists(atPath: folder.path + "/train_examples.txt"))
        // Back to a derived training set: the stale file goes.
        try plain.write(to: folder.path)
        #expect(try SessionDataset.load(from: folder.path) == plain)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/train_examples.txt"))
    }

    @Test(
        "an SR-GNN fixture folder converts to ours and back unchanged",
        .enabled(if: Shared.exists(Shared.yoochooseFixture), "needs ../shared/fixtures/preprocess"))
    func convertFixture() throws {
        let original = try SessionDataset.load(from: Shared.yoochooseFixture + "/yoochoose1_4")
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try original.write(to: folder.path)
        try DatasetFolder.writeSRGNNPickles(original, to: folder.path + "/pickles")
        #expect(try SessionDataset.load(from: folder.path) == original)
        #expect(try SessionDataset.load(from: folder.path + "/pickles") == original)
    }
}
