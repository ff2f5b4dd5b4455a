import TensorCore

// Paired tests between models evaluated on the same test examples: a bootstrap confidence interval
// of the mean difference and a sign-flip randomisation test of "no difference".

/// Per-example HR@K and RR@K (each 0...1) of one model, in example order: the inputs of the
/// paired tests. Their means × 100 are the report's HR@K and MRR@K.
public struct PerExampleMetrics: Sendable, Equatable {
    public var k: Int
    public var hits: [Double]
    public var reciprocalRanks: [Double]

    public init(k: Int, hits: [Double], reciprocalRanks: [Double]) {
        precondition(hits.count == reciprocalRanks.count, "one hit and one reciprocal rank per example")
        self.k = k
        self.hits = hits
        self.reciprocalRanks = reciprocalRanks
    }

    /// The values at cutoff `k` of examples at `positions`, with ties ranked as the evaluator ranked them.
    public init(positions: [TargetPosition], k: Int, ties: TiePolicy) {
        self.init(
            k: k, hits: positions.map { metricValue(hit(rank:k:), at: $0, k: k, ties: ties) },
            reciprocalRanks: positions.map { metricValue(reciprocalRank(rank:k:), at: $0, k: k, ties: ties) })
    }

    public var count: Int { hits.count }
}

/// How `srgnn compare` tests: resample and permutation counts, the confidence level and the seed.
public struct SignificanceSettings: Sendable, Codable, Equatable {
    /// Bootstrap resamples of the test examples. 2,000 puts the 2.5 % and 97.5 % percentiles 50
    /// order statistics from the ends, enough for two stable decimals of a difference in percent.
    public var bootstrapResamples = 2_000
    /// Random sign assignments of the sign-flip test. 10,000 resolves p to about ±0.002 near 0.05
    /// (standard error √(p(1 − p)/10,000)); the smallest p it can report is 1/10,001.
    public var permutations = 10_000
    public var level = 0.95
    public var seed: UInt64 = 0

    enum CodingKeys: String, CodingKey {
        case level, seed
        case bootstrapResamples = "bootstrap_resamples", permutations
    }

    public init() {}
}

/// One model against the reference on one metric, in the units of the values given (the report
/// gives percent): the observed mean difference `model − reference`, its paired bootstrap
/// percentile interval, and the two-sided sign-flip p-value.
public struct PairedComparison: Sendable, Codable, Equatable {
    public var difference: Double
    public var lower: Double
    public var upper: Double
    public var pValue: Double

    enum CodingKeys: String, CodingKey {
        case difference, lower, upper
        case pValue = "p_value"
    }

    public init(difference: Double, lower: Double, upper: Double, pValue: Double) {
        self.difference = difference
        self.lower = lower
        self.upper = upper
        self.pValue = pValue
    }
}

/// Bootstrap means of several columns over the same resamples: for each of `resamples` resamples,
/// `n` example indices are drawn with replacement (`index = next() mod n` from one
/// `SeededGenerator(seed:)`, in order; the bias of the modulo is below n / 2⁶⁴), and every column's
/// mean over the drawn indices is recorded. Returns `[column][resample]`.
///
/// Sharing the draws pairs the columns: the difference of two columns' means in a resample is the
/// mean of their per-example differences in it, so percentiles of those differences are the paired
/// bootstrap interval of the mean difference.
public func bootstrapMeans(of columns: [[Double]], resamples: Int, seed: UInt64) -> [[Double]] {
    precondition(resamples >= 1, "need at least one resample")
    let n = columns.first?.count ?? 0
    precondition(n > 0 && columns.allSatisfy { $0.count == n }, "columns must be non-empty and of one length")
    let width = columns.count
    // Example-major copy: one drawn index reads one contiguous row of `width` values.
    var rows = [Double](repeating: 0, count: n * width)
    for (c, column) in columns.enumerated() { for i in 0..<n { rows[i * width + c] = column[i] } }
    var means = [[Double]](repeating: [Double](repeating: 0, count: resamples), count: width)
    var sums = [Double](repeating: 0, count: width)
    var generator = SeededGenerator(seed: seed)
    let count = UInt64(n)
    rows.withUnsafeBufferPointer { rows in
        for b in 0..<resamples {
            for c in 0..<width { sums[c] = 0 }
            for _ in 0..<n {
                let row = Int(generator.next() % count) * width
                for c in 0..<width { sums[c] += rows[row + c] }
            }
            for c in 0..<width { means[c][b] = sums[c] / Double(n) }
        }
    }
    return means
}

/// The central `level` interval of `values` by percentiles: the `(1 − level)/2` and
/// `(1 + level)/2` quantiles, each interpolated linearly between order statistics at position
/// `q · (count − 1)` (numpy's default, R's type 7).
public func percentileInterval(of values: [Double], level: Double) -> (lower: Double, upper: Double) {
    precondition(!values.isEmpty && level > 0 && level < 1, "need values and a level in (0, 1)")
    let sorted = values.sorted()
    func quantile(_ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        return sorted[below] + (position - Double(below)) * (sorted[above] - sorted[below])
    }
    return (quantile((1 - level) / 2), quantile((1 + level) / 2))
}

/// The two-sided p-value of a paired sign-flip (randomisation) test of "the mean difference is 0".
///
/// Under that hypothesis each per-example difference `d_i` is as likely to have the other sign, so
/// the statistic `T = |Σ d_i|` is compared with `|Σ ± d_i|` over sign assignments. Zero differences
/// change no sum and are left out; with `m` non-zero differences:
/// - when `2^m ≤ permutations`, all `2^m` assignments are enumerated: `p = #{|Σ ± d_i| ≥ T} / 2^m`
///   (exact; the observed assignment is one of them, so p ≥ 2⁻ᵐ);
/// - otherwise `permutations` random assignments (one bit of `SeededGenerator(seed:).next()` per
///   difference, in order, a set bit flipping the sign) give `p = (1 + #{|Σ ± d_i| ≥ T}) / (1 + permutations)`,
///   which counts the observed assignment and so is never 0.
/// Sums within `1e-9 · Σ|d_i|` of `T` count as reaching it (rounding of equal sums added in another order).
/// No non-zero difference gives p = 1.
public func signFlipPValue(differences: [Double], permutations: Int, seed: UInt64) -> Double {
    precondition(permutations >= 1, "need at least one permutation")
    let nonzero = differences.filter { $0 != 0 }
    let m = nonzero.count
    guard m > 0 else { return 1 }
    let observed = abs(nonzero.reduce(0, +))
    let threshold = observed - 1e-9 * nonzero.reduce(0) { $0 + abs($1) }
    return nonzero.withUnsafeBufferPointer { d in
        if m < 63 && (1 << m) <= permutations {
            var reaching = 0
            for signs in 0..<(1 << m) {
                var total = 0.0
                for j in 0..<m { total += (signs >> j) & 1 == 0 ? d[j] : -d[j] }
                if abs(total) >= threshold { reaching += 1 }
            }
            return Double(reaching) / Double(1 << m)
        }
        var generator = SeededGenerator(seed: seed)
        var reaching = 0
        for _ in 0..<permutations {
            var total = 0.0
            var start = 0
            while start < m {
                let bits = generator.next(), end = min(start + 64, m)
                for j in start..<end { total += (bits >> UInt64(j - start)) & 1 == 0 ? d[j] : -d[j] }
                start = end
            }
            if abs(total) >= threshold { reaching += 1 }
        }
        return Double(1 + reaching) / Double(1 + permutations)
    }
}
