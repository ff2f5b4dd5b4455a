import Foundation

/// Locations of test material, found from this file's path so tests run from any working directory:
/// the parity fixtures inside the repository, and the shared data beside it (`../shared`).
public enum SharedPaths {
    /// The repository root (the folder holding Package.swift).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared`, or the `SRGNN_SHARED` environment variable when set.
    public static let shared: URL = {
        if let custom = ProcessInfo.processInfo.environment["SRGNN_SHARED"] { return URL(fileURLWithPath: custom) }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()
    /// The parity fixtures made by the official SR-GNN code (`Tests/Fixtures/reference`, committed;
    /// see its README and `scripts/make-parity-fixtures.py`), so parity tests run in a fresh clone.
    public static let referenceFixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/reference")
    public static let preprocessFixtures = shared.appendingPathComponent("fixtures/preprocess")
    public static let data = shared.appendingPathComponent("data")

    /// Whether a shared file or folder exists; tests that need it skip with a message when not.
    public static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }
}
