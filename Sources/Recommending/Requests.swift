import SessionData

// The request types of the service's recommendation routes and of `srgnn recommend --input`
// lines: one reading of a session, its `k` and its item rules for both front ends.

/// `POST /v1/recommendations`: `{"items": [...], "k": 20, "exclude_seen": false}`, the item rules
/// (`ItemRules`), and optionally `"model"` (a variant's name) or `"session_id"` (hashed to a
/// variant) for A/B tests. Fields it does not know are ignored.
public struct RecommendationRequest: Decodable, Sendable {
    public var items: [JSONItemID]
    public var k: RequestedK?
    public var excludeSeen: Bool?
    public var rules: ItemRules
    /// The variant to answer with; wins over `sessionID`.
    public var model: String?
    /// Picks the variant by a stable hash (the service's `VariantSplit`); without either, the split draws one.
    public var sessionID: String?

    enum CodingKeys: String, CodingKey {
        case items, k, model
        case excludeSeen = "exclude_seen"
        case sessionID = "session_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        items = try container.decode([JSONItemID].self, forKey: .items)
        k = try container.decodeIfPresent(RequestedK.self, forKey: .k)
        excludeSeen = try container.decodeIfPresent(Bool.self, forKey: .excludeSeen)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        sessionID = try container.decodeIfPresent(String.self, forKey: .sessionID)
        rules = try ItemRules(from: decoder)
    }
}

/// `POST /v1/recommendations/batch`: `{"sessions": [{"items": [...], …rules}, …], "k": 20,
/// "exclude_seen": false}`; each session has its own item rules. `"model"` picks one variant for
/// every session; else each session picks by its own `"session_id"`.
public struct BatchRecommendationRequest: Decodable, Sendable {
    /// One session of the batch, with its own item rules and variant key.
    public struct Session: Decodable, Sendable {
        public var items: [JSONItemID]
        public var rules: ItemRules
        public var sessionID: String?

        enum CodingKeys: String, CodingKey {
            case items
            case sessionID = "session_id"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            items = try container.decode([JSONItemID].self, forKey: .items)
            sessionID = try container.decodeIfPresent(String.self, forKey: .sessionID)
            rules = try ItemRules(from: decoder)
        }
    }
    public var sessions: [Session]
    public var k: RequestedK?
    public var excludeSeen: Bool?
    public var model: String?

    enum CodingKeys: String, CodingKey {
        case sessions, k, model
        case excludeSeen = "exclude_seen"
    }
}

/// One session's item rules, as the service and `srgnn recommend --input` lines take them, beside
/// `"items"`: `{"exclude": [ids], "filter": {"attribute": [values]}, "include_unavailable": false,
/// "candidates": [ids]}`, each optional. Filter values are strings or numbers, compared with the
/// catalog's values by its one rule (`Catalog.comparisonText`: `2`, `2.0` and `"2.0"` match a
/// catalog's `2` or `2.0`; other text byte for byte).
public struct ItemRules: Decodable, Sendable, Equatable {
    /// Ids never to return; ids the model does not know are ignored.
    public var exclude: [JSONItemID]?
    /// Attribute → allowed values; an item must match every attribute.
    public var filter: [String: [Catalog.Scalar]]?
    /// Also return items the catalog marks unavailable.
    public var includeUnavailable: Bool?
    /// Rank only these ids; unknown ones are listed in `unknown_items`.
    public var candidates: [JSONItemID]?

    enum CodingKeys: String, CodingKey {
        case exclude, filter, candidates
        case includeUnavailable = "include_unavailable"
    }

    public init(
        exclude: [JSONItemID]? = nil, filter: [String: [Catalog.Scalar]]? = nil, includeUnavailable: Bool? = nil,
        candidates: [JSONItemID]? = nil
    ) {
        self.exclude = exclude; self.filter = filter; self.includeUnavailable = includeUnavailable; self.candidates = candidates
    }

    /// These rules over `defaults` (`srgnn recommend --input`: a line's rules over the flags'):
    /// `exclude` lists are united, an attribute of `filter` replaces the default's values for that
    /// attribute, and `include_unavailable` and `candidates` replace the defaults when given.
    public func applied(over defaults: ItemRules) -> ItemRules {
        var rules = defaults
        if let exclude { rules.exclude = (defaults.exclude ?? []) + exclude }
        if let filter { rules.filter = (defaults.filter ?? [:]).merging(filter) { _, line in line } }
        if let includeUnavailable { rules.includeUnavailable = includeUnavailable }
        if let candidates { rules.candidates = candidates }
        return rules
    }

    /// The query for `session` under these rules.
    public func query(session: [JSONItemID], k: Int, excludeSeen: Bool) -> RecommendationQuery {
        RecommendationQuery(
            session: session.map(\.raw), k: k, excludeSeen: excludeSeen, exclude: exclude?.map(\.raw) ?? [],
            filter: filter?.mapValues { $0.map(\.text) } ?? [:], includeUnavailable: includeUnavailable ?? false,
            candidates: candidates?.map(\.raw))
    }

    /// The ids a client sent for one session, in the order the recommender lists unknown ones:
    /// the session's, then the candidates' (see `RecommendationResponse.echo`).
    public func sent(session: [JSONItemID]) -> [JSONItemID] {
        session + (candidates ?? [])
    }
}

/// `k` as sent: any JSON number is read, so that `2.5` or `1e20` is refused as a bad `k` (with the
/// number quoted) rather than as a bad body; a string or other type is a type error.
public struct RequestedK: Decodable, Sendable {
    /// The integer, or nil for a number that is not one (or does not fit in Int).
    public var value: Int?
    /// The number as written back in a refusal.
    public var text: String

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self.value = value
            text = String(value)
        } else if let number = try? container.decode(Double.self) {
            value = nil
            text = "\(number)"
        } else {
            throw DecodingError.typeMismatch(Int.self, .init(codingPath: decoder.codingPath, debugDescription: "expected an integer"))
        }
    }
}
