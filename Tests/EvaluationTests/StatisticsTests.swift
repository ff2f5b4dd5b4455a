import Evaluation
import Experiments
import Foundation
import TensorCore
import Testing

/// Student-t intervals over seeds, and the paired tests of `srgnn compare`, checked against values
/// computed by hand, by exact enumeration, or by a plain re-implementation.
@Suite("statistics")
struct StatisticsTests {
    /// Quantiles of Student's t (scipy.stats.t.ppf; printed tables give the first three decimals:
    /// t(0.975, 2) = 4.303, t(0.975, 9) = 2.262).
    @Test(arguments: [
        (0.975, 1, 12.706204736174694), (0.975, 2, 4.302652729749462), (0.975, 3, 3.1824463052837078),
        (0.975, 4, 2.7764451051977934), (0.975, 9, 2.262157162798205), (0.975, 29, 2.045229642132703),
        (0.95, 5, 2.0150483733330233), (0.975, 1000, 1.9623390808264083), (0.995, 10, 3.16927267261695),
    ])
    func tQuantiles(probability: Double, degreesOfFreedom: Int, expected: Double) {
        // The bisection stops at 1e-12 relative; the continued fraction is good to ~1e-14.
        #expect(abs(studentTQuantile(probability, degreesOfFreedom: degreesOfFreedom) - expected) < 1e-9 * expected)
        #expect(abs(studentTQuantile(1 - probability, degreesOfFreedom: degreesOfFreedom) + expected) < 1e-9 * expected)
    }

    /// One and two degrees of freedom have closed forms: tan(π(p − ½)) and (2p − 1)/√(2p(1 − p)).
    @Test func tQuantileClosedForms() {
        for p in [0.6, 0.9, 0.975, 0.999] {
            #expect(abs(studentTQuantile(p, degreesOfFreedom: 1) - tan(Double.pi * (p - 0.5))) < 1e-9 * tan(Double.pi * (p - 0.5)))
            let two = (2 * p - 1) / (2 * p * (1 - p)).squareRoot()
            #expect(abs(studentTQuantile(p, degreesOfFreedom: 2) - two) < 1e-9 * two)
        }
        #expect(studentTQuantile(0.5, degreesOfFreedom: 7) == 0)
    }

    /// Values 1, 2, 3: mean 2, sample deviation 1, interval 2 ± 4.3027 / √3 = [−0.4842, 4.4842].
    @Test func meanIntervalByHand() {
        let summary = MeanInterval([1, 2, 3])
        #expect(summary.count == 3 && summary.mean == 2)
        #expect(summary.standardDeviation == 1)
        let halfWidth = 4.302652729749462 / 3.0.squareRoot()
        #expect(abs(summary.lower! - (2 - halfWidth)) < 1e-9 && abs(summary.upper! - (2 + halfWidth)) < 1e-9)
        #expect(abs(halfWidth - 2.4841) < 1e-4)
        let one = MeanInterval([5])
        #expect(one.mean == 5 && one.standardDeviation == nil && one.lower == nil)
    }

    // MARK: Bootstrap

    /// The bootstrap re-done plainly (its documented draws: `next() mod n`, in order) agrees bit for bit.
    @Test func bootstrapMatchesAPlainImplementation() {
        var values = SeededGenerator(seed: 3)
        let columns = (0..<3).map { _ in (0..<37).map { _ in Double(values.next() % 1000) / 1000 } }
        let means = bootstrapMeans(of: columns, resamples: 50, seed: 9)
        var generator = SeededGenerator(seed: 9)
        for b in 0..<50 {
            let drawn = (0..<37).map { _ in Int(generator.next() % 37) }
            for c in 0..<3 {
                var sum = 0.0
                for i in drawn { sum += columns[c][i] }
                #expect(means[c][b] == sum / 37, "column \(c), resample \(b)")
            }
        }
    }

    /// Hits [1, 0, 0, 0, 0]: a resample's hit count is Binomial(5, 0.2), with P(≤ 2) = 0.942 and
    /// P(≤ 3) = 0.993, so the 97.5 % quantile of the mean is 3/5; P(0) = 0.328, so the 2.5 % one is 0.
    /// 20,000 resamples keep the empirical quantiles far (> 30 standard errors) from the boundaries.
    @Test func bootstrapIntervalByExactDistribution() {
        let means = bootstrapMeans(of: [[1, 0, 0, 0, 0]], resamples: 20_000, seed: 1)
        let interval = percentileInterval(of: means[0], level: 0.95)
        #expect(interval.lower == 0)
        #expect(interval.upper == 3.0 / 5)
    }

    /// Linear interpolation between order statistics at q · (n − 1), as numpy's default.
    @Test func percentilesInterpolate() {
        let interval = percentileInterval(of: [4, 1, 3, 2, 0], level: 0.5)  // quantiles 0.25 and 0.75 of 0...4
        #expect(interval.lower == 1 && interval.upper == 3)
        let odd = percentileInterval(of: [0, 10], level: 0.9)  // positions 0.05 and 0.95
        #expect(abs(odd.lower - 0.5) < 1e-12 && abs(odd.upper - 9.5) < 1e-12)
    }

    // MARK: Sign-flip test

    /// The exact p by brute force over all 2^m sign assignments (zeros included: they change nothing).
    static func exactSignFlip(_ d: [Double]) -> Double {
        let observed = abs(d.reduce(0, +))
        var reaching = 0
        for signs in 0..<(1 << d.count) {
            var total = 0.0
            for j in d.indices { total += signs & (1 << j) == 0 ? d[j] : -d[j] }
            if abs(total) >= observed - 1e-12 { reaching += 1 }
        }
        return Double(reaching) / Double(1 << d.count)
    }

    /// d = 0.5, −0.2, 0.3, 0.1 (and two zeros): T = 0.7. |Σ ± d| ≥ 0.7 when the flipped values sum
    /// to at most 0.2 from the all-positive 1.1 ({}, {0.1}, {0.2}) or the mirror: 6 of 16, p = 0.375.
    @Test func signFlipByHand() {
        #expect(abs(signFlipPValue(differences: [0.5, -0.2, 0, 0.3, 0.1, 0], permutations: 10_000, seed: 0) - 0.375) < 1e-12)
        #expect(Self.exactSignFlip([0.5, -0.2, 0.3, 0.1]) == 0.375)
    }

    /// Up to 2^m ≤ permutations the test enumerates and equals brute force exactly.
    @Test func signFlipExactForFewDifferences() {
        var generator = SeededGenerator(seed: 21)
        let d = (0..<10).map { _ in Double(Int(generator.next() % 200) - 80) / 100 }
        #expect(abs(signFlipPValue(differences: d, permutations: 10_000, seed: 0) - Self.exactSignFlip(d)) < 1e-12)
    }

    /// Beyond that it samples: 16 differences (65,536 assignments) against the exact p, within
    /// 4 standard errors of 10,000 draws (4 · √(0.25/10,000) = 0.02).
    @Test func signFlipSamplingAgreesWithEnumeration() {
        var generator = SeededGenerator(seed: 5)
        let d = (0..<16).map { _ in Double(Int(generator.next() % 100) - 50) / 100 }
        let exact = Self.exactSignFlip(d)
        let sampled = signFlipPValue(differences: d, permutations: 10_000, seed: 17)
        #expect(abs(sampled - exact) < 0.02, "sampled \(sampled), exact \(exact)")
        #expect(exact > 0.01 && exact < 0.99, "a case away from the ends: \(exact)")
    }

    // MARK: Paired tests of models

    /// Hit and reciprocal-rank columns of a model whose target ranks are `ranks`.
    static func metrics(ranks: [Int], k: Int = 20) -> PerExampleMetrics {
        PerExampleMetrics(positions: ranks.map { TargetPosition(greater: $0 - 1, tied: 1) }, k: k, ties: .optimistic)
    }

    @Test func aModelAgainstItselfHasNoDifference() {
        var generator = SeededGenerator(seed: 8)
        let ranks = (0..<500).map { _ in 1 + Int(generator.next() % 40) }
        let analysis = SignificanceAnalysis(
            names: ["a", "copy"], metrics: [Self.metrics(ranks: ranks), Self.metrics(ranks: ranks)], reference: 0)
        let copy = analysis.models[1]
        #expect(copy.hitRate == PairedComparison(difference: 0, lower: 0, upper: 0, pValue: 1))
        #expect(copy.mrr == PairedComparison(difference: 0, lower: 0, upper: 0, pValue: 1))
        #expect(analysis.models[0].hitRate == nil, "the reference is not tested against itself")
        #expect(analysis.models[0].hitRateInterval == copy.hitRateInterval)
    }

    /// Hits with probability 0.6 against 0.4 on 300 examples: a difference of about 20 points,
    /// about 5 standard errors, found significant on both metrics.
    @Test func aClearlyBetterModelIsSignificant() {
        var generator = SeededGenerator(seed: 4)
        func ranks(hitProbability: Double) -> [Int] {
            (0..<300).map { _ in Double(generator.next() >> 11) / Double(1 << 53) < hitProbability ? 1 + Int(generator.next() % 5) : 100 }
        }
        let weak = Self.metrics(ranks: ranks(hitProbability: 0.4)), strong = Self.metrics(ranks: ranks(hitProbability: 0.6))
        let analysis = SignificanceAnalysis(names: ["weak", "strong"], metrics: [weak, strong], reference: 0)
        let hitRate = analysis.models[1].hitRate!, mrr = analysis.models[1].mrr!
        #expect(hitRate.pValue < 0.05 && mrr.pValue < 0.05, "\(hitRate) \(mrr)")
        #expect(hitRate.lower > 0 && hitRate.lower < hitRate.difference && hitRate.difference < hitRate.upper)
        let observed = 100 * (strong.hits.reduce(0, +) - weak.hits.reduce(0, +)) / 300
        #expect(abs(hitRate.difference - observed) < 1e-9)
        #expect(SignificanceAnalysis.describe(hitRate).hasPrefix("+") && SignificanceAnalysis.describe(hitRate).contains(" p"))
    }

    /// Per-example values average to the evaluator's metrics, ties included.
    @Test func perExampleMetricsAverageToTheReport() {
        let examples = TestExample.examples(prefixes: [[2], [4, 1], [1], [3]], targets: [1, 3, 5, 2])
        let evaluator = Evaluator(cutoffs: [3], listLength: 2)
        for scorer in [DescendingScorer(itemCount: 5) as any SessionScorer, ConstantScorer(itemCount: 5)] {
            let (report, positions) = evaluator.evaluateKeepingPositions(scorer, on: examples)
            #expect(report == evaluator.evaluate(scorer, on: examples).withElapsed(report))
            let values = PerExampleMetrics(positions: positions, k: 3, ties: evaluator.ties)
            #expect(abs(100 * values.hits.reduce(0, +) / 4 - report.metrics(at: 3)!.hitRate) < 1e-9)
            #expect(abs(100 * values.reciprocalRanks.reduce(0, +) / 4 - report.metrics(at: 3)!.mrr) < 1e-9)
        }
        // Descending scores rank targets 1, 3, 5, 2 at 1, 3, 5, 2: RR@3 = 1, 1/3, 0, 1/2.
        let (_, positions) = evaluator.evaluateKeepingPositions(DescendingScorer(itemCount: 5), on: examples)
        #expect(PerExampleMetrics(positions: positions, k: 3, ties: .average).reciprocalRanks == [1, 1.0 / 3, 0, 0.5])
    }
}

extension EvaluationReport {
    /// This report with `other`'s timings, to compare everything but the clock.
    func withElapsed(_ other: EvaluationReport) -> EvaluationReport {
        var copy = self
        copy.elapsedSeconds = other.elapsedSeconds
        copy.examplesPerSecond = other.examplesPerSecond
        return copy
    }
}
