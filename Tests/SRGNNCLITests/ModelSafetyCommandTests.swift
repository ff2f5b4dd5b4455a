import Foundation
import SessionData
import SRGNN
import Testing
import TestSupport

/// Issue 29 end to end: reruns of warm starts, outputs that are inputs, interrupted batch runs,
/// grid limits and option messages.
@Suite("issue 29: models and outputs are never lost")
struct ModelSafetyCommandTests {
    static let small = ["--epochs", "1", "--threads", "1", "--batch-size", "32"]

    static func sha(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test(
        "5: train --config WARM reruns the warm start from its recorded parent, or names what is missing; 6: --init-from X --out X is refused"
    )
    func warmStartRerun() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let week1 = folder.path + "/week1", week2 = folder.path + "/week2"
        try WarmStartCommandTests.writeFolder(week1, items: 30, seed: 1) { "sku\($0)" }
        try WarmStartCommandTests.writeFolder(week2, items: 40, seed: 2) { "sku\($0 + 5)" }
        let parent = folder.path + "/week1.safetensors", child = folder.path + "/week2.safetensors"
        var result = try runSRGNN(["train", "--data", week1, "--out", parent, "--hidden-size", "8"] + Self.small)
        #expect(result.status == 0, "\(result.error)")
        result = try runSRGNN(["train", "--data", week2, "--out", child, "--init-from", parent] + Self.small)
        #expect(result.status == 0, "\(result.error)")
        let lineage = try #require(try LoadedModel.load(from: child).metadata?.lineage)

        let rerun = folder.path + "/rerun.safetensors"
        result = try runSRGNN(["train", "--config", child, "--out", rerun])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("warm start as --config's run: from \(parent), sha256 checked"), "\(result.output)")
        let rerunLineage = try #require(try LoadedModel.load(from: rerun).metadata?.lineage, "the rerun is a warm start too")
        #expect(rerunLineage.parentSHA256 == lineage.parentSHA256 && rerunLineage.addedItems == lineage.addedItems)

        // The parent changed, then gone: refused, naming it.
        let saved = try #require(Self.sha(parent))
        result = try runSRGNN(["train", "--data", week1, "--out", parent, "--hidden-size", "8", "--seed", "9"] + Self.small)
        #expect(result.status == 0, "\(result.error)")
        result = try runSRGNN(["train", "--config", child, "--out", rerun])
        #expect(result.status != 0)
        #expect(
            result.error.contains(
                "--config \(child): its run was warm-started from \(parent) (sha256 \(lineage.parentSHA256.prefix(16))…), but that file has changed"
            ), "\(result.error)")
        try FileManager.default.removeItem(atPath: parent)
        result = try runSRGNN(["train", "--config", child, "--out", rerun])
        #expect(result.status != 0)
        #expect(
            result.error.contains(
                "--config \(child): its run was warm-started from \(parent) (sha256 \(lineage.parentSHA256.prefix(16))…), which is missing"),
            "\(result.error)")
        try saved.write(to: URL(fileURLWithPath: parent))

        // 6: the parent as the output, however spelled, is refused and left as it was.
        for out in [parent, folder.path + "/./week1.safetensors"] {
            result = try runSRGNN(["train", "--data", week2, "--out", out, "--init-from", parent] + Self.small)
            #expect(result.status != 0)
            #expect(
                result.error.contains("cannot warm-start from \(parent): the parent checkpoint is also the checkpoint it writes (--out)"),
                "\(result.error)")
        }
        #expect(Self.sha(parent) == saved)
    }

    /// A checkpoint, a catalog-free batch input of `lines` sessions, in `folder`.
    static func batchFiles(in folder: TemporaryFolder, lines: Int) throws -> (model: String, input: String) {
        let sessions = BatchRecommendTests.sessions(lines, seed: 3)
        let input = try folder.file("sessions.jsonl", BatchRecommendTests.jsonLines(sessions))
        return (BatchRecommendTests.modelPath, input)
    }

    @Test("10: --output that is one of the inputs is refused, however spelled; the input is unchanged")
    func outputIsAnInput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (model, input) = try Self.batchFiles(in: folder, lines: 20)
        let before = Self.sha(input)
        let link = folder.path + "/link.jsonl"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "sessions.jsonl")
        for output in [input, folder.path + "/./sessions.jsonl", link] {
            let result = try runSRGNN(["recommend", "--model", model, "--input", input, "--output", output])
            #expect(result.status != 0)
            #expect(
                result.error.contains("--output \(output) is the file of --input \(input): writing it would replace what is being read"),
                "\(result.error)")
        }
        #expect(Self.sha(input) == before)
        let modelBytes = Self.sha(model)
        let result = try runSRGNN(["recommend", "--model", model, "--input", input, "--output", model])
        #expect(result.status != 0 && result.error.contains("is the file of --model"), "\(result.error)")
        #expect(Self.sha(model) == modelBytes)
    }

    @Test(
        "10: SIGINT or SIGTERM during recommend --output removes the temporary file and exits 128 + signal", arguments: [SIGINT, SIGTERM])
    func interruptedBatchLeavesNothing(signalNumber: Int32) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (model, input) = try Self.batchFiles(in: folder, lines: 200_000)
        let output = folder.path + "/out.jsonl"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Executable.path())
        process.arguments = ["recommend", "--model", model, "--input", input, "--output", output, "--threads", "1", "--chunk-lines", "1"]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait for the temporary output to appear, then interrupt.
        func temporaries() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasPrefix(".out.jsonl.tmp-") }
        }
        let deadline = Date().addingTimeInterval(120)
        while temporaries().isEmpty && process.isRunning && Date() < deadline { usleep(5_000) }
        #expect(!temporaries().isEmpty && process.isRunning, "the run was over before it could be interrupted")
        kill(process.processIdentifier, signalNumber)
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + signalNumber, "\(process.terminationReason) \(process.terminationStatus)")
        #expect(temporaries().isEmpty, "\(temporaries())")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("10: a temporary output left by a killed run is removed by the next run")
    func staleTemporaryIsRemoved() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (model, input) = try Self.batchFiles(in: folder, lines: 20)
        let stale = try folder.file(".out.jsonl.tmp-4242-1", "half an output")
        let result = try runSRGNN(["recommend", "--model", model, "--input", input, "--output", folder.path + "/out.jsonl"])
        #expect(result.status == 0, "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: folder.path + "/out.jsonl"))
    }

    @Test("15: tune --search grid refuses a space over the grid limit at once, before reading the data")
    func gridOverTheLimit() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let values = "[" + (1...100).map { "\($0)" }.joined(separator: ", ") + "]"
        let fractions = "[" + (1...100).map { String(format: "%.4f", Double($0) / 10_000) }.joined(separator: ", ") + "]"
        let space = try folder.file(
            "space.yaml",
            """
            learning-rate: \(fractions)
            l2-penalty: \(fractions)
            hidden-size: \(values)
            batch-size: \(values)
            decay-interval: \(values)
            """)
        let result = try runSRGNN([
            "tune", "--data", folder.path + "/no-data", "--space", space, "--search", "grid", "--trials", "3",
            "--out", folder.path + "/tune",
        ])
        #expect(result.status != 0)
        #expect(
            result.error.contains(
                "--space \(space): the grid has 10000000000 points (100 learning-rate × 100 l2-penalty × 100 hidden-size × 100 batch-size × 100 decay-interval), over the limit of 1000000 points"
            ), "\(result.error)")
    }

    @Test("16: --seeds -1,2 names the bad seed; recommend --help does not call an empty items a bad line")
    func optionMessages() throws {
        let result = try runSRGNN(["train", "--data", "d", "--out", "m.safetensors", "--seeds", "-1,2"])
        #expect(result.status != 0)
        #expect(
            result.error.contains("--seeds: expected non-negative integers separated by commas, e.g. 1,2,3; '-1' is not one"),
            "\(result.error)")
        let help = try runSRGNN(["recommend", "--help"])
        let text = help.output.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        #expect(!text.contains("empty \"items\", an id"), "\(text)")
        #expect(text.contains("An empty \"items\" is answered by --fallback"), "\(text)")
    }
}
