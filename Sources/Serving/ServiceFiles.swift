import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files the service opens besides the model (the catalog, the admin token and events key
/// files, the events log), checked the same way: opened without blocking (`O_NONBLOCK`: opening a
/// FIFO nobody writes to would otherwise wait forever, and a reload with it, and shutdown behind
/// that), then refused unless `fstat` shows a regular file (a device such as `/dev/zero` never
/// ends), and refused over a size budget. Errors name the file, say what it is for, and never
/// quote its contents.
enum ServiceFile {
    /// Why `path` cannot be used as `what` (e.g. "the catalog"), or nil when it is a regular file of
    /// at most `limit` bytes. `descriptor` is an open file of `path`.
    static func refusal(of descriptor: Int32, path: String, what: String, limit: Int?) -> String? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return "cannot stat \(what) \(path): \(String(cString: strerror(errno)))" }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return "\(what) \(path) is a folder, expected a file"
        case S_IFIFO: return "\(what) \(path) is a FIFO (named pipe), expected a regular file"
        case S_IFCHR, S_IFBLK: return "\(what) \(path) is a device, expected a regular file"
        default: return "\(what) \(path) is not a regular file (a socket?), expected a file"
        }
        if let limit, Int(info.st_size) > limit {
            return "\(what) \(path) is \(info.st_size) bytes, over the limit of \(limit) bytes for it"
        }
        return nil
    }

    /// Opens `path` read-only without blocking and checks it (see the type); throws
    /// `ServingError.file` naming it. The caller closes the descriptor.
    static func openChecked(_ path: String, what: String, limit: Int?) throws -> Int32 {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ServingError.file("cannot open \(what) \(path): \(String(cString: strerror(errno)))")
        }
        if let reason = refusal(of: descriptor, path: path, what: what, limit: limit) {
            close(descriptor)
            throw ServingError.file(reason)
        }
        return descriptor
    }

    /// Checks `path` as `openChecked` does, without reading it (the catalog, read by its own parser).
    static func check(_ path: String, what: String, limit: Int?) throws {
        close(try openChecked(path, what: what, limit: limit))
    }

    /// The whole of a small file (a token or a key), checked first; at most `limit` bytes are read
    /// even if it grows meanwhile.
    static func readAll(_ path: String, what: String, limit: Int) throws -> [UInt8] {
        let descriptor = try openChecked(path, what: what, limit: limit)
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var filled = 0
        while filled < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if got < 0 {
                if errno == EINTR { continue }
                throw ServingError.file("cannot read \(what) \(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            filled += got
        }
        guard filled <= limit else { throw ServingError.file("\(what) \(path) is over the limit of \(limit) bytes for it") }
        return Array(bytes[0..<filled])
    }
}
