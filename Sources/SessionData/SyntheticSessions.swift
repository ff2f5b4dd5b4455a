import Foundation
import TensorCore

/// A seeded synthetic click log with learnable structure, for the built-in demo and benchmarks.
///
/// Items have skewed (Zipf-like) popularity, and each item has a few fixed successors: a session
/// starts at a popular item and mostly walks to a successor of its last click, sometimes jumping
/// to a random popular item. Session lengths follow a geometric law (at least 2 clicks) whose mean
/// can be set to match a real dataset (Diginetica's sessions average 4.85 clicks).
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

    public init(
        itemCount: Int = 2_000, sessionCount: Int = 20_000, meanLength: Double = 4.85,
        followProbability: Double = 0.75, successorsPerItem: Int = 3, days: Int = 60, seed: UInt64 = 42
    ) {
        self.itemCount = itemCount
        self.sessionCount = sessionCount
        self.meanLength = meanLength
        self.followProbability = followProbability
        self.successorsPerItem = successorsPerItem
        self.days = days
        self.seed = seed
    }

    /// The sessions as item-id lists (ids `1...itemCount`), in time order.
    public func sessions() -> [[Int32]] {
        var generator = SeededGenerator(seed: seed)
        // Zipf(1) popularity via the inverse CDF over a cumulative table.
        var cumulative = [Double](repeating: 0, count: itemCount)
        var total = 0.0
        for rank in 0..<itemCount { total += 1 / Double(rank + 1); cumulative[rank] = total }
        // A random permutation so that popularity is not the item id's order.
        var identity = Array(1...itemCount)
        identity.shuffle(using: &generator)
        func popularItem() -> Int {
            let u = Double(generator.next() >> 11) / Double(1 << 53) * total
            var low = 0, high = itemCount - 1
            while low < high { let mid = (low + high) / 2; if cumulative[mid] < u { low = mid + 1 } else { high = mid } }
            return identity[low]
        }
        var successors = [[Int]](repeating: [], count: itemCount + 1)
        for item in 1...itemCount { successors[item] = (0..<successorsPerItem).map { _ in popularItem() } }
        let continueProbability = 1 - 1 / max(meanLength - 1, 1)  // geometric tail beyond the first 2 clicks
        var result = [[Int32]]()
        result.reserveCapacity(sessionCount)
        for _ in 0..<sessionCount {
            var session = [Int32(popularItem())]
            repeat {
                let last = Int(session[session.count - 1])
                let follow = Double(generator.next() >> 11) / Double(1 << 53) < followProbability
                let next = follow ? successors[last][Int(generator.next() % UInt64(successorsPerItem))] : popularItem()
                session.append(Int32(next))
            } while Double(generator.next() >> 11) / Double(1 << 53) < continueProbability && session.count < 200
            result.append(session)
        }
        return result
    }

    /// The click log: sessions spread evenly over `days` days, clicks a minute apart.
    public func clicks() -> [Click] {
        let start = 1_451_606_400  // 2016-01-01T00:00:00Z
        let span = days * 86_400
        var clicks = [Click]()
        for (index, session) in sessions().enumerated() {
            let begin = start + Int(Double(index) / Double(max(sessionCount, 1)) * Double(span))
            for (position, item) in session.enumerated() {
                clicks.append(Click(session: index + 1, item: Int(item), timestamp: begin + 60 * position))
            }
        }
        return clicks
    }
}
