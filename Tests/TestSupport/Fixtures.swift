import Foundation

/// Locations of the shared material beside the repository (`../shared`), found from this file's
/// path so tests run from any working directory.
public enum SharedPaths {
    /// The repository root (the folder holding Package.swift).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared`, or the `SRGNN_SHARED` environment variable when set.
    public static let shared: URL = {
        if let custom = ProcessInfo.processInfo.environment["SRGNN_SHARED"] { return URL(fileURLWithPath: custom) }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()
    public static let referenceFixtures = shared.appendingPathComponent("fixtures/reference")
    public static let preprocessFixtures = shared.appendingPathComponent("fixtures/preprocess")
    public static let data = shared.appendingPathComponent("data")

    /// Whether a shared file or folder exists; tests that need it skip with a message when not.
    public static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }
}
