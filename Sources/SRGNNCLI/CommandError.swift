import ArgumentParser
import Evaluation
import Foundation

/// A failure the user can fix, printed as `Error: <message>` without the usage text.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses `--k` style cut-offs: positive integers separated by commas.
func parseCutoffs(_ text: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
        throw ValidationError("--k must be positive integers separated by commas, e.g. 5,10,20 (got '\(text)')")
    }
    return values.map { $0! }
}
