import Foundation
import Hummingbird
import HummingbirdTesting
import Recommending
@testable import Serving
import SRGNN
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lines of an events log, parsed.
private func loggedRecords(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
    }
}

/// The item ids of a JSON answer, as raw id strings.
private func answeredItems(_ answer: [String: Any]) -> [String] {
    (answer["items"] as? [[String: Any]] ?? []).compactMap { rawID($0["id"]) }
}

/// An impression of variant a numbered `index`, with one item.
private func numberedImpression(_ index: Int) -> ImpressionRecord {
    ImpressionRecord(date: Date(), recommendationID: "a.\(index)", model: "a", sessionID: nil, items: [JSONItemID("1003")])
}

/// The events log's `impression` and `start` lines (issue 32, item 5): one impression per answered
/// session, a start line with the split at start and after a reload, batched writes that lose
/// nothing on flush, reopen or release.
@Suite struct ImpressionLogTests {
    /// Every answered session, single or in a batch, gets one impression line with its id, variant,
    /// session id (when sent) and returned items in order; a refused request gets none. The first
    /// line is the start line with the split and the model files.
    @Test func oneImpressionPerAnsweredSession() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        let log = try EventsLog(path: path)
        try await fixture.abApp(eventsLog: log).test(.router) { client in
            let single = try await client.post("/v1/recommendations", #"{"items": ["1003"], "session_id": "visitor-1", "k": 4}"#)
            let anonymous = try await client.post("/v1/recommendations", #"{"items": ["1004", "a17"], "k": 3}"#)
            let batch = try await client.post(
                "/v1/recommendations/batch",
                #"{"sessions": [{"items": ["1003"], "session_id": "s-1"}, {"items": ["007"]}, {"items": ["1005"], "session_id": "s-3"}], "k": 5}"#
            )
            let refused = try await client.post("/v1/recommendations", #"{"items": ["1003"], "k": 0}"#)
            #expect(single.status == .ok && anonymous.status == .ok && batch.status == .ok, "\(batch.text)")
            #expect(refused.status == .badRequest)
            let results = try #require(try batch.json["results"] as? [[String: Any]])
            let answers: [(answer: [String: Any], sessionID: String?)] = [
                (try single.json, "visitor-1"), (try anonymous.json, nil), (results[0], "s-1"), (results[1], nil), (results[2], "s-3"),
            ]
            // What a graceful shutdown does: the queued lines are written.
            await log.flush()
            let records = try loggedRecords(path)
            #expect(records.first?["type"] as? String == "start")
            let impressions = records.filter { $0["type"] as? String == "impression" }
            #expect(impressions.count == 5 && records.count == 6, "\(records)")
            for (answer, sessionID) in answers {
                let id = try #require(answer["recommendation_id"] as? String)
                let line = try #require(impressions.first { $0["recommendation_id"] as? String == id }, "no impression for \(id)")
                #expect(line["model"] as? String == answer["model"] as? String)
                #expect(line["session_id"] as? String == sessionID)
                #expect(sessionID != nil || !line.keys.contains("session_id"))
                #expect((line["items"] as? [Any] ?? []).compactMap(rawID) == answeredItems(answer))
                #expect(!answeredItems(answer).isEmpty)
                let time = try #require(line["time"] as? String)
                #expect(try #require(ISO8601DateFormatter.withFractionalSeconds.date(from: time)).timeIntervalSinceNow > -600)
            }
            #expect(Set(impressions.keys(of: "recommendation_id")).count == 5)
        }
    }

    /// The start line names every variant with its weight, model file and SHA-256, and a reload
    /// that swaps a model writes another one with the new file; a refused reload writes none.
    @Test func aStartLineOnStartAndOnReload() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        let log = try EventsLog(path: path)
        let split = try VariantSplit(names: ["a", "b"], weights: [90, 10])
        try await fixture.abApp(split: split, eventsLog: log).test(.router) { client in
            let reloaded = try await client.reload(#"{"variant": "b", "model": "\#(fixture.first)"}"#)
            #expect(reloaded.status == .ok, "\(reloaded.text)")
            let refused = try await client.reload(#"{"variant": "a", "model": "\#(fixture.folder.path)/none"}"#)
            #expect(refused.status == .unprocessableContent)
        }
        await log.flush()
        let starts = try loggedRecords(path).filter { $0["type"] as? String == "start" }
        #expect(starts.count == 2, "\(starts)")
        #expect(starts.map { $0["trigger"] as? String } == ["start", "POST /v1/admin/reload"])
        let variants = starts.map { ($0["variants"] as? [[String: Any]]) ?? [] }
        #expect(variants[0].keys(of: "name") == ["a", "b"])
        #expect(variants[0].map { $0["weight"] as? Int } == [90, 10])
        #expect(variants[0].keys(of: "model") == [fixture.first, fixture.second])
        #expect(variants[1].keys(of: "model") == [fixture.first, fixture.first])
        #expect(variants[1].keys(of: "sha256") == Array(repeating: try ReloadFixture.sha256(fixture.first), count: 2))
    }

    /// Queued lines are written on `reopen()` (before the timer or the batch size would write them),
    /// on `flush()`, and when the log is released: none is lost, none is written twice.
    @Test func queuedLinesSurviveReopenFlushAndRelease() async throws {
        let folder = try TemporaryFolder(prefix: "srgnn-impressions")
        defer { folder.cleanUp() }
        let path = folder.path + "/events.jsonl"
        func impression(_ index: Int) -> ImpressionRecord {
            ImpressionRecord(
                date: Date(), recommendationID: "a.\(index)", model: "a", sessionID: "s-\(index)",
                items: [JSONItemID("1003"), JSONItemID(raw: "x y", form: .canonical)])
        }
        var log: EventsLog? = try EventsLog(path: path)
        // Not a multiple of the batch size, so that a part batch is left waiting for its timer.
        let first = EventsLog.flushLines * 2 + 17
        for index in 0..<first { log!.logImpression(impression(index)) }
        try await log!.reopen()
        #expect(try loggedRecords(path).count == first)
        for index in first..<(first + 40) { log!.logImpression(impression(index)) }
        await log!.flush()
        #expect(try loggedRecords(path).count == first + 40)
        for index in (first + 40)..<(first + 45) { log!.logImpression(impression(index)) }
        #expect(log!.lostLines == 0)
        log = nil
        // Released: deinit writes the rest (on the writes queue when a timed flush held the log last).
        var records = try loggedRecords(path)
        for _ in 0..<100 where records.count < first + 45 {
            try await Task.sleep(nanoseconds: 20_000_000)
            records = try loggedRecords(path)
        }
        #expect(records.keys(of: "recommendation_id") == (0..<(first + 45)).map { "a.\($0)" })
        #expect(records.allSatisfy { $0["type"] as? String == "impression" && ($0["items"] as? [Any])?.count == 2 })
        // Ids keep the canonical JSON form: a number when the raw id is an integer's text.
        let items = try #require(records[0]["items"] as? [Any])
        #expect(items[0] as? Int == 1003 && items[1] as? String == "x y")
    }

    /// Batched lines are written without a flush within a moment (the timer); a log that cannot be
    /// written never fails an answer, and counts the lines it lost.
    @Test func theTimerWritesAndAFailingLogCountsItsLosses() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        let path = fixture.folder.path + "/events.jsonl"
        let log = try EventsLog(path: path)
        try await fixture.abApp(eventsLog: log).test(.router) { client in
            #expect(try await client.variants(of: ["x", "y"]).count == 2)
            var records = try loggedRecords(path)
            for _ in 0..<100 where records.count < 3 {
                try await Task.sleep(nanoseconds: 20_000_000)
                records = try loggedRecords(path)
            }
            #expect(records.keys(of: "type") == ["start", "impression", "impression"])
        }
        let full = try EventsLog(path: fixture.folder.path + "/full.jsonl", logger: ReloadFixture.quiet) { _, _, _ in
            errno = ENOSPC
            return -1
        }
        try await fixture.abApp(eventsLog: full).test(.router) { client in
            let answers = try await client.variants(of: ["x", "y", "z"])
            #expect(answers.count == 3)
        }
        await full.flush()
        // The start line and three impressions.
        #expect(full.lostLines == 4)
    }
}

extension ImpressionLogTests {
    /// While a write stalls, at most `maximumQueuedLines` lines and `maximumQueuedItems` item ids
    /// wait: the lines over either are dropped and counted, the others all written once the disk answers.
    @Test(arguments: [
        (1, EventsLog.maximumQueuedLines + 10, EventsLog.maximumQueuedLines),
        // 1,000 ids a line: 2,097 lines hold 2,097,000 ids, one more would pass 2,097,152.
        (1000, 2_100, EventsLog.maximumQueuedItems / 1000),
    ])
    func overTheQueueBudgetLinesAreDroppedAndCounted(itemsPerLine: Int, sent: Int, kept: Int) async throws {
        let folder = try TemporaryFolder(prefix: "srgnn-impressions")
        defer { folder.cleanUp() }
        let path = folder.path + "/events.jsonl"
        let gate = DispatchSemaphore(value: 0), stalled = LockedBox(false), first = LockedBox(true)
        let log = try EventsLog(path: path, logger: ReloadFixture.quiet) { descriptor, bytes, count in
            // The first write stalls until the test opens the gate, as a disk that hangs.
            if first.take() {
                stalled.set(true)
                gate.wait()
            }
            return write(descriptor, bytes, count)
        }
        var opened = false
        defer { if !opened { gate.signal() } }
        log.logImpression(numberedImpression(0))
        for _ in 0..<200 where !stalled.value { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(stalled.value, "the timed flush did not start")
        let items = (0..<itemsPerLine).map { JSONItemID(String(1000 + $0 % 24)) }
        for index in 1...sent {
            log.logImpression(ImpressionRecord(date: Date(), recommendationID: "a.\(index)", model: "a", sessionID: nil, items: items))
        }
        #expect(log.lostLines == sent - kept)
        gate.signal()
        opened = true
        await log.flush()
        let records = try loggedRecords(path)
        #expect(records.count == 1 + kept)
        #expect(records.last?["recommendation_id"] as? String == "a.\(kept)")
        #expect(log.lostLines == sent - kept)
    }
}

extension Array where Element == [String: Any] {
    /// The string values of `key`, in order (nil where it is missing or not a string).
    fileprivate func keys(of key: String) -> [String?] { map { $0[key] as? String } }
}

extension HangupTests {
    /// A SIGHUP that reloads the variants writes a start line (trigger `SIGHUP`) after the first.
    @Test func sighupWritesAStartLine() async throws {
        let fixture = try ReloadFixture()
        defer { fixture.folder.cleanUp() }
        ignoreHangup()
        let path = fixture.folder.path + "/events.jsonl"
        let log = try EventsLog(path: path)
        try await fixture.abApp(eventsLog: log, reloadOnHangup: true).test(.live) { _ in
            var triggers = [String?]()
            for _ in 0..<100 where triggers.count < 2 {
                kill(getpid(), SIGHUP)
                try await Task.sleep(nanoseconds: 50_000_000)
                await log.flush()
                triggers = try loggedRecords(path).filter { $0["type"] as? String == "start" }.keys(of: "trigger")
            }
            #expect(triggers.prefix(2) == ["start", "SIGHUP"])
        }
    }
}
