import Foundation
import TensorCore

/// What a shop knows about its items beyond the click log: whether each can be sold now, and
/// attributes to filter on (category, brand, …). Read from `items.csv` (or `.tsv`) or
/// `items.jsonl`; one row per item, by the raw id of the click log.
///
/// Values compare as text: a CSV field as written, a JSON string as is, a JSON number in its
/// shortest decimal form (so `42` in a request matches `42` in a CSV). A JSON array gives an item
/// several values of one attribute (it matches a filter when any of them is allowed).
public struct Catalog: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var available: Bool
        public var attributes: [String: [String]]
        public init(available: Bool = true, attributes: [String: [String]] = [:]) {
            self.available = available
            self.attributes = attributes
        }
    }

    /// Entries by raw item id.
    public private(set) var entries: [String: Entry]
    /// Attribute names in the order the file first gives them.
    public private(set) var attributeNames: [String]

    public static let idColumns = ["id", "item_id", "item"]
    public static let availableColumn = "available"
    /// Attribute columns per item (a limit on what one line can make the service hold).
    public static let maximumAttributes = 256

    public init(entries: [String: Entry] = [:], attributeNames: [String]? = nil) {
        self.entries = entries
        self.attributeNames = attributeNames ?? Array(Set(entries.values.flatMap(\.attributes.keys))).sorted()
    }

    /// Reads `path` by its extension: `.jsonl` (or `.ndjson`) as JSON lines, `.tsv` tab-separated,
    /// anything else comma-separated with a header. Errors name the file, line and field.
    public static func load(from path: String) throws -> Catalog {
        let lower = path.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return try loadJSONLines(path) }
        return try loadDelimited(path, delimiter: lower.hasSuffix(".tsv") ? 0x09 : 0x2C)
    }

    // MARK: Delimited text

    static func loadDelimited(_ path: String, delimiter: UInt8) throws -> Catalog {
        var header = [String]()
        var idColumn = 0, availableColumn: Int? = nil
        var catalog = Catalog()
        try FileIO.forEachLine(path) { bytes, line in
            let text = String(decoding: bytes, as: UTF8.self)
            if header.isEmpty {
                header = try splitFields(text, delimiter: delimiter, file: path, line: line).map { $0.trimmingCharacters(in: .whitespaces) }
                guard let id = header.firstIndex(where: { idColumns.contains($0.lowercased()) }) else {
                    throw SessionDataError(file: path, location: .line(line),
                        "the header needs an item id column named \(idColumns.map { "'\($0)'" }.joined(separator: ", ") ) (columns: \(quotedPrefix(header.joined(separator: ", "))))")
                }
                guard header.count - 1 <= maximumAttributes else {
                    throw SessionDataError(file: path, location: .line(line), "\(header.count) columns; at most \(maximumAttributes + 1) (an id and \(maximumAttributes) attributes)")
                }
                if let repeated = header.enumerated().first(where: { header.firstIndex(of: $0.element) != $0.offset }) {
                    throw SessionDataError(file: path, location: .line(line), field: quotedPrefix(repeated.element), "the column name appears twice")
                }
                idColumn = id
                availableColumn = header.firstIndex { $0.lowercased() == Self.availableColumn }
                catalog.attributeNames = header.indices.filter { $0 != id && $0 != availableColumn }.map { header[$0] }
                return
            }
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { return }  // blank lines
            let fields = try splitFields(text, delimiter: delimiter, file: path, line: line)
            guard fields.count == header.count else {
                throw SessionDataError(file: path, location: .line(line), "\(fields.count) fields, the header has \(header.count)")
            }
            var entry = Entry()
            for (column, value) in fields.enumerated() where column != idColumn {
                if column == availableColumn {
                    entry.available = try parseAvailable(value, file: path, line: line)
                } else if !value.isEmpty {
                    entry.attributes[header[column]] = [value]
                }
            }
            try catalog.add(id: fields[idColumn], entry, file: path, line: line)
        }
        guard !header.isEmpty else { throw SessionDataError(file: path, "the file is empty; expected a header line and one line per item") }
        return catalog
    }

    /// One line's fields: `delimiter`-separated, a field in double quotes may hold the delimiter
    /// and `""` for a quote (RFC 4180, without line breaks inside a field).
    static func splitFields(_ line: String, delimiter: UInt8, file: String, line number: Int) throws -> [String] {
        var fields = [String](), field = [UInt8]()
        var quoted = false, wasQuoted = false
        var bytes = Array(line.utf8)[...]
        while let byte = bytes.popFirst() {
            if quoted {
                if byte == 0x22 {
                    if bytes.first == 0x22 { field.append(0x22); bytes.removeFirst() } else { quoted = false }
                } else {
                    field.append(byte)
                }
            } else if byte == 0x22 && field.isEmpty && !wasQuoted {
                quoted = true
                wasQuoted = true
            } else if byte == delimiter {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll()
                wasQuoted = false
            } else {
                field.append(byte)
            }
        }
        guard !quoted else {
            throw SessionDataError(file: file, location: .line(number), field: "column \(fields.count + 1)", "a quoted field is not closed")
        }
        fields.append(String(decoding: field, as: UTF8.self))
        return fields
    }

    static func parseAvailable(_ value: String, file: String, line: Int) throws -> Bool {
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "true", "1", "yes", "y", "t": return true
        case "false", "0", "no", "n", "f": return false
        default:
            throw SessionDataError(file: file, location: .line(line), field: availableColumn,
                                   "expected true/false (or 1/0, yes/no), found '\(quotedPrefix(value))'")
        }
    }

    // MARK: JSON lines

    static func loadJSONLines(_ path: String) throws -> Catalog {
        var catalog = Catalog()
        var names = [String](), known = Set<String>()
        let decoder = JSONDecoder()
        try FileIO.forEachLine(path) { bytes, line in
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            func fail(_ field: String?, _ message: String) -> SessionDataError {
                SessionDataError(file: path, location: .line(line), field: field, message)
            }
            let object: [String: Field]
            do {
                object = try decoder.decode([String: Field].self, from: Data(bytes))
            } catch {
                throw fail(nil, "expected a JSON object of strings, numbers, booleans or lists, such as {\"id\": \"123\", \"available\": true, \"category\": \"shoes\"}")
            }
            guard let idKey = idColumns.first(where: { object[$0] != nil }) else { throw fail("id", "missing; every line needs the item's id") }
            guard case .values(let ids) = object[idKey]!, ids.count == 1, !ids[0].isEmpty else {
                throw fail(idKey, "expected a string or a number")
            }
            guard object.count <= maximumAttributes + 2 else { throw fail(nil, "\(object.count) fields; at most \(maximumAttributes) attributes") }
            var entry = Entry()
            for (key, value) in object.sorted(by: { $0.key < $1.key }) where key != idKey {
                switch (key == availableColumn, value) {
                case (true, .flag(let flag)): entry.available = flag
                case (true, _): throw fail(key, "expected true or false")
                case (false, .flag): throw fail(key, "expected a string, a number or a list of them (a boolean only in 'available')")
                case (false, .null): continue
                case (false, .values(let values)):
                    entry.attributes[key] = values
                    if known.insert(key).inserted { names.append(key) }
                }
            }
            try catalog.add(id: ids[0], entry, file: path, line: line)
        }
        catalog.attributeNames = names
        return catalog
    }

    /// A catalog field in JSON: a boolean (only `available`), null, or values as text (a string,
    /// a number, or a list of them).
    enum Field: Decodable {
        case flag(Bool)
        case null
        case values([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null; return }
            if let flag = try? container.decode(Bool.self) { self = .flag(flag); return }
            if let value = try? container.decode(Scalar.self) { self = .values([value.text]); return }
            self = .values(try container.decode([Scalar].self).map(\.text))
        }
    }

    /// A string or a number, as the text it compares as.
    public struct Scalar: Codable, Sendable, Hashable {
        public var text: String
        public init(_ text: String) { self.text = text }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self.text = text; return }
            // An integer first: through Double, one over 2^53 would lose digits and miss its row.
            if let integer = try? container.decode(Int64.self) { self.text = String(integer); return }
            if let number = try? container.decode(Double.self) { self.text = Catalog.text(of: number); return }
            throw DecodingError.typeMismatch(Scalar.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a string or a number"))
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(text)
        }
    }

    /// The text a number compares as: `42` for 42 and 42.0, `0.5` for 0.5, `1e+20` for 1e20
    /// (integers exactly, others in their shortest round-trip form).
    public static func text(of number: Double) -> String {
        if number.isFinite, number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return "\(number)"
    }

    mutating func add(id: String, _ entry: Entry, file: String, line: Int) throws {
        guard !id.isEmpty else { throw SessionDataError(file: file, location: .line(line), field: "id", "empty; every line needs the item's id") }
        guard entries.updateValue(entry, forKey: id) == nil else {
            throw SessionDataError(file: file, location: .line(line), field: "id", "item '\(quotedPrefix(id))' appears twice")
        }
    }
}

/// A request's item rule that the catalog cannot apply.
public enum CatalogError: Error, Equatable, CustomStringConvertible {
    case unknownAttribute(String, known: [String])

    public var description: String {
        switch self {
        case let .unknownAttribute(name, known):
            return "the catalog has no attribute '\(quotedPrefix(name))'"
                + (known.isEmpty ? " (it has none)" : " (it has: \(quotedPrefix(known.joined(separator: ", "))))")
        }
    }
}

/// A catalog in one model's internal ids: availability as a mask and, per attribute value, the
/// items that have it. Items of the model missing from the catalog are available and have no
/// attributes; catalog rows for items the model does not know are counted and left out.
public struct CatalogIndex: Sendable {
    public let itemCount: Int
    /// The available items.
    public let available: ItemMask
    /// `postings[attribute][value]`: the items (internal ids, ascending) with that value.
    let postings: [String: [String: [Int32]]]
    public let attributeNames: [String]
    /// Catalog rows whose id the model does not know, and model items the catalog lacks.
    public let rowsNotInModel: Int
    public let itemsNotInCatalog: Int

    public init(_ catalog: Catalog, vocabulary: ItemVocabulary) {
        itemCount = vocabulary.count
        var available = ItemMask(count: vocabulary.count, allowingAll: true)
        var postings = [String: [String: [Int32]]]()
        var matched = 0
        for (raw, entry) in catalog.entries {
            guard let id = vocabulary.internalID(of: raw) else { continue }
            matched += 1
            if !entry.available { available.remove(id) }
            for (attribute, values) in entry.attributes {
                for value in Set(values) { postings[attribute, default: [:]][value, default: []].append(id) }
            }
        }
        for attribute in postings.keys {
            for value in postings[attribute]!.keys { postings[attribute]![value]!.sort() }
        }
        self.available = available
        self.postings = postings
        self.attributeNames = catalog.attributeNames
        rowsNotInModel = catalog.entries.count - matched
        itemsNotInCatalog = vocabulary.count - matched
    }

    /// The items a request may return: those whose every filtered attribute has one of the
    /// allowed values, and (unless `includeUnavailable`) that are available.
    public func allowed(filter: [String: [String]], includeUnavailable: Bool) throws -> ItemMask {
        var mask = includeUnavailable ? ItemMask(count: itemCount, allowingAll: true) : available
        for (attribute, values) in filter {
            guard let byValue = postings[attribute] ?? (attributeNames.contains(attribute) ? [:] : nil) else {
                throw CatalogError.unknownAttribute(attribute, known: attributeNames)
            }
            var matching = ItemMask(count: itemCount, allowingAll: false)
            for value in values { for id in byValue[value] ?? [] { matching.insert(id) } }
            mask.formIntersection(matching)
        }
        return mask
    }
}
