import Foundation
import SessionData
import TensorCore
import TestSupport
import Testing

/// The synthetic log behind the demo, the bench and `srgnn synth` (issue 31 item 3).
@Suite struct SyntheticLogTests {
    /// The demo's generator as first written (nested successor lists, `[Int]` permutation): the
    /// streamed one must give the very same sessions, so the demo and `srgnn bench` are unchanged.
    static func demoSessions(_ log: SyntheticClickLog) -> [[Int32]] {
        var generator = SeededGenerator(seed: log.seed)
        var cumulative = [Double](repeating: 0, count: log.itemCount)
        var total = 0.0
        for rank in 0..<log.itemCount { total += 1 / Double(rank + 1); cumulative[rank] = total }
        var identity = Array(1...log.itemCount)
        identity.shuffle(using: &generator)
        func popularItem() -> Int {
            let u = Double(generator.next() >> 11) / Double(1 << 53) * total
            var low = 0, high = log.itemCount - 1
            while low < high { let mid = (low + high) / 2; if cumulative[mid] < u { low = mid + 1 } else { high = mid } }
            return identity[low]
        }
        var successors = [[Int]](repeating: [], count: log.itemCount + 1)
        for item in 1...log.itemCount { successors[item] = (0..<log.successorsPerItem).map { _ in popularItem() } }
        let continueProbability = 1 - 1 / max(log.meanLength - 1, 1)
        var result = [[Int32]]()
        for _ in 0..<log.sessionCount {
            var session = [Int32(popularItem())]
            repeat {
                let last = Int(session[session.count - 1])
                let follow = Double(generator.next() >> 11) / Double(1 << 53) < log.followProbability
                let next = follow ? successors[last][Int(generator.next() % UInt64(log.successorsPerItem))] : popularItem()
                session.append(Int32(next))
            } while Double(generator.next() >> 11) / Double(1 << 53) < continueProbability && session.count < 200
            result.append(session)
        }
        return result
    }

    @Test func theDemosLogIsUnchanged() {
        for log in [SyntheticClickLog(itemCount: 300, sessionCount: 500, seed: 3), SyntheticClickLog()] {
            #expect(log.sessions() == Self.demoSessions(log))
        }
    }

    /// A lower exponent spreads the clicks over more of the catalogue.
    @Test func popularityExponentSpreadsClicks() {
        func distinct(_ exponent: Double) -> Int {
            Set(SyntheticClickLog(itemCount: 20_000, sessionCount: 3_000, seed: 5, popularityExponent: exponent).sessions().joined()).count
        }
        let steep = distinct(1.2), demo = distinct(1), flat = distinct(0.5)
        #expect(steep < demo && demo < flat, "\(steep) \(demo) \(flat)")
    }

    /// The CSV holds every click of `clicks()`, in order, with the header `preprocess` reads.
    @Test func csvIsTheClicks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = SyntheticClickLog(itemCount: 500, sessionCount: 700, seed: 9, popularityExponent: 0.8)
        let path = folder.path + "/clicks.csv"
        let written = try log.writeCSV(to: path, itemPrefix: "sku-")
        let expected = log.clicks()
        #expect(written == expected.count)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "session,item,timestamp")
        #expect(Array(lines.dropFirst()) == expected.map { "\($0.session),sku-\($0.item),\($0.timestamp)" })
        let read = try ClickLogReader(
            format: ClickLogFormat(
                delimiter: UInt8(ascii: ","), header: .present, session: .name("session"), item: .name("item"),
                time: .name("timestamp"), timeFormat: .unix)
        ).read(path)
        #expect(read.clickCount == expected.count && read.sessionCount == 700)
    }
}
