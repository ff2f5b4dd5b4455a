import Evaluation
import Foundation
import SessionData
import TensorCore
import Testing

// Every expectation below is worked out by hand from `tinySessions` (see Support.swift).

@Suite struct PopularityTests {
    @Test func popScoresClickCounts() {
        let model = Popularity().fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [5]), [2, 2, 3, 3, 1])
        #expect(model.recommend(for: [1], k: 2) == [3, 4])  // 3 and 4 tie at 3 clicks: lower id first
    }

    @Test func sPopScoresSessionCountThenPopularity() {
        let model = SessionPopularity().fit(sessions: tinySessions, itemCount: tinyItemCount)
        // Session 5 1 5: count + pop/(maxPop + 1) with maxPop = 3, so the tie-break is pop/4.
        expectScores(
            model.scores(for: [5, 1, 5]),
            [
                1 + 2.0 / 4,  // item 1: once in the session, 2 clicks
                0 + 2.0 / 4,  // item 2
                0 + 3.0 / 4,  // item 3
                0 + 3.0 / 4,  // item 4
                2 + 1.0 / 4,  // item 5: twice in the session, 1 click
            ])
    }
}

@Suite struct SequentialRulesTests {
    // Rules with weight 1/d (d = distance), steps 10:
    //   s0 1 2 3: 1→2 (1), 1→3 (1/2), 2→3 (1)
    //   s1 2 3 4: 2→3 (1), 2→4 (1/2), 3→4 (1)
    //   s2 1 3:   1→3 (1)
    //   s3 4 5 4: 4→5 (1), 4→4 (1/2), 5→4 (1)
    @Test func scoresAreRuleWeightsFromTheLastItem() {
        let model = SequentialRules().fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [3, 2]), [0, 0, 1 + 1, 0.5, 0])  // from 2: 2→3 twice, 2→4 once at d = 2
        expectScores(model.scores(for: [2, 1]), [0, 1, 0.5 + 1, 0, 0])  // from 1: 1→2; 1→3 at d = 2 and d = 1
        expectScores(model.scores(for: [4]), [0, 0, 0, 0.5, 1])  // a repeat makes the rule 4→4
        #expect(model.rules(from: 1).map(\.target) == [3, 2])  // heaviest first
    }

    @Test func stepsLimitTheDistance() {
        let model = SequentialRules(steps: 1).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [1]), [0, 1, 1, 0, 0])  // 1→3 at d = 2 in s0 is gone
    }

    @Test func pruningKeepsTheHeaviestRules() {
        let model = SequentialRules(pruning: 1).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [2]), [0, 0, 2, 0, 0])  // 2→3 (2) beats 2→4 (1/2)
    }

    @Test func otherWeightings() {
        // same: every rule counts 1. From 1: 1→2 once, 1→3 twice.
        let same = SequentialRules(weighting: .same).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(same.scores(for: [1]), [0, 1, 2, 0, 0])
        // quadratic: 1/d². From 1: 1→3 at d = 2 gives 1/4, at d = 1 gives 1.
        let quadratic = SequentialRules(weighting: .quadratic).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(quadratic.scores(for: [1]), [0, 1, 1.25, 0, 0])
    }
}

@Suite struct ItemKNNTests {
    // Session sets: |S1| = 2, |S2| = 2, |S3| = 3, |S4| = 2, |S5| = 1.
    // Co-occurrence with item 3: c(3,1) = |{s0, s2}| = 2, c(3,2) = |{s0, s1}| = 2, c(3,4) = |{s1}| = 1, c(3,5) = 0.
    @Test func cosineSimilarityToTheLastItem() {
        let model = ItemKNN(lambda: 0, alpha: 0.5).fit(sessions: tinySessions, itemCount: tinyItemCount)
        let r6 = 6.0.squareRoot()
        expectScores(model.scores(for: [5, 3]), [2 / r6, 2 / r6, 0, 1 / r6, 0])  // c / √(3 · 2); itself 0
        expectScores(model.scores(for: [5]), [0, 0, 0, 1 / 2.0.squareRoot(), 0])  // c(5,4) = 1: 1/√(1 · 2)
    }

    @Test func regularisedSimilarityWithSessionRecDefaults() {
        // λ = 20, α = 0.5: sim = c / ((|S3| + 20)^0.5 · (|Sj| + 20)^0.5).
        let model = ItemKNN().fit(sessions: tinySessions, itemCount: tinyItemCount)
        let norm = (23.0 * 22).squareRoot()
        expectScores(model.scores(for: [3]), [2 / norm, 2 / norm, 0, 1 / norm, 0])
        // α = 1: the last item's count only, sim = c / (|S3| + λ) with λ = 1.
        let asymmetric = ItemKNN(lambda: 1, alpha: 1).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(asymmetric.scores(for: [3]), [2.0 / 4, 2.0 / 4, 0, 1.0 / 4, 0])
    }

    @Test func keepsTheMostSimilarNeighbours() {
        let model = ItemKNN(neighbours: 1, lambda: 0).fit(sessions: tinySessions, itemCount: tinyItemCount)
        // Items 1 and 2 tie at 2/√6: the lower id stays.
        #expect(model.neighbours(of: 3).map(\.item) == [1])
    }
}

@Suite struct SessionKNNTests {
    // Current session 1 3: C = {1, 3}, |C| = 2. Candidates (newest first) and cosine |C ∩ N| / √(|C| |N|):
    //   s2 {1, 3}:    2 / √(2 · 2) = 1
    //   s1 {2, 3, 4}: 1 / √(2 · 3) = 1/√6
    //   s0 {1, 2, 3}: 2 / √(2 · 3) = 2/√6
    //   s3 shares nothing.
    let r6 = 6.0.squareRoot()

    @Test func scoresSumNeighbourSimilarities() {
        let model = SessionKNN().fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(
            model.scores(for: [1, 3]),
            [
                1 + 2 / r6,  // item 1 in s2, s0
                1 / r6 + 2 / r6,  // item 2 in s1, s0
                1 + 1 / r6 + 2 / r6,  // item 3 in all three
                1 / r6,  // item 4 in s1
                0,
            ])
        #expect(model.neighbours(of: [1, 3]).map(\.session) == [2, 0, 1])
    }

    @Test func kLimitsTheNeighbours() {
        let model = SessionKNN(k: 1).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [1, 3]), [1, 0, 1, 0, 0])  // only s2
    }

    @Test func sampleSizeKeepsTheMostRecentCandidates() {
        let model = SessionKNN(sampleSize: 2).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [1, 3]), [1, 1 / r6, 1 + 1 / r6, 1 / r6, 0])  // s2 and s1; s0 is older
    }
}

@Suite struct VectorSessionKNNTests {
    // Current session 3 1 2: L = 3, last positions p(3) = 1, p(1) = 2, p(2) = 3,
    // weights p/L: w3 = 1/3, w1 = 2/3, w2 = 1; |C| = 3.
    //   s2 {1, 3}:    sim = (2/3 + 1/3)/3 = 1/3;   newest shared p = 2 → t = 3 − 2 + 1 = 2, vote = 1/3 · 1/2 = 1/6
    //   s1 {2, 3, 4}: sim = (1 + 1/3)/3   = 4/9;   newest shared p = 3 → t = 1,          vote = 4/9
    //   s0 {1, 2, 3}: sim = (2/3 + 1 + 1/3)/3 = 2/3; t = 1,                              vote = 2/3
    @Test func scoresSumDecayedVotes() {
        let model = VectorSessionKNN().fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(
            model.scores(for: [3, 1, 2]),
            [
                2.0 / 3 + 1.0 / 6,  // item 1 in s0, s2
                2.0 / 3 + 4.0 / 9,  // item 2 in s0, s1
                2.0 / 3 + 4.0 / 9 + 1.0 / 6,  // item 3 in all three
                4.0 / 9,  // item 4 in s1
                0,
            ])
        #expect(model.neighbours(of: [3, 1, 2]).map(\.session) == [0, 1, 2])
    }

    @Test func repeatedItemsTakeTheWeightOfTheirLastClick() {
        // Session 1 3 1: p(1) = 3, p(3) = 2, L = 3 → w1 = 1, w3 = 2/3; |C| = 2. s2 {1, 3}: (1 + 2/3)/2 = 5/6.
        let model = VectorSessionKNN().fit(sessions: tinySessions, itemCount: tinyItemCount)
        let s2 = model.neighbours(of: [1, 3, 1]).first { $0.session == 2 }!
        #expect(abs(s2.similarity - 5.0 / 6) < 1e-6)  // float32 sum of two terms
        #expect(abs(s2.vote - 5.0 / 6) < 1e-6)  // item 1 is the last click: t = 1
    }

    @Test func remindFalseDropsTheSessionsItems() {
        let model = VectorSessionKNN(remind: false).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [3, 1, 2]), [0, 0, 0, 4.0 / 9, 0])
    }

    @Test func otherWeightings() {
        // same/same: sim = |C ∩ N|/|C| and no decay: s2 2/3, s1 2/3, s0 1.
        let model = VectorSessionKNN(weighting: .same, decay: .same).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(model.scores(for: [3, 1, 2]), [1 + 2.0 / 3, 1 + 2.0 / 3, 1 + 4.0 / 3, 2.0 / 3, 0])
        // k = 1 keeps s0 only.
        let one = VectorSessionKNN(k: 1).fit(sessions: tinySessions, itemCount: tinyItemCount)
        expectScores(one.scores(for: [3, 1, 2]), [2.0 / 3, 2.0 / 3, 2.0 / 3, 0, 0])
    }
}

@Suite struct WeightingFunctionTests {
    // session-rec's formulas, evaluated by hand.
    @Test func positionWeightings() {
        typealias W = VectorSessionKNN.PositionWeighting
        #expect(W.div.weight(position: 2, length: 4) == 0.5)  // p/L
        #expect(W.quadratic.weight(position: 2, length: 4) == 0.25)  // (p/L)²
        #expect(abs(W.linear.weight(position: 2, length: 4) - 0.8) < 1e-7)  // 1 − 0.1·(4 − 2)
        #expect(W.linear.weight(position: 1, length: 20) == 0)  // 19 clicks back: clamped
        #expect(abs(W.log.weight(position: 4, length: 4) - Float(1 / log10(1.7))) < 1e-6)  // last click: 1/log10(0 + 1.7)
        #expect(W.same.weight(position: 1, length: 9) == 1)
    }

    @Test func recencyDecays() {
        typealias D = VectorSessionKNN.RecencyDecay
        #expect(D.div.decay(step: 4) == 0.25)  // 1/t
        #expect(D.quadratic.decay(step: 2) == 0.25)  // 1/t²
        #expect(abs(D.linear.decay(step: 3) - 0.7) < 1e-7)  // 1 − 0.1·3
        #expect(D.linear.decay(step: 12) == 0)  // clamped
        #expect(abs(D.log.decay(step: 1) - Float(1 / log10(2.7))) < 1e-6)  // 1/log10(1 + 1.7)
    }

    @Test func ruleWeightings() {
        typealias W = SequentialRules.Weighting
        #expect(W.div.weight(distance: 4) == 0.25)
        #expect(W.quadratic.weight(distance: 2) == 0.25)
        #expect(abs(W.linear.weight(distance: 3) - 0.7) < 1e-7)
        #expect(abs(W.log.weight(distance: 1) - Float(1 / log10(2.7))) < 1e-6)
    }
}
