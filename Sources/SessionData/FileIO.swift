#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Low-level file helpers: whole-file reads, streamed lines and atomic writes, all reporting
/// failures as `SessionDataError`s that name the path and the system's reason.
public enum FileIO {
    static func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether `a` and `b` name one existing file (same device and inode, symbolic links
    /// followed), however they are spelled: `./x`, `x`, a link to `x`, a hard link.
    public static func isSameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

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
    /// A line longer than `maximumLineLength` bytes is an error naming it (`limitName` says what the
    /// limit is for), or, with `overlongLine`, is passed to it by number and skipped; memory stays
    /// bounded either way.
    public static func forEachLine(
        _ path: String, maximumLineLength: Int = InputLimits.maximumLineLength,
        limitName: String = "one click row", overlongLine: ((Int) throws -> Void)? = nil,
        _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
    ) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot open for reading: \(systemError(errno))") }
        defer { close(fd) }
        if isDirectory(path) { throw SessionDataError(file: path, "is a folder, expected a file") }
        // Room for the longest line and its "\r\n".
        var buffer = [UInt8](repeating: 0, count: maximumLineLength + 2)
        var filled = 0
        var lineNumber = 0
        var atEnd = false
        // Inside an over-long line that is being skipped: bytes up to its newline are dropped.
        var skipping = false
        while !atEnd {
            if filled == buffer.count {
                guard let overlongLine else {
                    throw SessionDataError(
                        file: path, location: .line(lineNumber + 1),
                        "the line is longer than \(maximumLineLength) bytes (the limit for \(limitName))")
                }
                try overlongLine(lineNumber + 1)
                skipping = true
                filled = 0
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
                if skipping {
                    guard let newline = all[0..<filled].firstIndex(of: 0x0A) else {
                        // Still inside the skipped line (or at the end of the file, which ends it).
                        if atEnd { lineNumber += 1; skipping = false }
                        start = filled
                        consumed = start
                        return
                    }
                    lineNumber += 1
                    skipping = false
                    start = newline + 1
                }
                while start < filled, let newline = all[start..<filled].firstIndex(of: 0x0A) ?? (atEnd ? filled : nil) {
                    var end = newline
                    if end > start && all[end - 1] == 0x0D { end -= 1 }
                    lineNumber += 1
                    try body(UnsafeBufferPointer(rebasing: all[start..<end]), lineNumber)
                    start = min(newline + 1, filled)
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
        guard isDirectory(directory) else {
            throw SessionDataError(file: directory, "cannot create the output folder: a file is in the way")
        }
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
        let file = try AtomicFileWriter(path: path)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }

    static func nextTemporarySerial() -> Int { counterLock.next() }
}

/// A file written piece by piece under a temporary name beside `path` and renamed into place by
/// `commit()`, so that `path` is never seen half written: until then it keeps its old contents
/// (or does not exist). A writer dropped or failed before `commit()` removes its temporary file.
/// Same rules as `FileIO.writeAtomically` (which is one `write` and a `commit`).
public final class AtomicFileWriter {
    public let path: String
    private let target: String
    private let temporary: String
    /// The temporary file being written (for cleanup on a signal, which skips `deinit`).
    public var temporaryPath: String { temporary }
    private var fd: Int32
    private var written = 0

    /// `beforeCreating` receives the temporary path before the file exists (so that a signal
    /// handler can know it before there is anything to leave behind).
    public init(path: String, beforeCreating: (String) -> Void = { _ in }) throws {
        self.path = path
        target = try FileIO.writeTarget(path)
        let (folder, prefix) = FileIO.temporaryPrefix(target)
        temporary = folder + "/" + prefix + "\(getpid())-\(FileIO.nextTemporarySerial())"
        beforeCreating(temporary)
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw SessionDataError(file: path, "cannot write: \(FileIO.systemError(errno))") }
    }

    deinit { discard() }

    /// Appends `bytes`; a failure removes the temporary file.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(fd >= 0, "write after commit or discard")
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = FileIO.systemError(errno)
                discard()
                throw SessionDataError(file: path, location: .byteOffset(written), "write failed: \(reason)")
            }
            done += n
            written += n
        }
    }

    /// Flushes the file to disk and moves it into place under `path`.
    public func commit() throws {
        precondition(fd >= 0, "commit after commit or discard")
        if fsync(fd) != 0 {
            let reason = FileIO.systemError(errno)
            discard()
            throw SessionDataError(file: path, location: .byteOffset(written), "write failed: \(reason)")
        }
        close(fd)
        fd = -1
        guard rename(temporary, target) == 0 else {
            let reason = FileIO.systemError(errno)
            unlink(temporary)
            throw SessionDataError(file: path, "cannot move the finished file into place: \(reason)")
        }
    }

    /// Closes and removes the temporary file; `path` is left as it was.
    public func discard() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporary)
    }
}

/// `write(2)`, under a name that the writer's own `write` does not hide.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }

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
