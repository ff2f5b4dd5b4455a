import Foundation
import Hummingbird
import SRGNN

/// An item id on the wire, kept as the raw id string the vocabulary knows.
///
/// Clients send a JSON string or integer, as in their click log (`17` and `"17"` are one item).
/// It is written back as a number exactly when the raw id is the canonical text of an integer
/// that fits in Int64 (`"17"`, `"-5"`), else as a string (`"007"`, `"+5"`, `"-0"`, `"a17"`, a
/// 25-digit id): a client that parses the number and prints it again gets the same id.
public struct JSONItemID: Codable, Sendable, Hashable {
    public var raw: String

    public init(_ raw: String) { self.raw = raw }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(String.self) {
            raw = value
        } else if let value = try? container.decode(Int64.self) {
            raw = String(value)
        } else {
            throw DecodingError.typeMismatch(JSONItemID.self, .init(
                codingPath: decoder.codingPath, debugDescription: "expected an item id, a string or an integer"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let number = Int64(raw), String(number) == raw {
            try container.encode(number)
        } else {
            try container.encode(raw)
        }
    }
}

/// One session's answer: `{"items": [{"id": …, "score": …}], "unknown_items": [...]}`, best first.
/// `srgnn recommend --json` prints the same form without `unknown_items` (it reports them on stderr).
public struct RecommendationResponse: Encodable, Sendable, Equatable {
    public var items: [ScoredItem<JSONItemID>]
    /// Left out of the body when nil.
    public var unknownItems: [JSONItemID]?

    enum CodingKeys: String, CodingKey {
        case items
        case unknownItems = "unknown_items"
    }

    public init(items: [ScoredItem<String>], unknownItems: [String]?) {
        self.items = items.map { ScoredItem(id: JSONItemID($0.id), score: $0.score) }
        self.unknownItems = unknownItems?.map(JSONItemID.init)
    }

    public init(_ result: RecommendationResult) {
        self.init(items: result.items, unknownItems: result.unknownItems)
    }
}

/// `POST /v1/recommendations/batch`'s answer: `{"results": [...]}`, one per session, in order.
public struct BatchRecommendationResponse: Encodable, Sendable, Equatable {
    public var results: [RecommendationResponse]
}

/// A refusal: `{"error": {"code": …, "message": …}}`.
public struct ErrorResponse: Encodable, Sendable, Equatable {
    public struct Detail: Encodable, Sendable, Equatable {
        public var code: String
        public var message: String
    }
    public var error: Detail

    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}

/// `GET /health` and `GET /ready`: `{"status": "ok"}`, `{"items": 43097, "status": "ready"}`.
struct StatusResponse: Encodable, Sendable {
    var status: String
    var items: Int?
}

/// `value` as an `application/json` response.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(bytes: try JSONText.data(value))))
}
