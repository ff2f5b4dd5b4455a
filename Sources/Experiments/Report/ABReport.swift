import Evaluation
import Foundation
import SRGNN

/// The A/B report of `srgnn ab-report`: per variant, impressions, sessions, clicks and purchases,
/// with the click-through rate and conversion and their Wilson intervals, the click-through on the
/// recommended items and where in the list those clicks fell, each variant's lift over the first
/// (the baseline) with its interval and p-value, the sample-ratio-mismatch test of the split, and
/// the power each comparison had.
///
/// Definitions (a rate must be a proportion for its interval and test to hold):
/// - CTR = impressions with at least one click / impressions;
/// - recommended-item CTR = impressions with at least one click on an item of their own list / impressions;
/// - conversion = sessions with at least one purchase / sessions (a session: one `session_id`; an
///   impression without one is a session of its own).
/// Clicks and purchases are credited through their recommendation id to the impression it names;
/// events whose impression is in no log given are counted (`unmatched_events`) but in no rate.
public struct ABReport: Sendable, Codable, Equatable {
    /// Clicks on the recommended items by position in the list (1-based), grouped.
    public static let positionBuckets: [(label: String, range: ClosedRange<Int>)] = [
        ("1", 1...1), ("2", 2...2), ("3", 3...3), ("4–5", 4...5), ("6–10", 6...10), ("11–20", 11...20), ("21+", 21...Int.max),
    ]
    /// The SRM warning threshold on the χ² p-value (the usual one: a mismatch that chance explains
    /// once in a thousand tests).
    public static let mismatchThreshold = 0.001
    public static let alpha = 0.05, power = 0.8

    public struct Variant: Sendable, Codable, Equatable {
        public var name: String
        /// Its weight in the split, when known.
        public var weight: Int?
        public var impressions: Int
        public var sessions: Int
        public var clicks: Int
        public var purchases: Int
        /// Clicks and purchases whose impression is in no log read.
        public var unmatchedEvents: Int
        public var clickThrough: Proportion
        public var recommendedClickThrough: Proportion
        /// Clicks on an item of the impression's own list, by position (1 = first); `positions[i]`
        /// counts position i + 1.
        public var clickPositions: [Int]
        public var conversion: Proportion
        /// Against the first variant; nil for the first itself.
        public var versusBaseline: Comparison?

        enum CodingKeys: String, CodingKey {
            case name, weight, impressions, sessions, clicks, purchases, conversion
            case unmatchedEvents = "unmatched_events", clickThrough = "click_through"
            case recommendedClickThrough = "recommended_click_through", clickPositions = "click_positions"
            case versusBaseline = "versus_baseline"
        }

        /// `clickPositions` summed into `positionBuckets`.
        public var bucketedPositions: [Int] {
            ABReport.positionBuckets.map { bucket in
                clickPositions.indices.filter { bucket.range.contains($0 + 1) }.reduce(0) { $0 + clickPositions[$1] }
            }
        }
    }

    /// One variant's CTR against the baseline's.
    public struct Comparison: Sendable, Codable, Equatable {
        public var baseline: String
        /// CTR / baseline CTR − 1, with its 95 % delta-method interval; nil when either has no click.
        public var lift: Double?
        public var liftLower: Double?
        public var liftUpper: Double?
        /// The two-sided two-proportion z-test of equal CTRs.
        public var z: Double?
        public var pValue: Double?
        /// The relative lift the power calculation is for: `--min-lift`, else the observed one.
        public var powerLift: Double?
        /// Impressions per arm needed to detect `powerLift` at α = 0.05 with power 0.8.
        public var impressionsNeeded: Int?

        enum CodingKeys: String, CodingKey {
            case baseline, lift, z
            case liftLower = "lift_lower", liftUpper = "lift_upper", pValue = "p_value", powerLift = "power_lift"
            case impressionsNeeded = "impressions_needed"
        }
    }

    /// The χ² test of the variants' counts against the split.
    public struct SampleRatio: Sendable, Codable, Equatable {
        /// `sessions` (when every impression has a session id: the split assigns sessions) or `impressions`.
        public var unit: String
        /// The variants tested (those of positive weight), their counts and expected shares.
        public var variants: [String]
        public var observed: [Int]
        public var expectedShares: [Double]
        public var chiSquare: Double
        public var degreesOfFreedom: Int
        public var pValue: Double
        /// Where the split came from: `--split` or the logs' start lines.
        public var splitSource: String

        enum CodingKeys: String, CodingKey {
            case unit, variants, observed
            case expectedShares = "expected_shares", chiSquare = "chi_square", degreesOfFreedom = "degrees_of_freedom"
            case pValue = "p_value", splitSource = "split_source"
        }

        public var isMismatch: Bool { pValue < ABReport.mismatchThreshold }
    }

    public var variants: [Variant]
    public var sampleRatio: SampleRatio?
    /// Problems that make the figures unreliable (a sample-ratio mismatch, unmatched events).
    public var warnings: [String]
    /// How to read the figures: too little data, no split known.
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case variants, warnings, notes
        case sampleRatio = "sample_ratio"
    }

    /// The report of `log`. `split` (`--split`) overrides the logs' start lines; its names must be
    /// exactly the logs' variants. `minimumLift` (relative, e.g. 0.05) sizes the power
    /// calculation; without it, each variant's observed lift does.
    public init(log: ABEventsLog, split: [(name: String, weight: Int)]? = nil, minimumLift: Double? = nil) throws {
        guard !log.impressions.isEmpty else {
            throw ABReportError(
                "the logs hold no impression line: serve with srgnn serve --events-log (a version that logs impressions) and give its log")
        }
        let (split, splitSource, splitNote) = try Self.resolveSplit(given: split, log: log)
        let names = (split?.map(\.name) ?? []) + log.variantsSeen.filter { name in split?.contains { $0.name == name } != true }
        var notes = splitNote.map { [$0] } ?? []
        var warnings = [String]()
        var tallies = Dictionary(uniqueKeysWithValues: names.map { ($0, Tally()) })
        var allHaveSessions = true
        for (id, impression) in log.impressions {
            tallies[impression.variant]!.add(impression: impression, id: id)
            if impression.sessionID == nil { allHaveSessions = false }
        }
        for event in log.events {
            tallies[event.variant]!.add(event: event, impression: log.impressions[event.recommendationID])
        }
        variants = names.map { name in
            tallies[name]!.variant(name: name, weight: split?.first { $0.name == name }?.weight)
        }
        for index in variants.indices.dropFirst() {
            variants[index].versusBaseline = Self.compare(variants[index], with: variants[0], minimumLift: minimumLift)
        }
        let unmatched = variants.reduce(0) { $0 + $1.unmatchedEvents }
        if unmatched > 0 {
            warnings.append(
                "\(unmatched) click or purchase events name a recommendation id with no impression in the logs given (another replica's log, or a log from before impressions were logged); they are counted but in no rate"
            )
        }
        if log.duplicateImpressions > 0 {
            warnings.append("\(log.duplicateImpressions) impression lines repeat a recommendation id already read (a log given twice?); each id counts once")
        }
        if let split {
            sampleRatio = Self.sampleRatioTest(variants, split: split, unit: allHaveSessions ? "sessions" : "impressions", source: splitSource)
            if let sampleRatio, sampleRatio.isMismatch {
                warnings.insert(
                    "sample-ratio mismatch: the \(sampleRatio.unit) per variant (\(zip(sampleRatio.variants, sampleRatio.observed).map { "\($0) \($1)" }.joined(separator: ", "))) do not fit the split (χ² = \(Self.decimal(sampleRatio.chiSquare, 2)), \(Self.pClause(sampleRatio.pValue)), under \(Self.mismatchThreshold)): the assignment or the logging is broken, so no comparison here can be trusted; find the cause before reading them",
                    at: 0)
            }
        }
        notes += Self.powerNotes(variants)
        self.warnings = warnings
        self.notes = notes
    }

    /// The split to test against: `given`, else the logs' start lines when they agree.
    private static func resolveSplit(
        given: [(name: String, weight: Int)]?, log: ABEventsLog
    ) throws -> (split: [(name: String, weight: Int)]?, source: String, note: String?) {
        if let given {
            let names = Set(given.map(\.name)), seen = Set(log.variantsSeen)
            let unknown = given.map(\.name).filter { !seen.contains($0) }
            guard unknown.isEmpty else {
                throw ABReportError(
                    "--split names \(unknown.joined(separator: ", ")), which no line of the logs has; the logs' variants are \(log.variantsSeen.joined(separator: ", "))"
                )
            }
            let missing = log.variantsSeen.filter { !names.contains($0) }
            guard missing.isEmpty else {
                throw ABReportError(
                    "--split gives no weight to \(missing.joined(separator: ", ")), a variant of the logs; give every variant a weight (the logs' variants are \(log.variantsSeen.joined(separator: ", ")))"
                )
            }
            return (given, "--split", nil)
        }
        guard let first = log.splits.first else {
            return (nil, "", "no split known (no start line in the logs, no --split): the sample-ratio test is skipped")
        }
        let differs = log.splits.contains { split in
            split.count != first.count || zip(split, first).contains { $0.name != $1.name || $0.weight != $1.weight }
        }
        guard !differs else {
            return (
                nil, "",
                "the logs' start lines give different splits (\(Set(log.splits.map(describe)).sorted().joined(separator: "; "))): the sample-ratio test is skipped; give the split the counts should follow with --split"
            )
        }
        return (first, "start lines", nil)
    }

    static func describe(_ split: [(name: String, weight: Int)]) -> String {
        split.map { "\($0.name)=\($0.weight)" }.joined(separator: ",")
    }

    private static func compare(_ variant: Variant, with baseline: Variant, minimumLift: Double?) -> Comparison {
        let (x1, n1) = (baseline.clickThrough.successes, baseline.clickThrough.trials)
        let (x2, n2) = (variant.clickThrough.successes, variant.clickThrough.trials)
        let lift = relativeLift(successes1: x1, trials1: n1, successes2: x2, trials2: n2)
        let test = twoProportionZTest(successes1: x1, trials1: n1, successes2: x2, trials2: n2)
        let powerLift = minimumLift ?? lift?.lift
        let needed = powerLift.flatMap {
            sampleSizePerArm(baseline: baseline.clickThrough.value, treatment: baseline.clickThrough.value * (1 + $0), alpha: alpha, power: power)
        }
        return Comparison(
            baseline: baseline.name, lift: lift?.lift, liftLower: lift?.lower, liftUpper: lift?.upper, z: test?.z, pValue: test?.pValue,
            powerLift: powerLift, impressionsNeeded: needed)
    }

    private static func sampleRatioTest(_ variants: [Variant], split: [(name: String, weight: Int)], unit: String, source: String) -> SampleRatio? {
        let tested = split.filter { $0.weight > 0 }
        guard tested.count >= 2 else { return nil }
        let total = Double(tested.reduce(0) { $0 + $1.weight })
        let observed = tested.map { entry in
            let variant = variants.first { $0.name == entry.name }!
            return unit == "sessions" ? variant.sessions : variant.impressions
        }
        let shares = tested.map { Double($0.weight) / total }
        let test = chiSquareGoodnessOfFit(observed: observed, expectedShares: shares)
        return SampleRatio(
            unit: unit, variants: tested.map(\.name), observed: observed, expectedShares: shares, chiSquare: test.statistic,
            degreesOfFreedom: test.degreesOfFreedom, pValue: test.pValue, splitSource: source)
    }

    /// A note per comparison with fewer impressions per arm than its power calculation needs.
    private static func powerNotes(_ variants: [Variant]) -> [String] {
        guard let baseline = variants.first else { return [] }
        var notes = [String]()
        for variant in variants.dropFirst() {
            guard let comparison = variant.versusBaseline else { continue }
            let have = min(variant.impressions, baseline.impressions)
            guard let lift = comparison.powerLift, lift != 0 else {
                notes.append(
                    "\(variant.name) against \(baseline.name): \(comparison.lift == nil ? "no click in one of them yet" : "the same CTR in both"), so no observed lift to size a test for; give --min-lift to see how many impressions a test needs"
                )
                continue
            }
            guard let needed = comparison.impressionsNeeded else {
                notes.append("\(variant.name) against \(baseline.name): no power calculation for a lift of \(percent(lift)) at a CTR of \(percent(baseline.clickThrough.value))")
                continue
            }
            if have < needed {
                notes.append(
                    "too little data to read \(variant.name) against \(baseline.name): detecting a CTR lift of \(percent(lift)) on \(percent(baseline.clickThrough.value)) at α = \(alpha) with power \(power) needs \(needed) impressions per arm; the smaller arm has \(have)"
                )
            }
        }
        return notes
    }

    /// `12.3 %` for 0.123.
    static func percent(_ share: Double) -> String { decimal(100 * share, 2) + " %" }

    static func decimal(_ value: Double, _ places: Int) -> String { String(format: "%.\(places)f", value) }

    /// A p-value as text: 4 decimals, or 2 significant digits below 0.0001, `< 1e-12` below that.
    static func pText(_ p: Double) -> String { p < 1e-12 ? "< 1e-12" : p < 0.0001 ? String(format: "%.1e", p) : decimal(p, 4) }

    /// `p = 0.0615`, or `p < 1e-12`.
    static func pClause(_ p: Double) -> String { p < 1e-12 ? "p < 1e-12" : "p = " + pText(p) }

    public func json() throws -> String { try JSONText.string(self) }
}

/// A report that cannot be made: the message says what to fix.
public struct ABReportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One variant's counts while the log is walked.
private struct Tally {
    var impressions = 0
    var sessions = Set<String>()
    var anonymousSessions = 0
    var clicks = 0
    var purchases = 0
    var unmatched = 0
    var clickedImpressions = Set<String>()
    var recommendedClickImpressions = Set<String>()
    var positions = [Int]()
    var convertedSessions = Set<String>()

    mutating func add(impression: ABEventsLog.Impression, id: String) {
        impressions += 1
        if let session = impression.sessionID { sessions.insert(session) } else { anonymousSessions += 1 }
    }

    mutating func add(event: ABEventsLog.Event, impression: ABEventsLog.Impression?) {
        if event.isPurchase { purchases += 1 } else { clicks += 1 }
        // Credited to the variant the event names; the impression only says where, if it is known.
        guard let impression, impression.variant == event.variant else {
            unmatched += 1
            return
        }
        if event.isPurchase {
            // An anonymous impression is its own session, keyed by its recommendation id.
            convertedSessions.insert(impression.sessionID.map { "s:" + $0 } ?? "r:" + event.recommendationID)
            return
        }
        clickedImpressions.insert(event.recommendationID)
        if let position = impression.items.firstIndex(of: event.item) {
            recommendedClickImpressions.insert(event.recommendationID)
            if positions.count <= position { positions += Array(repeating: 0, count: position + 1 - positions.count) }
            positions[position] += 1
        }
    }

    func variant(name: String, weight: Int?) -> ABReport.Variant {
        let sessionCount = sessions.count + anonymousSessions
        return ABReport.Variant(
            name: name, weight: weight, impressions: impressions, sessions: sessionCount, clicks: clicks, purchases: purchases,
            unmatchedEvents: unmatched,
            clickThrough: Proportion(successes: clickedImpressions.count, trials: impressions),
            recommendedClickThrough: Proportion(successes: recommendedClickImpressions.count, trials: impressions),
            clickPositions: positions,
            conversion: Proportion(successes: convertedSessions.count, trials: sessionCount), versusBaseline: nil)
    }
}
