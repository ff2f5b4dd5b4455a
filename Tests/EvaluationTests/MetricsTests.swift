import Evaluation
import Foundation
import SessionData
import TensorCore
import Testing

@Suite struct MetricsTests {
    // Scores of items 1...4 (index = id − 1): items 2 and 4 tie at 0.5.
    let scores: [Float] = [0.1, 0.5, 0.3, 0.5]

    @Test func rankCountsStrictlyGreaterScoresPlusOne() {
        #expect(rank(of: 2, scores: scores) == 1)  // nothing above 0.5; item 4's tie does not count
        #expect(rank(of: 4, scores: scores) == 1)
        #expect(rank(of: 3, scores: scores) == 3)  // 0.5, 0.5 above 0.3
        #expect(rank(of: 1, scores: scores) == 4)
    }

    @Test func targetPositionCountsGreaterAndTiedScores() {
        #expect(targetPosition(of: 2, scores: scores) == TargetPosition(greater: 0, tied: 2))  // 0.5 twice
        #expect(targetPosition(of: 3, scores: scores) == TargetPosition(greater: 2, tied: 1))
        #expect(targetPosition(of: 1, scores: [0, 0, 0]) == TargetPosition(greater: 0, tied: 3))
        #expect(targetPosition(of: 1, scores: [.nan, 1, 2]) == TargetPosition(greater: 2, tied: 1))  // NaN ranks last
    }

    @Test func targetPositionAcrossSIMDLanesAndTail() {
        // 19 scores i mod 5 for items i = 1...19 (two 8-lane blocks and a tail of 3):
        // 1 2 3 4 0 | 1 2 3 4 0 | 1 2 3 4 0 | 1 2 3 4. The 3s are items 3, 8, 13, 18; the 4s 4, 9, 14, 19.
        let scores = (1...19).map { Float($0 % 5) }
        #expect(targetPosition(of: 3, scores: scores) == TargetPosition(greater: 4, tied: 4))
        #expect(targetPosition(of: 19, scores: scores) == TargetPosition(greater: 0, tied: 4))
        #expect(targetPosition(of: 5, scores: scores) == TargetPosition(greater: 16, tied: 3))  // the 0s
    }

    @Test func averagingOverTiesIsTheExpectedMetric() {
        // One item above, four tied (target included): the target takes rank 2, 3, 4 or 5 with equal chance.
        #expect(averageOverTies(greater: 1, tied: 4, k: 3, hit(rank:k:)) == 2.0 / 4)  // ranks 2, 3 hit
        #expect(averageOverTies(greater: 1, tied: 4, k: 3, reciprocalRank(rank:k:)) == (1.0 / 2 + 1.0 / 3) / 4)
        #expect(averageOverTies(greater: 3, tied: 4, k: 3, hit(rank:k:)) == 0)  // all below K
        #expect(averageOverTies(greater: 2, tied: 1, k: 3, ndcg(rank:k:)) == 0.5)  // no tie: rank 3
    }

    @Test func accumulatorAppliesTheTiePolicy() {
        // Target tied with two others at the top (g = 0, t = 3), cutoff 1.
        let position = TargetPosition(greater: 0, tied: 3)
        var optimistic = MetricAccumulator(cutoffs: [1]), pessimistic = optimistic, average = optimistic
        optimistic.add(position, ties: .optimistic)  // rank 1
        pessimistic.add(position, ties: .pessimistic)  // rank 3
        average.add(position, ties: .average)  // rank 1 with probability 1/3
        #expect(optimistic.values[0].hitRate == 100)
        #expect(pessimistic.values[0].hitRate == 0)
        #expect(abs(average.values[0].hitRate - 100.0 / 3) < 1e-12)
    }

    @Test func metricsOfARecommendationList() {
        #expect(rank(of: 7, in: [3, 9, 7]) == 3)
        #expect(rank(of: 8, in: [3, 9, 7]) == nil)
        #expect(reciprocalRank(of: 7, in: [3, 9, 7]) == 1.0 / 3)
        #expect(reciprocalRank(of: 7, in: [3, 9, 7], k: 2) == 0)  // rank 3 > K = 2
        #expect(hit(of: 7, in: [3, 9, 7]) == 1)
        #expect(hit(of: 8, in: [3, 9, 7]) == 0)
        #expect(ndcg(of: 7, in: [3, 9, 7]) == 1 / log2(3.0 + 1))  // = 1/2
        #expect(ndcg(of: 3, in: [3, 9, 7]) == 1)  // 1/log2(2)
        #expect(precision(of: 9, in: [3, 9, 7]) == 1.0 / 3)  // one right out of K = 3
    }

    @Test func metricsOfARank() {
        #expect(hit(rank: 20, k: 20) == 1)
        #expect(hit(rank: 21, k: 20) == 0)
        #expect(reciprocalRank(rank: 4, k: 20) == 0.25)
        #expect(ndcg(rank: 3, k: 20) == 0.5)  // 1/log2(4)
        #expect(abs(ndcg(rank: 2, k: 20) - 1 / log2(3.0)) < 1e-15)
        #expect(precision(rank: 3, k: 20) == 1.0 / 20)
        #expect(precision(rank: 30, k: 20) == 0)
    }

    @Test func accumulatorReportsMeansInPercent() {
        var accumulator = MetricAccumulator(cutoffs: [1, 20])
        for r in [1, 3, 25] { accumulator.add(rank: r) }
        let at1 = accumulator.values(at: 1)!, at20 = accumulator.values(at: 20)!
        // Tolerance: Double sums of three terms, printed as percentages.
        let eps = 1e-12
        #expect(abs(at1.hitRate - 100.0 / 3) < eps)  // only rank 1
        #expect(abs(at1.mrr - 100.0 / 3) < eps)
        #expect(abs(at20.hitRate - 100.0 * 2 / 3) < eps)  // ranks 1 and 3
        #expect(abs(at20.mrr - 100.0 * (1 + 1.0 / 3) / 3) < eps)  // (1 + 1/3 + 0)/3 = 44.4…%
        #expect(abs(at20.ndcg - 100.0 * (1 + 0.5) / 3) < eps)  // 1/log2(2) + 1/log2(4)
        #expect(abs(at20.precision - 100.0 * (2.0 / 20) / 3) < eps)  // (1/20 + 1/20 + 0)/3
        #expect(accumulator.examples == 3)
    }

    @Test func accumulatorsMergeExactly() {
        var whole = MetricAccumulator(cutoffs: [5, 10])
        var left = MetricAccumulator(cutoffs: [5, 10]), right = left
        for r in [1, 7, 2] { whole.add(rank: r); left.add(rank: r) }
        for r in [12, 4] { whole.add(rank: r); right.add(rank: r) }
        left.merge(right)
        #expect(left == whole)
    }

    @Test func coverageCountsDistinctRecommendedItems() {
        #expect(coverage(of: [[1, 2], [2, 3]], itemCount: 6) == 0.5)  // {1, 2, 3} of 6 items
        #expect(coverage(of: [], itemCount: 6) == 0)
    }

    @Test func popularityBiasAveragesNormalisedPopularityPerList() {
        // Click counts 10, 5, 0, 20: normalised by the maximum 20 → 0.5, 0.25, 0, 1.
        let popularity = [10, 5, 0, 20]
        // List [1, 2] → (0.5 + 0.25)/2 = 0.375; list [4, 4] → distinct {4} → 1. Mean = 0.6875.
        #expect(popularityBias(of: [[1, 2], [4, 4]], popularity: popularity) == 0.6875)
    }

    @Test func itemPopularityCountsClicks() {
        #expect(itemPopularity(of: [[1, 2, 2], [3]], itemCount: 4) == [1, 2, 1, 0])
    }
}
