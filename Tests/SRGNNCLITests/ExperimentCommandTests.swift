import Foundation
import SessionData
import Testing
import TestSupport

/// Issue 15's options end to end on a tiny folder: `train --seeds` and the paired tests of `compare`.
@Suite("srgnn train --seeds, srgnn compare significance")
struct ExperimentCommandTests {
    @Test("--seeds trains one model per seed and summarises them with a t interval")
    func seeds() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = folder.path + "/data", out = folder.path + "/model.safetensors"
        try WarmStartCommandTests.writeFolder(data, items: 30, seed: 1) { "sku\($0)" }
        let result = try runSRGNN([
            "train", "--data", data, "--out", out, "--seeds", "1,2", "--validation-split", "sessions",
            "--epochs", "2", "--hidden-size", "8", "--threads", "1", "--batch-size", "32",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("\"seed\":1") && result.output.contains("\"seed\":2"), "each run has its own seed")
        #expect(result.output.contains("split by sessions"), "\(result.output)")
        #expect(result.output.contains("over 2 seeds") && result.output.contains("t(0.975, 1) = 12.706"), "\(result.output)")
        for seed in [1, 2] {
            #expect(FileManager.default.fileExists(atPath: folder.path + "/model.seed\(seed).safetensors"))
            #expect(FileManager.default.fileExists(atPath: folder.path + "/model.seed\(seed).safetensors.log.jsonl"))
        }
        #expect(!FileManager.default.fileExists(atPath: out), "no unseeded checkpoint")

        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/model.seeds.json")))
                as? [String: Any])
        #expect(summary["validation_split"] as? String == "sessions" && summary["cutoff"] as? Int == 20)
        let runs = try #require(summary["runs"] as? [[String: Any]])
        #expect(runs.map { $0["seed"] as? Int } == [1, 2])
        #expect(runs[0]["checkpoint"] as? String == folder.path + "/model.seed1.safetensors")
        let tests = runs.map { ($0["test"] as? [String: Double])?["HR@20"] ?? .nan }
        let statistics = try #require((summary["statistics"] as? [String: Any])?["test.HR@20"] as? [String: Double])
        // Two values a, b: mean (a + b)/2, sample deviation |a − b|/√2, half-width t(0.975, 1) · sd/√2 = 12.7062 · |a − b|/2.
        let mean = (tests[0] + tests[1]) / 2, deviation = abs(tests[0] - tests[1]) / 2.0.squareRoot()
        #expect(abs(statistics["mean"]! - mean) < 1e-9)
        #expect(abs(statistics["standard_deviation"]! - deviation) < 1e-9)
        #expect(abs(statistics["upper"]! - (mean + 12.706204736174694 * abs(tests[0] - tests[1]) / 2)) < 1e-6)
        #expect(statistics["count"] == 2)
    }

    @Test("compare tests every model against the reference and writes it everywhere")
    func compareSignificance() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = folder.path + "/data", reports = folder.path + "/report"
        try WarmStartCommandTests.writeFolder(data, items: 30, seed: 3) { "sku\($0)" }
        let result = try runSRGNN([
            "compare", "--data", data, "--models", "pop,spop,sr", "--reference", "sr", "--threads", "1",
            "--report-dir", reports, "--json",
        ])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let tests = object["significance"] as? [String: Any]
        #expect(tests?["reference"] as? String == "SR")
        let models = try #require(object["models"] as? [[String: Any]])
        #expect(models.map { $0["versus_reference"] == nil } == [false, false, true])
        let markdown = try String(contentsOfFile: reports + "/comparison.md", encoding: .utf8)
        #expect(markdown.contains("ΔHR@20 vs SR") && markdown.contains("(reference)"), "\(markdown)")
        let html = try String(contentsOfFile: reports + "/comparison.html", encoding: .utf8)
        #expect(html.contains("Whiskers"))
    }
}
