import Foundation

/// A per-process scratch folder for targets whose readers take paths.
public enum Scratch {
    public static let folder: String = {
        let path = NSTemporaryDirectory() + "srgnn-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes `bytes` to `name` in the scratch folder; returns the path.
    public static func write(_ bytes: UnsafeRawBufferPointer, to name: String) -> String {
        let path = folder + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}
