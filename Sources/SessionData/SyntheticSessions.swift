import Foundation
import TensorCore

/// A seeded synthetic click log with learnable structure, for the built-in demo, benchmarks and
/// `srgnn synth` (logs of up to billions of clicks, streamed).
///
/// Items have skewed (Zipf) popularity, `P(rank r) ∝ 1/r^popularityExponent`, and each item has a
/// few fixed successors: a session starts at a popular item and mostly walks to a successor of its
/// last click, sometimes jumping to a random popular item. Session lengths follow a geometric law
/// (at least 2 clicks, at most 200) whose mean can be set to match a real dataset (Diginetica's
/// sessions average 4.85 clicks). An exponent below 1 spreads clicks over more of the catalogue, so
/// that more items pass preprocessing's support filter.
public struct SyntheticClickLog: Sendable {
    public struct Click: Sendable, Equatable {
        public var session: Int
        public var item: Int
        /// Seconds since 1970.
        public var timestamp: Int
    }

    public var itemCount: Int
    public var sessionCount: Int
    public var meanLength: Double
    public var followProbability: Double
    public var successorsPerItem: Int
    public var days: Int
    public var seed: UInt64
    /// The Zipf exponent of item popularity (1: the demo's law).
    public var popularityExponent: Double

    /// The first click's time: 2016-01-01T00:00:00Z.
    public static let startTime = 1_451_606_400

    public init(
        itemCount: Int = 2_000, sessionCount: Int = 20_000, meanLength: Double = 4.85,
        followProbability: Double = 0.75, successorsPerItem: Int = 3, days: Int = 60, seed: UInt64 = 42,
        popularityExponent: Double = 1
    ) {
        self.itemCount = itemCount
        self.sessionCount = sessionCount
        self.meanLength = meanLength
        self.followProbability = followProbability
        self.successorsPerItem = successorsPerItem
        self.days = days
        self.seed = seed
        self.popularityExponent = popularityExponent
    }

    /// The sessions as item-id lists (ids `1...itemCount`), in time order.
    public func sessions() -> [[Int32]] {
        var result = [[Int32]]()
        result.reserveCapacity(sessionCount)
        forEachSession { _, session in result.append(session) }
        return result
    }

    /// Calls `body` with each session's index (0-based, time order) and its items, one session at a
    /// time: memory is the catalogue's tables, not the log.
    public func forEachSession(_ body: (Int, [Int32]) throws -> Void) rethrows {
        var generator = SeededGenerator(seed: seed)
        // Zipf popularity via the inverse CDF over a cumulative table.
        var cumulative = [Double](repeating: 0, count: itemCount)
        var total = 0.0
        for rank in 0..<itemCount {
            // Exponent 1 keeps the demo's exact weights.
            total += popularityExponent == 1 ? 1 / Double(rank + 1) : 1 / pow(Double(rank + 1), popularityExponent)
            cumulative[rank] = total
        }
        // A random permutation so that popularity is not the item id's order.
        var identity = (1...itemCount).map { Int32($0) }
        identity.shuffle(using: &generator)
        func popularItem() -> Int32 {
            let u = Double(generator.next() >> 11) / Double(1 << 53) * total
            var low = 0, high = itemCount - 1
            while low < high { let mid = (low + high) / 2; if cumulative[mid] < u { low = mid + 1 } else { high = mid } }
            return identity[low]
        }
        // Item j's successors at [j·k, (j+1)·k), drawn in item order.
        let k = successorsPerItem
        var successors = [Int32](repeating: 0, count: (itemCount + 1) * k)
        for item in 1...itemCount { for slot in 0..<k { successors[item * k + slot] = popularItem() } }
        let continueProbability = 1 - 1 / max(meanLength - 1, 1)  // geometric tail beyond the first 2 clicks
        var session = [Int32]()
        session.reserveCapacity(200)
        for index in 0..<sessionCount {
            session.removeAll(keepingCapacity: true)
            session.append(popularItem())
            repeat {
                let last = Int(session[session.count - 1])
                let follow = Double(generator.next() >> 11) / Double(1 << 53) < followProbability
                let next = follow ? successors[last * k + Int(generator.next() % UInt64(k))] : popularItem()
                session.append(next)
            } while Double(generator.next() >> 11) / Double(1 << 53) < continueProbability && session.count < 200
            try body(index, session)
        }
    }

    /// When session `index` begins: sessions spread evenly over `days` days (its clicks are a minute apart).
    public func sessionStart(_ index: Int) -> Int {
        Self.startTime + Int(Double(index) / Double(max(sessionCount, 1)) * Double(days * 86_400))
    }

    /// The click log: sessions spread evenly over `days` days, clicks a minute apart.
    public func clicks() -> [Click] {
        var clicks = [Click]()
        forEachSession { index, session in
            let begin = sessionStart(index)
            for (position, item) in session.enumerated() {
                clicks.append(Click(session: index + 1, item: Int(item), timestamp: begin + 60 * position))
            }
        }
        return clicks
    }

    /// Writes the log as CSV (`session,item,timestamp`, a header line, ids from 1, unix seconds;
    /// `itemPrefix` before each item id) to `path` through a temporary file, streaming: memory
    /// does not grow with the log. `progress` gets the sessions and clicks written so far, every
    /// 1,000,000 sessions. Returns the clicks written.
    @discardableResult
    public func writeCSV(
        to path: String, itemPrefix: String = "", progress: (_ sessions: Int, _ clicks: Int) -> Void = { _, _ in }
    ) throws -> Int {
        let file = try AtomicFileWriter(path: path)
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        buffer.append(contentsOf: "session,item,timestamp\n".utf8)
        let prefix = Array(itemPrefix.utf8)
        var clicks = 0
        func appendNumber(_ value: Int) {  // a non-negative Int in decimal, most significant digit first
            var divisor = 1
            while divisor <= value / 10 { divisor *= 10 }
            var rest = value
            repeat {
                buffer.append(UInt8(48 + rest / divisor))
                rest %= divisor
                divisor /= 10
            } while divisor > 0
        }
        try forEachSession { index, session in
            let begin = sessionStart(index)
            for (position, item) in session.enumerated() {
                appendNumber(index + 1)
                buffer.append(0x2C)
                buffer.append(contentsOf: prefix)
                appendNumber(Int(item))
                buffer.append(0x2C)
                appendNumber(begin + 60 * position)
                buffer.append(0x0A)
            }
            clicks += session.count
            if buffer.count >= (1 << 20) - 4_096 {
                try buffer.withUnsafeBytes { try file.write($0) }
                buffer.removeAll(keepingCapacity: true)
            }
            if (index + 1) % 1_000_000 == 0 { progress(index + 1, clicks) }
        }
        try buffer.withUnsafeBytes { try file.write($0) }
        try file.commit()
        return clicks
    }
}
