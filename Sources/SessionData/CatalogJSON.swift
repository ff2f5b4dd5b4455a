/// A strict reader for one line of a JSON-lines catalogue: an object whose values are strings,
/// numbers, booleans, null or lists of strings and numbers. Unlike `JSONDecoder` it keeps a
/// number's digits as written (`1e400` stays `1e400`, a 25-digit id keeps every digit), keeps
/// strings byte for byte, and refuses an object that repeats a key (byte for byte), instead of
/// silently keeping one of the two values.
enum CatalogJSON {
    enum Value: Equatable {
        case string(String)
        /// The number's text as written (a valid JSON number).
        case number(String)
        case bool(Bool)
        case null
        /// Strings and numbers' texts.
        case list([String])
    }

    enum Problem: Error {
        case malformed
        case repeatedKey(String)
    }

    /// The object's members in the order written.
    static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [(key: String, value: Value)] {
        var reader = Reader(bytes: bytes)
        reader.skipBlanks()
        try reader.expect(0x7B)  // {
        var members: [(key: String, value: Value)] = []
        var keys = Set<RawKey>()
        reader.skipBlanks()
        if reader.peek == 0x7D {
            reader.position += 1
        } else {
            while true {
                reader.skipBlanks()
                let key = try reader.string()
                guard keys.insert(RawKey(key)).inserted else { throw Problem.repeatedKey(key) }
                reader.skipBlanks()
                try reader.expect(0x3A)  // :
                reader.skipBlanks()
                members.append((key, try reader.value()))
                reader.skipBlanks()
                if reader.peek == 0x2C { reader.position += 1; continue }
                try reader.expect(0x7D)
                break
            }
        }
        reader.skipBlanks()
        guard reader.position == bytes.count else { throw Problem.malformed }
        return members
    }

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipBlanks() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A { position += 1 }
        }

        mutating func expect(_ byte: UInt8) throws {
            guard peek == byte else { throw Problem.malformed }
            position += 1
        }

        mutating func literal(_ word: String) throws {
            for byte in word.utf8 { try expect(byte) }
        }

        mutating func value() throws -> Value {
            switch peek {
            case 0x22: return .string(try string())
            case 0x74: try literal("true"); return .bool(true)
            case 0x66: try literal("false"); return .bool(false)
            case 0x6E: try literal("null"); return .null
            case 0x5B:
                position += 1
                var values = [String]()
                skipBlanks()
                if peek == 0x5D { position += 1; return .list(values) }
                while true {
                    skipBlanks()
                    guard peek != 0x5B else { throw Problem.malformed }  // no nesting (and no deep recursion)
                    switch try value() {
                    case .string(let text), .number(let text): values.append(text)
                    default: throw Problem.malformed  // lists hold strings and numbers only
                    }
                    skipBlanks()
                    if peek == 0x2C { position += 1; continue }
                    try expect(0x5D)
                    return .list(values)
                }
            default: return .number(try number())
            }
        }

        /// A JSON number's text, validated by `Catalog.jsonNumberKind`.
        mutating func number() throws -> String {
            let start = position
            while let byte = peek,
                (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x2B || byte == 0x2E || byte == 0x65 || byte == 0x45
            {
                position += 1
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard Catalog.jsonNumberKind(text) != nil else { throw Problem.malformed }
            return text
        }

        /// A JSON string, escapes decoded, other bytes kept as they are.
        mutating func string() throws -> String {
            try expect(0x22)
            var out = [UInt8]()
            while true {
                guard let byte = peek else { throw Problem.malformed }
                position += 1
                switch byte {
                case 0x22: return String(decoding: out, as: UTF8.self)
                case 0x5C:
                    guard let escape = peek else { throw Problem.malformed }
                    position += 1
                    switch escape {
                    case 0x22, 0x5C, 0x2F: out.append(escape)
                    case 0x62: out.append(0x08)
                    case 0x66: out.append(0x0C)
                    case 0x6E: out.append(0x0A)
                    case 0x72: out.append(0x0D)
                    case 0x74: out.append(0x09)
                    case 0x75:
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {  // a surrogate pair
                            try literal("\\u")
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw Problem.malformed }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw Problem.malformed }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default: throw Problem.malformed
                    }
                case 0x00..<0x20: throw Problem.malformed  // control characters must be escaped
                default: out.append(byte)
                }
            }
        }

        mutating func hex4() throws -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = peek else { throw Problem.malformed }
                position += 1
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: throw Problem.malformed
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
    }
}
