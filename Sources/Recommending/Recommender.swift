import Foundation
import SessionData
import SRGNN
import TensorCore

/// What a `Recommender` answers for one session: the ranked items, best first, and the ids it
/// does not know (the session's, then the candidates', in the order given), and how the answer was
/// made when the model could not embed the session, or a fitted baseline scored none of the items (`.popularity`).
public struct RecommendationResult: Sendable, Equatable {
    public var items: [ScoredItem<String>]
    public var unknownItems: [String]
    public var fallback: Fallback?
    public init(items: [ScoredItem<String>], unknownItems: [String], fallback: Fallback? = nil) {
        self.items = items; self.unknownItems = unknownItems; self.fallback = fallback
    }
}

/// The answer for a session the model cannot embed (empty, or only unknown items).
public enum Fallback: String, Sendable, Codable, CaseIterable {
    /// The most clicked items of the training data's most recent sessions (`RecentPopularity`),
    /// scored by their click counts, with the query's item rules applied.
    case popularity
    /// No answer: the session is an error (`RecommenderError.emptySession`/`.noKnownItems`).
    case none
}

/// One session to recommend for, with its own `k` and item rules.
public struct RecommendationQuery: Sendable, Equatable {
    /// Raw item ids, oldest click first.
    public var session: [String]
    public var k: Int
    /// Leave out the session's own items.
    public var excludeSeen: Bool
    /// Raw ids never to return (e.g. the basket).
    public var exclude: [String]
    /// Attribute → allowed values (catalog attributes; an item must match every attribute).
    public var filter: [String: [String]]
    /// Also return items the catalog marks unavailable.
    public var includeUnavailable: Bool
    /// Rank exactly these raw ids (those the rules allow) instead of all items.
    public var candidates: [String]?

    public init(
        session: [String], k: Int, excludeSeen: Bool = false, exclude: [String] = [], filter: [String: [String]] = [:],
        includeUnavailable: Bool = false, candidates: [String]? = nil
    ) {
        self.session = session; self.k = k; self.excludeSeen = excludeSeen; self.exclude = exclude
        self.filter = filter; self.includeUnavailable = includeUnavailable; self.candidates = candidates
    }
}

/// Why a session cannot be scored; `index` is the session's position in a batch (0 for one session).
public enum RecommenderError: Error, Equatable, CustomStringConvertible {
    case emptySession(index: Int)
    case noKnownItems(index: Int, unknown: [String])
    case invalidK(index: Int, k: Int)
    /// A filter names an attribute the catalog lacks, or there is no catalog.
    case invalidFilter(index: Int, reason: String)

    public var description: String {
        switch self {
        case .emptySession:
            return "the session has no items; give at least one clicked item id"
        case let .noKnownItems(_, unknown):
            let shown =
                unknown.count > 10
                ? unknown.prefix(10).joined(separator: ", ") + ", … (\(unknown.count) in all)" : unknown.joined(separator: ", ")
            return "none of the session's items is known to the model (\(shown)); nothing to recommend from"
        case let .invalidK(_, k):
            return "k must be at least 1, got \(k)"
        case let .invalidFilter(_, reason):
            return reason
        }
    }
}

/// Top-K recommendation for live sessions in the click log's raw item ids.
///
/// Immutable once loaded, so one instance is shared by every thread. Unknown items are dropped and
/// reported. A session longer than `maxSessionLength` keeps its most recent known clicks: the
/// attention readout reads the whole session, so a very long one costs time while the last click
/// and its neighbourhood dominate the answer. Several sessions are scored as one batch (one
/// `[B, d] × [d, I]` product) through an `InferenceModel` (items packed once at load, a workspace
/// per concurrent call); a session's answer is the same, bit for bit, alone or in any batch (on
/// our kernel paths, not `blas`).
public struct Recommender: Sendable {
    /// The default longest session scored; longer ones keep their most recent clicks.
    public static let defaultMaxSessionLength = 50
    /// The default number of items recommended (`srgnn recommend --k`, a request without `"k"`).
    public static let defaultK = 20

    /// What ranks the items: an SR-GNN checkpoint with its inference model, or a fitted baseline
    /// (`srgnn fit`). Everything around the ranking (ids, rules, candidates, fallback) is shared.
    public enum Engine: Sendable {
        case srgnn(LoadedModel, InferenceModel)
        case baseline(FittedBaseline)
    }

    public let engine: Engine
    /// Sessions longer than this keep their last `maxSessionLength` known clicks.
    public let maxSessionLength: Int
    /// Availability and attributes, in this model's ids (nil: every item available, no filters).
    public let catalog: CatalogIndex?
    /// The answer for a session the model cannot embed.
    public let fallback: Fallback

    /// A recommender over `model`, scoring through `inference` (`model`'s model prepared for
    /// inference, e.g. shared with an evaluator), or when nil through one prepared here on the
    /// default kernel path for `retrieval`.
    public init(
        model: LoadedModel, inference: InferenceModel? = nil, maxSessionLength: Int = Recommender.defaultMaxSessionLength,
        catalog: Catalog? = nil, fallback: Fallback = .none, retrieval: Retrieval = .exact
    ) {
        precondition(inference.map { $0.configuration == model.model.configuration } ?? true, "an inference model of another model")
        self.init(
            engine: .srgnn(model, inference ?? InferenceModel(model.model, retrieval: retrieval)), vocabulary: model.vocabulary,
            maxSessionLength: maxSessionLength, catalog: catalog, fallback: fallback)
    }

    /// A recommender over a fitted baseline.
    public init(
        baseline: FittedBaseline, maxSessionLength: Int = Recommender.defaultMaxSessionLength, catalog: Catalog? = nil,
        fallback: Fallback = .none
    ) {
        self.init(
            engine: .baseline(baseline), vocabulary: baseline.file.header.vocabulary, maxSessionLength: maxSessionLength,
            catalog: catalog, fallback: fallback)
    }

    private init(engine: Engine, vocabulary: ItemVocabulary, maxSessionLength: Int, catalog: Catalog?, fallback: Fallback) {
        precondition(maxSessionLength >= 1, "maxSessionLength must be at least 1")
        self.engine = engine
        self.maxSessionLength = maxSessionLength
        self.catalog = catalog.map { CatalogIndex($0, vocabulary: vocabulary) }
        self.fallback = fallback
    }

    /// Loads `path`: a fitted baseline (`srgnn fit`), or a checkpoint (see `LoadedModel.load`); a
    /// bad or missing file throws `ModelError` naming it.
    public init(
        contentsOf path: String, propagationSteps: Int = 1, nonhybrid: Bool = false,
        maxSessionLength: Int = Recommender.defaultMaxSessionLength, catalog: Catalog? = nil,
        fallback: Fallback = .none, retrieval: Retrieval = .exact
    ) throws {
        if let baseline = try FittedBaseline.load(from: path) {
            self.init(baseline: baseline, maxSessionLength: maxSessionLength, catalog: catalog, fallback: fallback)
        } else {
            self.init(
                model: try LoadedModel.load(from: path, propagationSteps: propagationSteps, nonhybrid: nonhybrid),
                maxSessionLength: maxSessionLength, catalog: catalog, fallback: fallback, retrieval: retrieval)
        }
    }

    /// The SR-GNN checkpoint, or nil for a baseline.
    public var loaded: LoadedModel? { if case .srgnn(let loaded, _) = engine { loaded } else { nil } }
    /// The SR-GNN inference model, or nil for a baseline.
    public var inference: InferenceModel? { if case .srgnn(_, let inference) = engine { inference } else { nil } }
    /// The fitted baseline, or nil for SR-GNN.
    public var baseline: FittedBaseline? { if case .baseline(let baseline) = engine { baseline } else { nil } }
    public var model: SRGNNModel? { loaded?.model }
    public var vocabulary: ItemVocabulary {
        switch engine {
        case .srgnn(let loaded, _): loaded.vocabulary
        case .baseline(let baseline): baseline.file.header.vocabulary
        }
    }
    public var itemCount: Int { vocabulary.count }
    /// The most clicked items of the recent training sessions, for the popularity fallback.
    public var recentPopularity: RecentPopularity? {
        switch engine {
        case .srgnn(let loaded, _): loaded.metadata?.recentPopularity
        case .baseline(let baseline): baseline.file.header.recentPopularity
        }
    }
    /// SHA-256 of the model file: its identity.
    public var sha256: String {
        switch engine {
        case .srgnn(let loaded, _): loaded.sha256
        case .baseline(let baseline): baseline.sha256
        }
    }

    /// Each session's answer from the engine, under its selection.
    private func select(sessions: [[Int32]], selections: [ItemSelection]) throws -> [[ScoredItem<Int32>]] {
        switch engine {
        case .srgnn(_, let inference): try inference.select(sessions: sessions, selections: selections)
        case .baseline(let baseline): baseline.select(sessions: sessions, selections: selections)
        }
    }

    /// Maps raw item ids to internal ids; unknown ones are returned separately, in order.
    private func internalIDs(of rawItems: [String]) -> (known: [Int32], unknown: [String]) {
        var known = [Int32](), unknown = [String]()
        for raw in rawItems {
            if let id = vocabulary.internalID(of: raw) { known.append(id) } else { unknown.append(raw) }
        }
        return (known, unknown)
    }

    /// The `k` best next items for `session` (raw ids, oldest first), best first.
    public func recommend(session: [String], k: Int, excludeSeen: Bool = false) throws -> RecommendationResult {
        try recommend([RecommendationQuery(session: session, k: k, excludeSeen: excludeSeen)])[0]
    }

    /// The `k` best next items for each session, scored as one batch.
    public func recommend(sessions: [[String]], k: Int, excludeSeen: Bool = false) throws -> [RecommendationResult] {
        try recommend(sessions.map { RecommendationQuery(session: $0, k: k, excludeSeen: excludeSeen) })
    }

    /// Checks a query without scoring it: the error `recommend` would throw for it, with `index`.
    public func validate(_ query: RecommendationQuery, index: Int = 0) throws {
        _ = try prepare(query, index: index)
    }

    /// Answers every query, scored as one batch. All queries are checked first; a bad one throws
    /// `RecommenderError` (with its index) before any work is done.
    public func recommend(_ queries: [RecommendationQuery]) throws -> [RecommendationResult] {
        let prepared = try queries.enumerated().map { try prepare($0.element, index: $0.offset) }
        let scored = prepared.filter { !$0.items.isEmpty }
        let ranked =
            scored.isEmpty
            ? []
            : try select(sessions: scored.map(\.items), selections: scored.map(\.selection))
        var next = ranked.makeIterator()
        return prepared.map { query in
            guard !query.items.isEmpty else { return popularAnswer(query) }
            var chosen = next.next()!
            // A neighbourhood model scores 0 where it has no evidence (no neighbour session, rule
            // or co-click), so an order among those items by id would be arbitrary.
            if case .baseline = engine, let popularity = recentPopularity, chosen.contains(where: { $0.score <= 0 }) {
                if fallback == .popularity && chosen.allSatisfy({ $0.score <= 0 }) { return popularAnswer(query) }
                chosen = unscoredByPopularity(chosen, popularity: popularity, query: query)
            }
            let items = chosen.map { ScoredItem(id: vocabulary.rawID(of: $0.id), score: $0.score) }
            return RecommendationResult(items: items, unknownItems: query.unknown)
        }
    }

    /// `chosen` with its unscored tail (score 0) refilled: the allowed items the model did not
    /// score, most recently popular first, then the rest by id as before.
    private func unscoredByPopularity(
        _ chosen: [ScoredItem<Int32>], popularity: RecentPopularity, query: PreparedQuery
    ) -> [ScoredItem<Int32>] {
        var result = Array(chosen.prefix { $0.score > 0 })
        var taken = Set(result.map(\.id))
        // Stops once the answer is full: the popularity list spans the whole catalogue.
        for (id, _) in popularOffers(popularity, query) {
            guard result.count < chosen.count else { break }
            if taken.insert(id).inserted { result.append(ScoredItem(id: id, score: 0)) }
        }
        for item in chosen where result.count < chosen.count && taken.insert(item.id).inserted { result.append(item) }
        return result
    }

    /// A query in the model's ids: the session (empty when it falls back), what to choose from.
    private struct PreparedQuery {
        var items: [Int32]
        var unknown: [String]
        var selection: ItemSelection
        var allowed: ItemMask?
        var k: Int
    }

    private func prepare(_ query: RecommendationQuery, index: Int) throws -> PreparedQuery {
        guard query.k >= 1 else { throw RecommenderError.invalidK(index: index, k: query.k) }
        var (known, unknown) = internalIDs(of: query.session)
        if known.isEmpty && (fallback == .none || recentPopularity == nil) {
            if query.session.isEmpty { throw RecommenderError.emptySession(index: index) }
            throw RecommenderError.noKnownItems(index: index, unknown: unknown)
        }
        if known.count > maxSessionLength { known.removeFirst(known.count - maxSessionLength) }
        let allowed = try allowedItems(query, seen: known, index: index)
        let k = min(query.k, itemCount)
        guard let candidates = query.candidates else {
            return PreparedQuery(items: known, unknown: unknown, selection: .best(k: k, allowed: allowed), allowed: allowed, k: k)
        }
        var chosen = [Int32](), seen = Set<Int32>()
        for raw in candidates {
            guard let id = vocabulary.internalID(of: raw) else { unknown.append(raw); continue }
            if seen.insert(id).inserted && allowed.map({ $0.contains(id) }) ?? true { chosen.append(id) }
        }
        return PreparedQuery(items: known, unknown: unknown, selection: .candidates(chosen, k: k), allowed: allowed, k: k)
    }

    /// The items the query may return, or nil for all: catalog availability and filters, minus
    /// `exclude` and (with `excludeSeen`) the session's own items.
    private func allowedItems(_ query: RecommendationQuery, seen: [Int32], index: Int) throws -> ItemMask? {
        var allowed: ItemMask?
        if let catalog {
            do {
                allowed = try catalog.allowed(filter: query.filter, includeUnavailable: query.includeUnavailable)
            } catch let error as CatalogError {
                throw RecommenderError.invalidFilter(index: index, reason: error.description)
            }
        } else if let attribute = query.filter.keys.sorted().first {
            throw RecommenderError.invalidFilter(
                index: index,
                reason: "no catalog is loaded, so there is nothing to filter '\(quotedPrefix(attribute))' on; start with a catalog")
        }
        let removed = (query.excludeSeen ? seen : []) + query.exclude.compactMap { vocabulary.internalID(of: $0) }
        if !removed.isEmpty {
            if allowed == nil { allowed = ItemMask(count: itemCount, allowingAll: true) }
            for id in removed { allowed!.remove(id) }
        }
        return allowed
    }

    /// The answer from the recent popularity (click counts as scores), rules applied.
    private func popularAnswer(_ query: PreparedQuery) -> RecommendationResult {
        let items = popularOffers(recentPopularity!, query).prefix(query.k).map {
            ScoredItem(id: vocabulary.rawID(of: $0.id), score: Float($0.clicks))
        }
        return RecommendationResult(items: items, unknownItems: query.unknown, fallback: .popularity)
    }

    /// The recent popular items the query may return (rules and candidates applied), most clicked first.
    /// Lazy: an answer reads only as far as it needs.
    private func popularOffers(_ popularity: RecentPopularity, _ query: PreparedQuery) -> some Sequence<(id: Int32, clicks: Int)> {
        let candidates: Set<Int32>? = if case let .candidates(ids, _) = query.selection { Set(ids) } else { nil }
        return zip(popularity.items, popularity.clicks).lazy.filter { [itemCount] id, _ in
            id >= 1 && Int(id) <= itemCount && query.allowed?.contains(id) ?? true && candidates?.contains(id) ?? true
        }.map { (id: $0.0, clicks: $0.1) }
    }
}
