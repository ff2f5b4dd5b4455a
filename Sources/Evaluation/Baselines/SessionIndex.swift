import Foundation
import TensorCore

/// Training sessions as two CSR indexes over their *distinct* items, for the neighbourhood baselines.
///
/// - session → items: `sessionItems[sessionOffsets[s] ..< sessionOffsets[s + 1]]`, ascending ids.
/// - item → sessions: `itemSessions[itemOffsets[i − 1] ..< itemOffsets[i]]`, ascending session index,
///   i.e. oldest first (session index = position in the training list = time order).
struct SessionIndex: Sendable {
    let itemCount: Int
    let sessionOffsets: [Int]
    let sessionItems: [Int32]
    let itemOffsets: [Int]
    let itemSessions: [Int32]

    var sessionCount: Int { sessionOffsets.count - 1 }

    /// Builds both indexes in O(clicks · log(session length)); ids outside 1...itemCount are dropped.
    init<Sessions: Collection>(sessions: Sessions, itemCount: Int)
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        precondition(sessions.count < Int(Int32.max), "too many sessions for Int32 indices")
        self.itemCount = itemCount
        var sessionOffsets = [0]
        sessionOffsets.reserveCapacity(sessions.count + 1)
        var sessionItems: [Int32] = []
        var distinct: [Int32] = []
        var itemCounts = [Int](repeating: 0, count: itemCount + 1)
        for session in sessions {
            distinct.removeAll(keepingCapacity: true)
            for item in session where item >= 1 && Int(item) <= itemCount { distinct.append(item) }
            distinct.sort()
            var previous: Int32 = 0
            for item in distinct where item != previous {
                sessionItems.append(item)
                itemCounts[Int(item)] += 1
                previous = item
            }
            sessionOffsets.append(sessionItems.count)
        }
        // Prefix sums give item offsets; a second pass fills postings in session order (ascending).
        var itemOffsets = [Int](repeating: 0, count: itemCount + 1)
        for i in 0..<itemCount { itemOffsets[i + 1] = itemOffsets[i] + itemCounts[i + 1] }
        var cursor = itemOffsets
        var itemSessions = [Int32](repeating: 0, count: sessionItems.count)
        for s in 0..<(sessionOffsets.count - 1) {
            for p in sessionOffsets[s]..<sessionOffsets[s + 1] {
                let i = Int(sessionItems[p]) - 1
                itemSessions[cursor[i]] = Int32(s)
                cursor[i] += 1
            }
        }
        self.sessionOffsets = sessionOffsets
        self.sessionItems = sessionItems
        self.itemOffsets = itemOffsets
        self.itemSessions = itemSessions
    }

    /// Number of training sessions that contain item `id`.
    @inline(__always) func sessionFrequency(of id: Int32) -> Int {
        itemOffsets[Int(id)] - itemOffsets[Int(id) - 1]
    }

    /// Distinct items of training session `s`.
    @inline(__always) func items(ofSession s: Int) -> ArraySlice<Int32> {
        sessionItems[sessionOffsets[s]..<sessionOffsets[s + 1]]
    }

    /// Visits the most recent `sampleSize` training sessions (0 = all) that contain at least one of
    /// `items` (distinct ids), most recent first: `body(session, matched)` where `matched` lists the
    /// indices into `items` of the items that session contains (their count is `|current ∩ session|`).
    ///
    /// A k-way merge walking the postings of `items` backwards from their ends: O(sampleSize · |items|).
    func forEachRecentSession(
        containingAnyOf items: [Int32], sampleSize: Int,
        _ body: (_ session: Int32, _ matched: [Int]) -> Void
    ) {
        var cursor = items.map { itemOffsets[Int($0)] - 1 }  // next posting to visit, walking down
        let floor = items.map { itemOffsets[Int($0) - 1] }
        var matched: [Int] = []
        matched.reserveCapacity(items.count)
        var visited = 0
        while sampleSize == 0 || visited < sampleSize {
            var newest: Int32 = -1
            for u in items.indices where cursor[u] >= floor[u] { newest = max(newest, itemSessions[cursor[u]]) }
            if newest < 0 { return }
            matched.removeAll(keepingCapacity: true)
            for u in items.indices where cursor[u] >= floor[u] && itemSessions[cursor[u]] == newest {
                matched.append(u)
                cursor[u] -= 1
            }
            body(newest, matched)
            visited += 1
        }
    }
}

/// The distinct valid items (1...itemCount) of a session, in order of first click.
func distinctItems(of session: ArraySlice<Int32>, itemCount: Int) -> [Int32] {
    var distinct: [Int32] = []
    distinct.reserveCapacity(session.count)
    for item in session where item >= 1 && Int(item) <= itemCount && !distinct.contains(item) { distinct.append(item) }
    return distinct
}

/// Keeps the `k` best of `candidates` by descending `score`, ties by descending `tieBreak`
/// (e.g. more recent session first, or lower item id via a negated id), in that order.
func best<T>(_ candidates: inout [T], k: Int, by score: (T) -> Float, tieBreak: (T) -> Int32) {
    candidates.sort { a, b in
        let sa = score(a), sb = score(b)
        return sa != sb ? sa > sb : tieBreak(a) > tieBreak(b)
    }
    if candidates.count > k { candidates.removeLast(candidates.count - k) }
}

/// Work split for fitting: worker `w` of `workers` takes indices w, w + workers, … (interleaved, so
/// popular low ids do not all land on one worker).
func interleaved(_ count: Int, threads: Int, _ body: (_ indices: StrideTo<Int>) -> Void) {
    let workers = max(1, min(threads, count))
    parallelFor(workers, threads: workers) { w in body(stride(from: w, to: count, by: workers)) }
}

/// The default thread count for fitting: the active processor count.
var defaultFitThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
