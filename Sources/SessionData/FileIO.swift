#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Low-level file helpers: whole-file reads, streamed lines and atomic writes, all reporting
/// failures as `SessionDataError`s that name the path and the system's reason.
public enum FileIO {
    static func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The whole file as bytes.
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot open for reading: \(systemError(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SessionDataError(file: path, "cannot stat: \(systemError(errno))") }
        guard (info.st_mode & S_IFMT) != S_IFDIR else { throw SessionDataError(file: path, "is a folder, expected a file") }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw SessionDataError(file: path, location: .byteOffset(bytes.count), "read failed: \(systemError(errno))")
            }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return bytes
    }

    /// Calls `body(line, lineNumber)` for every line of the file, streaming it in 1 MiB chunks.
    /// Lines exclude the `\n` and a trailing `\r`; a final line without `\n` is included.
    static func forEachLine(_ path: String, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot open for reading: \(systemError(errno))") }
        defer { close(fd) }
        if isDirectory(path) { throw SessionDataError(file: path, "is a folder, expected a click log file") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var filled = 0
        var lineNumber = 0
        var atEnd = false
        while !atEnd {
            if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }  // a very long line
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if got < 0 {
                if errno == EINTR { continue }
                throw SessionDataError(file: path, location: .line(lineNumber + 1), "read failed: \(systemError(errno))")
            }
            if got == 0 { atEnd = true }
            filled += got
            var consumed = 0
            try buffer.withUnsafeBufferPointer { all in
                var start = 0
                while let newline = all[start..<filled].firstIndex(of: 0x0A) ?? (atEnd && start < filled ? filled : nil) {
                    var end = newline
                    if end > start && all[end - 1] == 0x0D { end -= 1 }
                    lineNumber += 1
                    try body(UnsafeBufferPointer(rebasing: all[start..<end]), lineNumber)
                    start = min(newline + 1, filled)
                    if start >= filled { break }
                }
                consumed = start
            }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    memmove(base, base + consumed, filled - consumed)
                }
                filled -= consumed
            }
        }
    }

    /// Creates `directory` (and its parents) when missing.
    static func makeDirectory(_ directory: String) throws {
        if isDirectory(directory) { return }
        var prefixes = directory.indices.filter { directory[$0] == "/" && $0 != directory.startIndex }.map { String(directory[..<$0]) }
        prefixes.append(directory)
        for path in prefixes where !isDirectory(path) {
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw SessionDataError(file: directory, "cannot create the output folder: \(systemError(errno)) (at \(path))")
            }
        }
        guard isDirectory(directory) else { throw SessionDataError(file: directory, "cannot create the output folder: a file is in the way") }
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same folder, then `rename`,
    /// so readers see the old file or the whole new one, never half of it.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (folder.isEmpty ? "" : folder + "/") + ".\(name).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot write: \(systemError(errno))") }
        var written = 0
        let failure: String? = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return systemError(errno)
                }
                written += n
            }
            return fsync(fd) == 0 ? nil : systemError(errno)
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw SessionDataError(file: path, location: .byteOffset(written), "write failed: \(failure)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = systemError(errno)
            unlink(temporary)
            throw SessionDataError(file: path, "cannot move the finished file into place: \(reason)")
        }
    }
}
