import Foundation

/// A fresh temporary folder, removed by `cleanUp()`.
public struct TemporaryFolder {
    public let path: String

    public init(prefix: String = "srgnn-test") throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `contents` to `name` inside the folder; returns its path.
    public func file(_ name: String, _ contents: String) throws -> String {
        let full = path + "/" + name
        try contents.write(toFile: full, atomically: true, encoding: .utf8)
        return full
    }

    /// Writes raw `bytes` to `name` inside the folder; returns its path.
    public func file(_ name: String, bytes: [UInt8]) throws -> String {
        let full = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    public func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}
