import Foundation

/// A failure the user can fix, printed as `Error: <message>` without the usage text.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
