import Evaluation
import Foundation
import Recommending
import SessionData
import SRGNN
import TensorCore
import Testing
import TestSupport

/// Item rules (exclude, filter, availability, candidates) and the popularity fallback.
@Suite struct RecommenderRulesTests {
    static let items = 150

    /// A saved checkpoint (raw ids "p1"..."p150") with recent popularity, and a random catalog.
    static func setUp(_ folder: TemporaryFolder) throws -> (LoadedModel, Catalog) {
        let model = try SRGNNModel(configuration: SRGNNConfiguration(itemCount: items, hiddenSize: 12), seed: 3)
        let vocabulary = ItemVocabulary(rawIDs: (1...items).map { "p\($0)" })
        var metadata = CheckpointMetadata(
            model: model.configuration, vocabulary: vocabulary, epoch: 0, metrics: [:],
            training: nil, history: nil)
        metadata.recentPopularity = RecentPopularity(fraction: 0.1, sessions: 9, items: [7, 3, 120, 44, 9], clicks: [50, 40, 30, 20, 10])
        let path = folder.path + "/m.safetensors"
        try LoadedModel.save(model: model, metadata: metadata, to: path)
        var rng = SeededGenerator(seed: 4)
        var entries = [RawKey: Catalog.Entry]()
        for id in 1...items where id % 10 != 0 {  // every tenth item is missing from the catalog
            let colour = ["red", "green", "blue"][Int(rng.uniform(0, 3)) % 3]
            entries["p\(id)"] = Catalog.Entry(
                available: rng.uniform(0, 1) < 0.8,
                attributes: ["colour": [colour], "size": ["\(id % 4)"]])
        }
        return (try LoadedModel.load(from: path), Catalog(entries: entries))
    }

    /// Every item's score for one session, by the full-ranking path.
    static func allScores(_ model: SRGNNModel, _ session: [Int32]) -> [Float] {
        var scores = [Float](repeating: 0, count: items)
        scores.withUnsafeMutableBufferPointer {
            model.scores(SessionBatch(sessions: [session]), workspace: SRGNNWorkspace(), into: $0.baseAddress!)
        }
        return scores
    }

    /// A VSTAN fitted on random sessions over the same raw ids, with the same recent popularity:
    /// a baseline served like the checkpoint.
    static func fittedBaseline() throws -> FittedBaseline {
        var rng = SeededGenerator(seed: 8)
        let sessions = (0..<400).map { _ in
            (0..<(2 + Int(rng.uniform(0, 6)))).map { _ in Int32(1 + Int(rng.uniform(0, Float(items))) % items) }
        }
        var file = NeighbourhoodModelFile(
            baseline: .vstan, fitters: BaselineFitters(), sessions: SessionList(sessions), times: nil,
            vocabulary: ItemVocabulary(rawIDs: (1...items).map { "p\($0)" }))
        file.header.recentPopularity = RecentPopularity(
            fraction: 0.1, sessions: 9, items: [7, 3, 120, 44, 9], clicks: [50, 40, 30, 20, 10])
        return try FittedBaseline(file: file, sha256: "")
    }

    /// The recommender of `engine` (`srgnn`: the checkpoint; `vstan`: the fitted baseline) and its
    /// scores of every item for a session.
    static func recommender(
        _ engine: String, _ loaded: LoadedModel, catalog: Catalog?, fallback: Fallback = .none
    ) throws -> (
        Recommender, ([Int32]) -> [Float]
    ) {
        if engine == "srgnn" {
            return (Recommender(model: loaded, catalog: catalog, fallback: fallback), { allScores(loaded.model, $0) })
        }
        let baseline = try fittedBaseline()
        return (Recommender(baseline: baseline, catalog: catalog, fallback: fallback), { baseline.scorer.scores(for: $0) })
    }

    /// Property: over random sessions and rules, the answer is exactly the brute force (score
    /// everything, keep what the rules allow, sort, cut), so no excluded, filtered-out or
    /// unavailable item ever appears; for SR-GNN and for a served baseline.
    @Test(arguments: ["srgnn", "vstan"])
    func answersAreTheBruteForceOverRandomRules(engine: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (loaded, catalog) = try Self.setUp(folder)
        let (recommender, allScores) = try Self.recommender(engine, loaded, catalog: catalog)
        var rng = SeededGenerator(seed: 5)
        func pick<T>(_ values: [T]) -> T { values[Int(rng.uniform(0, Float(values.count))) % values.count] }
        for _ in 0..<300 {
            let session = (0..<(1 + Int(rng.uniform(0, 5)))).map { _ in Int32(1 + Int(rng.uniform(0, Float(Self.items))) % Self.items) }
            var filter = [String: [String]]()
            if rng.uniform(0, 1) < 0.5 { filter["colour"] = (["red", "green", "blue"].filter { _ in rng.uniform(0, 1) < 0.5 }) }
            if rng.uniform(0, 1) < 0.3 { filter["size"] = [pick(["0", "1", "2", "3"])] }
            let exclude = (0..<Int(rng.uniform(0, 4))).map { _ in "p\(1 + Int(rng.uniform(0, Float(Self.items))) % Self.items)" }
            let query = RecommendationQuery(
                session: session.map { "p\($0)" }, k: pick([1, 5, 20, 200]), excludeSeen: rng.uniform(0, 1) < 0.5,
                exclude: exclude + ["unknown-id"], filter: filter, includeUnavailable: rng.uniform(0, 1) < 0.3)
            let answer = try recommender.recommend([query])[0]

            let scores = allScores(session)
            func isAllowed(_ id: Int) -> Bool {
                let entry: Catalog.Entry? = catalog.entries["p\(id)"]
                if !query.includeUnavailable && entry?.available == false { return false }
                for (attribute, allowed) in filter {
                    let values: [String] = entry?.attributes[RawKey(attribute)] ?? []
                    if !values.contains(where: { allowed.contains($0) }) { return false }
                }
                if exclude.contains("p\(id)") { return false }
                return !(query.excludeSeen && session.contains(Int32(id)))
            }
            let allowedIDs: [Int] = (1...Self.items).filter(isAllowed)
            // A baseline's unscored items (0) come most recently popular first, then by id.
            func popularityRank(_ id: Int) -> Int {
                engine == "vstan" && scores[id - 1] <= 0 ? [7, 3, 120, 44, 9].firstIndex(of: id) ?? Int.max : Int.max
            }
            let sortedIDs: [Int] = allowedIDs.sorted { (a: Int, b: Int) -> Bool in
                if scores[a - 1] != scores[b - 1] { return scores[a - 1] > scores[b - 1] }
                return popularityRank(a) != popularityRank(b) ? popularityRank(a) < popularityRank(b) : a < b
            }
            let expected = sortedIDs.prefix(query.k)
            #expect(answer.items.map(\.id) == expected.map { "p\($0)" }, "\(query)")
            #expect(answer.items.map(\.score) == expected.map { scores[$0 - 1] })
            #expect(answer.fallback == nil)
        }
    }

    @Test(arguments: ["srgnn", "vstan"])
    func candidatesAreRankedWithTheirFullRankingScores(engine: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (loaded, _) = try Self.setUp(folder)
        let (recommender, allScores) = try Self.recommender(engine, loaded, catalog: nil)
        let candidates = ["p5", "p77", "nope", "p5", "p140", "p1"]
        let answer = try recommender.recommend([RecommendationQuery(session: ["p3", "p9", "zzz"], k: 20, candidates: candidates)])[0]
        let scores = allScores([3, 9])
        #expect(Set(answer.items.map(\.id)) == ["p5", "p77", "p140", "p1"])
        for item in answer.items { #expect(item.score == scores[Int(item.id.dropFirst())! - 1]) }
        #expect(answer.items.map(\.score) == answer.items.map(\.score).sorted(by: >))
        #expect(answer.unknownItems == ["zzz", "nope"])
        let ids = answer.items.map { Int($0.id.dropFirst())! }
        #expect(ids == ids.sorted { scores[$0 - 1] != scores[$1 - 1] ? scores[$0 - 1] > scores[$1 - 1] : $0 < $1 })
        // Rules apply to candidates too, and k cuts the list.
        let ruled = try recommender.recommend([RecommendationQuery(session: ["p3"], k: 2, exclude: ["p77"], candidates: candidates)])[0]
        #expect(ruled.items.count == 2 && !ruled.items.contains { $0.id == "p77" })
    }

    @Test(arguments: ["srgnn", "vstan"])
    func coldSessionsFallBackToRecentPopularity(engine: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (loaded, catalog) = try Self.setUp(folder)
        let (recommender, _) = try Self.recommender(engine, loaded, catalog: catalog, fallback: .popularity)
        for session in [[String](), ["new-1", "new-2"]] {
            let answer = try recommender.recommend([RecommendationQuery(session: session, k: 3, includeUnavailable: true)])[0]
            #expect(answer.fallback == .popularity)
            #expect(answer.items == [ScoredItem(id: "p7", score: 50), ScoredItem(id: "p3", score: 40), ScoredItem(id: "p120", score: 30)])
            #expect(answer.unknownItems == session)
        }
        // Rules apply: p7 excluded, and only available items unless asked.
        let ruled = try recommender.recommend([RecommendationQuery(session: [], k: 10, exclude: ["p7"])])[0]
        let available = ["p3", "p120", "p44", "p9"].filter { catalog.entries[RawKey($0)]?.available != false }
        #expect(ruled.items.map(\.id) == available)
        // A known session is scored as usual; without the fallback, a cold session is the old error.
        #expect(try recommender.recommend(session: ["p1"], k: 3).fallback == nil)
        let (strict, _) = try Self.recommender(engine, loaded, catalog: catalog, fallback: .none)
        #expect(throws: RecommenderError.emptySession(index: 0)) { try strict.recommend(session: [], k: 3) }
        #expect(throws: RecommenderError.noKnownItems(index: 0, unknown: ["x"])) { try strict.recommend(session: ["x"], k: 3) }
    }

    /// A baseline with no evidence for a session (SR: no rule leaves item 2) answers from recent
    /// popularity, flagged, under the fallback; an answer with some evidence fills its unscored
    /// tail with the popular items, then by id.
    @Test func unscoredBaselineItemsComeByPopularity() throws {
        var file = NeighbourhoodModelFile(
            baseline: .sr, fitters: BaselineFitters(), sessions: SessionList([[1, 2], [1, 2], [3, 4]]), times: nil,
            vocabulary: ItemVocabulary(rawIDs: (1...10).map { "p\($0)" }))
        file.header.recentPopularity = RecentPopularity(fraction: 0.1, sessions: 3, items: [5, 6, 2], clicks: [9, 8, 7])
        let baseline = try FittedBaseline(file: file, sha256: "")
        #expect(baseline.scorer.scores(for: [2]).allSatisfy { $0 == 0 } && baseline.scorer.scores(for: [1])[1] > 0)

        let served = Recommender(baseline: baseline, fallback: .popularity)
        let cold = try served.recommend(session: ["p2"], k: 4)
        #expect(cold.fallback == .popularity)
        #expect(cold.items == [ScoredItem(id: "p5", score: 9), ScoredItem(id: "p6", score: 8), ScoredItem(id: "p2", score: 7)])
        let strict = try Recommender(baseline: baseline, fallback: .none).recommend(session: ["p2"], k: 5)
        #expect(strict.fallback == nil && strict.items.map(\.id) == ["p5", "p6", "p2", "p1", "p3"])
        #expect(strict.items.allSatisfy { $0.score == 0 })

        let warm = try served.recommend([RecommendationQuery(session: ["p1"], k: 5, excludeSeen: true, exclude: ["p6"])])[0]
        #expect(warm.fallback == nil)
        #expect(warm.items.map(\.id) == ["p2", "p5", "p3", "p4", "p7"], "\(warm.items)")
        #expect(warm.items[0].score > 0 && warm.items.dropFirst().allSatisfy { $0.score == 0 })
        let ranked = try served.recommend([RecommendationQuery(session: ["p1"], k: 3, candidates: ["p9", "p2", "p6", "p8"])])[0]
        #expect(ranked.items.map(\.id) == ["p2", "p6", "p8"])
    }

    @Test func filtersNeedACatalogAndKnownAttributes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (loaded, catalog) = try Self.setUp(folder)
        let query = RecommendationQuery(session: ["p1"], k: 3, filter: ["weight": ["1"]])
        #expect(throws: RecommenderError.self) { try Recommender(model: loaded).recommend([query]) }
        let error = #expect(throws: RecommenderError.self) { try Recommender(model: loaded, catalog: catalog).recommend([query]) }
        #expect(error?.description == "the catalog has no attribute 'weight' (it has: colour, size)")
    }
}
