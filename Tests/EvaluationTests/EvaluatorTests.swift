import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore
import Testing

/// Scores item i as (n + 1 − i) whatever the session: the ranking is 1, 2, …, n.
struct DescendingScorer: SessionScorer {
    var name: String { "descending" }
    let itemCount: Int
    func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<itemCount { scores[i] = Float(itemCount - i) }
    }
}

/// Scores every item 0: every rank is a tie.
struct ConstantScorer: SessionScorer {
    var name: String { "constant" }
    let itemCount: Int
    var preferredBatchSize: Int { 2 }
    func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        scores.update(repeating: 0)
    }
}

@Suite struct EvaluatorTests {
    // Targets 1, 3, 5 rank 1, 3, 5 under DescendingScorer (n = 5).
    let examples = TestExample.examples(prefixes: [[2], [4, 1], [1]], targets: [1, 3, 5])

    @Test func metricsCoverageAndPopularity() {
        let evaluator = Evaluator(cutoffs: [1, 3], listLength: 2, popularity: [4, 2, 0, 0, 0])
        let report = evaluator.evaluate(DescendingScorer(itemCount: 5), on: examples)
        let eps = 1e-9
        #expect(report.examples == 3)
        #expect(abs(report.metrics(at: 1)!.hitRate - 100.0 / 3) < eps)  // rank 1 only
        #expect(abs(report.metrics(at: 3)!.hitRate - 100.0 * 2 / 3) < eps)  // ranks 1, 3
        #expect(abs(report.metrics(at: 3)!.mrr - 100.0 * (1 + 1.0 / 3) / 3) < eps)
        #expect(abs(report.coverage! - 100.0 * 2 / 5) < eps)  // every list is [1, 2]
        #expect(abs(report.popularityBias! - 100.0 * (4.0 / 4 + 2.0 / 4) / 2) < eps)  // (1 + 0.5)/2 per list
        #expect(report.listLength == 2)
    }

    @Test func threadsAndBatchesDoNotChangeTheResult() {
        let model = SequentialRules().fit(sessions: tinySessions, itemCount: tinyItemCount)
        let examples = TestExample.examples(prefixes: [[1], [2], [3], [4], [1, 2], [5], [4, 5]], targets: [2, 3, 4, 5, 3, 4, 4])
        let one = Evaluator(threads: 1, popularity: itemPopularity(of: tinySessions, itemCount: tinyItemCount))
        var many = one
        many.threads = 3
        many.batchSize = 2
        let a = one.evaluate(model, on: examples), b = many.evaluate(model, on: examples)
        // Hits are counted exactly; MRR/NDCG are Double sums added in another order (1e-12 %).
        for (x, y) in zip(a.metrics, b.metrics) {
            #expect(x.hitRate == y.hitRate && x.precision == y.precision)
            #expect(abs(x.mrr - y.mrr) < 1e-12 && abs(x.ndcg - y.ndcg) < 1e-12)
        }
        #expect(a.coverage == b.coverage)
        #expect(abs(a.popularityBias! - b.popularityBias!) < 1e-12)
        // From 1 the best rule is 1→3 (1.5), then 1→2 (1): target 2 has rank 2; 2→3 rank 1; 3→4 rank 1;
        // 4→5 rank 1; (1 2)→3 rank 1; 5→4 rank 1; (4 5)→4 rank 1. HR@5 = 100 %, MRR@5 = (6 + 1/2)/7.
        #expect(abs(a.metrics(at: 5)!.mrr - 100 * 6.5 / 7) < 1e-9)
    }

    @Test func tiePolicyDecidesTiedRanks() {
        // Every item scores 0: g = 0, t = 4 for any target.
        let examples = TestExample.examples(prefixes: [[1], [1]], targets: [1, 4])
        let scorer = ConstantScorer(itemCount: 4)
        let optimistic = Evaluator(cutoffs: [1], ties: .optimistic).evaluate(scorer, on: examples)
        let pessimistic = Evaluator(cutoffs: [1, 4], ties: .pessimistic).evaluate(scorer, on: examples)
        let average = Evaluator(cutoffs: [1, 4]).evaluate(scorer, on: examples)
        #expect(optimistic.metrics(at: 1)!.hitRate == 100)  // rank 1 + #{score > 0} = 1
        #expect(pessimistic.metrics(at: 1)!.hitRate == 0)  // rank #{score ≥ 0} = 4
        #expect(pessimistic.metrics(at: 4)!.mrr == 25)
        #expect(average.ties == .average)  // the default
        #expect(abs(average.metrics(at: 1)!.hitRate - 25) < 1e-12)  // rank 1 w.p. 1/4
        #expect(abs(average.metrics(at: 4)!.mrr - 100 * (1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4) / 4) < 1e-12)  // 25/48
    }
}

@Suite struct BaselineRegistryTests {
    /// A front end holds fitters as existentials; fitting one yields `any SessionScorer`, which the
    /// evaluator takes as is.
    @Test func everyBaselineFitsAndEvaluatesThroughExistentials() {
        let examples = TestExample.examples(prefixes: [[1], [2, 3], [4]], targets: [3, 4, 5])
        let evaluator = Evaluator(cutoffs: [5], listLength: 3, popularity: itemPopularity(of: tinySessions, itemCount: tinyItemCount))
        #expect(Baseline.allCases.map(\.displayName) == ["POP", "S-POP", "Item-KNN", "SR", "SKNN", "V-SKNN", "STAN", "VSTAN"])
        for baseline in Baseline.allCases {
            let model = baseline.fitter.fit(sessions: tinySessions, itemCount: tinyItemCount)
            let report = evaluator.evaluate(model, on: examples)
            #expect(report.name == baseline.displayName)
            #expect(report.examples == 3)
            // Five items and K = 5: every target is in the top 5.
            #expect(report.metrics(at: 5)!.hitRate == 100)
        }
    }
}

@Suite struct AccuracyOnlyTests {
    /// Without top-K lists the evaluator asks the scorer for target positions: for SR-GNN the tiled
    /// count, for a baseline the default count over its scores. Both give the list path's accuracy.
    @Test(arguments: [1, 2]) func targetPositionsGiveTheSameAccuracyAsScores(threads: Int) throws {
        let sessions = SyntheticClickLog(itemCount: 700, sessionCount: 300, seed: 5).sessions().filter { $0.count >= 2 }
        let examples = TestExample.examples(prefixes: sessions.map { Array($0.dropLast()) }, targets: sessions.map { $0.last! })
        let model = try SRGNNModel(configuration: SRGNNConfiguration(itemCount: 700, hiddenSize: 12), seed: 3)
        let scorers: [any SessionScorer] = [
            SRGNNScorer(model: model, batchSize: 40, tileItems: 64),
            Popularity().fit(sessions: sessions, itemCount: 700),
        ]
        for scorer in scorers {
            let withLists = Evaluator(cutoffs: [5, 20], threads: threads).evaluate(scorer, on: examples)
            let accuracyOnly = Evaluator(cutoffs: [5, 20], listLength: nil, threads: threads).evaluate(scorer, on: examples)
            #expect(accuracyOnly.coverage == nil && accuracyOnly.listLength == nil && accuracyOnly.popularityBias == nil)
            #expect(withLists.coverage != nil)
            for k in [5, 20] {
                let a = withLists.metrics(at: k)!, b = accuracyOnly.metrics(at: k)!
                #expect(a.hitRate == b.hitRate, "\(scorer.name) HR@\(k)")
                // The same ranks, summed over workers in the same order: equal up to Double rounding.
                #expect(abs(a.mrr - b.mrr) < 1e-9 && abs(a.ndcg - b.ndcg) < 1e-9, "\(scorer.name) MRR/NDCG@\(k)")
            }
        }
    }
}
