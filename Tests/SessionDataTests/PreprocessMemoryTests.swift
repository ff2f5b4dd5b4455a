import Foundation
import TensorCore
import TestSupport
import Testing
@testable import SessionData

/// Preprocessing's memory rules (docs/DATASET.md, "Memory"): session ids in a compact table, the
/// log's click arrays taken over rather than copied, filtering in place, files written in pieces.
@Suite("Preprocess memory")
struct PreprocessMemoryTests {
    /// A hand-made log: `sessions[c]` and `items[c]` per click, `order` per click (or none).
    func makeLog(sessions: [Int32], items: [Int32], order: [Double], itemCount: Int) -> ClickLog {
        var log = ClickLog(path: "memory-test")
        // Fresh buffers (`map`), never a literal's: the tests below check that storage is reused.
        log.clickSession = sessions.map { $0 }
        log.clickItem = items.map { $0 }
        log.clickOrder = order.map { $0 }
        let sessionCount = Int(sessions.max() ?? -1) + 1
        log.sessionDate = [Double](repeating: 0, count: sessionCount)
        log.sessionDateRank = (0..<Int32(sessionCount)).map { $0 }
        log.itemKeys = (0..<itemCount).map { "i\($0)" }
        return log
    }

    /// Grouping as plainly as it can be written: each session's clicks in file order, sorted stably by their order key.
    func naiveGrouping(_ log: ClickLog) -> (items: [Int32], start: [Int]) {
        var items: [Int32] = [], start = [0]
        for s in 0..<log.sessionCount {
            var clicks = log.clickSession.indices.filter { log.clickSession[$0] == Int32(s) }
            if !log.clickOrder.isEmpty {
                clicks.sort { (log.clickOrder[$0], $0) < (log.clickOrder[$1], $1) }
            }
            items += clicks.map { log.clickItem[$0] }
            start.append(items.count)
        }
        return (items, start)
    }

    @Test("grouping by session: interleaved or already grouped, sorted or not, the same as the plain rule")
    func groupingMatchesThePlainRule() {
        var random = SeededGenerator(seed: 31)
        for trial in 0..<40 {
            let sessionCount = Int.random(in: 1...25, using: &random)
            let clickCount = Int.random(in: 1...300, using: &random)
            var sessions = (0..<clickCount).map { _ in Int32.random(in: 0..<Int32(sessionCount), using: &random) }
            if trial % 2 == 0 { sessions.sort() }  // already grouped: the path without a copy
            // Sessions numbered by first appearance, as the reader does.
            var number: [Int32: Int32] = [:]
            sessions = sessions.map { s in
                if let n = number[s] { return n }
                number[s] = Int32(number.count)
                return number[s]!
            }
            let items = (0..<clickCount).map { _ in Int32.random(in: 0..<40, using: &random) }
            // Few distinct keys, so that ties keep file order; none when file order is kept.
            let order = trial % 4 == 3 ? [] : (0..<clickCount).map { _ in Double(Int.random(in: 0..<4, using: &random)) }
            var log = makeLog(sessions: sessions, items: items, order: order, itemCount: 40)
            let expected = naiveGrouping(log)
            let grouped = Preprocessor.groupBySession(releasing: &log)
            #expect(grouped.items == expected.items, "trial \(trial)")
            #expect(grouped.start == expected.start, "trial \(trial)")
            #expect(log.clickSession.isEmpty && log.clickItem.isEmpty && log.clickOrder.isEmpty, "the log's clicks are released")
        }
    }

    @Test("permuting in place follows every cycle")
    func permuteInPlace() {
        var random = SeededGenerator(seed: 7)
        for count in [0, 1, 2, 17, 1000] {
            let destinations = Array(0..<Int32(count)).shuffled(using: &random)
            let values = (0..<count).map { _ in Double.random(in: 0..<1, using: &random) }
            var expected = [Double](repeating: 0, count: count)
            for c in 0..<count { expected[Int(destinations[c])] = values[c] }
            var permuted = values, scratch = destinations
            Preprocessor.permute(&permuted, to: &scratch)
            #expect(permuted == expected)
        }
    }

    @Test("a grouped log's items are sorted and filtered in the log's own storage, not copied")
    func groupedLogIsNotCopied() throws {
        // Sessions 0, 1, 2 consecutive; session 1 written out of order; item 3 is rare.
        var log = makeLog(
            sessions: [0, 0, 0, 1, 1, 1, 2, 2, 2],
            items: [0, 1, 2, 2, 1, 0, 0, 3, 1],
            order: [1, 2, 3, 30, 20, 10, 5, 6, 7], itemCount: 4)
        let storage = log.clickItem.withUnsafeBufferPointer { $0.baseAddress }
        var grouped = Preprocessor.groupBySession(releasing: &log)
        #expect(grouped.items == [0, 1, 2, 0, 1, 2, 0, 3, 1])
        #expect(grouped.items.withUnsafeBufferPointer { $0.baseAddress } == storage)
        var summary = PreprocessSummary()
        let filtered = try Preprocessor.filterSessions(
            &grouped, log: log, options: PreprocessOptions(minimumItemSupport: 2), summary: &summary)
        #expect(filtered.clicks.items == [0, 1, 2, 0, 1, 2, 0, 1])
        #expect(filtered.clicks.start == [0, 3, 6, 8])
        #expect(filtered.clicks.items.withUnsafeBufferPointer { $0.baseAddress } == storage)
        #expect(summary.rareItemClicks == 1)
    }

    @Test("filtering in place: short and emptied sessions leave no clicks behind")
    func filteringInPlace() throws {
        // Session 0 is one click (short); session 1 loses its rare item and is left with one click;
        // sessions 2 and 3 survive, 3 without its rare item.
        var log = makeLog(
            sessions: [0, 1, 1, 2, 2, 2, 3, 3, 3],
            items: [0, 0, 5, 0, 1, 0, 1, 5, 1],
            order: [], itemCount: 6)
        var grouped = Preprocessor.groupBySession(releasing: &log)
        var summary = PreprocessSummary()
        let filtered = try Preprocessor.filterSessions(
            &grouped, log: log, options: PreprocessOptions(minimumItemSupport: 3), summary: &summary)
        #expect(filtered.clicks.items == [0, 1, 0, 1, 1])
        #expect(filtered.clicks.start == [0, 0, 0, 3, 5])
        #expect(filtered.alive == [false, false, true, true])
        #expect(summary.shortSessions == 1 && summary.sessionsShortAfterItemFilter == 1)
        #expect(summary.rareItemClicks == 2 && summary.clicksShortAfterItemFilter == 1)
    }

    @Test("session ids: byte for byte, numbered by first appearance, kept only when asked")
    func sessionKeyTable() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // 3,000 ids (the table grows past its first 1,024 slots), revisited out of order, and
        // "café" in two canonically equivalent spellings, which are two ids.
        var ids = (0..<3_000).map { "s\($0 * 7919 % 3_000)" } + ["caf\u{E9}", "cafe\u{301}"]
        ids += ids.reversed()
        let rows = ids.enumerated().map { "\($0.element),item,\($0.offset)" }
        let path = try folder.file("log.csv", "session,item,time\n" + rows.joined(separator: "\n") + "\n")
        let format = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("session"), item: .name("item"),
            time: .name("time"), timeFormat: .unix)
        let kept = try ClickLogReader(format: format).read(path)
        let distinct = Array(ids.prefix(3_002))
        #expect(kept.sessionKeys.count == 3_002)
        #expect(zip(kept.sessionKeys, distinct).allSatisfy { $0.utf8.elementsEqual($1.utf8) })
        #expect(kept.clickSession == (0..<3_002).map { Int32($0) } + (0..<3_002).reversed().map { Int32($0) })
        let lean = try ClickLogReader(format: format).read(path, keepingSessionKeys: false)
        #expect(lean.sessionKeys.isEmpty)
        #expect(lean.sessionCount == 3_002)
        #expect(lean.clickSession == kept.clickSession)
        #expect(lean.sessionDateRank == kept.sessionDateRank)
        #expect(lean.sessionDate == kept.sessionDate)
    }

    @Test("the derived-examples check agrees with building the augmentation and comparing")
    func isAugmentation() {
        let sessions = SessionList([[1, 2, 3, 4], [5], [6, 7], [8, 9, 10]])
        let derived = ExampleSet.augmenting(sessions, skippingFirst: 0)
        let copy = ExampleSet(prefixes: derived.prefixArrays, targets: derived.targets)  // other storage
        for skip in 0...8 {
            let expected = ExampleSet.augmenting(sessions, skippingFirst: skip)
            for candidate in [expected, ExampleSet(prefixes: expected.prefixArrays, targets: expected.targets), derived, copy] {
                #expect(candidate.isAugmentation(of: sessions, skippingFirst: skip) == (candidate == expected), "skip \(skip)")
            }
        }
        var wrongTarget = copy
        wrongTarget.targets[2] = 9
        #expect(!wrongTarget.isAugmentation(of: sessions, skippingFirst: 0))
        var wrongClick = copy
        wrongClick.items[0] = 7
        #expect(!wrongClick.isAugmentation(of: sessions, skippingFirst: 0))
        let shorter = ExampleSet(prefixes: Array(derived.prefixArrays.dropLast()), targets: Array(derived.targets.dropLast()))
        #expect(!shorter.isAugmentation(of: sessions, skippingFirst: 0))
    }

    @Test("files larger than the write buffer come back whole")
    func filesWrittenInPieces() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        var random = SeededGenerator(seed: 5)
        var train = SessionList(), test = SessionList()
        for s in 0..<150_000 {
            let session = (0..<Int.random(in: 2...7, using: &random)).map { _ in Int32.random(in: 1...99_999, using: &random) }
            if s % 5 == 0 { test.append(session) } else { train.append(session) }
        }
        let dataset = SessionDataset(
            trainSessions: train, train: ExampleSet.augmenting(train), test: ExampleSet.augmenting(test),
            vocabulary: ItemVocabulary(rawIDs: (1...99_999).map { "item\($0)" }), itemCount: 99_999)
        try DatasetFolder.write(dataset, to: folder.path + "/out")
        let size = try FileManager.default.attributesOfItem(atPath: folder.path + "/out/train_sessions.txt")[.size] as! Int
        #expect(size > 2 * DatasetFolder.TextFileWriter.flushSize)
        let loaded = try DatasetFolder.loadNative(folder.path + "/out")
        expectSameSessions(loaded.trainSessions, train, "train sessions")
        expectSameExamples(loaded.test, dataset.test, "test examples")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/out/train_examples.txt"))
    }
}
