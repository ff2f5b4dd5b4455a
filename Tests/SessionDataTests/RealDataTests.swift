import Foundation
import Testing
import TestSupport
@testable import SessionData

/// The paper's Table 1 from the full SR-GNN folders (skipped when ../shared/data is absent).
@Suite("Real datasets")
struct RealDataTests {
    @Test(
        "Diginetica: 186,670 sessions, 719,470 / 60,858 examples, 43,097 items, 982,961 clicks; our folder reads back the same",
        .enabled(if: Shared.exists(Shared.data("diginetica/all_train_seq.txt")), "needs ../shared/data/diginetica"))
    func diginetica() throws {
        let dataset = try SessionDataset.load(from: Shared.data("diginetica"))
        let statistics = DatasetStatistics(dataset)
        #expect(statistics.trainSessions == 186_670)
        #expect(statistics.trainExamples == 719_470)  // no train.txt: augmented from all_train_seq.txt
        #expect(statistics.testExamples == 60_858)
        #expect(statistics.items == 43_097)
        #expect(statistics.clicks == 982_961)
        #expect(dataset.embeddingRows == 43_098)
        #expect(dataset.vocabulary.rawID(of: 43_097) == "43097")

        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try dataset.write(to: folder.path)
        let reloaded = try SessionDataset.load(from: folder.path)
        #expect(reloaded == dataset)
        #expect(DatasetStatistics(reloaded) == statistics)
    }

    @Test(
        "Yoochoose 1/64: 369,859 / 55,898 examples, 37,483 items, 557,248 clicks",
        .enabled(if: Shared.exists(Shared.data("yoochoose1_64/all_train_seq.txt")), "needs ../shared/data/yoochoose1_64"))
    func yoochoose64() throws {
        let statistics = DatasetStatistics(try SessionDataset.load(from: Shared.data("yoochoose1_64")))
        #expect(statistics.trainSessions == 116_167)
        #expect(statistics.trainExamples == 369_859)
        #expect(statistics.testExamples == 55_898)
        #expect(statistics.items == 37_483)
        #expect(statistics.clicks == 557_248)
    }

    @Test("stats JSON keys")
    func jsonKeys() throws {
        let dataset = SessionDataset(
            trainSessions: SessionList([[1, 2, 3]]), train: .augmenting(SessionList([[1, 2, 3]])),
            test: ExampleSet(prefixes: [[1]], targets: [2]), vocabulary: .identity(count: 3), itemCount: 3)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(DatasetStatistics(dataset))) as! [String: Any]
        for key in ["train_sessions", "train_examples", "test_examples", "items", "average_length", "clicks"] {
            #expect(json[key] != nil, "missing key \(key)")
        }
        #expect(json["average_length"] as? Double == 2.5)  // (3 + 2) clicks / 2 sessions
    }
}
