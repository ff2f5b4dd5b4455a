import Foundation

// Pure ranking metrics for next-item prediction with a single relevant item (the target).
//
// Conventions: item ids are 1...n; a score vector holds the score of item `id` at index `id − 1`;
// ranks are 1-based (rank 1 = best). Every metric at cutoff K is 0 when the rank exceeds K.

/// How ties between the target's score and other items' scores are ranked. With `g` items scoring
/// strictly higher than the target and `t` items (the target included) scoring exactly the same:
public enum TiePolicy: String, Sendable, Codable, CaseIterable {
    /// rank = g + 1: tied items rank *behind* the target (``rank(of:scores:)``). The reference SR-GNN
    /// and GRU4Rec evaluations count this way; dense model scores do not tie, so it is exact there.
    /// It flatters sparse-score baselines (SR, Item-KNN, SKNN): a target they did not score at all
    /// ties with thousands of items at 0 yet gets rank (#scored items + 1).
    case optimistic
    /// rank = g + t: tied items rank *ahead* of the target.
    case pessimistic
    /// Every metric is averaged over the ranks g + 1 … g + t, i.e. its expected value when tied items
    /// are put in uniformly random order (session-rec breaks ties with random jitter; this is that,
    /// without the noise). See ``averageOverTies(greater:tied:k:_:)``.
    case average
}

/// Where the target stands in a full score vector: `greater = #{ j : s_j > s_target }`,
/// `tied = #{ j : s_j = s_target }` (the target included, so `tied ≥ 1`).
public struct TargetPosition: Sendable, Equatable {
    public var greater: Int
    public var tied: Int

    public init(greater: Int, tied: Int) {
        self.greater = greater
        self.tied = tied
    }
}

/// Counts the items above and level with `target` in `scores` (`scores[id − 1]`, higher is better)
/// in one branch-free SIMD pass. A NaN target score ranks last (greater = n − 1, tied = 1).
@inlinable
public func targetPosition(of target: Int32, scores: UnsafeBufferPointer<Float>) -> TargetPosition {
    let index = Int(target) - 1
    precondition(index >= 0 && index < scores.count, "target \(target) is outside items 1...\(scores.count)")
    let targetScore = scores[index]
    if targetScore.isNaN { return TargetPosition(greater: scores.count - 1, tied: 1) }
    // 8 lanes at a time: the compiler keeps a scalar loop with branches, which mispredict on dense
    // scores; lane counters in Int32 cannot overflow (each lane sees < n/8 + 1 items).
    let count = scores.count, base = UnsafeRawPointer(scores.baseAddress!)
    let threshold = SIMD8<Float>(repeating: targetScore)
    var greaterLanes = SIMD8<Int32>(repeating: 0), tiedLanes = SIMD8<Int32>(repeating: 0)
    let one = SIMD8<Int32>(repeating: 1), zero = SIMD8<Int32>(repeating: 0)
    var j = 0
    while j + 8 <= count {
        let v = base.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        greaterLanes &+= zero.replacing(with: one, where: v .> threshold)
        tiedLanes &+= zero.replacing(with: one, where: v .== threshold)
        j += 8
    }
    var greater = Int(greaterLanes.wrappedSum()), tied = Int(tiedLanes.wrappedSum())
    while j < count {
        let score = scores[j]
        if score > targetScore { greater += 1 } else if score == targetScore { tied += 1 }
        j += 1
    }
    return TargetPosition(greater: greater, tied: tied)
}

/// The rank of `target` in a full score vector over items 1...n (`scores[id − 1]`, higher is better):
/// `rank = 1 + #{ j : scores[j] > scores[target − 1] }`. Ties are optimistic: items with exactly the
/// target's score do not push it down (see ``TiePolicy``).
@inlinable
public func rank(of target: Int32, scores: UnsafeBufferPointer<Float>) -> Int {
    targetPosition(of: target, scores: scores).greater + 1
}

/// ``rank(of:scores:)`` for an array of scores.
public func rank(of target: Int32, scores: [Float]) -> Int {
    scores.withUnsafeBufferPointer { rank(of: target, scores: $0) }
}

/// ``targetPosition(of:scores:)`` for an array of scores.
public func targetPosition(of target: Int32, scores: [Float]) -> TargetPosition {
    scores.withUnsafeBufferPointer { targetPosition(of: target, scores: $0) }
}

/// The 1-based position of `target` in a recommendation list (best first), or `nil` when absent.
public func rank(of target: Int32, in ranking: some Collection<Int32>) -> Int? {
    var position = 1
    for item in ranking {
        if item == target { return position }
        position += 1
    }
    return nil
}

// MARK: - Metrics of one rank

/// Hit rate at K: `HR@K = 1[rank ≤ K]`. The paper's "P@20" is HR@20 (the reference prints it as Recall@20).
@inlinable
public func hit(rank: Int, k: Int) -> Double { rank <= k ? 1 : 0 }

/// Reciprocal rank at K: `RR@K = 1/rank if rank ≤ K else 0`; its mean is MRR@K.
@inlinable
public func reciprocalRank(rank: Int, k: Int) -> Double { rank <= k ? 1 / Double(rank) : 0 }

/// NDCG at K with one relevant item: `DCG = 1/log2(rank + 1)` and the ideal DCG is `1/log2(2) = 1`,
/// so `NDCG@K = 1/log2(rank + 1) if rank ≤ K else 0`.
@inlinable
public func ndcg(rank: Int, k: Int) -> Double { rank <= k ? 1 / log2(Double(rank) + 1) : 0 }

/// Precision at K with one relevant item: `P@K = HR@K / K` (at most one of the K slots can be right).
@inlinable
public func precision(rank: Int, k: Int) -> Double { rank <= k ? 1 / Double(k) : 0 }

/// The mean of `metric(r, k)` over the ranks `r = g + 1 … g + t` the target can take among `t`
/// tied items (itself included) behind `g` better ones: the metric's expected value under a
/// uniformly random order of the tie. Only ranks ≤ k contribute, so it costs at most k terms:
/// `(1/t) Σ_{r = g+1}^{min(g+t, k)} metric(r, k)`.
public func averageOverTies(greater g: Int, tied t: Int, k: Int, _ metric: (_ rank: Int, _ k: Int) -> Double) -> Double {
    precondition(g >= 0 && t >= 1, "need greater ≥ 0 and tied ≥ 1")
    let last = min(g + t, k)
    guard last > g else { return 0 }
    var sum = 0.0
    for r in (g + 1)...last { sum += metric(r, k) }
    return sum / Double(t)
}

/// The value of `metric` at cutoff `k` for one example at `position`, its rank taken as `ties`
/// says: what ``MetricAccumulator/add(_:ties:)`` adds for that example.
public func metricValue(_ metric: (_ rank: Int, _ k: Int) -> Double, at position: TargetPosition, k: Int, ties: TiePolicy) -> Double {
    switch ties {
    case .optimistic: metric(position.greater + 1, k)
    case .pessimistic: metric(position.greater + position.tied, k)
    case .average: averageOverTies(greater: position.greater, tied: position.tied, k: k, metric)
    }
}

// MARK: - Metrics of a recommendation list (RecBole style: `reciprocalRank(of: 7, in: [3, 9, 7]) == 1/3`)

/// ``hit(rank:k:)`` of `target` in a list (best first); `k` defaults to the list's length.
public func hit(of target: Int32, in ranking: [Int32], k: Int? = nil) -> Double {
    listMetric(target, ranking, k, hit(rank:k:))
}

/// ``reciprocalRank(rank:k:)`` of `target` in a list (best first); `k` defaults to the list's length.
public func reciprocalRank(of target: Int32, in ranking: [Int32], k: Int? = nil) -> Double {
    listMetric(target, ranking, k, reciprocalRank(rank:k:))
}

/// ``ndcg(rank:k:)`` of `target` in a list (best first); `k` defaults to the list's length.
public func ndcg(of target: Int32, in ranking: [Int32], k: Int? = nil) -> Double {
    listMetric(target, ranking, k, ndcg(rank:k:))
}

/// ``precision(rank:k:)`` of `target` in a list (best first); `k` defaults to the list's length.
public func precision(of target: Int32, in ranking: [Int32], k: Int? = nil) -> Double {
    listMetric(target, ranking, k, precision(rank:k:))
}

private func listMetric(_ target: Int32, _ ranking: [Int32], _ k: Int?, _ metric: (Int, Int) -> Double) -> Double {
    let k = k ?? ranking.count
    guard let position = rank(of: target, in: ranking.prefix(k)) else { return 0 }
    return metric(position, k)
}

// MARK: - Beyond accuracy

/// Item coverage at K: `|⋃_e top_K(e)| / n`, the fraction of all n items that appear in at least
/// one top-K list (session-rec `Coverage`, whose denominator is the number of training items).
public func coverage(of lists: [[Int32]], itemCount: Int) -> Double {
    var accumulator = CoverageAccumulator(itemCount: itemCount, k: .max)
    for list in lists { accumulator.add(list) }
    return accumulator.coverage
}

/// Popularity bias at K (session-rec `Popularity`): with `pop(i)` the training click count of item i
/// and `pop_max` its maximum, each list scores the mean normalised popularity of its distinct items,
/// `b(e) = (1/|U_e|) Σ_{i ∈ U_e} pop(i)/pop_max` with `U_e` = the distinct items of top_K(e); the
/// metric is the mean of `b(e)` over lists. 1 means "always the most popular items"; near 0, niche
/// items. `popularity[id − 1]` is the count of item `id`.
public func popularityBias(of lists: [[Int32]], popularity: [Int]) -> Double {
    var accumulator = CoverageAccumulator(itemCount: popularity.count, k: .max, popularity: popularity)
    for list in lists { accumulator.add(list) }
    return accumulator.popularityBias ?? 0
}

/// Training click counts: `popularity[id − 1]` = how often item `id` occurs in `sessions` (repeats
/// within a session count). Ids outside 1...itemCount are ignored.
public func itemPopularity<Sessions: Collection>(of sessions: Sessions, itemCount: Int) -> [Int]
where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
    var counts = [Int](repeating: 0, count: itemCount)
    for session in sessions {
        for item in session where item >= 1 && Int(item) <= itemCount { counts[Int(item) - 1] += 1 }
    }
    return counts
}

// MARK: - Accumulators

/// Mean metrics at one cutoff, in percent (0...100), over `examples` test examples.
public struct MetricValues: Sendable, Codable, Equatable {
    public var k: Int
    /// HR@K in % (the paper's P@20).
    public var hitRate: Double
    /// MRR@K in %.
    public var mrr: Double
    /// NDCG@K in %.
    public var ndcg: Double
    /// Precision@K in % (= HR@K / K).
    public var precision: Double
}

/// Sums HR, RR, NDCG and precision per example at each cutoff in `cutoffs`; reports means in percent.
///
/// Precision is derived as `HR@K / K`. Accumulators of disjoint example sets merge by adding, so
/// parallel workers each keep one and the evaluator merges them; the means then agree with a serial
/// run up to the last bits of the Double sums (exactly for hit rates without `.average` ties).
public struct MetricAccumulator: Sendable, Equatable {
    public let cutoffs: [Int]
    public private(set) var examples: Int = 0
    // Sums per cutoff, in the order of `cutoffs`.
    private var hits: [Double], reciprocalRanks: [Double], ndcgs: [Double]

    public init(cutoffs: [Int]) {
        precondition(cutoffs.allSatisfy { $0 > 0 }, "cutoffs must be positive")
        self.cutoffs = cutoffs
        hits = Array(repeating: 0, count: cutoffs.count)
        reciprocalRanks = hits
        ndcgs = hits
    }

    /// Adds one example whose target has rank `rank` (1-based).
    public mutating func add(rank: Int) {
        examples += 1
        for (c, k) in cutoffs.enumerated() where rank <= k {
            hits[c] += 1
            reciprocalRanks[c] += reciprocalRank(rank: rank, k: k)
            ndcgs[c] += ndcg(rank: rank, k: k)
        }
    }

    /// Adds one example at `position`, ranked by the tie policy `ties`.
    public mutating func add(_ position: TargetPosition, ties: TiePolicy) {
        switch ties {
        case .optimistic: add(rank: position.greater + 1)
        case .pessimistic: add(rank: position.greater + position.tied)
        case .average:
            if position.tied == 1 { add(rank: position.greater + 1); return }
            examples += 1
            for (c, k) in cutoffs.enumerated() where position.greater < k {
                hits[c] += averageOverTies(greater: position.greater, tied: position.tied, k: k, hit(rank:k:))
                reciprocalRanks[c] += averageOverTies(greater: position.greater, tied: position.tied, k: k, reciprocalRank(rank:k:))
                ndcgs[c] += averageOverTies(greater: position.greater, tied: position.tied, k: k, ndcg(rank:k:))
            }
        }
    }

    /// Adds the sums of another accumulator over the same cutoffs.
    public mutating func merge(_ other: MetricAccumulator) {
        precondition(other.cutoffs == cutoffs, "cannot merge accumulators with different cutoffs")
        examples += other.examples
        for c in cutoffs.indices {
            hits[c] += other.hits[c]
            reciprocalRanks[c] += other.reciprocalRanks[c]
            ndcgs[c] += other.ndcgs[c]
        }
    }

    /// `100 · sum / examples` at each cutoff (zeros before any example).
    public var values: [MetricValues] {
        let scale = examples == 0 ? 0 : 100 / Double(examples)
        return cutoffs.indices.map { c in
            MetricValues(
                k: cutoffs[c], hitRate: hits[c] * scale, mrr: reciprocalRanks[c] * scale,
                ndcg: ndcgs[c] * scale, precision: hits[c] * scale / Double(cutoffs[c]))
        }
    }

    /// The values at cutoff `k`, if it is one of `cutoffs`.
    public func values(at k: Int) -> MetricValues? { values.first { $0.k == k } }
}

/// Accumulates top-K lists for ``coverage(of:itemCount:)`` and ``popularityBias(of:popularity:)``
/// without keeping the lists: a seen-flag per item, and the sum over lists of `b(e)`.
public struct CoverageAccumulator: Sendable {
    public let itemCount: Int
    /// The K of the lists (informational; `add` takes whatever list it is given).
    public let k: Int
    public private(set) var lists: Int = 0
    private var seen: [Bool]
    private let normalisedPopularity: [Double]?
    private var popularitySum: Double = 0

    /// `popularity[id − 1]` = training click count of item `id`; `nil` disables popularity bias.
    public init(itemCount: Int, k: Int, popularity: [Int]? = nil) {
        precondition(popularity == nil || popularity!.count == itemCount, "popularity must have itemCount entries")
        self.itemCount = itemCount
        self.k = k
        seen = [Bool](repeating: false, count: itemCount)
        normalisedPopularity = popularity.map { counts in
            let maximum = Double(max(1, counts.max() ?? 1))
            return counts.map { Double($0) / maximum }
        }
    }

    /// Adds one recommendation list (item ids, best first); repeated ids count once.
    public mutating func add(_ list: some Collection<Int32>) {
        lists += 1
        var distinct: [Int32] = []
        distinct.reserveCapacity(list.count)
        for item in list where !distinct.contains(item) { distinct.append(item) }
        for item in distinct { seen[Int(item) - 1] = true }
        if let normalisedPopularity, !distinct.isEmpty {
            popularitySum += distinct.reduce(0) { $0 + normalisedPopularity[Int($1) - 1] } / Double(distinct.count)
        }
    }

    public mutating func merge(_ other: CoverageAccumulator) {
        precondition(other.itemCount == itemCount, "cannot merge accumulators over different item counts")
        lists += other.lists
        for i in 0..<itemCount where other.seen[i] { seen[i] = true }
        popularitySum += other.popularitySum
    }

    /// Fraction (0...1) of the items that appeared in at least one list.
    public var coverage: Double {
        itemCount == 0 ? 0 : Double(seen.lazy.filter { $0 }.count) / Double(itemCount)
    }

    /// Mean over lists of the mean normalised popularity of each list's items (0...1), or `nil`
    /// without popularity counts.
    public var popularityBias: Double? {
        guard normalisedPopularity != nil else { return nil }
        return lists == 0 ? 0 : popularitySum / Double(lists)
    }
}
