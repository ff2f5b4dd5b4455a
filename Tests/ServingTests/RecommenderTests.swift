import Foundation
import Recommending
import Serving
import SessionData
import SRGNN
import Testing
import TestSupport

/// The library `Recommender` the service is built on.
@Suite struct RecommenderTests {
    @Test func ranksLikeTheModelInRawIDs() throws {
        let recommender = try Fixture.recommender()
        let result = try recommender.recommend(session: ["1003", "a17", "1005"], k: 5)
        // Internal ids: "1003" -> 3, "a17" -> 26, "1005" -> 5.
        let expected = try #require(recommender.model).recommend(session: [3, 26, 5], k: 5)
        #expect(result.items.map(\.id) == expected.map { Fixture.rawIDs[Int($0.id) - 1] })
        #expect(result.items.map(\.score) == expected.map(\.score))
        #expect(result.unknownItems.isEmpty)
    }

    @Test func unknownItemsAreDroppedAndReported() throws {
        let recommender = try Fixture.recommender()
        let result = try recommender.recommend(session: ["nope", "1003", "9999", "1005"], k: 4)
        #expect(result.unknownItems == ["nope", "9999"])
        #expect(
            result
                == RecommendationResult(
                    items: try recommender.recommend(session: ["1003", "1005"], k: 4).items,
                    unknownItems: ["nope", "9999"]))
        #expect(throws: RecommenderError.noKnownItems(index: 0, unknown: ["nope"])) { try recommender.recommend(session: ["nope"], k: 4) }
        #expect(throws: RecommenderError.emptySession(index: 0)) { try recommender.recommend(session: [], k: 4) }
        #expect(throws: RecommenderError.invalidK(index: 0, k: 0)) { try recommender.recommend(session: ["1003"], k: 0) }
    }

    @Test func longSessionsKeepTheirMostRecentClicks() throws {
        let recommender = try Fixture.recommender(maxSessionLength: 4)
        let long = ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
        let full = try Fixture.recommender(maxSessionLength: 100)
        #expect(try recommender.recommend(session: long, k: 10) == full.recommend(session: Array(long.suffix(4)), k: 10))
        #expect(try recommender.recommend(session: long, k: 10) != full.recommend(session: long, k: 10))
    }

    @Test func excludeSeenLeavesOutTheSessionsItems() throws {
        let recommender = try Fixture.recommender()
        let session = ["1003", "1005", "1003"]
        let all = try recommender.recommend(session: session, k: Fixture.rawIDs.count)
        let unseen = try recommender.recommend(session: session, k: 5, excludeSeen: true)
        #expect(unseen.items == Array(all.items.filter { !session.contains($0.id) }.prefix(5)))
        #expect(unseen.items.count == 5)
        // k larger than the items left: all of them.
        let everything = try recommender.recommend(session: session, k: 1000, excludeSeen: true)
        #expect(everything.items.count == Fixture.rawIDs.count - 2)
    }

    @Test func aBatchEqualsOneSessionAtATime() throws {
        let recommender = try Fixture.recommender()
        let sessions = [["1001"], ["1002", "1003", "1002"], ["a17", "x y", "007", "-5"], ["42", "unknown"]]
        let batch = try recommender.recommend(sessions: sessions, k: 7)
        for (session, result) in zip(sessions, batch) {
            let single = try recommender.recommend(session: session, k: 7)
            #expect(result.unknownItems == single.unknownItems)
            #expect(result.items.map(\.id) == single.items.map(\.id))
            for (a, b) in zip(result.items, single.items) {
                // float32 BLAS: a batch of 4 and a batch of 1 may sum in another order.
                #expect(abs(a.score - b.score) <= 1e-5 * max(1, abs(b.score)))
            }
        }
        #expect(throws: RecommenderError.emptySession(index: 1)) { try recommender.recommend(sessions: [["1001"], []], k: 3) }
    }

    @Test(
        .enabled(
            if: SharedPaths.exists(URL(fileURLWithPath: Fixture.barePath)),
            "needs the parity fixture Tests/Fixtures/reference/small_hybrid_step1.safetensors"))
    func bareWeightsUseRowNumbersAsIDs() throws {
        let recommender = try Recommender(contentsOf: Fixture.barePath)
        #expect(recommender.itemCount == 59)
        let result = try recommender.recommend(session: ["3", "17", "0", "60"], k: 3)
        #expect(result.unknownItems == ["0", "60"])
        let expected = try #require(recommender.model).recommend(session: [3, 17], k: 3)
        #expect(result.items.map(\.id) == expected.map { String($0.id) })
    }

    @Test func aMissingModelFileNamesThePath() throws {
        #expect { try Recommender(contentsOf: "/nonexistent/model.safetensors") } throws: { error in
            "\(error)".contains("/nonexistent/model.safetensors")
        }
    }
}
