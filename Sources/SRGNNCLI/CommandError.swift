import ArgumentParser
import Foundation

/// A failure the user can fix, printed as `Error: <message>` without the usage text.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A raw item id as JSON: a number when it is one (as most click logs write ids), else a string.
func jsonItemID(_ raw: String) -> String {
    if !raw.isEmpty, raw.count <= 18, raw.allSatisfy(\.isASCII), Int(raw) != nil, !(raw.hasPrefix("0") && raw.count > 1), !raw.hasPrefix("+") {
        return raw
    }
    var escaped = "\""
    for scalar in raw.unicodeScalars {
        switch scalar {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\r": escaped += "\\r"
        case "\t": escaped += "\\t"
        default:
            if scalar.value < 0x20 { escaped += String(format: "\\u%04x", scalar.value) } else { escaped.unicodeScalars.append(scalar) }
        }
    }
    return escaped + "\""
}

/// Parses `--k` style cut-offs: positive integers separated by commas.
func parseCutoffs(_ text: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
        throw ValidationError("--k must be positive integers separated by commas, e.g. 5,10,20 (got '\(text)')")
    }
    return values.map { $0! }
}
