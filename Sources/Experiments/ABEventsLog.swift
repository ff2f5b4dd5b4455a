import Foundation
import SessionData

/// What `srgnn ab-report` reads from the events logs of one or more replicas (`srgnn serve
/// --events-log`), merged: every `impression` (keyed by its recommendation id, which joins clicks
/// and purchases to it), every `click` and `purchase`, and the split of every `start` line.
///
/// Line formats (docs/SERVING.md): `{"type": "impression", "recommendation_id", "model",
/// "session_id"?, "items": [...], "time"}`, `{"type": "click" | "purchase", "recommendation_id",
/// "model", "item", "time"}`, `{"type": "start", "trigger", "variants": [{"name", "weight",
/// "model"?, "sha256"}], "time"}`. A line that is not one of these is an error naming the file,
/// the line and the field; blank lines are skipped.
public struct ABEventsLog: Sendable {
    /// One answered session.
    public struct Impression: Sendable, Equatable {
        public var variant: String
        public var sessionID: String?
        /// The returned item ids as raw text (`17` and `"17"` are one item), best first.
        public var items: [String]
    }

    /// One click or purchase.
    public struct Event: Sendable, Equatable {
        public var recommendationID: String
        public var variant: String
        public var item: String
        public var isPurchase: Bool
    }

    /// The longest line read, in bytes: an impression of 1,000 items of 256 characters, each escaped.
    public static let maximumLineBytes = 8 << 20

    public private(set) var impressions: [String: Impression] = [:]
    public private(set) var events: [Event] = []
    /// The split of each start line, in the order read: `[(name, weight)]`.
    public private(set) var splits: [[(name: String, weight: Int)]] = []
    /// Variant names in the order first seen (start lines first, then any line).
    public private(set) var variantsSeen: [String] = []
    /// Impression lines whose recommendation id was already read (the same log given twice, say).
    public private(set) var duplicateImpressions = 0

    public init() {}

    /// Reads and merges `paths`, in order.
    public init(paths: [String]) throws {
        for path in paths { try read(path) }
    }

    /// Reads one log and merges it into this one.
    public mutating func read(_ path: String) throws {
        try FileIO.forEachLine(path, maximumLineLength: Self.maximumLineBytes, limitName: "one events-log line") { bytes, number in
            guard bytes.contains(where: { ![0x20, 0x09, 0x0d].contains($0) }) else { return }
            try add(line: Data(bytes), file: path, line: number)
        }
    }

    /// Adds one line of `file` (numbered `line`, for errors).
    mutating func add(line: Data, file: String, line number: Int) throws {
        func error(_ field: String?, _ message: String) -> SessionDataError {
            SessionDataError(file: file, location: .line(number), field: field, message)
        }
        let record: LoggedLine
        do {
            record = try JSONDecoder().decode(LoggedLine.self, from: line)
        } catch let decoding as DecodingError {
            switch decoding {
            case .dataCorrupted(let context) where context.codingPath.isEmpty:
                throw error(nil, "not JSON; an events log holds one JSON object per line (srgnn serve --events-log)")
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                if context.codingPath.isEmpty { throw error(nil, "expected a JSON object") }
                throw error(Self.field(context.codingPath), "expected \(Self.expected(context.codingPath.last!))")
            case .keyNotFound(let key, let context):
                throw error(Self.field(context.codingPath + [key]), "missing")
            @unknown default:
                throw error(nil, "\(decoding)")
            }
        }
        func required(_ value: String?, _ field: String) throws -> String {
            guard let value, !value.isEmpty else { throw error(field, value == nil ? "missing" : "expected a non-empty string") }
            return value
        }
        let type = try required(record.type, "type")
        switch type {
        case "impression":
            let id = try required(record.recommendationID, "recommendation_id"), variant = try required(record.model, "model")
            guard let items = record.items else { throw error("items", "missing") }
            if let sessionID = record.sessionID, sessionID.isEmpty { throw error("session_id", "expected a non-empty string") }
            noteVariant(variant)
            guard impressions[id] == nil else {
                duplicateImpressions += 1
                return
            }
            impressions[id] = Impression(variant: variant, sessionID: record.sessionID, items: items.map(\.text))
        case "click", "purchase":
            let id = try required(record.recommendationID, "recommendation_id"), variant = try required(record.model, "model")
            guard let item = record.item else { throw error("item", "missing") }
            noteVariant(variant)
            events.append(Event(recommendationID: id, variant: variant, item: item.text, isPurchase: type == "purchase"))
        case "start":
            guard let variants = record.variants, !variants.isEmpty else {
                throw error("variants", "expected a non-empty list of {\"name\", \"weight\"}")
            }
            for (index, variant) in variants.enumerated() where variant.name.isEmpty || variant.weight < 0 {
                throw error("variants[\(index)]", "expected a variant name and a non-negative weight")
            }
            if let repeated = variants.indices.first(where: { index in variants[..<index].contains { $0.name == variants[index].name } }) {
                throw error("variants[\(repeated)].name", "\"\(variants[repeated].name)\" is named twice")
            }
            splits.append(variants.map { ($0.name, $0.weight) })
            for variant in variants { noteVariant(variant.name) }
        default:
            throw error("type", "expected \"impression\", \"click\", \"purchase\" or \"start\", found \"\(type.prefix(40))\"")
        }
    }

    /// `variants[1].weight` for a coding path.
    private static func field(_ path: [any CodingKey]) -> String {
        path.reduce("") { text, key in
            if let index = key.intValue { return text + "[\(index)]" }
            return text.isEmpty ? key.stringValue : text + "." + key.stringValue
        }
    }

    private static func expected(_ key: any CodingKey) -> String {
        switch key.stringValue {
        case "items", "item": return "an item id (a string or an integer)"
        case "weight": return "a non-negative integer"
        case "variants": return "a list of {\"name\", \"weight\"}"
        default: return key.intValue != nil ? "an item id (a string or an integer)" : "a string"
        }
    }

    private mutating func noteVariant(_ name: String) {
        if !variantsSeen.contains(name) { variantsSeen.append(name) }
    }

    /// The fields any line may have; which are required depends on `type`.
    private struct LoggedLine: Decodable {
        var type: String?
        var recommendationID: String?
        var model: String?
        var sessionID: String?
        var items: [LoggedItem]?
        var item: LoggedItem?
        var variants: [LoggedVariant]?

        enum CodingKeys: String, CodingKey {
            case type, model, items, item, variants
            case recommendationID = "recommendation_id", sessionID = "session_id"
        }
    }

    /// An item id as the service writes it: a JSON string, or an integer (its decimal text).
    private struct LoggedItem: Decodable {
        var text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self.text = text
            } else if let number = try? container.decode(Int64.self) {
                text = String(number)
            } else {
                // Thrown here, with the item's path (the decoder's own error may lack it).
                throw DecodingError.typeMismatch(
                    LoggedItem.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a string or an integer"))
            }
        }
    }

    private struct LoggedVariant: Decodable {
        var name: String
        var weight: Int
    }
}
