import Evaluation
import Foundation

// The Markdown and HTML forms of `ABReport`: one table of counts and rates, one of the clicks on
// the recommended items by position, the sample-ratio test, warnings and notes.
extension ABReport {
    /// Column titles and rows of the main table (numbers formatted).
    func mainTable() -> (header: [String], rows: [[String]]) {
        let baseline = variants.first?.name ?? ""
        let header = [
            "variant", "weight", "impressions", "sessions", "clicks", "CTR (95 % CI)", "CTR lift vs \(baseline) (95 % CI)", "p",
            "purchases", "conversion (95 % CI)",
        ]
        let rows = variants.map { variant -> [String] in
            let comparison = variant.versusBaseline
            return [
                variant.name, variant.weight.map(String.init) ?? "–", "\(variant.impressions)", "\(variant.sessions)", "\(variant.clicks)",
                Self.rate(variant.clickThrough), comparison.map(Self.lift) ?? "(baseline)",
                comparison?.pValue.map(Self.pText) ?? "–", "\(variant.purchases)", Self.rate(variant.conversion),
            ]
        }
        return (header, rows)
    }

    /// Column titles and rows of the recommended-items table.
    func positionTable() -> (header: [String], rows: [[String]]) {
        let header = ["variant", "CTR on recommended items (95 % CI)", "clicks on them"] + Self.positionBuckets.map { "pos. \($0.label)" }
        let rows = variants.map { variant in
            [variant.name, Self.rate(variant.recommendedClickThrough), "\(variant.clickPositions.reduce(0, +))"]
                + variant.bucketedPositions.map(String.init)
        }
        return (header, rows)
    }

    /// `5.12 % (4.40–5.95)`.
    static func rate(_ proportion: Proportion) -> String {
        "\(decimal(100 * proportion.value, 2)) % (\(decimal(100 * proportion.lower, 2))–\(decimal(100 * proportion.upper, 2)))"
    }

    /// `+58.2 % (+28.1 to +95.3)`, or `–` without clicks on one side.
    static func lift(_ comparison: Comparison) -> String {
        guard let lift = comparison.lift, let lower = comparison.liftLower, let upper = comparison.liftUpper else { return "–" }
        func signed(_ value: Double) -> String { (value >= 0 ? "+" : "−") + decimal(abs(100 * value), 1) + " %" }
        return "\(signed(lift)) (\(signed(lower)) to \(signed(upper)))"
    }

    /// The sample-ratio test in one sentence.
    func sampleRatioLine() -> String {
        guard let test = sampleRatio else { return "Sample-ratio test: skipped (see the notes)." }
        let split = zip(test.variants, test.expectedShares).map { "\($0) \(Self.decimal(100 * $1, 1)) %" }.joined(separator: ", ")
        let observed = zip(test.variants, test.observed).map { "\($0) \($1)" }.joined(separator: ", ")
        return "Sample-ratio test on \(test.unit) (\(observed)) against the split of the \(test.splitSource) (\(split)): "
            + "χ² = \(Self.decimal(test.chiSquare, 2)) on \(test.degreesOfFreedom) df, \(Self.pClause(test.pValue)): "
            + (test.isMismatch ? "MISMATCH (p < \(Self.mismatchThreshold))." : "no mismatch (the warning is at p < \(Self.mismatchThreshold)).")
    }

    /// What the columns mean, for both forms.
    static let legend =
        "CTR: impressions with at least one click / impressions (an impression: one answered session). "
        + "Conversion: sessions with at least one purchase / sessions (per session_id; an impression without one is its own session). "
        + "Intervals: Wilson score, 95 %. Lift: CTR / the first variant's CTR − 1, 95 % delta-method interval of the log ratio; "
        + "p: two-sided pooled two-proportion z-test. Recommended items: clicks on an item of the impression's own list, by its position (1 = first)."

    /// Markdown: the two tables, the sample-ratio line, warnings, notes and the legend.
    public func markdown() -> String {
        var text = "## A/B report\n\n"
        for warning in warnings { text += "**Warning:** \(warning)\n\n" }
        for table in [mainTable(), positionTable()] {
            text += "| " + table.header.joined(separator: " | ") + " |\n"
            text += "|" + table.header.map { _ in "---" }.joined(separator: "|") + "|\n"
            for row in table.rows { text += "| " + row.joined(separator: " | ") + " |\n" }
            text += "\n"
        }
        text += sampleRatioLine() + "\n\n"
        for note in notes { text += "Note: \(note)\n\n" }
        return text + Self.legend + "\n"
    }

    /// A self-contained page in the style of `srgnn compare`'s: warnings first, a CTR bar chart with
    /// Wilson whiskers, the two tables, the sample-ratio test and the notes.
    public func html() -> String {
        let style = """
            .warning { background: #fde8e8; border: 1px solid #e0a0a0; padding: 6px 10px; color: #8a1c1c; }
            td { white-space: nowrap; }
            """
        var page = HTMLPage.head(title: "srgnn ab-report", style: style) + "<h1>A/B report</h1>\n"
        for warning in warnings { page += "<p class=\"warning\"><b>Warning:</b> \(HTMLPage.escape(warning))</p>\n" }
        page += "<h2>Click-through rate by variant</h2>\n" + ctrChart()
        page += "<p class=\"note\">Bars: CTR; whiskers: 95 % Wilson interval.</p>\n"
        for (title, table) in [("Counts and rates", mainTable()), ("Clicks on the recommended items", positionTable())] {
            page += "<h2>\(title)</h2>\n<table><tr>" + table.header.map { "<th>\(HTMLPage.escape($0))</th>" }.joined() + "</tr>\n"
            for row in table.rows { page += "<tr>" + row.map { "<td>\(HTMLPage.escape($0))</td>" }.joined() + "</tr>\n" }
            page += "</table>\n"
        }
        page += "<h2>Sample ratio</h2>\n<p>\(HTMLPage.escape(sampleRatioLine()))</p>\n"
        for note in notes { page += "<p><b>Note:</b> \(HTMLPage.escape(note))</p>\n" }
        return page + "<p class=\"note\">\(HTMLPage.escape(Self.legend))</p>\n</body></html>\n"
    }

    /// One bar per variant: its CTR in percent, with a whisker over its Wilson interval.
    func ctrChart() -> String {
        let width = 120 * max(variants.count, 1) + 80, height = 260, top = 20, bottom = 40, left = 50
        let plotHeight = Double(height - top - bottom)
        let maximum = max(variants.map { 100 * $0.clickThrough.upper }.max() ?? 1, 0.1)
        // A round top: 1, 2 or 5 times a power of ten.
        let magnitude = pow(10, floor(log10(maximum)))
        let axisMaximum = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= maximum } ?? maximum
        let scale = plotHeight / axisMaximum
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-size=\"12\">\n"
        for step in 0...5 {
            let tick = axisMaximum * Double(step) / 5, y = Double(height - bottom) - tick * scale
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\" fill=\"#666\">\(Self.decimal(tick, tick < 10 ? 1 : 0)) %</text>\n"
        }
        for (index, variant) in variants.enumerated() {
            let x = Double(left + 30 + index * 120), value = 100 * variant.clickThrough.value
            let y = Double(height - bottom) - value * scale
            let low = Double(height - bottom) - 100 * variant.clickThrough.lower * scale
            let high = Double(height - bottom) - 100 * variant.clickThrough.upper * scale
            svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"60\" height=\"\(value * scale)\" fill=\"#3b6fb6\"/>"
            svg += "<g stroke=\"#222\" stroke-width=\"1.2\"><title>\(HTMLPage.escape(Self.rate(variant.clickThrough)))</title>"
            svg += "<line x1=\"\(x + 30)\" x2=\"\(x + 30)\" y1=\"\(low)\" y2=\"\(high)\"/>"
            svg += "<line x1=\"\(x + 24)\" x2=\"\(x + 36)\" y1=\"\(low)\" y2=\"\(low)\"/>"
            svg += "<line x1=\"\(x + 24)\" x2=\"\(x + 36)\" y1=\"\(high)\" y2=\"\(high)\"/></g>"
            svg += "<text x=\"\(x + 30)\" y=\"\(high - 4)\" text-anchor=\"middle\">\(Self.decimal(value, 2)) %</text>\n"
            svg += "<text x=\"\(x + 30)\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(HTMLPage.escape(variant.name))</text>\n"
        }
        return svg + "</svg>\n"
    }
}
