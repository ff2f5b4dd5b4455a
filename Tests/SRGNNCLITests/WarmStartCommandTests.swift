import Foundation
import SessionData
import Testing
import TestSupport

/// `srgnn train --init-from` end to end: a week-2 folder with new items grows last week's model.
@Suite("srgnn train --init-from")
struct WarmStartCommandTests {
    /// A dataset folder whose raw ids are `prefix` + the synthetic item number.
    static func writeFolder(_ path: String, items: Int, seed: UInt64, rawID: (Int) -> String) throws {
        let sessions = SyntheticClickLog(itemCount: items, sessionCount: 200, seed: seed).sessions()
        let train = SessionList(Array(sessions[..<180])), test = ExampleSet.augmenting(SessionList(Array(sessions[180...])))
        let dataset = SessionDataset(
            trainSessions: train, train: .augmenting(train), test: test,
            vocabulary: ItemVocabulary(rawIDs: (1...items).map(rawID)), itemCount: items)
        try DatasetFolder.write(dataset, to: path)
    }

    @Test("a warm start grows the vocabulary; conflicts and bad files are clear errors")
    func warmStart() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let week1 = folder.path + "/week1", week2 = folder.path + "/week2"
        try Self.writeFolder(week1, items: 30, seed: 1) { "sku\($0)" }
        try Self.writeFolder(week2, items: 40, seed: 2) { "sku\($0 + 5)" }  // sku6...sku45: 15 new
        let parent = folder.path + "/week1.safetensors", child = folder.path + "/week2.safetensors"
        let small = ["--epochs", "1", "--threads", "1", "--batch-size", "32"]
        var result = try runSRGNN(["train", "--data", week1, "--out", parent, "--hidden-size", "8"] + small)
        #expect(result.status == 0, "\(result.error)")

        result = try runSRGNN(["train", "--data", week2, "--out", child, "--init-from", parent] + small)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("30 items kept, 15 added; Adam moments start at zero"), "\(result.output)")
        #expect(result.output.contains("\"hiddenSize\":8"), "the parent's hidden size is taken: \(result.output)")
        // The child ranks the old week's data too: its items are a subset of the child's.
        result = try runSRGNN(["evaluate", "--model", child, "--data", week1, "--json"])
        #expect(result.status == 0, "\(result.error)")

        result = try runSRGNN(["train", "--data", week2, "--out", child, "--init-from", parent, "--hidden-size", "16"] + small)
        #expect(result.status != 0)
        #expect(
            result.error.contains("--hidden-size: \(parent) was trained with hidden size 8, which a warm start keeps"), "\(result.error)")

        let text = try folder.file("notes.safetensors", "not a model")
        result = try runSRGNN(["train", "--data", week2, "--out", child, "--init-from", text] + small)
        #expect(result.status != 0)
        #expect(result.error.contains("cannot warm-start from \(text): "), "\(result.error)")

        result = try runSRGNN(["train", "--data", week2, "--out", child, "--init-optimizer-state", parent + ".state"] + small)
        #expect(result.status != 0)
        #expect(result.error.contains("--init-optimizer-state needs --init-from"), "\(result.error)")
    }
}
