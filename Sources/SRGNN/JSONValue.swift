import Foundation

/// Any JSON value, for metadata whose shape belongs to another module (the training
/// configuration in a checkpoint, a model's metrics in the service's `/v1/model`).
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// `value` as a JSON value (through its `Encodable` form).
    public init(encoding value: some Encodable) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONText.data(value))
    }

    /// This value decoded as `type`, or nil when it does not have that shape.
    public func decode<T: Decodable>(_ type: T.Type) -> T? {
        guard let data = try? JSONText.data(self) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}

/// The project's one compact JSON form, for files, logs, answers and `--json` output: sorted keys
/// (byte-stable, so tests and caches can compare), slashes left unescaped (raw ids and paths).
public enum JSONText {
    // Safe to share: its options never change after this point.
    nonisolated(unsafe) private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static func data(_ value: some Encodable) throws -> Data {
        try encoder.encode(value)
    }

    public static func string(_ value: some Encodable) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }
}
