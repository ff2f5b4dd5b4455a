import Evaluation
import Experiments
import Foundation
import SessionData
import TensorCore
import Testing

@Suite struct ComparisonReportTests {
    static func report() -> ComparisonReport {
        // Two items; POP always ranks item 1 first. Targets 1, 1, 2: HR@1 = 2/3, MRR@2 = (1 + 1 + 1/2)/3.
        let sessions: [[Int32]] = [[1, 2], [1], [1, 1]]
        let pop = Popularity().fit(sessions: sessions, itemCount: 2)
        let evaluation = Evaluator(cutoffs: [1, 2], listLength: 1, popularity: itemPopularity(of: sessions, itemCount: 2))
            .evaluate(pop, prefixes: [[2], [1], [2]], targets: [1, 1, 2])
        let history = [
            EpochRecord(
                epoch: 0, loss: 2.5, learningRate: 1e-3, seconds: 10, validation: ["HR@2": 40, "MRR@2": 20],
                test: ["HR@2": 38, "MRR@2": 19]),
            EpochRecord(
                epoch: 1, loss: 2.0, learningRate: 1e-3, seconds: 10, validation: ["HR@2": 45, "MRR@2": 22],
                test: ["HR@2": 44, "MRR@2": 21]),
        ]
        return ComparisonReport(
            dataset: "tiny", itemCount: 2, examples: 3, cutoffs: [1, 2],
            entries: [ComparisonEntry(report: evaluation, fitSeconds: 0.5, trainingHistory: history)])
    }

    @Test func markdownAndJSONCarryTheMetrics() throws {
        let report = Self.report()
        let markdown = report.markdown()
        #expect(markdown.contains("| POP | 66.67 | 66.67 | 66.67 | 100.00 | 83.33 |"), "\(markdown)")
        let object = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
        let model = (object?["models"] as? [[String: Any]])?.first
        let metrics = model?["metrics"] as? [String: Double]
        #expect(abs((metrics?["HR@1"] ?? 0) - 200.0 / 3) < 1e-9)
        #expect(abs((metrics?["MRR@2"] ?? 0) - 250.0 / 3) < 1e-9)
        #expect(model?["fit_seconds"] as? Double == 0.5)
    }

    /// Two models with per-example metrics: the table gains Δ columns against the reference, the
    /// JSON its intervals and tests, the chart its whiskers.
    @Test func significanceReachesEveryOutput() throws {
        let examples = TestExample.examples(prefixes: [[2], [1], [2], [1]], targets: [1, 1, 2, 3])
        let evaluator = Evaluator(cutoffs: [1, 2], listLength: 1)
        let sessions: [[Int32]] = [[1, 2], [1], [1, 1], [3]]
        var entries = [ComparisonEntry]()
        for scorer in [Popularity().fit(sessions: sessions, itemCount: 3) as any SessionScorer, ConstantScorer(itemCount: 3)] {
            let (report, positions) = evaluator.evaluateKeepingPositions(scorer, on: examples)
            entries.append(
                ComparisonEntry(
                    report: report, fitSeconds: 0, perExample: PerExampleMetrics(positions: positions, k: 2, ties: evaluator.ties)))
        }
        let report = ComparisonReport(dataset: "tiny", itemCount: 3, examples: 4, cutoffs: [1, 2], entries: entries, reference: 0)
        let markdown = report.markdown()
        #expect(markdown.contains("ΔHR@2 vs POP | ΔMRR@2 vs POP |"), "\(markdown)")
        #expect(markdown.contains("(reference) | (reference) |"), "\(markdown)")
        #expect(markdown.contains("paired bootstrap interval over 2000 resamples"), "\(markdown)")
        // POP counts item 1 four times, 2 and 3 once (tied): HR@2 per example 1, 1, ½, ½ = 75 %. The
        // constant scorer ties all three items: 2/3 each = 66.67 %. Δ = 66.67 − 75.
        let object = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
        let models = object?["models"] as? [[String: Any]]
        #expect(models?[0]["versus_reference"] == nil)
        let versus = models?[1]["versus_reference"] as? [String: [String: Double]]
        #expect(abs((versus?["HR@2"]?["difference"] ?? 0) - (200.0 / 3 - 75)) < 1e-9, "\(String(describing: versus))")
        #expect(versus?["HR@2"]?["p_value"] != nil)
        let intervals = models?[0]["confidence_intervals"] as? [String: [Double]]
        #expect(intervals?["HR@2"]?.count == 2)
        let tests = object?["significance"] as? [String: Any]
        #expect(tests?["reference"] as? String == "POP" && tests?["k"] as? Int == 2)
        let html = report.html()
        #expect(html.contains("Whiskers: each model's 95 % bootstrap percentile interval"))
        #expect(html.contains("<g stroke=\"#222\""))
    }

    @Test func htmlIsSelfContainedWithCharts() {
        let html = Self.report().html()
        #expect(html.contains("<svg"))
        #expect(html.contains("training curves"))
        #expect(html.contains("<polyline"))
        #expect(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(!html.contains("<script src") && !html.contains("<link"))
    }
}
