import Dispatch
import Foundation
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
/// The file is opened once, in append mode, so a restart adds to it and never truncates it; each
/// line is written in full before `append` returns (and so before the client is answered), but
/// not fsynced: a crash of the machine, not of the process, may lose the last lines. Writes run
/// one at a time on a queue of their own, off Swift's cooperative pool. Rotate it with a copy and
/// truncate (logrotate's `copytruncate`): the service keeps writing to the file it opened.
public final class EventsLog: Sendable {
    public let path: String
    private let descriptor: Int32
    private let writes = DispatchQueue(label: "srgnn.events-log")
    /// Set after a failed write, which may have left part of a line: the next line starts on a new one.
    private let brokenLine = LockedFlag()

    /// Opens (or creates) `path` for appending; throws naming the path and the reason.
    public init(path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EventsLogError(description: "cannot open the events log \(path) for appending: \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Appends `record` as one line; returns once the whole line is written. Throws
    /// `EventsLogError` naming the path and the reason (a full disk, say).
    func append(_ record: EventRecord) async throws {
        let line = try JSONText.data(record) + [0x0a]
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writes.async {
                continuation.resume(with: Result { try self.writeLine(line) })
            }
        }
    }

    /// On the `writes` queue: the whole of `line`, however many `write` calls it takes.
    private func writeLine(_ line: Data) throws {
        let startsNewLine = brokenLine.take()
        let bytes = startsNewLine ? [0x0a] + [UInt8](line) : [UInt8](line)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                if offset > 0 || startsNewLine { brokenLine.set() }
                throw EventsLogError(description: "cannot write to the events log \(path): \(reason)")
            }
            offset += written
        }
    }
}

/// A flag set on one thread and taken on another.
private final class LockedFlag: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }

    /// The flag's value; clears it.
    func take() -> Bool { lock.withLock { defer { value = false }; return value } }
}

/// The events log cannot be opened or written.
public struct EventsLogError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
