import Evaluation
import Foundation
import SessionData
import SRGNN
import Testing
import Training

/// Issue 29, item 6 and part of 16: a run never removes or replaces a model before its own first
/// checkpoint is in place, never writes over its own parent, and continues only its parent's
/// own optimizer state.
@Suite struct NeverLoseAModelTests {
    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Records, at the first batch of a run, what the files at `paths` held.
    final class FirstBatchSnapshot: TrainingObserver {
        let paths: [String]
        var seen: [String: Data?]?
        init(_ paths: [String]) { self.paths = paths }
        func batchFinished(epoch: Int, examplesDone: Int, examplesTotal: Int, runningLoss: Double, seconds: Double) {
            if seen == nil { seen = Dictionary(uniqueKeysWithValues: paths.map { ($0, NeverLoseAModelTests.bytes($0)) }) }
        }
        func epochFinished(_ record: EpochRecord, selected: Bool) {}
        func note(_ message: String) {}
    }

    @Test("6: a new run leaves the previous run's checkpoint, state and log in place until its first checkpoint")
    func previousRunStaysUntilReplaced() throws {
        let folder = try temporaryFolder("keep-old")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/m.safetensors"
        let dataset = syntheticDataset()
        _ = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: dataset, checkpointPath: path).run()
        let outputs = [path, path + ".state", path + ".log.jsonl"]
        let before = outputs.map(Self.bytes)
        #expect(before.allSatisfy { $0 != nil })
        var other = smallConfiguration(epochs: 1)
        other.seed = 12
        let snapshot = FirstBatchSnapshot(outputs)
        _ = try Trainer(configuration: other, dataset: dataset, checkpointPath: path).run(observer: snapshot)
        // During the new run's first epoch the old files were whole (a served model kept serving).
        let during = try #require(snapshot.seen)
        for (output, old) in zip(outputs, before) { #expect(during[output] == old, "\(output) changed before the first checkpoint") }
        // After it, all three are the new run's: one epoch, the new seed.
        #expect(try LoadedModel.load(from: path).metadata?.trainingHistory?.count == 1)
        #expect(try String(contentsOfFile: path + ".log.jsonl", encoding: .utf8).split(separator: "\n").count == 1)
        let resumed = try Trainer(configuration: other, dataset: dataset, checkpointPath: path).run(resume: true)
        #expect(resumed.history.count == 1, "the state is the new run's: nothing left to do")
    }

    @Test("6: --init-from or --init-optimizer-state equal to an output is refused, however spelled; the parent is untouched")
    func parentIsNeverAnOutput() throws {
        let folder = try temporaryFolder("parent-out")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parent = try WarmStartTests.trainParent(in: folder)
        let parentBytes = Self.bytes(parent), stateBytes = Self.bytes(parent + ".state")
        let link = folder + "/link.safetensors"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "parent.safetensors")
        let dotted = folder + "/./parent.safetensors"
        for out in [parent, link, dotted] {
            let text = Self.message {
                _ = try Trainer(
                    configuration: smallConfiguration(epochs: 1), dataset: WarmStartTests.newData(), checkpointPath: out,
                    warmStart: try WarmStart.load(from: parent)
                ).run()
            }
            #expect(
                text.hasPrefix("cannot warm-start from \(parent): the parent checkpoint is also the checkpoint it writes (--out), \(out)"),
                "\(text)")
        }
        // The optimizer state as the new run's own state.
        let statePath = folder + "/child.safetensors.state"
        try FileManager.default.copyItem(atPath: parent + ".state", toPath: statePath)
        let text = Self.message {
            _ = try Trainer(
                configuration: smallConfiguration(epochs: 1), dataset: WarmStartTests.newData(),
                checkpointPath: folder + "/child.safetensors",
                warmStart: try WarmStart.load(from: parent, optimizerStatePath: statePath)
            ).run()
        }
        #expect(text.hasPrefix("cannot warm-start from \(statePath): the optimizer state is also its training state"), "\(text)")
        #expect(Self.bytes(parent) == parentBytes && Self.bytes(parent + ".state") == stateBytes)
    }

    @Test("16: an optimizer state of another run of the same shape is refused; a shape refusal names what differs")
    func optimizerStateOfAnotherRun() throws {
        let folder = try temporaryFolder("other-state")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parent = try WarmStartTests.trainParent(in: folder)
        // Same data and shape, another seed: another run.
        let sibling = folder + "/sibling.safetensors"
        var seeded = smallConfiguration(epochs: 1)
        seeded.seed = 99
        _ = try Trainer(configuration: seeded, dataset: WarmStartTests.parentData(), checkpointPath: sibling).run()
        let text = Self.message {
            _ = try Trainer(
                configuration: smallConfiguration(epochs: 1), dataset: WarmStartTests.newData(), checkpointPath: folder + "/c.safetensors",
                warmStart: try WarmStart.load(from: parent, optimizerStatePath: sibling + ".state")
            ).run()
        }
        #expect(text.hasPrefix("cannot warm-start from \(sibling).state: it is the state of another run of the same shape"), "\(text)")
        // Same items and hidden size, but position embeddings: the message says what differs.
        let niser = folder + "/niser.safetensors"
        var positions = smallConfiguration(epochs: 1)
        positions.positionEmbeddingRows = SRGNNConfiguration.niserPositionRows
        _ = try Trainer(configuration: positions, dataset: WarmStartTests.parentData(), checkpointPath: niser).run()
        let shape = Self.message {
            _ = try Trainer(
                configuration: smallConfiguration(epochs: 1), dataset: WarmStartTests.newData(), checkpointPath: folder + "/d.safetensors",
                warmStart: try WarmStart.load(from: parent, optimizerStatePath: niser + ".state")
            ).run()
        }
        #expect(
            shape
                == "cannot warm-start from \(niser).state: its model has 40 items, hidden size 8 and \(SRGNNConfiguration.niserPositionRows) position embeddings, the checkpoint's 40 items, hidden size 8 and 0 position embeddings; give the state of the checkpoint's own run"
        )
        // The parent's own state is accepted.
        _ = try Trainer(
            configuration: smallConfiguration(epochs: 1), dataset: WarmStartTests.newData(), checkpointPath: folder + "/e.safetensors",
            warmStart: try WarmStart.load(from: parent, optimizerStatePath: parent + ".state")
        ).run()
    }
}
