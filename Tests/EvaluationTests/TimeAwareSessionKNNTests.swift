import Evaluation
import Foundation
import Testing

/// STAN and VSTAN against their definitions worked by hand on `tinySessions`
/// (s0: 1 2 3, s1: 2 3 4, s2: 1 3, s3: 4 5 4), the sessions dated 0, 1, 2 and 3 days.
@Suite struct TimeAwareSessionKNNTests {
    let day: Int64 = 86_400
    var times: [Int64] { [0, day, 2 * day, 3 * day] }
    let e1 = exp(-1.0), e2 = exp(-2.0), e3 = exp(-3.0)

    /// Current session 1 2 with λ_spw = λ_snh = λ_inh = 1: w(1) = e⁻¹, w(2) = 1; the candidates are s0,
    /// s1, s2; the recency factor of a session dated d days is e^(d − 3).
    @Test func stanScoresAreTheThreeWeightsOfThePaper() {
        let model = STAN(k: 10, sampleSize: 0, positionDecay: 1, recencyDecayDays: 1, neighbourPositionDecay: 1)
            .fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        let norm = (e1 * e1 + 1).squareRoot()
        let sim0 = (e1 + 1) / (norm * 3.0.squareRoot()) * e3  // shares 1 and 2
        let sim1 = 1 / (norm * 3.0.squareRoot()) * e2  // shares 2
        let sim2 = e1 / (norm * 2.0.squareRoot()) * e1  // shares 1
        // Each neighbour's anchor is its last click on 1 or 2: s0 position 2, s1 position 1, s2 position 1.
        expectScores(
            model.scores(for: [1, 2]),
            [sim0 * e1 + sim2, sim0 + sim1, (sim0 + sim1 + sim2) * e1, sim1 * e2, 0])
        // sim2 ≈ 0.090 > sim1 ≈ 0.073 > sim0 ≈ 0.037: recency reverses s0's lead in raw similarity.
        #expect(model.neighbours(of: [1, 2]).map(\.session) == [2, 1, 0])
    }

    /// A neighbour's repeated item counts once, at its last click: s3 = 4 5 4 with anchor 5 at position 2.
    @Test func stanTakesANeighboursLastClickOfEachItem() {
        let model = STAN(k: 10, sampleSize: 0, positionDecay: 1, recencyDecayDays: 1, neighbourPositionDecay: 1)
            .fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        let sim = 1 / 2.0.squareRoot()
        expectScores(model.scores(for: [5]), [0, 0, 0, sim * e1, sim])
    }

    /// Recency can outweigh similarity: an old session sharing half its items loses the one
    /// neighbour slot to a new one sharing a quarter, unless λ_snh is off.
    @Test func recencyChoosesBetweenNeighbours() {
        let sessions: [[Int32]] = [[1, 2], [1, 3, 4, 5]]
        let dated: [Int64] = [0, 10 * day]
        let recent = STAN(k: 1, sampleSize: 0, recencyDecayDays: 1, remind: false).fit(sessions: sessions, times: dated, itemCount: 5)
        let timeless = STAN(k: 1, sampleSize: 0, recencyDecayDays: nil, remind: false).fit(sessions: sessions, times: dated, itemCount: 5)
        #expect(recent.neighbours(of: [1]).map(\.session) == [1])
        #expect(timeless.neighbours(of: [1]).map(\.session) == [0])
        // The neighbour's item next to the shared click: 3 from s1, 2 from s0.
        #expect(recent.recommend(for: [1], k: 1) == [3])
        #expect(timeless.recommend(for: [1], k: 1) == [2])
    }

    /// Without times, session i is dated i / sessionsPerDay days: the same model as with those times.
    @Test func thePositionClockIsTheSessionsInOrder() {
        let stan = STAN(k: 10, sampleSize: 0, positionDecay: 1, recencyDecayDays: 2, neighbourPositionDecay: 1, sessionsPerDay: 2)
        let positional = stan.fit(sessions: tinySessions, itemCount: tinyItemCount)
        let dated = stan.fit(sessions: tinySessions, times: [0, day / 2, day, 3 * day / 2], itemCount: tinyItemCount)
        for session: [Int32] in [[1, 2], [3], [4, 5], [2, 2, 1]] {
            #expect(positional.scores(for: session) == dated.scores(for: session))
        }
    }

    /// Front ends hold fitters as existentials: the times must reach STAN and VSTAN through them too.
    @Test func timesReachTheFitterThroughTheExistential() {
        let sessions: [[Int32]] = [[1, 2], [1, 3, 4, 5]]
        for baseline in [Baseline.stan, .vstan] {
            let fitter: any SessionModelFitter = baseline.fitter
            let dated = fitter.fit(sessions: sessions, times: [0, 1_000 * day], itemCount: 5)
            let reversed = fitter.fit(sessions: sessions, times: [1_000 * day, 0], itemCount: 5)
            #expect(dated.scores(for: [1]) != reversed.scores(for: [1]), "\(baseline)")
        }
    }

    @Test func remindFalseDropsTheSessionsItems() {
        let model = STAN(k: 10, sampleSize: 0, remind: false).fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        let scores = model.scores(for: [1, 2])
        #expect(scores[0] == 0 && scores[1] == 0)
        #expect(scores[2] > 0 && scores[3] > 0)
    }

    /// VSTAN on the current session 2 1 (w(2) = e⁻¹, w(1) = 1), every λ = 1: STAN's weights, the vote
    /// decay by the current position of the last shared click (s1 shares only 2, at position 1) and
    /// the factor 1 + ln(4 / clicks(i)) (clicks: 1 ×2, 2 ×2, 3 ×3, 4 ×3).
    @Test func vstanAddsCurrentPositionAndIDFWeights() {
        let model = VSTAN(
            k: 10, sampleSize: 0, positionDecay: 1, recencyDecayDays: 1, neighbourPositionDecay: 1,
            currentPositionDecay: 1, idfWeight: 1
        ).fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        let norm = (e1 * e1 + 1).squareRoot()
        let vote0 = (1 + e1) / (norm * 3.0.squareRoot()) * e3
        let vote1 = e1 / (norm * 3.0.squareRoot()) * e2 * e1
        let vote2 = 1 / (norm * 2.0.squareRoot()) * e1
        let idf = [2.0, 2, 3, 3].map { 1 + log(4 / $0) }
        // Anchors: s0 position 2 (item 2), s1 position 1, s2 position 1.
        expectScores(
            model.scores(for: [2, 1]),
            [
                (vote0 * e1 + vote2) * idf[0], (vote0 + vote1) * idf[1], (vote0 + vote1 + vote2) * e1 * idf[2],
                vote1 * e2 * idf[3], 0,
            ])
    }

    /// V-SKNN's `vec` similarity: the shared weights over |C|, and no other weight.
    @Test func vstanVectorSimilarity() {
        let model = VSTAN(
            k: 10, sampleSize: 0, similarity: .vector, positionDecay: 1, recencyDecayDays: nil, neighbourPositionDecay: nil,
            currentPositionDecay: nil, idfWeight: nil
        ).fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        let (s0, s1, s2) = ((e1 + 1) / 2, e1 / 2, 0.5)
        expectScores(model.scores(for: [2, 1]), [s0 + s2, s0 + s1, s0 + s1 + s2, s1, 0])
    }

    /// VSTAN keeps only neighbours with a positive similarity; STAN keeps every candidate. With a
    /// tiny λ_spw only the last click weighs, so s1 (sharing only the first click) has similarity 0.
    @Test func vstanDropsNeighboursWithoutSimilarity() {
        let stan = STAN(k: 10, sampleSize: 0, positionDecay: 1e-5, recencyDecayDays: nil)
            .fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        let vstan = VSTAN(k: 10, sampleSize: 0, positionDecay: 1e-5, recencyDecayDays: nil)
            .fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        #expect(Set(stan.neighbours(of: [2, 1]).map(\.session)) == [0, 1, 2])
        #expect(Set(vstan.neighbours(of: [2, 1]).map(\.session)) == [0, 2])
    }

    /// The sample keeps the most recent candidates: with 2, s0 (the oldest sharing 3) is not considered.
    @Test func sampleSizeKeepsTheMostRecentCandidates() {
        let model = STAN(k: 10, sampleSize: 2).fit(sessions: tinySessions, times: times, itemCount: tinyItemCount)
        #expect(Set(model.neighbours(of: [3]).map(\.session)) == [1, 2])
    }

    @Test func settingsThatCannotFitAreNamed() {
        #expect(STAN(k: 0).settings.problem?.contains("k must be at least 1") == true)
        #expect(STAN(positionDecay: -1).settings.problem?.contains("λ_spw") == true)
        #expect(VSTAN(idfWeight: -1).settings.problem?.contains("λ_idf") == true)
        #expect(VSTAN(sessionsPerDay: 0).settings.problem != nil)
        #expect(STAN().settings.problem == nil && VSTAN().settings.problem == nil)
    }
}
