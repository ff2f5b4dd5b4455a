import Evaluation
import Foundation
import SessionData
import SRGNN
import Testing
import Training

/// Issue 17: no run silently mixes data, and outputs are checked before any epoch runs.
@Suite struct OutputHardeningTests {
    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test("17: resume refuses a different dataset with the same item count")
    func resumeRefusesOtherData() throws {
        let folder = try temporaryFolder("fingerprint")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/m.safetensors"
        let first = syntheticDataset(seed: 5), other = syntheticDataset(seed: 6)
        #expect(first.itemCount == other.itemCount)
        #expect(first.fingerprint != other.fingerprint)
        _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: first, checkpointPath: path).run()
        #expect(try LoadedModel.load(from: path).metadata?.datasetFingerprint == first.fingerprint)
        let text = Self.message {
            _ = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: other, checkpointPath: path).run(resume: true)
        }
        #expect(
            text.hasPrefix(
                "cannot resume from \(path).state: it was trained on different data (dataset fingerprint \(first.fingerprint), --data has \(other.fingerprint))"
            ), "\(text)")
        // The same data resumes.
        let result = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: first, checkpointPath: path).run(resume: true)
        #expect(result.history.count == 2)
    }

    @Test("18: after a kill between log and state, resume logs each epoch once and removes stale temporaries")
    func resumeRewritesLog() throws {
        let folder = try temporaryFolder("killed")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/m.safetensors"
        let dataset = syntheticDataset()
        _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: dataset, checkpointPath: path).run()
        // As if killed after epoch 2's log line was appended, while its state was being written.
        let log = path + ".log.jsonl"
        let lines = try String(contentsOfFile: log, encoding: .utf8)
        try (lines + lines.replacingOccurrences(of: "\"epoch\":0", with: "\"epoch\":1")).write(
            toFile: log, atomically: true, encoding: .utf8)
        try "partial".write(toFile: folder + "/.m.safetensors.state.tmp-4242", atomically: true, encoding: .utf8)
        let result = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: dataset, checkpointPath: path).run(resume: true)
        #expect(result.history.map(\.epoch) == [0, 1])
        let epochs = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONDecoder().decode(EpochRecord.self, from: Data($0.utf8)).epoch }
        #expect(epochs == [0, 1])
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(!names.contains { $0.contains(".tmp-") }, "\(names)")
    }

    @Test("19: an output folder that does not exist fails before the first epoch")
    func unwritableOutput() throws {
        var watched = 0
        final class Counter: TrainingObserver {
            var batches = 0
            func batchFinished(epoch: Int, examplesDone: Int, examplesTotal: Int, runningLoss: Double, seconds: Double) { batches += 1 }
            func epochFinished(_ record: EpochRecord, selected: Bool) {}
            func note(_ message: String) {}
        }
        let counter = Counter()
        let text = Self.message {
            _ = try Trainer(
                configuration: smallConfiguration(epochs: 1), dataset: syntheticDataset(), checkpointPath: "/nonexistent/dir/m.st"
            )
            .run(observer: counter)
        }
        watched = counter.batches
        #expect(text == "cannot write /nonexistent/dir/m.st: its folder /nonexistent/dir does not exist")
        #expect(watched == 0)
        let device = Self.message {
            _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: syntheticDataset(), checkpointPath: "/dev/null").run()
        }
        #expect(device == "cannot write /dev/null: is not a regular file (a device, pipe or socket); refusing to replace it")
    }

    @Test("20: a new run removes the old state and log together; a symlinked --out is written through")
    func newRunOverOldFiles() throws {
        let folder = try temporaryFolder("newrun")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let target = folder + "/real.safetensors", link = folder + "/m.safetensors"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.safetensors")
        let dataset = syntheticDataset()
        _ = try Trainer(configuration: smallConfiguration(epochs: 2), dataset: dataset, checkpointPath: link).run()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real.safetensors")
        #expect(FileManager.default.fileExists(atPath: target))
        // A new run over the same --out: the old state and log go, so a later --resume cannot mix runs.
        _ = try Trainer(configuration: smallConfiguration(epochs: 1), dataset: dataset, checkpointPath: link).run()
        let log = try String(contentsOfFile: link + ".log.jsonl", encoding: .utf8)
        #expect(log.split(separator: "\n").count == 1)
        #expect(try LoadedModel.load(from: link).metadata?.trainingHistory?.count == 1)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real.safetensors")
    }
}
