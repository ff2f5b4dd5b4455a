import Evaluation
import Experiments
import Foundation
import Testing

/// Issue 32: `compare` over time slices: per-slice figures, mean ± sd, paired tests over slices and
/// over the pooled examples.
@Suite struct SliceComparisonReportTests {
    /// POP (item 1 counted 4 times, items 2 and 3 once each: HR@2 is 1 for target 1, ½ for a tied
    /// 2 or 3) against a constant scorer (all three items tied: HR@2 = 2/3 for every example) on
    /// three slices whose targets are [1, 1, 2, 3], [1, 2] and [1, 1, 1, 2].
    static func report() -> SliceComparisonReport {
        let sessions: [[Int32]] = [[1, 2], [1], [1, 1], [3]]
        let evaluator = Evaluator(cutoffs: [1, 2], listLength: 1)
        let slices = [[1, 1, 2, 3], [1, 2], [1, 1, 1, 2]].enumerated().map { s, targets -> ComparisonReport in
            let examples = TestExample.examples(prefixes: targets.map { _ in [2] }, targets: targets.map { Int32($0) })
            var entries = [ComparisonEntry]()
            for scorer in [Popularity().fit(sessions: sessions, itemCount: 3) as any SessionScorer, ConstantScorer(itemCount: 3)] {
                let (report, positions) = evaluator.evaluateKeepingPositions(scorer, on: examples)
                entries.append(
                    ComparisonEntry(
                        report: report, fitSeconds: 0, perExample: PerExampleMetrics(positions: positions, k: 2, ties: evaluator.ties)))
            }
            return ComparisonReport(
                dataset: "slices/slice-\(s + 1)", itemCount: 3, examples: targets.count, cutoffs: [1, 2], entries: entries, reference: 0)
        }
        return SliceComparisonReport(dataset: "slices", slices: slices, reference: 0)
    }

    @Test func perSliceMeanAndTests() throws {
        let report = Self.report()
        #expect(report.k == 2)
        let pop = report.models[0], constant = report.models[1]
        let popHits = try #require(pop.perSlice["HR@2"])
        // 75, 75, 87.5: mean 79.1667, sample sd √(((−25/6)² · 2 + (50/6)²) / 2).
        #expect(zip(popHits, [75, 75, 87.5]).allSatisfy { abs($0 - $1) < 1e-9 }, "\(popHits)")
        let over = try #require(pop.overSlices["HR@2"])
        #expect(abs(over.mean - 237.5 / 3) < 1e-9)
        let expectedSD = ((2 * (25.0 / 6) * (25.0 / 6) + (50.0 / 6) * (50.0 / 6)) / 2).squareRoot()
        #expect(abs((over.standardDeviation ?? 0) - expectedSD) < 1e-9)
        #expect(pop.versusReferenceOverSlices == nil && pop.versusReferencePooled == nil, "the reference is not tested against itself")

        // Differences 200/3 − 75, 200/3 − 75, 200/3 − 87.5: mean −12.5; all three negative, so
        // two of the 2³ sign assignments reach |Σ d|: p = 2/8.
        let versus = try #require(constant.versusReferenceOverSlices?["HR@2"])
        #expect(abs(versus.difference - -12.5) < 1e-9)
        #expect(versus.pValue == 0.25)
        #expect(versus.lower < versus.difference && versus.difference < versus.upper)
        // Pooled over the 10 examples: POP 80 %, the constant scorer 200/3 %.
        let pooled = try #require(constant.versusReferencePooled?["HR@2"])
        #expect(abs(pooled.difference - (200.0 / 3 - 80)) < 1e-9)
        #expect(constant.versusReferencePooled?["MRR@2"] != nil)
    }

    @Test func markdownJSONAndHTML() throws {
        let report = Self.report()
        let markdown = report.markdown()
        #expect(markdown.contains("Comparison over 3 time slices of `slices` at K = 2"), "\(markdown)")
        #expect(markdown.contains("| model | slice 1 | slice 2 | slice 3 | mean ± sd | ΔHR@2 vs POP, over slices | ΔHR@2 vs POP, pooled examples |"))
        #expect(markdown.contains("| POP | 75.00 | 75.00 | 87.50 | 79.17 ± 7.22 | (reference) | (reference) |"), "\(markdown)")
        #expect(markdown.contains("-12.50 ["), "\(markdown)")
        #expect(markdown.contains("p=0.250"), "\(markdown)")

        let object = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
        #expect(object?["reference"] as? String == "POP" && object?["k"] as? Int == 2)
        #expect((object?["slices"] as? [Any])?.count == 3)
        let models = object?["models"] as? [[String: Any]]
        #expect((models?[1]["per_slice"] as? [String: [Double]])?["HR@2"]?.count == 3)
        let versus = models?[1]["versus_reference_over_slices"] as? [String: [String: Double]]
        #expect(versus?["HR@2"]?["p_value"] == 0.25)

        let html = report.html(sliceReportLinks: ["slice-1/comparison.html", "slice-2/comparison.html", "slice-3/comparison.html"])
        // Per metric and model: a bar per slice with its bootstrap whisker, and a mean bar with ± sd.
        #expect(html.components(separatedBy: "<g stroke=\"#222\" stroke-width=\"1.2\"><title>slice 2: ").count - 1 == 2 * 2)
        #expect(html.components(separatedBy: "<title>mean ± sd: ").count - 1 == 2 * 2)
        #expect(html.contains("<a href=\"slice-3/comparison.html\">"))
        #expect(!html.contains("<script"))
    }
}
