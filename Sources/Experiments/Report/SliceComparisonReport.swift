import Evaluation
import Foundation
import SRGNN

/// A comparison over time slices (session-rec's protocol, docs/DATASET.md "Time slices"): the
/// same models compared on each slice, then per model its headline HR@K and MRR@K per slice, their
/// mean ± sample sd over slices, and two paired tests against the reference model:
///
/// - **over slices**: the per-slice differences `d_s = metric(model, s) − metric(reference, s)`;
///   their mean with a Student-t 95 % interval, and the two-sided sign-flip test over the `N`
///   slices (exact, all `2^N` sign assignments, while `2^N ≤ settings.permutations`; with 5
///   slices p cannot fall below 2/32 = 0.0625);
/// - **pooled over examples**: every slice's test examples together, the single-split analysis
///   (paired bootstrap interval and sign-flip test over examples, ``SignificanceAnalysis``).
///
/// The first answers "does the model win window after window", the second "does it win on the
/// examples" (more power, but one window with many examples weighs more).
public struct SliceComparisonReport: Sendable {
    /// One model's figures over the slices (metrics in percent, differences in percentage points).
    public struct Model: Sendable, Codable, Equatable {
        public var name: String
        /// `HR@K` and `MRR@K` per slice, in slice order.
        public var perSlice: [String: [Double]]
        /// Mean, sample standard deviation and t interval over slices.
        public var overSlices: [String: MeanInterval]
        /// Against the reference over slices: mean difference, its t interval (the difference
        /// itself with one slice) and the exact sign-flip p over slices. Absent for the reference.
        public var versusReferenceOverSlices: [String: PairedComparison]?
        /// Against the reference over all slices' examples pooled: absent for the reference.
        public var versusReferencePooled: [String: PairedComparison]?

        enum CodingKeys: String, CodingKey {
            case name
            case perSlice = "per_slice", overSlices = "over_slices"
            case versusReferenceOverSlices = "versus_reference_over_slices", versusReferencePooled = "versus_reference_pooled"
        }
    }

    /// What `srgnn compare --data SLICES --json` prints.
    public struct Summary: Sendable, Codable, Equatable {
        public var dataset: String
        public var k: Int
        public var reference: String
        public var settings: SignificanceSettings
        public var models: [Model]
        /// Each slice's own comparison, as `compare` on that slice alone prints it.
        public var slices: [ComparisonSummary]
        public var testOverSlices = "two-sided sign-flip test of the mean per-slice difference, exact over all 2^N sign assignments"
        public var testPooled = "two-sided paired sign-flip randomisation test over all slices' test examples, paired bootstrap interval"

        enum CodingKeys: String, CodingKey {
            case dataset, k, reference, settings, models, slices
            case testOverSlices = "test_over_slices", testPooled = "test_pooled"
        }
    }

    public var dataset: String
    /// One comparison per slice, every one of the same models in the same order.
    public var slices: [ComparisonReport]
    public var reference: Int
    public var k: Int
    public var settings: SignificanceSettings
    public var models: [Model]

    /// `slices[s]` compares the same models, in the same order, on slice `s + 1`; `reference` is
    /// the index of the model the others are tested against.
    public init(dataset: String, slices: [ComparisonReport], reference: Int, settings: SignificanceSettings = SignificanceSettings()) {
        precondition(!slices.isEmpty, "need at least one slice")
        let names = slices[0].entries.map(\.report.name)
        precondition(slices.allSatisfy { $0.entries.map(\.report.name) == names }, "the same models on every slice")
        precondition(names.indices.contains(reference), "a reference among the models")
        self.dataset = dataset
        self.slices = slices
        self.reference = reference
        self.settings = settings
        let k = ComparisonReport.headlineCutoff(of: slices[0].cutoffs)
        self.k = k
        let keys = ["HR@\(k)", "MRR@\(k)"]
        func values(_ m: Int) -> [String: [Double]] {
            [
                keys[0]: slices.map { $0.entries[m].report.metrics(at: k)?.hitRate ?? 0 },
                keys[1]: slices.map { $0.entries[m].report.metrics(at: k)?.mrr ?? 0 },
            ]
        }
        // Pooled: each model's per-example metrics of every slice, back to back.
        var pooled: SignificanceAnalysis? = nil
        if slices.allSatisfy({ $0.entries.allSatisfy { $0.perExample != nil } }), slices.contains(where: { $0.examples > 0 }) {
            let metrics = names.indices.map { m in
                let parts = slices.map { $0.entries[m].perExample! }
                return PerExampleMetrics(k: k, hits: parts.flatMap(\.hits), reciprocalRanks: parts.flatMap(\.reciprocalRanks))
            }
            pooled = SignificanceAnalysis(names: names, metrics: metrics, reference: reference, settings: settings)
        }
        let base = values(reference)
        models = names.indices.map { m in
            let mine = values(m)
            var model = Model(
                name: names[m], perSlice: mine, overSlices: mine.mapValues { MeanInterval($0, level: settings.level) },
                versusReferenceOverSlices: nil, versusReferencePooled: nil)
            guard m != reference else { return model }
            var overSlices: [String: PairedComparison] = [:]
            for (column, key) in keys.enumerated() {
                let differences = zip(mine[key]!, base[key]!).map { $0 - $1 }
                let mean = MeanInterval(differences, level: settings.level)
                // Exact while 2^N ≤ settings.permutations (N ≤ 13 slices with the default 10,000).
                let p = signFlipPValue(
                    differences: differences, permutations: settings.permutations, seed: settings.seed &+ UInt64(2 * m + column + 1))
                overSlices[key] = PairedComparison(
                    difference: mean.mean, lower: mean.lower ?? mean.mean, upper: mean.upper ?? mean.mean, pValue: p)
            }
            model.versusReferenceOverSlices = overSlices
            if let analysis = pooled?.models[m], let hitRate = analysis.hitRate, let mrr = analysis.mrr {
                model.versusReferencePooled = [keys[0]: hitRate, keys[1]: mrr]
            }
            return model
        }
    }

    public var summary: Summary {
        Summary(
            dataset: dataset, k: k, reference: models[reference].name, settings: settings, models: models,
            slices: slices.map(\.summary))
    }

    /// ``summary`` as JSON with sorted keys.
    public func json() throws -> String { try JSONText.string(summary) }

    /// `12.34 ± 0.56`: a mean over slices and its sample standard deviation (– with one slice).
    static func describe(_ interval: MeanInterval) -> String {
        String(format: "%.2f ± ", interval.mean) + (interval.standardDeviation.map { String(format: "%.2f", $0) } ?? "–")
    }

    /// Per metric, the rows of its table: model, each slice's value, mean ± sd, the two tests.
    func table(_ key: String) -> (header: [String], rows: [[String]]) {
        let reference = models[self.reference].name
        let header =
            ["model"] + slices.indices.map { "slice \($0 + 1)" }
            + ["mean ± sd", "Δ\(key) vs \(reference), over slices", "Δ\(key) vs \(reference), pooled examples"]
        let rows = models.map { model -> [String] in
            var row = [model.name] + model.perSlice[key]!.map { String(format: "%.2f", $0) }
            row.append(Self.describe(model.overSlices[key]!))
            row.append(model.versusReferenceOverSlices?[key].map(SignificanceAnalysis.describe) ?? "(reference)")
            row.append(model.versusReferencePooled?[key].map(SignificanceAnalysis.describe) ?? (model.versusReferenceOverSlices == nil ? "(reference)" : "–"))
            return row
        }
        return (header, rows)
    }

    /// Each slice's size: test examples, items.
    func sliceRows() -> [[String]] {
        slices.enumerated().map { s, slice in ["slice \(s + 1)", "\(slice.examples)", "\(slice.itemCount)", "`\(slice.dataset)`"] }
    }

    /// What the Δ columns hold.
    func legend() -> String {
        "Δ over slices: the mean over slices of the model's metric minus \(models[reference].name)'s, in percentage points, "
            + "[\(Int(settings.level * 100)) % Student-t interval over the \(slices.count) slices]; p: two-sided sign-flip test "
            + "over the slices, exact (all 2^\(slices.count) sign assignments; it cannot fall below 2/2^\(slices.count)). "
            + "Δ pooled: all slices' test examples together, [\(Int(settings.level * 100)) % paired bootstrap interval over "
            + "\(settings.bootstrapResamples) resamples]; p: two-sided paired sign-flip randomisation test over the examples "
            + "(\(settings.permutations) random sign assignments; seed \(settings.seed))."
    }

    /// Markdown: the slices, then one table per metric.
    public func markdown() -> String {
        var text = "Comparison over \(slices.count) time slices of `\(dataset)` at K = \(k) (metrics in %, each model fitted on each slice's training part).\n\n"
        text += "| slice | test examples | items | folder |\n|---|---|---|---|\n"
        for row in sliceRows() { text += "| " + row.joined(separator: " | ") + " |\n" }
        for key in ["HR@\(k)", "MRR@\(k)"] {
            let (header, rows) = table(key)
            text += "\n\(key):\n\n| " + header.joined(separator: " | ") + " |\n"
            text += "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
            for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        }
        return text + "\n" + legend() + "\n"
    }

    /// A self-contained page: per metric a chart (each model's per-slice bars with their bootstrap
    /// whiskers, then its mean with ± sd whiskers) and the table; links to each slice's report.
    public func html(sliceReportLinks: [String]? = nil) -> String {
        var page =
            HTMLPage.head(title: "srgnn compare: \(slices.count) slices of \(dataset)") + """
                <h1>Session-based recommenders over \(slices.count) time slices of <code>\(HTMLPage.escape(dataset))</code></h1>
                <p class="note">Each model is fitted on each slice's training part and ranks all items for its test examples; \
                metrics in percent at K = \(k). Bars: one per slice (whiskers: that slice's \(Int(settings.level * 100)) % bootstrap \
                interval over its test examples), then the mean over slices (whiskers: ± one sample standard deviation).</p>

                """
        page += "<table><tr><th>slice</th><th>test examples</th><th>items</th><th>report</th></tr>\n"
        for (s, slice) in slices.enumerated() {
            let link = sliceReportLinks.map { "<a href=\"\(HTMLPage.escape($0[s]))\">\(HTMLPage.escape($0[s]))</a>" } ?? HTMLPage.escape(slice.dataset)
            page += "<tr><td>slice \(s + 1)</td><td>\(slice.examples)</td><td>\(slice.itemCount)</td><td>\(link)</td></tr>\n"
        }
        page += "</table>\n"
        for (column, key) in ["HR@\(k)", "MRR@\(k)"].enumerated() {
            page += "<h2>\(key)</h2>\n" + chart(key, column: column)
            let (header, rows) = table(key)
            page += "<table><tr>" + header.map { "<th>\(HTMLPage.escape($0))</th>" }.joined() + "</tr>\n"
            for row in rows { page += "<tr>" + row.map { "<td>\(HTMLPage.escape($0))</td>" }.joined() + "</tr>\n" }
            page += "</table>\n"
        }
        page += "<p class=\"note\">\(HTMLPage.escape(legend()))</p>\n</body></html>\n"
        return page
    }

    /// Grouped bars for one metric: per model, one bar per slice and a darker mean bar.
    func chart(_ key: String, column: Int) -> String {
        let barWidth = 18, gap = 4, groupGap = 36
        let barsPerModel = slices.count + 1
        let groupWidth = barsPerModel * (barWidth + gap) + groupGap
        let left = 50, top = 20, bottom = 60, height = 300
        let width = left + groupWidth * models.count + 20
        // Whisker ends per model and slice: the slice's bootstrap interval, when it was kept.
        func interval(_ m: Int, _ s: Int) -> (lower: Double, upper: Double)? {
            guard let model = slices[s].significance?.models[m] else { return nil }
            return column == 0 ? model.hitRateInterval : model.mrrInterval
        }
        var maximum = 1.0
        for (m, model) in models.enumerated() {
            for (s, value) in model.perSlice[key]!.enumerated() { maximum = max(maximum, value, interval(m, s)?.upper ?? 0) }
            let over = model.overSlices[key]!
            maximum = max(maximum, over.mean + (over.standardDeviation ?? 0))
        }
        let axisMaximum = ceil(maximum / 10) * 10
        let plotHeight = Double(height - top - bottom)
        func y(_ value: Double) -> Double { Double(height - bottom) - plotHeight * value / axisMaximum }
        // Scales down to the page's width, so that every model's group stays in view.
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" style=\"width: 100%; max-width: \(width)px; height: auto\" font-size=\"11\">\n"
        for tick in stride(from: 0.0, through: axisMaximum, by: axisMaximum <= 50 ? 10 : 20) {
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y(tick))\" y2=\"\(y(tick))\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\" fill=\"#666\">\(Int(tick))</text>\n"
        }
        let (light, dark) = column == 0 ? ("#8fb0de", "#1d3f73") : ("#f0bd85", "#9a5a14")
        func whisker(_ x: Double, _ low: Double, _ high: Double, _ title: String) -> String {
            "<g stroke=\"#222\" stroke-width=\"1.2\"><title>\(HTMLPage.escape(title))</title>"
                + "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(y(low))\" y2=\"\(y(high))\"/>"
                + "<line x1=\"\(x - 4)\" x2=\"\(x + 4)\" y1=\"\(y(low))\" y2=\"\(y(low))\"/>"
                + "<line x1=\"\(x - 4)\" x2=\"\(x + 4)\" y1=\"\(y(high))\" y2=\"\(y(high))\"/></g>"
        }
        for (m, model) in models.enumerated() {
            let groupX = left + 10 + m * groupWidth
            for (s, value) in model.perSlice[key]!.enumerated() {
                let x = Double(groupX + s * (barWidth + gap))
                svg += "<rect x=\"\(x)\" y=\"\(y(value))\" width=\"\(barWidth)\" height=\"\(y(0) - y(value))\" fill=\"\(light)\">"
                svg += "<title>slice \(s + 1): \(String(format: "%.2f", value))</title></rect>"
                if let bounds = interval(m, s) {
                    svg += whisker(
                        x + Double(barWidth) / 2, bounds.lower, bounds.upper,
                        String(format: "slice %d: %.2f [%.2f, %.2f]", s + 1, value, bounds.lower, bounds.upper))
                }
                svg += "<text x=\"\(x + Double(barWidth) / 2)\" y=\"\(height - bottom + 12)\" text-anchor=\"middle\" fill=\"#666\">\(s + 1)</text>\n"
            }
            let over = model.overSlices[key]!
            let x = Double(groupX + slices.count * (barWidth + gap))
            svg += "<rect x=\"\(x)\" y=\"\(y(over.mean))\" width=\"\(barWidth)\" height=\"\(y(0) - y(over.mean))\" fill=\"\(dark)\">"
            svg += "<title>mean \(Self.describe(over))</title></rect>"
            if let sd = over.standardDeviation {
                svg += whisker(x + Double(barWidth) / 2, max(0, over.mean - sd), over.mean + sd, "mean ± sd: \(Self.describe(over))")
            }
            svg += "<text x=\"\(x + Double(barWidth) / 2)\" y=\"\(height - bottom + 12)\" text-anchor=\"middle\" fill=\"#666\">μ</text>"
            svg += "<text x=\"\(x + Double(barWidth) / 2)\" y=\"\(y(over.mean + (over.standardDeviation ?? 0)) - 4)\" text-anchor=\"middle\">\(String(format: "%.1f", over.mean))</text>\n"
            let center = Double(groupX) + Double(barsPerModel * (barWidth + gap)) / 2
            svg += "<text x=\"\(center)\" y=\"\(height - bottom + 30)\" text-anchor=\"middle\" font-size=\"12\">\(HTMLPage.escape(model.name))</text>\n"
        }
        svg += "<rect x=\"\(left)\" y=\"\(height - 18)\" width=\"12\" height=\"12\" fill=\"\(light)\"/><text x=\"\(left + 16)\" y=\"\(height - 8)\">\(key) per slice (1 … \(slices.count))</text>"
        svg += "<rect x=\"\(left + 200)\" y=\"\(height - 18)\" width=\"12\" height=\"12\" fill=\"\(dark)\"/><text x=\"\(left + 216)\" y=\"\(height - 8)\">mean over slices (μ) ± sd</text>\n"
        return svg + "</svg>\n"
    }
}
