import ArgumentParser
import Evaluation
import Foundation
import SessionData

/// A failure the user can fix, printed as `Error: <message>` without the usage text.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Upper limits on the options that size work or memory (stated in each option's help and in
/// docs/DATASET.md). The values read from outside never size an allocation beyond these.
enum CommandLimits {
    /// `recommend --k` and every cut-off of `--k` lists.
    static let maximumK = 10_000
    /// `evaluate --batch-size`: a batch's scores are `batch × items` floats.
    static let maximumBatchSize = 10_000
    /// `--threads`.
    static let maximumThreads = 256
    /// `--max-session-length` (the service's default is 50).
    static let maximumSessionLength = 10_000
}

/// Parses `--k` style cut-offs: integers in 1...`CommandLimits.maximumK` separated by commas.
func parseCutoffs(_ text: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ (1...CommandLimits.maximumK).contains($0 ?? 0) }) else {
        throw ValidationError(
            "--k must be integers in 1...\(CommandLimits.maximumK) separated by commas, e.g. 5,10,20 (got '\(quotedPrefix(text))')")
    }
    return values.map { $0! }
}
