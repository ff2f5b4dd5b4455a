import ArgumentParser
import Experiments
import Foundation
import SessionData
import SRGNN

/// `srgnn ab-report`: reads the events logs of an A/B test (`srgnn serve --events-log`, one per
/// replica) and reports each variant's click-through, conversion and lift, with the
/// sample-ratio-mismatch test and the power the data has.
struct ABReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ab-report",
        abstract: "Per-variant CTR, conversion and lift of an A/B test, from the service's events logs.",
        discussion: """
            Reads one or more events logs (srgnn serve --events-log; one per replica, merged: \
            recommendation ids join clicks and purchases to the impression they came from) and \
            prints, per variant: impressions, sessions, clicks, CTR (impressions with a click / \
            impressions) with a 95 % Wilson interval, purchases and conversion (sessions with a \
            purchase / sessions), the CTR on the recommended items only and the positions of those \
            clicks, and the CTR lift over the first variant with a 95 % interval (delta method on \
            the log ratio) and the p-value of a two-proportion z-test. The sessions (or, when some \
            impressions carry no session_id, the impressions) per variant are tested against the \
            split (--split, else the logs' start lines) with a χ² test: a warning at p < 0.001 \
            (sample-ratio mismatch). A note says when a comparison has fewer impressions per arm \
            than it needs to detect the observed lift (or --min-lift) at α = 0.05 with power 0.8.
            """
    )

    @Option(
        name: .long, parsing: .upToNextOption,
        help: ArgumentHelp("Events logs to read, one per replica (srgnn serve --events-log).", valueName: "log"))
    var events: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The split the counts should follow, e.g. a=50,b=50 (default: the logs' start lines).", valueName: "name=weight,…"))
    var split: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The smallest relative CTR lift worth detecting, e.g. 0.05 for +5 %: sizes the power note (default: the observed lift).",
            valueName: "share"))
    var minLift: Double?

    @Flag(name: .long, help: "Print the report as JSON (keys: variants, sample_ratio, warnings, notes).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Also write a self-contained HTML page of the report here.", valueName: "path"))
    var html: String?

    func validate() throws {
        guard !events.isEmpty else { throw ValidationError("give the events logs to read: --events LOG [LOG …]") }
        if let minLift, !(minLift > -1 && minLift != 0 && minLift.isFinite) {
            throw ValidationError("--min-lift must be a relative lift above -1 and not 0, e.g. 0.05 for +5 % (got \(minLift))")
        }
        _ = try Self.parseSplit(split)
    }

    /// `a=50,b=50` as `[(name, weight)]`; nil for nil.
    static func parseSplit(_ text: String?) throws -> [(name: String, weight: Int)]? {
        guard let text else { return nil }
        var split = [(name: String, weight: Int)]()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, !pair[0].isEmpty, let weight = Int(pair[1]), weight >= 0 else {
                throw ValidationError("--split \(text): \"\(part)\" is not NAME=WEIGHT with a non-negative integer weight; write e.g. --split a=50,b=50")
            }
            guard !split.contains(where: { $0.name == pair[0] }) else { throw ValidationError("--split \(text): \(pair[0]) is given twice") }
            split.append((String(pair[0]), weight))
        }
        guard split.contains(where: { $0.weight > 0 }) else { throw ValidationError("--split \(text): every weight is 0") }
        return split
    }

    func run() throws {
        let report: ABReport
        do {
            report = try ABReport(log: try ABEventsLog(paths: events), split: try Self.parseSplit(split), minimumLift: minLift)
        } catch let error as SessionDataError {
            throw CommandError(error.description)
        } catch let error as ABReportError {
            throw CommandError(error.description)
        }
        if let html {
            do { try writeAtomically(Data(report.html().utf8), to: html) } catch { throw CommandError("cannot write \(html): \(error)") }
        }
        let text = try json ? report.json() + "\n" : report.markdown()
        print(text, terminator: "")
        for warning in report.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
    }
}
