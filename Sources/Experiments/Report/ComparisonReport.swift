import Evaluation
import Foundation
import SRGNN

/// One model's line in a comparison: its evaluation, how long fitting took, (for SR-GNN) its
/// training curves from the checkpoint's history, and its per-example metrics for paired tests.
public struct ComparisonEntry: Sendable, Codable {
    public var report: EvaluationReport
    /// Seconds to fit (baselines) or to load the checkpoint (SR-GNN; its training time is in the curve).
    public var fitSeconds: Double
    public var trainingHistory: [EpochRecord]?
    /// HR@K and RR@K per test example at the report's headline K; not encoded (60,000 numbers per
    /// model); the report's ``ComparisonReport/significance`` summarises them.
    public var perExample: PerExampleMetrics?

    enum CodingKeys: String, CodingKey { case report, fitSeconds, trainingHistory }

    public init(report: EvaluationReport, fitSeconds: Double, trainingHistory: [EpochRecord]? = nil, perExample: PerExampleMetrics? = nil) {
        self.report = report
        self.fitSeconds = fitSeconds
        self.trainingHistory = trainingHistory
        self.perExample = perExample
    }

    /// Metrics keyed `HR@20`, `MRR@20`, …, plus `Coverage@K` and `PopularityBias@K`, in percent.
    public var keyedMetrics: [String: Double] {
        var result = report.keyedMetrics
        if let k = report.listLength, let coverage = report.coverage { result["Coverage@\(k)"] = coverage }
        if let k = report.listLength, let bias = report.popularityBias { result["PopularityBias@\(k)"] = bias }
        return result
    }
}

/// What `srgnn compare --json` prints: the dataset, per model its metrics and timings, and (when
/// per-example metrics were kept) the paired tests against the reference model.
public struct ComparisonSummary: Codable, Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var name: String
        /// Keyed like `HR@20`, `MRR@20`, `Coverage@20`, in percent.
        public var metrics: [String: Double]
        public var fitSeconds: Double
        public var predictSeconds: Double
        public var examplesPerSecond: Double
        /// Bootstrap percentile interval `[lower, upper]` of `HR@K` and `MRR@K` at the headline K, in percent.
        public var confidenceIntervals: [String: [Double]]?
        /// Against the reference model, keyed `HR@K` and `MRR@K`: difference in percentage points,
        /// its paired bootstrap interval and the sign-flip p-value; absent for the reference itself.
        public var versusReference: [String: PairedComparison]?

        enum CodingKeys: String, CodingKey {
            case name, metrics
            case fitSeconds = "fit_seconds", predictSeconds = "predict_seconds", examplesPerSecond = "examples_per_second"
            case confidenceIntervals = "confidence_intervals", versusReference = "versus_reference"
        }

        public init(
            name: String, metrics: [String: Double], fitSeconds: Double, predictSeconds: Double, examplesPerSecond: Double,
            confidenceIntervals: [String: [Double]]? = nil, versusReference: [String: PairedComparison]? = nil
        ) {
            self.name = name
            self.metrics = metrics
            self.fitSeconds = fitSeconds
            self.predictSeconds = predictSeconds
            self.examplesPerSecond = examplesPerSecond
            self.confidenceIntervals = confidenceIntervals
            self.versusReference = versusReference
        }
    }

    /// How the paired tests were made.
    public struct Tests: Codable, Sendable, Equatable {
        public var reference: String
        public var k: Int
        public var settings: SignificanceSettings
        /// The test behind `p_value`.
        public var test = "two-sided paired sign-flip randomisation test of the mean difference"
        /// The interval method.
        public var interval = "paired bootstrap percentile interval"

        public init(reference: String, k: Int, settings: SignificanceSettings) {
            self.reference = reference
            self.k = k
            self.settings = settings
        }
    }

    public var dataset: String
    /// Items ranked per example.
    public var items: Int
    /// Test examples evaluated.
    public var examples: Int
    public var models: [Model]
    public var significance: Tests?

    public init(dataset: String, items: Int, examples: Int, models: [Model], significance: Tests? = nil) {
        self.dataset = dataset
        self.items = items
        self.examples = examples
        self.models = models
        self.significance = significance
    }
}

/// Every model's bootstrap intervals and its paired tests against the reference, at one K.
public struct SignificanceAnalysis: Sendable, Equatable {
    public struct Model: Sendable, Equatable {
        public var name: String
        /// Bootstrap percentile intervals of the model's own HR@K and MRR@K, in percent.
        public var hitRateInterval: (lower: Double, upper: Double)
        public var mrrInterval: (lower: Double, upper: Double)
        /// Against the reference (nil for the reference itself), in percentage points.
        public var hitRate: PairedComparison?
        public var mrr: PairedComparison?

        public static func == (a: Model, b: Model) -> Bool {
            a.name == b.name && a.hitRateInterval == b.hitRateInterval && a.mrrInterval == b.mrrInterval
                && a.hitRate == b.hitRate && a.mrr == b.mrr
        }
    }

    public var reference: String
    public var k: Int
    public var settings: SignificanceSettings
    public var models: [Model]

    /// Tests each model against `metrics[reference]`. All bootstrap intervals share one set of
    /// resamples (`settings.seed`); model `m`'s sign-flip tests use the seeds `seed + 2m + 1`
    /// (HR) and `seed + 2m + 2` (MRR).
    public init(names: [String], metrics: [PerExampleMetrics], reference: Int, settings: SignificanceSettings = SignificanceSettings()) {
        precondition(names.count == metrics.count && metrics.indices.contains(reference), "one name per model and a reference among them")
        let k = metrics[reference].k
        precondition(
            metrics.allSatisfy { $0.k == k && $0.count == metrics[reference].count }, "every model on the same examples at the same K")
        self.reference = names[reference]
        self.k = k
        self.settings = settings
        // Columns 2m and 2m + 1: model m's hits and reciprocal ranks.
        let means = bootstrapMeans(
            of: metrics.flatMap { [$0.hits, $0.reciprocalRanks] }, resamples: settings.bootstrapResamples,
            seed: settings.seed)
        func percent(_ interval: (lower: Double, upper: Double)) -> (lower: Double, upper: Double) {
            (100 * interval.lower, 100 * interval.upper)
        }
        func versus(_ m: Int, _ column: Int, _ values: KeyPath<PerExampleMetrics, [Double]>) -> PairedComparison {
            let model = metrics[m][keyPath: values], base = metrics[reference][keyPath: values]
            let differences = zip(model, base).map { $0 - $1 }
            let resampled = zip(means[2 * m + column], means[2 * reference + column]).map { $0 - $1 }
            let interval = percent(percentileInterval(of: resampled, level: settings.level))
            let difference = 100 * (model.reduce(0, +) - base.reduce(0, +)) / Double(model.count)
            let p = signFlipPValue(
                differences: differences, permutations: settings.permutations,
                seed: settings.seed &+ UInt64(2 * m + column + 1))
            return PairedComparison(difference: difference, lower: interval.lower, upper: interval.upper, pValue: p)
        }
        models = names.indices.map { m in
            Model(
                name: names[m],
                hitRateInterval: percent(percentileInterval(of: means[2 * m], level: settings.level)),
                mrrInterval: percent(percentileInterval(of: means[2 * m + 1], level: settings.level)),
                hitRate: m == reference ? nil : versus(m, 0, \.hits),
                mrr: m == reference ? nil : versus(m, 1, \.reciprocalRanks))
        }
    }

    /// `+1.23 [0.80, 1.66] p<0.001`: the difference and interval in percentage points, then p.
    public static func describe(_ comparison: PairedComparison) -> String {
        let p = comparison.pValue < 0.001 ? "p<0.001" : String(format: "p=%.3f", comparison.pValue)
        return String(format: "%+.2f [%.2f, %.2f] ", comparison.difference, comparison.lower, comparison.upper) + p
    }
}

/// A comparison of several models on the same test examples, as a Markdown table, a
/// self-contained HTML page (inline SVG, no network) and JSON.
public struct ComparisonReport: Sendable {
    public var dataset: String
    public var itemCount: Int
    public var examples: Int
    public var cutoffs: [Int]
    public var entries: [ComparisonEntry]
    /// Bootstrap intervals and paired tests against the reference at the headline K, when every
    /// entry kept its per-example metrics.
    public var significance: SignificanceAnalysis?

    /// `reference` is the index of the entry the others are tested against.
    public init(
        dataset: String, itemCount: Int, examples: Int, cutoffs: [Int], entries: [ComparisonEntry], reference: Int = 0,
        significanceSettings: SignificanceSettings = SignificanceSettings()
    ) {
        self.dataset = dataset
        self.itemCount = itemCount
        self.examples = examples
        self.cutoffs = cutoffs
        self.entries = entries
        let perExample = entries.compactMap(\.perExample)
        if !entries.isEmpty, perExample.count == entries.count, perExample[0].count > 0 {
            significance = SignificanceAnalysis(
                names: entries.map(\.report.name), metrics: perExample, reference: reference,
                settings: significanceSettings)
        }
    }

    /// The K of the headline metrics, the bar chart and the paired tests: 20 when measured, else the largest.
    public static func headlineCutoff(of cutoffs: [Int]) -> Int { cutoffs.contains(20) ? 20 : cutoffs.max() ?? 20 }

    var headline: Int { Self.headlineCutoff(of: cutoffs) }

    /// Column titles and rows of the table (numbers already formatted).
    func table() -> (header: [String], rows: [[String]]) {
        let list = entries.first?.report.listLength ?? 20
        var header = ["model"]
        for k in cutoffs { header += ["HR@\(k)", "MRR@\(k)", "NDCG@\(k)"] }
        header += ["Coverage@\(list)", "PopBias@\(list)", "fit (s)", "predict (s)", "examples/s"]
        if let significance {
            header += ["ΔHR@\(significance.k) vs \(significance.reference)", "ΔMRR@\(significance.k) vs \(significance.reference)"]
        }
        let rows = entries.enumerated().map { index, entry -> [String] in
            var row = [entry.report.name]
            for k in cutoffs {
                let values = entry.report.metrics(at: k)
                row += [values?.hitRate, values?.mrr, values?.ndcg].map { $0.map { String(format: "%.2f", $0) } ?? "–" }
            }
            row.append(entry.report.coverage.map { String(format: "%.2f", $0) } ?? "–")
            row.append(entry.report.popularityBias.map { String(format: "%.2f", $0) } ?? "–")
            row.append(String(format: "%.1f", entry.fitSeconds))
            row.append(String(format: "%.1f", entry.report.elapsedSeconds))
            row.append(String(format: "%.0f", entry.report.examplesPerSecond))
            if let model = significance?.models[index] {
                row += [model.hitRate, model.mrr].map { $0.map(SignificanceAnalysis.describe) ?? "(reference)" }
            }
            return row
        }
        return (header, rows)
    }

    /// A Markdown table, one row per model.
    public func markdown() -> String {
        let (header, rows) = table()
        var text = "Comparison on `\(dataset)`: \(examples) test examples, full ranking over \(itemCount) items (metrics in %).\n\n"
        text += "| " + header.joined(separator: " | ") + " |\n"
        text += "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        if let legend = significanceLegend() { text += "\n" + legend + "\n" }
        return text
    }

    /// What the Δ columns hold, for the Markdown and the HTML page.
    func significanceLegend() -> String? {
        guard let significance else { return nil }
        let settings = significance.settings
        return "Δ: the model's metric minus \(significance.reference)'s, in percentage points, at K = \(significance.k); "
            + "[\(Int(settings.level * 100)) % paired bootstrap interval over \(settings.bootstrapResamples) resamples of the test examples]; "
            + "p: two-sided paired sign-flip randomisation test of a zero mean difference (\(settings.permutations) random sign "
            + "assignments, or all of them when there are fewer; seed \(settings.seed))."
    }

    /// The report's JSON form: per model, metrics keyed like `HR@20` (percent) and timings.
    public var summary: ComparisonSummary {
        let tests = significance.map { ComparisonSummary.Tests(reference: $0.reference, k: $0.k, settings: $0.settings) }
        return ComparisonSummary(
            dataset: dataset, items: itemCount, examples: examples,
            models: entries.enumerated().map { index, entry in
                let model = significance?.models[index]
                let k = significance?.k ?? headline
                var versus: [String: PairedComparison]? = nil
                if let hitRate = model?.hitRate, let mrr = model?.mrr { versus = ["HR@\(k)": hitRate, "MRR@\(k)": mrr] }
                return ComparisonSummary.Model(
                    name: entry.report.name, metrics: entry.keyedMetrics, fitSeconds: entry.fitSeconds,
                    predictSeconds: entry.report.elapsedSeconds, examplesPerSecond: entry.report.examplesPerSecond,
                    confidenceIntervals: model.map {
                        [
                            "HR@\(k)": [$0.hitRateInterval.lower, $0.hitRateInterval.upper],
                            "MRR@\(k)": [$0.mrrInterval.lower, $0.mrrInterval.upper],
                        ]
                    },
                    versusReference: versus)
            }, significance: tests)
    }

    /// ``summary`` as JSON with sorted keys.
    public func json() throws -> String {
        try JSONText.string(summary)
    }

    /// A self-contained page: the table, a bar chart of HR@K and MRR@K per model, and SR-GNN's
    /// training curves (loss, validation and test HR@K by epoch) when a checkpoint had them.
    public func html() -> String {
        let (header, rows) = table()
        var page =
            HTMLPage.head(title: "srgnn compare: \(dataset)") + """
                <h1>Session-based recommenders on <code>\(escape(dataset))</code></h1>
                <p class="note">\(examples) test examples, full ranking over \(itemCount) items; metrics in percent.
                HR@K: the target is in the top K (the paper's P@K). MRR@K: 1/rank within the top K.
                Coverage: share of items in any top list. PopBias: mean training popularity of recommended items, relative to the most popular.</p>
                <h2>HR@\(headline) and MRR@\(headline)</h2>
                \(barChart())\(whiskerNote())
                <h2>All metrics</h2>
                <table><tr>\(header.map { "<th>\(escape($0))</th>" }.joined())</tr>

                """
        for row in rows { page += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }
        page += "</table>\n"
        if let legend = significanceLegend() { page += "<p class=\"note\">\(escape(legend))</p>\n" }
        for entry in entries {
            if let history = entry.trainingHistory, !history.isEmpty {
                page += "<h2>\(escape(entry.report.name)) training curves</h2>\n" + curveChart(history)
            }
        }
        page += "</body></html>\n"
        return page
    }

    /// What the bar chart's whiskers are, when it has them.
    func whiskerNote() -> String {
        guard let significance else { return "" }
        return "<p class=\"note\">Whiskers: each model's \(Int(significance.settings.level * 100)) % bootstrap percentile interval "
            + "(\(significance.settings.bootstrapResamples) resamples of the test examples).</p>"
    }

    /// Grouped bars: HR@K and MRR@K for each model, with value labels and, when per-example
    /// metrics were kept, whiskers at each model's bootstrap interval.
    func barChart() -> String {
        let k = headline
        let width = 140 * max(entries.count, 1) + 80, height = 300, top = 20, bottom = 50, left = 50
        let plotHeight = Double(height - top - bottom)
        let upperEnds = significance?.models.map { max($0.hitRateInterval.upper, $0.mrrInterval.upper) } ?? []
        let maximum = max(entries.compactMap { $0.report.metrics(at: k)?.hitRate }.max() ?? 1, upperEnds.max() ?? 0, 1)
        let scale = plotHeight / (ceil(maximum / 10) * 10)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-size=\"12\">\n"
        let axisMaximum = ceil(maximum / 10) * 10
        for tick in stride(from: 0.0, through: axisMaximum, by: axisMaximum <= 50 ? 10 : 20) {
            let y = Double(height - bottom) - tick * scale
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\" fill=\"#666\">\(Int(tick))</text>\n"
        }
        for (index, entry) in entries.enumerated() {
            let x = Double(left + 20 + index * 140)
            let values = entry.report.metrics(at: k)
            let model = significance?.models[index]
            let bars = [(values?.hitRate ?? 0, "#3b6fb6", model?.hitRateInterval), (values?.mrr ?? 0, "#e08a2c", model?.mrrInterval)]
            for (offset, (value, color, interval)) in bars.enumerated() {
                let barX = x + Double(offset * 52), barHeight = value * scale
                let y = Double(height - bottom) - barHeight
                svg += "<rect x=\"\(barX)\" y=\"\(y)\" width=\"48\" height=\"\(barHeight)\" fill=\"\(color)\"/>"
                var labelY = y - 4
                if let interval {
                    // The whisker: a vertical line from the interval's lower to its upper end, with caps.
                    let low = Double(height - bottom) - interval.lower * scale, high = Double(height - bottom) - interval.upper * scale
                    let middle = barX + 24
                    svg +=
                        "<g stroke=\"#222\" stroke-width=\"1.2\"><title>\(String(format: "%.2f [%.2f, %.2f]", value, interval.lower, interval.upper))</title>"
                    svg += "<line x1=\"\(middle)\" x2=\"\(middle)\" y1=\"\(low)\" y2=\"\(high)\"/>"
                    svg += "<line x1=\"\(middle - 6)\" x2=\"\(middle + 6)\" y1=\"\(low)\" y2=\"\(low)\"/>"
                    svg += "<line x1=\"\(middle - 6)\" x2=\"\(middle + 6)\" y1=\"\(high)\" y2=\"\(high)\"/></g>"
                    labelY = min(labelY, high - 4)
                }
                svg += "<text x=\"\(barX + 24)\" y=\"\(labelY)\" text-anchor=\"middle\">\(String(format: "%.1f", value))</text>\n"
            }
            svg += "<text x=\"\(x + 50)\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(escape(entry.report.name))</text>\n"
        }
        svg +=
            "<rect x=\"\(left)\" y=\"\(height - 22)\" width=\"12\" height=\"12\" fill=\"#3b6fb6\"/><text x=\"\(left + 16)\" y=\"\(height - 12)\">HR@\(k)</text>"
        svg +=
            "<rect x=\"\(left + 90)\" y=\"\(height - 22)\" width=\"12\" height=\"12\" fill=\"#e08a2c\"/><text x=\"\(left + 106)\" y=\"\(height - 12)\">MRR@\(k)</text>\n"
        return svg + "</svg>\n"
    }

    /// Lines by epoch: validation and test HR@K and MRR@K (left axis, %), training loss (right axis).
    func curveChart(_ history: [EpochRecord]) -> String {
        let k = headline
        let width = 760, height = 330, left = 50, right = 60, top = 20, bottom = 75
        let plotWidth = Double(width - left - right), plotHeight = Double(height - top - bottom)
        let epochs = max(history.count - 1, 1)
        func x(_ index: Int) -> Double { Double(left) + plotWidth * Double(index) / Double(epochs) }
        let series: [(String, String, [Double?])] = [
            ("validation HR@\(k)", "#3b6fb6", history.map { $0.validation?["HR@\(k)"] }),
            ("test HR@\(k)", "#1d3f73", history.map { $0.test?["HR@\(k)"] }),
            ("validation MRR@\(k)", "#e08a2c", history.map { $0.validation?["MRR@\(k)"] }),
            ("test MRR@\(k)", "#9a5a14", history.map { $0.test?["MRR@\(k)"] }),
        ]
        let maximum = max(series.flatMap { $0.2.compactMap { $0 } }.max() ?? 1, 1)
        let axisMaximum = ceil(maximum / 10) * 10
        func y(_ value: Double) -> Double { Double(height - bottom) - plotHeight * value / axisMaximum }
        let losses = history.map(\.loss)
        let lossLow = (losses.min() ?? 0) * 0.95, lossHigh = max((losses.max() ?? 1) * 1.05, lossLow + 1e-6)
        func yLoss(_ value: Double) -> Double { Double(height - bottom) - plotHeight * (value - lossLow) / (lossHigh - lossLow) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-size=\"12\">\n"
        for tick in stride(from: 0.0, through: axisMaximum, by: axisMaximum <= 50 ? 10 : 20) {
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(tick))\" y2=\"\(y(tick))\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\" fill=\"#666\">\(Int(tick))</text>\n"
        }
        for (index, record) in history.enumerated() where history.count <= 30 || index % 2 == 0 {
            svg += "<text x=\"\(x(index))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\" fill=\"#666\">\(record.epoch + 1)</text>"
        }
        svg += "<text x=\"\(left + Int(plotWidth / 2))\" y=\"\(height - bottom + 32)\" text-anchor=\"middle\">epoch</text>\n"
        for (name, color, values) in series where values.contains(where: { $0 != nil }) {
            let points = values.enumerated().compactMap { index, value in value.map { "\(x(index)),\(y($0))" } }
            svg +=
                "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"><title>\(name)</title></polyline>\n"
        }
        let lossPoints = losses.enumerated().map { "\(x($0.offset)),\(yLoss($0.element))" }
        svg +=
            "<polyline fill=\"none\" stroke=\"#999\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\" points=\"\(lossPoints.joined(separator: " "))\"><title>training loss</title></polyline>\n"
        svg +=
            "<text x=\"\(width - right + 6)\" y=\"\(yLoss(losses.first ?? 0) + 4)\" fill=\"#999\">\(String(format: "%.2f", losses.first ?? 0))</text>"
        svg +=
            "<text x=\"\(width - right + 6)\" y=\"\(yLoss(losses.last ?? 0) + 4)\" fill=\"#999\">\(String(format: "%.2f", losses.last ?? 0))</text>\n"
        var legendX = left
        for (name, color, values) in series where values.contains(where: { $0 != nil }) {
            svg +=
                "<rect x=\"\(legendX)\" y=\"\(height - 18)\" width=\"12\" height=\"3\" fill=\"\(color)\"/><text x=\"\(legendX + 16)\" y=\"\(height - 12)\">\(name)</text>"
            legendX += 130
        }
        svg +=
            "<rect x=\"\(legendX)\" y=\"\(height - 18)\" width=\"12\" height=\"3\" fill=\"#999\"/><text x=\"\(legendX + 16)\" y=\"\(height - 12)\">loss (right)</text>\n"
        return svg + "</svg>\n"
    }

    func escape(_ text: String) -> String { HTMLPage.escape(text) }
}
