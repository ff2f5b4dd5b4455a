/// Bad input: names the file, where in it (line or byte offset), the field and what was expected.
///
/// `description` reads like a compiler diagnostic:
/// `train-item-views.csv: line 12: field 'timeframe': expected an integer, found 'abc'`.
public struct SessionDataError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case file
        case line(Int)
        case byteOffset(Int)
    }

    /// The path of the file (or folder) at fault.
    public var file: String
    public var location: Location
    /// The field or column involved, when there is one.
    public var field: String?
    /// What was expected, and what was found.
    public var message: String

    public init(file: String, location: Location = .file, field: String? = nil, _ message: String) {
        self.file = file
        self.location = location
        self.field = field
        self.message = message
    }

    public var description: String {
        var parts = [file]
        switch location {
        case .file: break
        case .line(let line): parts.append("line \(line)")
        case .byteOffset(let offset): parts.append("byte offset \(offset)")
        }
        if let field { parts.append("field '\(field)'") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}
