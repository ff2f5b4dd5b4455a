import Dispatch
import Foundation
import Recommending
import SRGNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a client did with a recommended item (`POST /v1/events`).
public enum EventType: String, CaseIterable, Sendable {
    case click, purchase
}

/// One line of the events log: `{"item", "model", "recommendation_id", "time", "type"}`.
struct EventRecord: Encodable, Sendable {
    /// When the service received the event, ISO 8601 in UTC with milliseconds.
    var time: String
    var recommendationID: String
    var model: String
    var item: JSONItemID
    var type: String

    enum CodingKeys: String, CodingKey {
        case time, model, item, type
        case recommendationID = "recommendation_id"
    }

    /// `2026-12-01T09:34:11.123Z`.
    static func timestamp(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }
}

/// The events log (`srgnn serve --events-log PATH`): one JSON line per event, appended.
///
/// The file is opened in append mode, so a restart adds to it and never truncates it; it must be a
/// regular file (opened without blocking, checked with `fstat`: a FIFO or a device is refused).
/// Each line is written in full before `append` returns (and so before the client is answered),
/// but not fsynced: a crash of the machine, not of the process, may lose the last lines. A write
/// that fails part-way (a full disk) is cut back off the file, so the log never holds half a line
/// and a client told "not recorded" finds nothing recorded. Writes run one at a time on a queue of
/// their own, off Swift's cooperative pool. A line is at most `maximumLineBytes`.
///
/// Rotation: the file is opened again, by its path, on `reopen()` (SIGHUP) and whenever the path no
/// longer names the open file (deleted, or renamed away by logrotate's `create` mode), checked
/// with one `stat` per event; logrotate's `copytruncate` works too.
public final class EventsLog: @unchecked Sendable {
    // @unchecked: `file` is only touched on the `writes` queue (and in init/deinit).
    public let path: String
    /// The longest line `append` writes, in bytes: an `item` of 256 characters each escaped as
    /// `\uXXXX`, the longest recommendation id and variant name, the time and the keys.
    public static let maximumLineBytes = 2048
    /// The open file and its identity, to see when the path names another file.
    private var file: OpenFile
    private let writes = DispatchQueue(label: "srgnn.events-log")
    /// `write(2)`, replaceable in tests (a write that fails part-way).
    private let writeBytes: @Sendable (Int32, UnsafeRawPointer, Int) -> Int

    private struct OpenFile {
        var descriptor: Int32
        var device: UInt64
        var inode: UInt64
    }

    /// Opens (or creates) `path` for appending; throws naming the path and the reason.
    public convenience init(path: String) throws {
        try self.init(path: path, write: { write($0, $1, $2) })
    }

    init(path: String, write: @escaping @Sendable (Int32, UnsafeRawPointer, Int) -> Int) throws {
        self.path = path
        writeBytes = write
        file = try Self.openFile(path)
    }

    deinit { close(file.descriptor) }

    /// Opens `path` for appending without blocking, and checks it is a regular file.
    private static func openFile(_ path: String) throws -> OpenFile {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0o644)
        guard descriptor >= 0 else {
            // ENXIO: a FIFO nobody reads (a blocking open would have waited for a reader forever).
            let reason =
                errno == ENXIO ? "it is a FIFO (named pipe) or a device, expected a regular file" : String(cString: strerror(errno))
            throw ServingError.eventsLog("cannot open the events log \(path) for appending: \(reason)")
        }
        var info = stat()
        if let reason = ServiceFile.refusal(of: descriptor, path: path, what: "the events log", limit: nil)
            ?? (fstat(descriptor, &info) == 0 ? nil : "cannot stat the events log \(path)")
        {
            close(descriptor)
            throw ServingError.eventsLog(reason)
        }
        return OpenFile(descriptor: descriptor, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Opens the path again (SIGHUP: after a rotation) and closes the old file. Throws, keeping
    /// the old file, when the path cannot be opened.
    public func reopen() async throws {
        try await onWrites { try self.reopenNow() }
    }

    private func reopenNow() throws {
        let opened = try Self.openFile(path)
        close(file.descriptor)
        file = opened
    }

    /// Appends `record` as one line; returns once the whole line is written. Throws
    /// `ServingError` (kind `.eventsLog`) naming the path and the reason (a full disk, say); nothing of the line is
    /// left in the file then.
    func append(_ record: EventRecord) async throws {
        let line = try JSONText.data(record) + [0x0a]
        try await onWrites { try self.writeLine(line) }
    }

    private func onWrites(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writes.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// On the `writes` queue: the whole of `line`, however many `write` calls it takes, or nothing.
    private func writeLine(_ line: Data) throws {
        var info = stat()
        if stat(path, &info) != 0 || UInt64(info.st_dev) != file.device || UInt64(info.st_ino) != file.inode {
            // Deleted or rotated away: events written to the open file would be lost with it.
            try reopenNow()
        }
        // With O_APPEND every write lands at the end: the size now is where this line starts.
        let start = lseek(file.descriptor, 0, SEEK_END)
        let descriptor = file.descriptor
        var offset = 0
        try line.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let written = writeBytes(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    // Cut the part written back off, so that no half line stays (nor glues to the next).
                    if offset > 0, start >= 0 { _ = ftruncate(descriptor, start) }
                    throw ServingError.eventsLog("cannot write to the events log \(path): \(reason)")
                }
                offset += written
            }
        }
    }
}
