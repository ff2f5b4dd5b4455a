import Foundation
import Yams

/// A settings file (experiment or search space) that cannot be used: the file, the line (when the
/// problem has one) and what was expected.
public struct SettingsFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)" }
}

/// One value of a YAML file, read as the type a setting needs.
struct YAMLValue {
    let node: Node

    /// 1-based line of the value in its file.
    var line: Int? { node.mark?.line }

    /// The value is not of the type asked for; the message says what was expected and what was found.
    struct Mismatch: Error { let message: String }

    /// Whether the value is YAML's null: nothing after the colon, `~` or `null`.
    var isNull: Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The plain text of a scalar, or a mismatch naming `expected` (an empty value is no text).
    func scalarText(expected: String) throws -> String {
        guard let scalar = node.scalar else {
            throw Mismatch(message: "expected \(expected), got \(node.sequence != nil ? "a list" : "a mapping")")
        }
        if isNull { throw Mismatch(message: "expected \(expected), got no value (nothing after the colon, or null)") }
        return scalar.string
    }

    func integer() throws -> Int {
        let text = try scalarText(expected: "an integer")
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw Mismatch(message: "expected an integer, got '\(text)'")
        }
        return value
    }

    func unsignedInteger() throws -> UInt64 {
        let text = try scalarText(expected: "a non-negative integer")
        guard let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
            throw Mismatch(message: "expected a non-negative integer, got '\(text)'")
        }
        return value
    }

    /// A finite number (`0.001`, `1e-3`, `5`).
    func number() throws -> Double {
        let text = try scalarText(expected: "a number")
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw Mismatch(message: "expected a number, got '\(text)'")
        }
        return value
    }

    func boolean() throws -> Bool {
        let text = try scalarText(expected: "true or false")
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": return true
        case "false": return false
        default: throw Mismatch(message: "expected true or false, got '\(text)'")
        }
    }

    func string() throws -> String { try scalarText(expected: "a string") }

    /// A string that is not empty (a path), described as `expected` in the mismatch.
    func nonEmptyString(expected: String) throws -> String {
        let text = try scalarText(expected: expected)
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Mismatch(message: "expected \(expected), got an empty string")
        }
        return text
    }

    /// One of an enumeration's raw values.
    func choice<T: RawRepresentable & CaseIterable>(of type: T.Type) throws -> T where T.RawValue == String {
        T(rawValue: try choice(names: T.allCases.map(\.rawValue)))!
    }

    /// One of `names`.
    func choice(names: [String]) throws -> String {
        let list = names.joined(separator: ", ")
        let text = try scalarText(expected: "one of \(list)")
        guard names.contains(text) else { throw Mismatch(message: "expected one of \(list), got '\(text)'") }
        return text
    }

    /// The items of a list, or nil when the value is not a list.
    var items: [YAMLValue]? { node.sequence.map { $0.map(YAMLValue.init) } }

    /// The entries of a mapping (keys as text), or nil when the value is not a mapping.
    var entries: [(name: String, line: Int?, value: YAMLValue)]? {
        node.mapping.map {
            $0.map {
                (name: $0.key.scalar?.string ?? Self.complexKeyName($0.key), line: $0.key.mark?.line, value: YAMLValue(node: $0.value))
            }
        }
    }

    /// How a key that is a list or a mapping (a YAML complex key, `? [a, b]`) is named in messages.
    static func complexKeyName(_ key: Node) -> String {
        "(a \(key.sequence != nil ? "list" : "mapping") as a name)"
    }
}

/// A YAML file whose top level is a mapping from names to values, each name once.
struct YAMLMapping {
    let path: String
    let entries: [(name: String, line: Int?, value: YAMLValue)]

    /// Parses `text`, read from `path` (named in every error). An empty file is an empty mapping.
    init(text: String, path: String) throws {
        self.path = path
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            // Yams points at the mapping; the user wants the line of the second occurrence.
            let name = duplicates.sorted().first ?? ""
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().filter { _, line in
                let trimmed = line.drop { $0 == " " }
                return trimmed.hasPrefix(name + ":") || trimmed.hasPrefix(name + " :")
            }.map { $0.offset + 1 }
            throw SettingsFileError(
                path: path, line: lines.count >= 2 ? lines[1] : context.mark.line,
                "'\(name)' is given twice" + (lines.count >= 2 ? " (first on line \(lines[0]))" : ""))
        } catch let error as YamlError {
            throw SettingsFileError(path: path, line: Self.line(of: error), "not valid YAML: \(Self.problem(of: error))")
        }
        guard let root else { entries = []; return }
        guard let entries = YAMLValue(node: root).entries else {
            throw SettingsFileError(path: path, line: root.mark?.line, "expected a mapping of settings (name: value) at the top level")
        }
        // A complex key (`? [a, b]` or `? {a: 1}`) is valid YAML but names no setting.
        if let complex = root.mapping?.first(where: { $0.key.scalar == nil }) {
            throw SettingsFileError(
                path: path, line: complex.key.mark?.line,
                "a name must be plain text, not \(complex.key.sequence != nil ? "a list" : "a mapping") (a YAML complex key, '? …'); write name: value"
            )
        }
        var seen = [String: Int?]()
        for entry in entries {
            if let first = seen[entry.name] {
                throw SettingsFileError(
                    path: path, line: entry.line,
                    "'\(entry.name)' is given twice" + (first.map { " (first on line \($0))" } ?? ""))
            }
            seen[entry.name] = entry.line
        }
        self.entries = entries
    }

    /// An error at `line` of this file.
    func error(_ line: Int?, _ message: String) -> SettingsFileError { SettingsFileError(path: path, line: line, message) }

    /// `read(value)` for the entry `name` at `line`; a mismatch becomes an error at the value's line
    /// (else the entry's) that names the entry.
    func reading<T>(_ name: String, _ line: Int?, _ value: YAMLValue, _ read: (YAMLValue) throws -> T) throws -> T {
        do { return try read(value) } catch let mismatch as YAMLValue.Mismatch {
            throw error(value.line ?? line, "'\(name)': \(mismatch.message)")
        }
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark.line
        default: return nil
        }
    }

    /// Yams' message without its position and source snippet (we print the position ourselves).
    static func problem(of error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _), let .composer(context, problem, _, _):
            return (context.map { "\($0.text) " } ?? "") + problem
        default: return "\(error)"
        }
    }
}
