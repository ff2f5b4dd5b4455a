import Foundation

/// What a `Recommender` answers for one session: the ranked items, best first, and the session's
/// items the model does not know (dropped before scoring, in the order given).
public struct RecommendationResult: Sendable, Equatable {
    public var items: [ScoredItem<String>]
    public var unknownItems: [String]
    public init(items: [ScoredItem<String>], unknownItems: [String]) { self.items = items; self.unknownItems = unknownItems }
}

/// One session to recommend for, with its own `k` and whether to leave out items already clicked.
public struct RecommendationQuery: Sendable, Equatable {
    /// Raw item ids, oldest click first.
    public var session: [String]
    public var k: Int
    public var excludeSeen: Bool
    public init(session: [String], k: Int, excludeSeen: Bool = false) {
        self.session = session; self.k = k; self.excludeSeen = excludeSeen
    }
}

/// Why a session cannot be scored; `index` is the session's position in a batch (0 for one session).
public enum RecommenderError: Error, Equatable, CustomStringConvertible {
    case emptySession(index: Int)
    case noKnownItems(index: Int, unknown: [String])
    case invalidK(index: Int, k: Int)

    public var description: String {
        switch self {
        case .emptySession:
            return "the session has no items; give at least one clicked item id"
        case let .noKnownItems(_, unknown):
            let shown = unknown.count > 10 ? unknown.prefix(10).joined(separator: ", ") + ", … (\(unknown.count) in all)" : unknown.joined(separator: ", ")
            return "none of the session's items is known to the model (\(shown)); nothing to recommend from"
        case let .invalidK(_, k):
            return "k must be at least 1, got \(k)"
        }
    }
}

/// Top-K recommendation for live sessions in the click log's raw item ids.
///
/// Immutable once loaded, so one instance is shared by every thread. Unknown items are dropped and
/// reported. A session longer than `maxSessionLength` keeps its most recent known clicks: the
/// attention readout reads the whole session, so a very long one costs time while the last click
/// and its neighbourhood dominate the answer. Several sessions are scored as one batch (one
/// `[B, d] × [d, I]` product) on items packed once at load; a session's answer is the same, bit
/// for bit, alone or in any batch (on our kernel paths, not `blas`). Scratch memory comes from a
/// pool, one workspace per concurrent call.
public struct Recommender: Sendable {
    /// The default longest session scored; longer ones keep their most recent clicks.
    public static let defaultMaxSessionLength = 50
    /// The default number of items recommended (`srgnn recommend --k`, a request without `"k"`).
    public static let defaultK = 20

    public let loaded: LoadedModel
    /// Sessions longer than this keep their last `maxSessionLength` known clicks.
    public let maxSessionLength: Int
    private let workspaces = WorkspacePool()
    /// The items packed once for the kernel in force when loaded (nil on `blas`).
    private let packedItems: PackedItemEmbedding?

    public init(model: LoadedModel, maxSessionLength: Int = Recommender.defaultMaxSessionLength) {
        precondition(maxSessionLength >= 1, "maxSessionLength must be at least 1")
        self.loaded = model
        self.maxSessionLength = maxSessionLength
        packedItems = PackedItemEmbedding(model.model)
    }

    /// Loads `path` (see `LoadedModel.load`); a bad or missing file throws `ModelError` naming it.
    public init(contentsOf path: String, propagationSteps: Int = 1, nonhybrid: Bool = false,
                maxSessionLength: Int = Recommender.defaultMaxSessionLength) throws {
        self.init(model: try LoadedModel.load(from: path, propagationSteps: propagationSteps, nonhybrid: nonhybrid), maxSessionLength: maxSessionLength)
    }

    public var model: SRGNNModel { loaded.model }
    public var itemCount: Int { loaded.model.configuration.itemCount }

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
        if prepared.isEmpty { return [] }
        // Ask for enough extra items that the ones left out as seen can be replaced.
        let widest = prepared.map { $0.k + $0.exclude.count }.max()!
        let ranked = try workspaces.with { workspace in
            try loaded.model.recommend(sessions: prepared.map(\.items), k: widest, workspace: workspace, packedItems: packedItems)
        }
        return zip(prepared, ranked).map { query, ranked in
            var items = [ScoredItem<String>]()
            items.reserveCapacity(min(query.k, ranked.count))
            for entry in ranked where !query.exclude.contains(entry.id) {
                items.append(ScoredItem(id: loaded.vocabulary.rawID(of: entry.id), score: entry.score))
                if items.count == query.k { break }
            }
            return RecommendationResult(items: items, unknownItems: query.unknown)
        }
    }

    private struct PreparedQuery {
        var items: [Int32]
        var unknown: [String]
        var k: Int
        var exclude: Set<Int32>
    }

    private func prepare(_ query: RecommendationQuery, index: Int) throws -> PreparedQuery {
        guard query.k >= 1 else { throw RecommenderError.invalidK(index: index, k: query.k) }
        guard !query.session.isEmpty else { throw RecommenderError.emptySession(index: index) }
        var (known, unknown) = loaded.internalIDs(of: query.session)
        guard !known.isEmpty else { throw RecommenderError.noKnownItems(index: index, unknown: unknown) }
        if known.count > maxSessionLength { known.removeFirst(known.count - maxSessionLength) }
        return PreparedQuery(items: known, unknown: unknown, k: min(query.k, itemCount),
                             exclude: query.excludeSeen ? Set(known) : [])
    }
}
