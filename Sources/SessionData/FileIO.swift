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

    /// The whole file as bytes. Only regular files are read (a device such as `/dev/zero` never ends).
    public static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot open for reading: \(systemError(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SessionDataError(file: path, "cannot stat: \(systemError(errno))") }
        guard (info.st_mode & S_IFMT) != S_IFDIR else { throw SessionDataError(file: path, "is a folder, expected a file") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SessionDataError(file: path, "is not a regular file (a device, pipe or socket), expected a file")
        }
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
    /// A line longer than `maximumLineLength` bytes is an error naming it (memory stays bounded).
    static func forEachLine(_ path: String, maximumLineLength: Int = InputLimits.maximumLineLength,
                            _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot open for reading: \(systemError(errno))") }
        defer { close(fd) }
        if isDirectory(path) { throw SessionDataError(file: path, "is a folder, expected a click log file") }
        // Room for the longest line and its "\r\n".
        var buffer = [UInt8](repeating: 0, count: maximumLineLength + 2)
        var filled = 0
        var lineNumber = 0
        var atEnd = false
        while !atEnd {
            if filled == buffer.count {
                throw SessionDataError(file: path, location: .line(lineNumber + 1),
                                       "the line is longer than \(maximumLineLength) bytes (the limit for one click row)")
            }
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

    /// Where a write to `path` lands: `path` itself, or for a symbolic link the file it points to
    /// (so that the link is written through, not replaced). Errors for a folder, a device or
    /// anything else that is not a regular file.
    static func writeTarget(_ path: String) throws -> String {
        var target = path
        for _ in 0..<40 {  // the kernel's own limit on link chains
            var info = stat()
            guard lstat(target, &info) == 0 else { return target }  // a new file
            switch info.st_mode & S_IFMT {
            case S_IFREG: return target
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(target, &buffer, buffer.count - 1)
                guard n > 0 else { throw SessionDataError(file: path, "cannot read the symbolic link: \(systemError(errno))") }
                let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if link.hasPrefix("/") {
                    target = link
                } else {
                    let folder = target.lastIndex(of: "/").map { String(target[...$0]) } ?? ""
                    target = folder + link
                }
            case S_IFDIR:
                throw SessionDataError(file: path, "is a folder, expected a file to write")
            default:
                throw SessionDataError(file: path, "is not a regular file (a device, pipe or socket); refusing to replace it")
            }
        }
        throw SessionDataError(file: path, "too many levels of symbolic links")
    }

    /// The folder of `path` and the prefix of the temporary files written beside it.
    static func temporaryPrefix(_ path: String) -> (folder: String, prefix: String) {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return (folder.isEmpty && slash != nil ? "/" : folder, ".\(name).tmp-")
    }

    /// Removes temporary files that an interrupted write to `path` left behind (`.NAME.tmp-*`,
    /// possibly from an earlier process). Returns how many were removed.
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> Int {
        let (folder, prefix) = temporaryPrefix((try? writeTarget(path)) ?? path)
        guard let directory = opendir(folder) else { return 0 }
        defer { closedir(directory) }
        var names = [String]()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(prefix) { names.append(name) }
        }
        var removed = 0
        for name in names where unlink(folder + "/" + name) == 0 { removed += 1 }
        return removed
    }

    /// Checks that `path` can be written (its folder exists and is writable; it is not a folder or
    /// a device) by creating and removing a temporary file beside it; nothing else is touched.
    public static func checkWritable(_ path: String) throws {
        let target = try writeTarget(path)
        let (folder, prefix) = temporaryPrefix(target)
        guard isDirectory(folder) else {
            throw SessionDataError(file: path, "its folder \(folder) does not exist")
        }
        let probe = folder + "/" + prefix + "\(getpid())-probe"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot write in \(folder): \(systemError(errno))") }
        close(fd)
        unlink(probe)
    }

    private static let counterLock = TemporaryNameCounter()

    /// Writes `bytes` to `path` atomically: a temporary file in the same folder, then `rename`,
    /// so readers see the old file or the whole new one, never half of it. A symbolic link is
    /// written through (its target is replaced); a non-regular file (a device such as `/dev/full`,
    /// a folder) is an error. The temporary file is removed whenever the write fails.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let target = try writeTarget(path)
        let (folder, prefix) = temporaryPrefix(target)
        let serial = counterLock.next()
        let temporary = folder + "/" + prefix + "\(getpid())-\(serial)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
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
        guard rename(temporary, target) == 0 else {
            let reason = systemError(errno)
            unlink(temporary)
            throw SessionDataError(file: path, "cannot move the finished file into place: \(reason)")
        }
    }
}

/// A counter safe to share between threads (temporary file names within one process).
final class TemporaryNameCounter: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var value = 0
    init() { pthread_mutex_init(&mutex, nil) }
    func next() -> Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        value += 1
        return value
    }
}
