import Foundation

/// A per-process scratch folder for targets whose readers take paths.
public enum Scratch {
    public static let folder: String = {
        let path = NSTemporaryDirectory() + "srgnn-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes `bytes` to `name` in the scratch folder; returns the path. Plain write(2), no
    /// fsync: FileManager's atomic write syncs, and a busy disk then stalls the input past
    /// libFuzzer's 1 s hang limit, which is meant for the readers, not the disk.
    public static func write(_ bytes: UnsafeRawBufferPointer, to name: String) -> String {
        let path = folder + "/" + name
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(descriptor >= 0, "cannot create \(path): errno \(errno)")
        var written = 0
        while written < bytes.count {
            let count = Foundation.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            precondition(count > 0, "cannot write \(path): errno \(errno)")
            written += count
        }
        close(descriptor)
        return path
    }
}
