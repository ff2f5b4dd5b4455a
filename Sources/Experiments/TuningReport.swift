import Evaluation
import Foundation
import SRGNN
import Training

/// The outcome of a search (`summary.json`, `summary.md`): the best trial, the defaults' baseline
/// under the same budget, and the `srgnn train` command that trains the better of the two with
/// the full epoch budget.
public struct TuningSummary: Codable, Sendable, Equatable {
    /// `MRR@20` or `HR@20`, on the validation split.
    public var objective: String
    public var search: SearchMethod
    public var seed: UInt64
    public var data: String
    public var trialsFinished: Int
    public var trialsPlanned: Int
    /// The best of the N trials (the defaults' run is not one of them), nil before any finished.
    public var best: TrialRecord?
    public var defaults: TrialRecord?
    /// Best trial's objective minus the defaults', in points (nil until both ran).
    public var improvementOverDefaults: Double?
    /// `srgnn train` for the best trial, or for the defaults when no trial beat them.
    public var command: String?
    /// Seconds of all finished runs, the defaults' included.
    public var seconds: Double
    /// The five best trials, best first (ties: the earlier trial first).
    public var leaders: [TrialRecord]

    enum CodingKeys: String, CodingKey {
        case objective, search, seed, data, best, defaults, command, seconds, leaders
        case trialsFinished = "trials_finished", trialsPlanned = "trials_planned"
        case improvementOverDefaults = "improvement_over_defaults"
    }

    public init(header: SearchHeader, records: [TrialRecord], trialsPlanned: Int) {
        objective = header.objective.metricKey
        search = header.search
        seed = header.seed
        data = header.data
        let trials = records.filter { $0.trial != .defaults }
        trialsFinished = trials.count
        self.trialsPlanned = trialsPlanned
        // Ties go to the earlier trial.
        best = trials.reduce(nil as TrialRecord?) { best, record in
            best.map { record.bestObjective > $0.bestObjective ? record : $0 } ?? record
        }
        defaults = records.first { $0.trial == .defaults }
        if let best, let defaults { improvementOverDefaults = best.bestObjective - defaults.bestObjective }
        seconds = records.reduce(0) { $0 + $1.seconds }
        leaders = Array(
            trials.enumerated().sorted { a, b in
                a.element.bestObjective != b.element.bestObjective ? a.element.bestObjective > b.element.bestObjective : a.offset < b.offset
            }.map(\.element).prefix(5))
        command = (trainsBestTrial ? best : defaults).map { Self.command(header: header, parameters: $0.parameters) }
    }

    /// Whether `command` trains the best trial: it trains the defaults when no trial beat them
    /// (and the best trial when the defaults' run is missing).
    var trainsBestTrial: Bool { (improvementOverDefaults ?? 1) > 0 }

    /// `srgnn train` with the trial's parameters, the search's other settings, and the full
    /// epoch budget and patience of `srgnn train` (a trial ran at most `epochsPerTrial`).
    public static func command(header: SearchHeader, parameters: TrialParameters) -> String {
        let full = TrainingConfiguration()
        let base = header.base
        var words = ["srgnn", "train", "--data", shellQuoted(header.data), "--out", "best.safetensors"]
        for parameter in SearchParameter.allCases {
            words += ["--" + parameter.rawValue, format(parameters.value(of: parameter), parameter)]
        }
        words += [
            "--epochs", "\(full.epochs)", "--patience", "\(full.patience)", "--seed", "\(base.seed)",
            "--validation-split", base.validationSplit.rawValue, "--validation-fraction", "\(base.validationFraction)",
        ]
        if base.cutoff != full.cutoff { words += ["--cutoff", "\(base.cutoff)"] }
        if !base.referenceDecayTiming { words.append("--textbook-decay") }
        if base.nonhybrid { words.append("--nonhybrid") }
        var niser = TrainingConfiguration()
        niser.apply(.niser)
        if (base.normalize, base.scale, base.positionEmbeddingRows, base.dropout)
            == (niser.normalize, niser.scale, niser.positionEmbeddingRows, niser.dropout)
        {
            words += ["--variant", "niser"]
        }
        if base.loss == .sampled {
            words += ["--loss", base.loss.rawValue, "--negatives", "\(base.negatives)", "--sample-alpha", "\(base.sampleAlpha)"]
        }
        return words.joined(separator: " ")
    }

    /// A parameter's value as `srgnn train` reads it back exactly (Float's shortest form).
    public static func format(_ value: Double, _ parameter: SearchParameter) -> String {
        parameter.isInteger ? String(Int(value)) : "\(Float(value))"
    }

    static func shellQuoted(_ text: String) -> String {
        let plain = text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_./-+=,:@".unicodeScalars.contains($0) }
        return plain && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The summary for people: best against defaults, the command, the best configuration.
    public func markdown() -> String {
        var text = "# srgnn tune on `\(data)`\n\n"
        text += "Objective: validation \(objective) (the test set was not evaluated). Search: \(search.rawValue), seed \(seed); "
        text +=
            "\(trialsFinished) of \(trialsPlanned) trials finished"
            + String(format: " in %.0f s (the defaults' run included).\n\n", seconds)
        guard let best else { return text + "No trial has finished yet.\n" }
        text += "| run | \(objective) | best epoch | epochs run |\n|---|---|---|---|\n"
        text += String(
            format: "| best (trial %@) | %.2f | %d | %d |\n", "\(best.trial)".replacingOccurrences(of: "trial ", with: ""),
            best.bestObjective, best.bestEpoch, best.validation.count)
        if let defaults {
            text += String(format: "| defaults | %.2f | %d | %d |\n", defaults.bestObjective, defaults.bestEpoch, defaults.validation.count)
        }
        if let improvement = improvementOverDefaults {
            text +=
                improvement > 0
                ? String(format: "\nThe best trial beats the defaults by %.2f points of validation %@.\n", improvement, objective)
                : String(
                    format: "\nNo trial beat the defaults (best trial %.2f points %@ them): keep the defaults.\n",
                    abs(improvement), improvement == 0 ? "equal to" : "below")
        }
        text += "\nBest configuration:\n\n"
        for parameter in SearchParameter.allCases {
            text += "- `\(parameter.rawValue)`: \(Self.format(best.parameters.value(of: parameter), parameter))\n"
        }
        if let command {
            let which = trainsBestTrial ? "the best trial" : "the defaults"
            text += "\nTrain \(which) with the full epoch budget:\n\n```sh\n\(command)\n```\n"
        }
        if !leaders.isEmpty {
            text +=
                "\nThe best \(leaders.count) trials:\n\n| trial | " + SearchParameter.allCases.map(\.rawValue).joined(separator: " | ")
                + " | \(objective) | best epoch |\n|" + String(repeating: "---|", count: SearchParameter.allCases.count + 3) + "\n"
            for record in leaders {
                let values = SearchParameter.allCases.map { Self.format(record.parameters.value(of: $0), $0) }
                text +=
                    "| \("\(record.trial)".replacingOccurrences(of: "trial ", with: "")) | " + values.joined(separator: " | ")
                    + String(format: " | %.2f | %d |\n", record.bestObjective, record.bestEpoch)
            }
        }
        return text
    }
}

/// `report.html`: objective against each searched parameter (one small SVG panel each, log axis
/// for learning rate and L2, the best trial highlighted, the defaults as a dashed line) and a
/// table of the trials. Self-contained: inline CSS and SVG, no script.
public enum TuningReport {
    public static func html(header: SearchHeader, records: [TrialRecord], summary: TuningSummary) -> String {
        let trials = records.filter { $0.trial != .defaults }
        let key = header.objective.metricKey
        var page =
            HTMLPage.head(
                title: "srgnn tune: \(header.data)",
                style: """
                    tr.best td { background: #fde2e2; font-weight: bold; } tr.defaults td { color: #555; font-style: italic; }
                    .panels { display: flex; flex-wrap: wrap; gap: 8px; }
                    pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }

                    """) + """
                <h1>Hyper-parameter search on <code>\(escape(header.data))</code></h1>
                <p class="note">Objective: validation \(key) in percent (the best epoch of each trial; the test set was not evaluated).
                \(header.search.rawValue) search, seed \(header.seed), \(summary.trialsFinished) of \(summary.trialsPlanned) trials,
                at most \(header.epochsPerTrial) epochs per trial with patience \(header.patience)\(header.timeBudgetSeconds.map { String(format: ", time budget %.0f s", $0) } ?? "").
                The defaults' run had the same budget.</p>

                """
        if let best = summary.best {
            page += "<p>" + String(format: "Best: %@, %@ %.2f", escape("\(best.trial)"), key, best.bestObjective)
            if let defaults = summary.defaults { page += String(format: "; defaults %.2f", defaults.bestObjective) }
            page += ".</p>\n"
        }
        if let command = summary.command {
            page += "<p>Train the best configuration with the full epoch budget:</p><pre>\(escape(wrapped(command)))</pre>\n"
        }
        page += "<h2>\(key) against each parameter</h2>\n<div class=\"panels\">\n"
        let varied = header.space.parameters.filter { parameter in
            if case .choice(let values) = header.space.domains[parameter]!, values.count == 1 { return false }
            return true
        }
        let objectives = records.map(\.bestObjective)
        let low = objectives.min() ?? 0, high = objectives.max() ?? 1
        let pad = max((high - low) * 0.08, 0.05)
        for parameter in varied {
            page += panel(
                parameter, trials: trials, best: summary.best, defaults: summary.defaults, yRange: (low - pad, high + pad), key: key)
        }
        page +=
            "</div>\n<p class=\"note\">Each dot is one trial's best validation \(key); the red dot is the best trial; the dashed line is the defaults' run.</p>\n"
        page += "<h2>Trials</h2>\n<table><tr><th>trial</th>"
        page += SearchParameter.allCases.map { "<th>\($0.rawValue)</th>" }.joined()
        page += "<th>\(key)</th><th>best epoch</th><th>epochs run</th><th>seconds</th></tr>\n"
        for record in records {
            let style = record.trial == .defaults ? " class=\"defaults\"" : (record.trial == summary.best?.trial ? " class=\"best\"" : "")
            let name: String
            switch record.trial {
            case .index(let index): name = "\(index)";
            case .defaults: name = "defaults"
            }
            page += "<tr\(style)><td>\(name)</td>"
            page += SearchParameter.allCases.map { "<td>\(TuningSummary.format(record.parameters.value(of: $0), $0))</td>" }.joined()
            page += String(
                format: "<td>%.2f</td><td>%d</td><td>%d</td><td>%.1f</td></tr>\n", record.bestObjective, record.bestEpoch,
                record.validation.count, record.seconds)
        }
        return page + "</table>\n</body></html>\n"
    }

    /// One panel: the trials' objective against `parameter`.
    static func panel(
        _ parameter: SearchParameter, trials: [TrialRecord], best: TrialRecord?, defaults: TrialRecord?,
        yRange: (Double, Double), key: String
    ) -> String {
        let width = 360.0, height = 240.0, left = 48.0, right = 14.0, top = 30.0, bottom = 40.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let values = trials.map { $0.parameters.value(of: parameter) }
        // Scales (learning rate, L2) on a log axis: the parameters whose default domain is log-uniform.
        let logarithmic: Bool
        if case .logUniform = parameter.hyperparameter.search?.standard { logarithmic = true } else { logarithmic = false }
        // On a log axis a zero (L2 off) has no place: zeros sit in a strip at the left, marked "0".
        let zeroStrip = logarithmic && values.contains(0) ? 24.0 : 0
        let positive = logarithmic ? values.filter { $0 > 0 } : values
        func transform(_ v: Double) -> Double { logarithmic ? log10(v) : v }
        var lowX = positive.map(transform).min() ?? 0, highX = positive.map(transform).max() ?? 1
        if highX - lowX < 1e-12 {
            lowX -= logarithmic ? 0.5 : max(abs(lowX) * 0.1, 0.5); highX += logarithmic ? 0.5 : max(abs(highX) * 0.1, 0.5)
        }
        let spanX = highX - lowX
        lowX -= spanX * 0.06; highX += spanX * 0.06
        func x(_ v: Double) -> Double {
            if logarithmic && v <= 0 { return left + zeroStrip / 2 }
            return left + zeroStrip + (plotWidth - zeroStrip) * (transform(v) - lowX) / (highX - lowX)
        }
        func y(_ v: Double) -> Double { top + plotHeight * (1 - (v - yRange.0) / (yRange.1 - yRange.0)) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"11\">\n"
        svg +=
            "<text x=\"\(left)\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(parameter.rawValue)\(logarithmic ? " (log scale)" : "")</text>\n"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#ccc\"/>\n"
        for tick in ticks(yRange.0, yRange.1, count: 4) {
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(y(tick))\" y2=\"\(y(tick))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 5)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\" fill=\"#666\">\(String(format: "%.4g", tick))</text>\n"
        }
        var xTicks: [(Double, String)]
        if logarithmic {
            xTicks = stride(from: ceil(lowX), through: floor(highX), by: 1).map { (pow(10, $0), "1e\(Int($0))") }
            if xTicks.count < 2 { xTicks = Array(Set(positive)).sorted().map { ($0, String(format: "%.2g", $0)) } }
            if zeroStrip > 0 { xTicks.append((0, "0")) }
        } else {
            let distinct = Array(Set(values)).sorted()
            xTicks = (distinct.count <= 6 ? distinct : ticks(lowX, highX, count: 5)).map { ($0, String(format: "%g", $0)) }
        }
        for (value, label) in xTicks {
            svg += "<line x1=\"\(x(value))\" x2=\"\(x(value))\" y1=\"\(top + plotHeight)\" y2=\"\(top + plotHeight + 4)\" stroke=\"#666\"/>"
            svg += "<text x=\"\(x(value))\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\" fill=\"#666\">\(label)</text>\n"
        }
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">\(parameter.rawValue)</text>"
        svg += "<text transform=\"translate(12,\(top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(key)</text>\n"
        if let defaults {
            let level = y(defaults.bestObjective)
            svg +=
                "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(level)\" y2=\"\(level)\" stroke=\"#777\" stroke-dasharray=\"5,3\"><title>defaults: \(String(format: "%.2f", defaults.bestObjective))</title></line>"
            svg += "<text x=\"\(left + plotWidth - 4)\" y=\"\(level - 4)\" text-anchor=\"end\" fill=\"#777\">defaults</text>\n"
        }
        for (record, value) in zip(trials, values) where record.trial != best?.trial {
            svg += "<circle cx=\"\(x(value))\" cy=\"\(y(record.bestObjective))\" r=\"4\" fill=\"#3b6fb6\" fill-opacity=\"0.7\">"
            svg += "<title>\(record.trial): \(String(format: "%.2f", record.bestObjective))</title></circle>\n"
        }
        if let best {
            let value = best.parameters.value(of: parameter)
            svg +=
                "<circle cx=\"\(x(value))\" cy=\"\(y(best.bestObjective))\" r=\"6.5\" fill=\"#d62728\" stroke=\"#222\" stroke-width=\"1.2\">"
            svg += "<title>best, \(best.trial): \(String(format: "%.2f", best.bestObjective))</title></circle>\n"
        }
        return svg + "</svg>\n"
    }

    /// A shell command over several lines (` \` continuations, breaking before an option), so that
    /// it reads on the page and still pastes into a shell.
    static func wrapped(_ command: String, width: Int = 88) -> String {
        var lines = [String](), line = ""
        for word in command.split(separator: " ") {
            if word.hasPrefix("--"), !line.isEmpty, line.count + word.count > width {
                lines.append(line)
                line = "   "
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        return (lines + [line]).joined(separator: " \\\n")
    }

    /// About `count` round tick values covering [low, high].
    static func ticks(_ low: Double, _ high: Double, count: Int) -> [Double] {
        guard high > low else { return [low] }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return stride(from: ceil(low / step) * step, through: high, by: step).map { $0 + 0 }  // + 0 turns −0 into 0
    }

    static func escape(_ text: String) -> String { HTMLPage.escape(text) }
}

extension HyperparameterSearch {
    /// Writes `summary.json`, `summary.md` and `report.html` for `records`, each atomically.
    @discardableResult
    public func writeOutputs(_ records: [TrialRecord]) throws -> TuningSummary {
        let planned = header.plan(trials: trials).count - 1
        let summary = TuningSummary(header: header, records: records, trialsPlanned: planned)
        var json = try JSONText.data(summary)
        json.append(0x0A)
        try writeAtomically(json, to: directory + "/summary.json")
        try writeAtomically(Data(summary.markdown().utf8), to: directory + "/summary.md")
        try writeAtomically(
            Data(TuningReport.html(header: header, records: records, summary: summary).utf8), to: directory + "/report.html")
        return summary
    }
}
