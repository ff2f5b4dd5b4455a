import SRGNN

// The answer types of the service's recommendation routes and of `srgnn recommend` (`--json`,
// `--input` lines): an item id in the JSON form it came in, and one session's answer.

/// An item id on the wire, kept as the raw id string the vocabulary knows, and written back in the
/// JSON form it came in.
///
/// Clients send a JSON string or integer, as in their click log (`17` and `"17"` name one item).
/// An id the client sent is echoed (in `unknown_items`) exactly as sent: `"12"` as the string
/// `"12"`, `12` as the number `12`, `"-01"` as the string `"-01"`. A JSON number is an integer's
/// value, so it comes back in its canonical text (`-0` as `0`). An id from the model's vocabulary
/// (a recommendation) has no JSON form of its own, only the click log's text: it is a number
/// exactly when that text is the canonical form of an integer that fits in Int64 (`"17"`, `"-5"`),
/// else a string (`"007"`, `"+5"`, `"-0"`, `"-01"`, `"a17"`, a 25-digit id), so a client that
/// parses the number and prints it again gets the click log's text back.
public struct JSONItemID: Codable, Sendable, Hashable {
    /// How the id is written.
    public enum Form: Sendable, Hashable {
        /// A number when `raw` is a canonical Int64, else a string (ids from the vocabulary).
        case canonical
        /// Always a JSON string (sent as one).
        case string
        /// A JSON number (sent as one; `raw` is then canonical).
        case number
    }

    public var raw: String
    public var form: Form

    /// An id from the vocabulary, written in the canonical form.
    public init(_ raw: String) {
        self.raw = raw
        form = .canonical
    }

    public init(raw: String, form: Form) {
        self.raw = raw
        self.form = form
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(String.self) {
            raw = value
            form = .string
        } else if let value = try? container.decode(Int64.self) {
            raw = String(value)
            form = .number
        } else {
            throw DecodingError.typeMismatch(
                JSONItemID.self,
                .init(
                    codingPath: decoder.codingPath, debugDescription: "expected an item id, a string or an integer"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch form {
        case .string:
            try container.encode(raw)
        case .number, .canonical:
            if let number = Int64(raw), String(number) == raw {
                try container.encode(number)
            } else {
                try container.encode(raw)
            }
        }
    }
}

/// One session's answer: `{"items": [{"id": …, "score": …}], "unknown_items": [...]}`, best first,
/// and `"fallback": "popularity"` when the model could not embed the session. The service adds the
/// variant that answered (`model`) and the id to credit events to (`recommendation_id`). `srgnn
/// recommend --json` prints the same form without `unknown_items` (it reports them on stderr),
/// `model` and `recommendation_id`.
public struct RecommendationResponse: Encodable, Sendable, Equatable {
    public var items: [ScoredItem<JSONItemID>]
    /// Left out of the body when nil.
    public var unknownItems: [JSONItemID]?
    /// How the answer was made when not by the model; left out when it was.
    public var fallback: Fallback?
    /// The variant that answered; left out when nil.
    public var model: String?
    /// `<variant>.<32 hex digits>`, for `POST /v1/events`; left out when nil.
    public var recommendationID: String?

    enum CodingKeys: String, CodingKey {
        case items, fallback, model
        case unknownItems = "unknown_items"
        case recommendationID = "recommendation_id"
    }

    public init(items: [ScoredItem<String>], unknownItems: [String]?, fallback: Fallback? = nil) {
        self.items = items.map { ScoredItem(id: JSONItemID($0.id), score: $0.score) }
        self.unknownItems = unknownItems?.map(JSONItemID.init)
        self.fallback = fallback
    }

    public init(_ result: RecommendationResult) {
        self.init(items: result.items, unknownItems: result.unknownItems, fallback: result.fallback)
    }

    /// `result` for ids sent as `sent` (the session's, then the candidates': `ItemRules.sent`): its
    /// unknown items are echoed in the form they were sent.
    public init(_ result: RecommendationResult, sent: [JSONItemID]) {
        self.init(items: result.items, unknownItems: nil, fallback: result.fallback)
        unknownItems = Self.echo(result.unknownItems, from: sent)
    }

    /// The ids of `sent` that `unknown` lists. `unknown` is the subsequence of the sent raw ids that
    /// the vocabulary lacks, in order (one raw id is either known or not), so one pass pairs them.
    static func echo(_ unknown: [String], from sent: [JSONItemID]) -> [JSONItemID] {
        var echoed = [JSONItemID]()
        echoed.reserveCapacity(unknown.count)
        var next = unknown.startIndex
        for id in sent where next < unknown.endIndex && id.raw.utf8.elementsEqual(unknown[next].utf8) {  // bytes, not canonical equivalence
            echoed.append(id)
            next += 1
        }
        // Never expected; keeps every unknown id in the answer if the pairing ever fails.
        echoed += unknown[next...].map(JSONItemID.init)
        return echoed
    }
}

/// `POST /v1/recommendations/batch`'s answer: `{"results": [...]}`, one per session, in order.
public struct BatchRecommendationResponse: Encodable, Sendable, Equatable {
    public var results: [RecommendationResponse]

    public init(results: [RecommendationResponse]) { self.results = results }
}
