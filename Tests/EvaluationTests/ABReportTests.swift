import Evaluation
@testable import Experiments
import Foundation
import SessionData
import Testing
import TestSupport

/// The statistics of `srgnn ab-report` against published and hand-computed values, and the report
/// on small hand-made logs.
@Suite struct ABStatisticsTests {
    @Test func normalQuantileAndDistribution() {
        // The textbook constants, to the digits they are quoted with.
        #expect(abs(standardNormalQuantile(0.975) - 1.959963985) < 1e-9)
        #expect(abs(standardNormalQuantile(0.8) - 0.841621234) < 1e-9)
        #expect(abs(standardNormalCDF(1.96) - 0.9750021049) < 1e-10)
        #expect(abs(standardNormalCDF(0) - 0.5) < 1e-15)
    }

    /// Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score), quoted to
    /// four decimals: hence the tolerance of half a unit in the fourth.
    @Test(arguments: [
        (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0000, 0.1611), (1, 29, 0.0061, 0.1718),
    ])
    func wilsonIntervalMatchesNewcombe(successes: Int, trials: Int, lower: Double, upper: Double) {
        let proportion = Proportion(successes: successes, trials: trials)
        #expect(abs(proportion.lower - lower) <= 0.00005, "\(proportion)")
        #expect(abs(proportion.upper - upper) <= 0.00005, "\(proportion)")
        #expect(proportion.value == Double(successes) / Double(trials))
    }

    @Test func wilsonIntervalWithoutTrialsIsEverything() {
        let empty = Proportion(successes: 0, trials: 0)
        #expect(empty.lower == 0 && empty.upper == 1 && empty.value == 0)
    }

    /// 50 / 1,000 against 80 / 1,000: p̄ = 130 / 2,000 = 0.065, se = √(0.065 · 0.935 · 2 / 1,000)
    /// = 0.0110250, z = 0.03 / se = 2.72110; p = erfc(z / √2) = 0.0065066.
    @Test func twoProportionZTestByHand() throws {
        let test = try #require(twoProportionZTest(successes1: 50, trials1: 1000, successes2: 80, trials2: 1000))
        #expect(abs(test.z - 0.03 / (0.065 * 0.935 * 0.002).squareRoot()) < 1e-12)
        #expect(abs(test.z - 2.72110) < 1e-5)
        #expect(abs(test.pValue - 0.0065066) < 1e-7)
        // Symmetric: the other way round only flips the sign of z.
        let reversed = try #require(twoProportionZTest(successes1: 80, trials1: 1000, successes2: 50, trials2: 1000))
        #expect(reversed.z == -test.z && reversed.pValue == test.pValue)
        let noClicks = try #require(twoProportionZTest(successes1: 0, trials1: 10, successes2: 0, trials2: 10))
        #expect(noClicks.z == 0 && noClicks.pValue == 1)
        #expect(twoProportionZTest(successes1: 0, trials1: 0, successes2: 1, trials2: 10) == nil)
    }

    /// 50 / 1,000 against 80 / 1,000: lift 0.08 / 0.05 − 1 = 0.6; se(log ratio) = √(0.95 / 50 + 0.92 / 80)
    /// = √0.0305; interval exp(ln 1.6 ± 1.959964 · 0.174642) − 1 = (0.136224, 1.253077).
    @Test func relativeLiftByHand() throws {
        let lift = try #require(relativeLift(successes1: 50, trials1: 1000, successes2: 80, trials2: 1000))
        #expect(abs(lift.lift - 0.6) < 1e-12)
        #expect(abs(lift.lower - 0.136224) < 1e-6 && abs(lift.upper - 1.253077) < 1e-6)
        #expect(relativeLift(successes1: 0, trials1: 1000, successes2: 80, trials2: 1000) == nil)
    }

    /// Closed forms: 1 df: p = erfc(√(χ²/2)); 2 df: p = e^(−χ²/2); and the tables' 5 % and 0.1 %
    /// critical values for 1, 3 and 10 df (both branches of the incomplete gamma).
    @Test func chiSquareByHand() {
        // [60, 40] against 50/50: χ² = 10²/50 + 10²/50 = 4 on 1 df.
        let two = chiSquareGoodnessOfFit(observed: [60, 40], expectedShares: [0.5, 0.5])
        #expect(two.statistic == 4 && two.degreesOfFreedom == 1)
        #expect(abs(two.pValue - erfc(2.0.squareRoot())) < 1e-12)
        // [30, 30, 40] against thirds: E = 33.3…, χ² = (2 · (10/3)² + (20/3)²) / (100/3) = 2 on 2 df: p = e^(−1).
        let three = chiSquareGoodnessOfFit(observed: [30, 30, 40], expectedShares: [1.0 / 3, 1.0 / 3, 1.0 / 3])
        #expect(abs(three.statistic - 2) < 1e-12 && three.degreesOfFreedom == 2)
        #expect(abs(three.pValue - exp(-1)) < 1e-12)
        // [50, 50] fits exactly: χ² = 0, p = 1.
        #expect(chiSquareGoodnessOfFit(observed: [50, 50], expectedShares: [0.5, 0.5]).pValue == 1)
        for (x, df, p) in [(3.841459, 1, 0.05), (10.827566, 1, 0.001), (7.814728, 3, 0.05), (18.307038, 10, 0.05), (29.588298, 10, 0.001)] {
            // The critical values are quoted to 6 decimals.
            #expect(abs(chiSquareSurvival(x, degreesOfFreedom: df) - p) < 1e-6 * max(1, p * 100), "\(x) on \(df) df")
        }
    }

    /// p₁ = 0.05, p₂ = 0.08: p̄ = 0.065, (1.959964 · √(2 · 0.065 · 0.935) + 0.841621 · √(0.0475 + 0.0736))²
    /// / 0.03² = (0.683323 + 0.292878)² / 0.0009 = 1,058.86, rounded up to 1,059.
    @Test func sampleSizeByHand() {
        #expect(sampleSizePerArm(baseline: 0.05, treatment: 0.08) == 1059)
        // Symmetric in the two proportions, and larger for a smaller difference.
        #expect(sampleSizePerArm(baseline: 0.08, treatment: 0.05) == 1059)
        #expect(sampleSizePerArm(baseline: 0.05, treatment: 0.055)! > 30_000)
        #expect(sampleSizePerArm(baseline: 0.05, treatment: 0.05) == nil)
        #expect(sampleSizePerArm(baseline: 0, treatment: 0.05) == nil)
    }
}

/// A hand-made events log: lines written as the service writes them.
private struct HandMadeLog {
    var lines: [String] = []

    mutating func start(_ split: [(String, Int)]) {
        let variants = split.map { #"{"name":"\#($0.0)","sha256":"00","weight":\#($0.1)}"# }.joined(separator: ",")
        lines.append(#"{"time":"2026-12-01T00:00:00.000Z","trigger":"start","type":"start","variants":[\#(variants)]}"#)
    }

    mutating func impression(_ id: String, _ variant: String, session: String?, items: [String]) {
        let session = session.map { #","session_id":"\#($0)""# } ?? ""
        let list = items.map { Int($0) != nil ? $0 : "\"\($0)\"" }.joined(separator: ",")
        lines.append(
            #"{"items":[\#(list)],"model":"\#(variant)","recommendation_id":"\#(id)"\#(session),"time":"2026-12-01T00:00:01.000Z","type":"impression"}"#
        )
    }

    mutating func event(_ id: String, _ variant: String, item: String, type: String = "click") {
        let item = Int(item) != nil ? item : "\"\(item)\""
        lines.append(#"{"item":\#(item),"model":"\#(variant)","recommendation_id":"\#(id)","time":"2026-12-01T00:00:02.000Z","type":"\#(type)"}"#)
    }

    func write(in folder: TemporaryFolder, _ name: String) throws -> String {
        try folder.file(name, lines.joined(separator: "\n") + "\n")
    }
}

@Suite struct ABReportTests {
    /// Counts, rates, positions, conversion and unmatched events, checked line by line.
    @Test func countsAndRatesOfASmallLog() throws {
        let folder = try TemporaryFolder(prefix: "srgnn-ab")
        defer { folder.cleanUp() }
        var first = HandMadeLog(), second = HandMadeLog()
        first.start([("a", 50), ("b", 50)])
        // a: 4 impressions in 3 sessions; clicks on r1 (position 2) and twice on r2 (one off the list); a purchase in s1.
        first.impression("r1", "a", session: "s1", items: ["10", "11", "x12"])
        first.impression("r2", "a", session: "s1", items: ["10", "13"])
        first.impression("r3", "a", session: "s2", items: ["10"])
        first.impression("r4", "a", session: nil, items: ["11"])
        first.event("r1", "a", item: "11")
        first.event("r2", "a", item: "99")
        first.event("r2", "a", item: "10")
        first.event("r2", "a", item: "13", type: "purchase")
        // b, in a second replica's log: 2 impressions, a click at position 3 on r6 ("x12", a string id),
        // and a click on an id no log has an impression for.
        second.impression("r5", "b", session: "s3", items: ["10", "11"])
        second.impression("r6", "b", session: "s4", items: ["10", "11", "x12"])
        second.event("r6", "b", item: "x12")
        second.event("r404", "b", item: "10")
        let log = try ABEventsLog(paths: [try first.write(in: folder, "1.jsonl"), try second.write(in: folder, "2.jsonl")])
        let report = try ABReport(log: log)
        #expect(report.variants.map(\.name) == ["a", "b"])
        let a = report.variants[0], b = report.variants[1]
        #expect(a.weight == 50 && b.weight == 50)
        #expect(a.impressions == 4 && a.sessions == 3 && a.clicks == 3 && a.purchases == 1 && a.unmatchedEvents == 0)
        // Clicked impressions r1, r2 of 4; on the recommended items, r1 (item 11) and r2 (item 10).
        #expect(a.clickThrough.successes == 2 && a.clickThrough.trials == 4)
        #expect(a.recommendedClickThrough.successes == 2)
        #expect(a.clickPositions == [1, 1])
        // One session (s1) of 3 converted.
        #expect(a.conversion.successes == 1 && a.conversion.trials == 3)
        #expect(b.impressions == 2 && b.sessions == 2 && b.clicks == 2 && b.unmatchedEvents == 1)
        #expect(b.clickThrough.successes == 1 && b.clickPositions == [0, 0, 1])
        #expect(b.bucketedPositions == [0, 0, 1, 0, 0, 0, 0])
        #expect(report.warnings.contains { $0.contains("1 click or purchase events name a recommendation id with no impression") })
        // b's CTR 1/2 against a's 2/4: no lift, z = 0, p = 1.
        let versus = try #require(b.versusBaseline)
        #expect(versus.baseline == "a" && versus.lift == 0 && versus.pValue == 1)
        // No observed lift to size a power calculation for: the note says to give one.
        #expect(report.notes.contains { $0.hasPrefix("b against a: the same CTR in both") && $0.contains("--min-lift") })
        // With a stated lift of +50 % on a CTR of 50 %, 4 and 2 impressions are far too few.
        let stated = try ABReport(log: log, minimumLift: 0.5)
        #expect(stated.variants[1].versusBaseline?.impressionsNeeded == sampleSizePerArm(baseline: 0.5, treatment: 0.75))
        #expect(stated.notes.contains { $0.hasPrefix("too little data to read b against a") && $0.contains("the smaller arm has 2") })
        let markdown = report.markdown()
        #expect(markdown.contains("| a | 50 | 4 | 3 | 3 | 50.00 % ("))
        #expect(markdown.contains("(baseline)"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let variants = try #require(json["variants"] as? [[String: Any]])
        #expect(variants.map { $0["impressions"] as? Int } == [4, 2])
        #expect((variants[1]["versus_baseline"] as? [String: Any])?["p_value"] as? Double == 1)
        #expect(report.html().contains("<svg"))
    }

    /// A skewed split (700 sessions against 300 on a 50/50 split) is flagged as a sample-ratio
    /// mismatch, warning first; 510 against 490 is not. χ² for 700/300: 2 · 200² / 500 = 160.
    @Test func aSkewedSplitIsFlagged() throws {
        let folder = try TemporaryFolder(prefix: "srgnn-ab")
        defer { folder.cleanUp() }
        func report(_ a: Int, _ b: Int, split: [(name: String, weight: Int)]? = nil) throws -> ABReport {
            var log = HandMadeLog()
            log.start([("a", 50), ("b", 50)])
            for index in 0..<(a + b) {
                let variant = index < a ? "a" : "b"
                log.impression("r\(index)", variant, session: "s\(index)", items: ["1", "2"])
                if index % 10 == 0 { log.event("r\(index)", variant, item: "1") }
            }
            return try ABReport(log: ABEventsLog(paths: [try log.write(in: folder, "\(a)-\(b).jsonl")]), split: split)
        }
        let skewed = try report(700, 300)
        let test = try #require(skewed.sampleRatio)
        #expect(test.unit == "sessions" && test.observed == [700, 300] && test.splitSource == "start lines")
        #expect(abs(test.chiSquare - 160) < 1e-9 && test.isMismatch)
        #expect(skewed.warnings.first?.hasPrefix("sample-ratio mismatch") == true)
        #expect(skewed.markdown().contains("MISMATCH"))
        let balanced = try report(510, 490)
        #expect(balanced.sampleRatio?.isMismatch == false && balanced.warnings.isEmpty)
        // --split wins over the start lines: 700/300 fits 70/30.
        let given = try report(700, 300, split: [("a", 70), ("b", 30)])
        #expect(given.sampleRatio?.isMismatch == false && given.sampleRatio?.splitSource == "--split")
        #expect(given.variants.map(\.weight) == [70, 30])
    }

    /// A split naming a variant the logs lack, or leaving one out, is refused saying which.
    @Test func unknownSplitNamesAreRefused() throws {
        let folder = try TemporaryFolder(prefix: "srgnn-ab")
        defer { folder.cleanUp() }
        var log = HandMadeLog()
        log.impression("r1", "a", session: nil, items: ["1"])
        log.impression("r2", "b", session: nil, items: ["1"])
        let parsed = try ABEventsLog(paths: [try log.write(in: folder, "log.jsonl")])
        #expect(throws: ABReportError.self) { try ABReport(log: parsed, split: [("a", 50), ("c", 50)]) }
        do { _ = try ABReport(log: parsed, split: [("a", 50), ("c", 50)]) } catch {
            #expect("\(error)".contains("--split names c, which no line of the logs has; the logs' variants are a, b"))
        }
        do { _ = try ABReport(log: parsed, split: [("a", 100)]) } catch {
            #expect("\(error)".contains("--split gives no weight to b"))
        }
        // Without a split anywhere, the test is skipped and a note says so.
        let unsplit = try ABReport(log: parsed)
        #expect(unsplit.sampleRatio == nil && unsplit.notes.contains { $0.hasPrefix("no split known") })
        // Impressions without session ids: the unit is the impression.
        #expect(try ABReport(log: parsed, split: [("a", 1), ("b", 1)]).sampleRatio?.unit == "impressions")
    }

    /// Bad lines are errors naming the file, the line and the field.
    @Test(arguments: [
        ("{not json", "line 2: not JSON"),
        (#"{"type":"view","model":"a"}"#, #"line 2: field 'type': expected "impression", "click", "purchase" or "start", found "view""#),
        (#"{"type":"impression","model":"a","items":[1]}"#, "line 2: field 'recommendation_id': missing"),
        (#"{"type":"impression","model":"a","recommendation_id":"r","items":[1.5]}"#, "line 2: field 'items[0]'"),
        (#"{"type":"click","model":"a","recommendation_id":"r"}"#, "line 2: field 'item': missing"),
        (#"{"type":"start","variants":[{"name":"a","weight":-1}]}"#, "line 2: field 'variants[0]'"),
        (#"{"type":"start","variants":[{"name":"a"}]}"#, "line 2: field 'variants[0].weight': missing"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ])
    func badLinesNameFileLineAndField(line: String, message: String) throws {
        let folder = try TemporaryFolder(prefix: "srgnn-ab")
        defer { folder.cleanUp() }
        let path = try folder.file("log.jsonl", #"{"items":[1],"model":"a","recommendation_id":"r0","type":"impression"}"# + "\n" + line + "\n")
        do {
            _ = try ABEventsLog(paths: [path])
            Issue.record("accepted \(line)")
        } catch let error as SessionDataError {
            #expect(error.description.hasPrefix(path + ": " + message), "\(error)")
        }
    }

    /// An empty log (or one without impressions) is refused with what to do.
    @Test func noImpressionsIsRefused() throws {
        let folder = try TemporaryFolder(prefix: "srgnn-ab")
        defer { folder.cleanUp() }
        let parsed = try ABEventsLog(paths: [try folder.file("empty.jsonl", "\n")])
        #expect(throws: ABReportError.self) { try ABReport(log: parsed) }
    }
}
