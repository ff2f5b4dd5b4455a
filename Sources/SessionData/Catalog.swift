import Foundation
import TensorCore

/// What a shop knows about its items beyond the click log: whether each can be sold now, and
/// attributes to filter on (category, brand, …). Read from `items.csv` (or `.tsv`) or
/// `items.jsonl`; one row per item, by the raw id of the click log.
///
/// One rule for every value, in the three formats and both front ends (`srgnn recommend`'s flags
/// and `--input` lines, the service's requests), stated in docs/DATASET.md:
///
/// - Reading: a UTF-8 byte-order mark at the start of a file is skipped. An unquoted CSV/TSV field
///   (ids and header names included) loses its surrounding spaces and tabs; a quoted one, and a
///   JSON string, is kept exactly. A JSON object may not repeat a key.
/// - Comparing: ids, attribute names and values compare byte for byte (`RawKey`), never by Unicode
///   equivalence; a value that reads as a JSON number (`41`, `41.0`, `4.1e1`, from a file, a flag
///   or a request, quoted or not) compares by its value (`Catalog.comparisonText`), so `41.0`
///   matches `41`; any other text (`007`, `+5`) compares as written.
///
/// A JSON array gives an item several values of one attribute (it matches a filter when any of
/// them is allowed).
public struct Catalog: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var available: Bool
        /// Attribute name → values (comparison texts, see `Catalog.comparisonText`).
        public var attributes: [RawKey: [String]]
        public init(available: Bool = true, attributes: [RawKey: [String]] = [:]) {
            self.available = available
            self.attributes = attributes
        }
    }

    /// Entries by raw item id (byte for byte).
    public private(set) var entries: [RawKey: Entry]
    /// Attribute names in the order the file first gives them.
    public private(set) var attributeNames: [String]

    public static let idColumns = ["id", "item_id", "item"]
    public static let availableColumn = "available"
    /// Attribute columns per item (a limit on what one line can make the service hold).
    public static let maximumAttributes = 256

    public init(entries: [RawKey: Entry] = [:], attributeNames: [String]? = nil) {
        self.entries = entries
        self.attributeNames = attributeNames ?? Array(Set(entries.values.flatMap(\.attributes.keys))).sorted().map(\.string)
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
            let fieldBytes = line == 1 ? withoutByteOrderMark(bytes) : UnsafeBufferPointer(rebasing: bytes[...])
            if header.isEmpty {
                header = try splitFields(fieldBytes, delimiter: delimiter, file: path, line: line)
                guard let id = header.firstIndex(where: { idColumns.contains($0.lowercased()) }) else {
                    throw SessionDataError(
                        file: path, location: .line(line),
                        "the header needs an item id column named \(idColumns.map { "'\($0)'" }.joined(separator: ", ") ) (columns: \(quotedPrefix(header.joined(separator: ", "))))"
                    )
                }
                guard header.count - 1 <= maximumAttributes else {
                    throw SessionDataError(
                        file: path, location: .line(line),
                        "\(header.count) columns; at most \(maximumAttributes + 1) (an id and \(maximumAttributes) attributes)")
                }
                var seen = Set<RawKey>()
                if let repeated = header.first(where: { !seen.insert(RawKey($0)).inserted }) {
                    throw SessionDataError(
                        file: path, location: .line(line), field: quotedPrefix(repeated), "the column name appears twice")
                }
                idColumn = id
                availableColumn = header.firstIndex { $0.lowercased() == Self.availableColumn }
                catalog.attributeNames = header.indices.filter { $0 != id && $0 != availableColumn }.map { header[$0] }
                return
            }
            if fieldBytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }  // blank lines
            let fields = try splitFields(fieldBytes, delimiter: delimiter, file: path, line: line)
            guard fields.count == header.count else {
                throw SessionDataError(file: path, location: .line(line), "\(fields.count) fields, the header has \(header.count)")
            }
            var entry = Entry()
            for (column, value) in fields.enumerated() where column != idColumn {
                if column == availableColumn {
                    entry.available = try parseAvailable(value, file: path, line: line)
                } else if !value.isEmpty {
                    entry.attributes[RawKey(header[column])] = [comparisonText(value)]
                }
            }
            try catalog.add(id: fields[idColumn], entry, file: path, line: line)
        }
        guard !header.isEmpty else { throw SessionDataError(file: path, "the file is empty; expected a header line and one line per item") }
        return catalog
    }

    /// `line` without a leading UTF-8 byte-order mark (EF BB BF), as the click-log readers take it.
    static func withoutByteOrderMark(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF { return UnsafeBufferPointer(rebasing: line[3...]) }
        return UnsafeBufferPointer(rebasing: line[...])
    }

    /// One line's fields: `delimiter`-separated; a field in double quotes may hold the delimiter
    /// and `""` for a quote (RFC 4180, without line breaks inside a field). Spaces and tabs around
    /// a field are formatting, not part of it (so ` 42 ` is `42`, as in the header); inside quotes
    /// they are kept (`" 42 "` is ` 42 `).
    static func splitFields(_ bytes: UnsafeBufferPointer<UInt8>, delimiter: UInt8, file: String, line number: Int) throws -> [String] {
        var fields = [String](), field = [UInt8]()
        var quoted = false, wasQuoted = false
        var quotedEnd = 0  // bytes of `field` that came from inside quotes (kept even if blank)
        func isBlank(_ byte: UInt8) -> Bool { (byte == 0x20 || byte == 0x09) && byte != delimiter }
        func finish() {
            var end = field.count
            while end > quotedEnd && isBlank(field[end - 1]) { end -= 1 }
            fields.append(String(decoding: field[..<end], as: UTF8.self))
            field.removeAll()
            wasQuoted = false
            quotedEnd = 0
        }
        var k = 0
        while k < bytes.count {
            let byte = bytes[k]
            k += 1
            if quoted {
                if byte == 0x22 {
                    if k < bytes.count && bytes[k] == 0x22 { field.append(0x22); k += 1 } else { quoted = false; quotedEnd = field.count }
                } else {
                    field.append(byte)
                }
            } else if byte == 0x22 && field.isEmpty && !wasQuoted {
                quoted = true
                wasQuoted = true
            } else if byte == delimiter {
                finish()
            } else if isBlank(byte) && field.isEmpty && !wasQuoted {
                continue  // leading blanks
            } else {
                field.append(byte)
            }
        }
        guard !quoted else {
            throw SessionDataError(file: file, location: .line(number), field: "column \(fields.count + 1)", "a quoted field is not closed")
        }
        finish()
        return fields
    }

    static func parseAvailable(_ value: String, file: String, line: Int) throws -> Bool {
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "true", "1", "yes", "y", "t": return true
        case "false", "0", "no", "n", "f": return false
        default:
            throw SessionDataError(
                file: file, location: .line(line), field: availableColumn,
                "expected true/false (or 1/0, yes/no), found '\(quotedPrefix(value))'")
        }
    }

    // MARK: JSON lines

    static func loadJSONLines(_ path: String) throws -> Catalog {
        var catalog = Catalog()
        var names = [String](), known = Set<RawKey>()
        try FileIO.forEachLine(path) { bytes, line in
            let text = line == 1 ? withoutByteOrderMark(bytes) : UnsafeBufferPointer(rebasing: bytes[...])
            if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
            func fail(_ field: String?, _ message: String) -> SessionDataError {
                SessionDataError(file: path, location: .line(line), field: field, message)
            }
            let object: [(key: String, value: CatalogJSON.Value)]
            do {
                object = try CatalogJSON.parseObject(text)
            } catch let error as CatalogJSON.Problem {
                if case .repeatedKey(let key) = error { throw fail(quotedPrefix(key), "the key appears twice in the object") }
                throw fail(
                    nil,
                    "expected a JSON object of strings, numbers, booleans or lists, such as {\"id\": \"123\", \"available\": true, \"category\": \"shoes\"}"
                )
            }
            guard let idKey = idColumns.first(where: { name in object.contains { $0.key.sameBytes(as: name) } }) else {
                throw fail("id", "missing; every line needs the item's id")
            }
            let id: String
            switch object.first(where: { $0.key.sameBytes(as: idKey) })!.value {
            case .string(let text) where !text.isEmpty: id = text
            case .number(let text): id = comparisonText(text)
            default: throw fail(idKey, "expected a string or a number")
            }
            guard object.count <= maximumAttributes + 2 else {
                throw fail(nil, "\(object.count) fields; at most \(maximumAttributes) attributes")
            }
            var entry = Entry()
            for (key, value) in object where !key.sameBytes(as: idKey) {
                let isAvailable = key.sameBytes(as: availableColumn)
                switch (isAvailable, value) {
                case (true, .bool(let flag)): entry.available = flag
                case (true, _): throw fail(key, "expected true or false")
                case (false, .bool): throw fail(key, "expected a string, a number or a list of them (a boolean only in 'available')")
                case (false, .null): continue
                case (false, .string(let text)), (false, .number(let text)):
                    entry.attributes[RawKey(key)] = [comparisonText(text)]
                case (false, .list(let values)):
                    entry.attributes[RawKey(key)] = values.map(comparisonText)
                }
                if !isAvailable, known.insert(RawKey(key)).inserted { names.append(key) }
            }
            try catalog.add(id: id, entry, file: path, line: line)
        }
        catalog.attributeNames = names
        return catalog
    }

    /// A string or a number in a request, as its text (a JSON number as `Catalog.text(of:)`
    /// writes it); `CatalogIndex.allowed` compares it by `Catalog.comparisonText`.
    public struct Scalar: Codable, Sendable, Hashable {
        public var text: String
        public init(_ text: String) { self.text = text }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self.text = text; return }
            // An integer first: through Double, one over 2^53 would lose digits and miss its row.
            if let integer = try? container.decode(Int64.self) { self.text = String(integer); return }
            let number = (try? container.decode(Double.self)) ?? .infinity
            guard number.isFinite else {
                // Neither a string nor a number that fits: a number only if it is none of the other kinds.
                if (try? container.decode(Bool.self)) != nil || container.decodeNil() || (try? container.decode([AnyJSON].self)) != nil
                    || (try? container.decode([String: AnyJSON].self)) != nil
                {
                    throw DecodingError.typeMismatch(
                        Scalar.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a string or a number"))
                }
                // The decoder cannot give its digits: say so, instead of "expected a string or a number".
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription:
                            "a number beyond the range of 64-bit floating point (±1.8e308); send it as a string, e.g. \"1e400\", to compare it as written"
                    ))
            }
            self.text = Catalog.text(of: number)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(text)
        }

        /// Any JSON value, read without looking at it (to tell a value's kind).
        private struct AnyJSON: Decodable {
            init(from decoder: any Decoder) throws {}
        }
    }

    /// The text a number compares as: `42` for 42 and 42.0, `0.5` for 0.5, `1e+20` for 1e20
    /// (integral values below 2^63 as integers, others in their shortest round-trip form).
    public static func text(of number: Double) -> String {
        if number.isFinite, number == number.rounded(), abs(number) < 0x1p63 { return String(Int64(number)) }
        return "\(number)"
    }

    /// What a value compares as, the one rule for files, flags and requests: text that reads as a
    /// JSON number compares by its value (`41.0`, `4.1e1` and `41` as `41`; `-0` as `0`), an
    /// integer exactly, however long (`12345678901234567890` as written); a number beyond 64-bit
    /// floating point (`1e400`) and any other text (`007`, `+5`, ` 41`) compare as written, byte
    /// for byte.
    public static func comparisonText(_ text: String) -> String {
        guard let kind = jsonNumberKind(text) else { return text }
        if kind == .integer { return text == "-0" ? "0" : text }
        guard let number = Double(text), number.isFinite else { return text }
        return Catalog.text(of: number)
    }

    enum NumberKind { case integer, fraction }

    /// `.integer` or `.fraction` when `text` is exactly a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
    static func jsonNumberKind(_ text: String) -> NumberKind? {
        var bytes = text.utf8[...]
        func digits() -> Int { var n = 0; while let b = bytes.first, (0x30...0x39).contains(b) { bytes.removeFirst(); n += 1 }; return n }
        if bytes.first == 0x2D { bytes.removeFirst() }
        if bytes.first == 0x30 { bytes.removeFirst() } else if digits() == 0 { return nil }
        var kind = NumberKind.integer
        if bytes.first == 0x2E {
            bytes.removeFirst()
            guard digits() > 0 else { return nil }
            kind = .fraction
        }
        if bytes.first == 0x65 || bytes.first == 0x45 {
            bytes.removeFirst()
            if bytes.first == 0x2B || bytes.first == 0x2D { bytes.removeFirst() }
            guard digits() > 0 else { return nil }
            kind = .fraction
        }
        return bytes.isEmpty ? kind : nil
    }

    mutating func add(id: String, _ entry: Entry, file: String, line: Int) throws {
        guard !id.isEmpty else {
            throw SessionDataError(file: file, location: .line(line), field: "id", "empty; every line needs the item's id")
        }
        guard entries.updateValue(entry, forKey: RawKey(id)) == nil else {
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
    let postings: [RawKey: [RawKey: [Int32]]]
    public let attributeNames: [String]
    /// Catalog rows whose id the model does not know, and model items the catalog lacks.
    public let rowsNotInModel: Int
    public let itemsNotInCatalog: Int

    public init(_ catalog: Catalog, vocabulary: ItemVocabulary) {
        itemCount = vocabulary.count
        var available = ItemMask(count: vocabulary.count, allowingAll: true)
        var postings = [RawKey: [RawKey: [Int32]]]()
        var matched = 0
        for (raw, entry) in catalog.entries {
            guard let id = vocabulary.internalID(of: raw.string) else { continue }
            matched += 1
            if !entry.available { available.remove(id) }
            for (attribute, values) in entry.attributes {
                // In comparison form also when the catalog was built in code rather than read.
                let keys = Set(values.map { RawKey(Catalog.comparisonText($0)) })
                for value in keys { postings[attribute, default: [:]][value, default: []].append(id) }
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
    /// allowed values (compared by `Catalog.comparisonText`, byte for byte), and (unless
    /// `includeUnavailable`) that are available.
    public func allowed(filter: [String: [String]], includeUnavailable: Bool) throws -> ItemMask {
        var mask = includeUnavailable ? ItemMask(count: itemCount, allowingAll: true) : available
        for (attribute, values) in filter {
            guard let byValue = postings[RawKey(attribute)] ?? (attributeNames.contains { $0.sameBytes(as: attribute) } ? [:] : nil) else {
                throw CatalogError.unknownAttribute(attribute, known: attributeNames)
            }
            var matching = ItemMask(count: itemCount, allowingAll: false)
            for value in values { for id in byValue[RawKey(Catalog.comparisonText(value))] ?? [] { matching.insert(id) } }
            mask.formIntersection(matching)
        }
        return mask
    }
}
