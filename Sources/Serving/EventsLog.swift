import Dispatch
import Foundation
import Logging
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

/// One `impression` line: the answer given to one session, `{"items", "model", "recommendation_id",
/// "session_id", "time", "type": "impression"}` (`session_id` only when the request gave one).
struct ImpressionRecord: Encodable, Sendable {
    /// When the session was answered; written as `time`, ISO 8601 in UTC with milliseconds.
    var date: Date
    var recommendationID: String
    var model: String
    var sessionID: String?
    /// The returned item ids, best first.
    var items: [JSONItemID]

    enum CodingKeys: String, CodingKey {
        case time, type, model, items
        case recommendationID = "recommendation_id", sessionID = "session_id"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(EventRecord.timestamp(date), forKey: .time)
        try container.encode("impression", forKey: .type)
        try container.encode(recommendationID, forKey: .recommendationID)
        try container.encode(model, forKey: .model)
        try container.encodeIfPresent(sessionID, forKey: .sessionID)
        try container.encode(items, forKey: .items)
    }
}

/// One `start` line: the split and model files in force from now on, written when the service starts
/// and after a reload, `{"time", "type": "start", "trigger", "variants": [{"name", "weight", "model",
/// "sha256"}]}` (`model`, the file, left out for a model not loaded from one).
struct StartRecord: Encodable, Sendable {
    struct Variant: Encodable, Sendable {
        var name: String
        var weight: Int
        var model: String?
        var sha256: String
    }

    var date: Date
    /// `start`, `SIGHUP` or `POST /v1/admin/reload`.
    var trigger: String
    var variants: [Variant]

    enum CodingKeys: String, CodingKey { case time, type, trigger, variants }

    /// The split of `registry` with each variant's model served now.
    init(_ registry: ModelRegistry, trigger: String, at date: Date = Date()) {
        self.date = date
        self.trigger = trigger
        variants = zip(registry.all, registry.split.weights).map { variant, weight in
            let served = variant.served
            return Variant(name: variant.name, weight: weight, model: served.path, sha256: served.sha256)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(EventRecord.timestamp(date), forKey: .time)
        try container.encode("start", forKey: .type)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(variants, forKey: .variants)
    }
}

/// The events log (`srgnn serve --events-log PATH`): one JSON line per event, appended.
///
/// The file is opened in append mode, so a restart adds to it and never truncates it; it must be a
/// regular file (opened without blocking, checked with `fstat`: a FIFO or a device is refused).
/// Each click or purchase line is written in full before `append` returns (and so before the client is answered),
/// but not fsynced: a crash of the machine, not of the process, may lose the last lines. A write
/// that fails part-way (a full disk) is cut back off the file, so the log never holds half a line
/// and a client told "not recorded" finds nothing recorded. Writes run one at a time on a queue of
/// their own, off Swift's cooperative pool. A line is at most `maximumLineBytes`.
///
/// Impressions and start lines are batched instead: `logImpression` and `logStart` only queue the
/// record (the client is not kept waiting), and the queued lines are encoded and written together
/// on the writes queue every `flushLines` lines or `flushInterval` after the first one, before each
/// click or purchase (so the file stays in time order), on `flush()` (at shutdown) and on
/// `reopen()`; what is still queued when the log is released is written then. At most
/// `maximumQueuedLines` lines (and `maximumQueuedItems` item ids in them) wait: beyond that (a disk that stalls) new ones are dropped and counted
/// (`lostLines`), as are the lines of a batch whose write fails, and the log says so.
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

    /// Queued impressions and start lines, under `queuedLock`.
    private let queuedLock = NSLock()
    private var queued = [QueuedLine]()
    /// True while a timed flush is pending.
    private var flushTimed = false
    private var lost = 0
    /// Lines dropped over `maximumQueuedLines` since the last batch, for the log.
    private var droppedSinceBatch = 0
    private let logger: Logger

    /// A batch is written once this many lines are queued.
    public static let flushLines = 256
    /// ... or this long after its first line was queued.
    public static let flushInterval = DispatchTimeInterval.milliseconds(100)
    /// The most lines queued at once, and the most item ids in them: a memory budget (about 50 MB
    /// of ids of up to 15 bytes), reached only when writes stall.
    public static let maximumQueuedLines = 65_536
    public static let maximumQueuedItems = 1 << 21
    /// The item ids in `queued`.
    private var queuedItems = 0

    private enum QueuedLine: Sendable {
        case impression(ImpressionRecord)
        case start(StartRecord)
    }

    private struct OpenFile {
        var descriptor: Int32
        var device: UInt64
        var inode: UInt64
    }

    /// Opens (or creates) `path` for appending; throws naming the path and the reason.
    /// Lost lines are reported to `logger`.
    public convenience init(path: String, logger: Logger = Logger(label: "srgnn.serve")) throws {
        try self.init(path: path, logger: logger, write: { write($0, $1, $2) })
    }

    init(
        path: String, logger: Logger = Logger(label: "srgnn.serve"),
        write: @escaping @Sendable (Int32, UnsafeRawPointer, Int) -> Int
    ) throws {
        self.path = path
        self.logger = logger
        writeBytes = write
        file = try Self.openFile(path)
    }

    deinit {
        // Nothing else holds the log now: the last queued lines are written here.
        writeQueued()
        close(file.descriptor)
    }

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
    /// The lines queued before are written first, to the file open until now.
    public func reopen() async throws {
        try await onWrites {
            self.writeQueued()
            try self.reopenNow()
        }
    }

    /// Writes every queued impression and start line; returns once they are written (or counted lost).
    public func flush() async {
        try? await onWrites { self.writeQueued() }
    }

    /// Impression and start lines dropped so far: over `maximumQueuedLines`, or in a batch that could not be written.
    public var lostLines: Int { queuedLock.withLock { lost } }

    /// Queues the impression line of one answered session; returns at once.
    func logImpression(_ record: ImpressionRecord) { enqueue(.impression(record)) }

    /// Queues a start line: the split and model files of `registry` from now on.
    func logStart(_ registry: ModelRegistry, trigger: String) { enqueue(.start(StartRecord(registry, trigger: trigger))) }

    private func enqueue(_ line: QueuedLine) {
        let items: Int
        switch line {
        case .impression(let record): items = record.items.count
        case .start(let record): items = record.variants.count
        }
        let (full, timed): (Bool, Bool) = queuedLock.withLock {
            guard queued.count < Self.maximumQueuedLines, queuedItems + items <= Self.maximumQueuedItems else {
                lost += 1
                droppedSinceBatch += 1
                return (false, false)
            }
            queued.append(line)
            queuedItems += items
            let timed = !flushTimed
            flushTimed = true
            return (queued.count == Self.flushLines, timed)
        }
        // Weak: a pending flush does not keep the log (deinit writes what is left).
        if full { writes.async { [weak self] in self?.writeQueued() } }
        if timed { writes.asyncAfter(deadline: .now() + Self.flushInterval) { [weak self] in self?.writeQueued() } }
    }

    /// On the `writes` queue (or in deinit): the queued lines as one write; counted lost when it fails.
    private func writeQueued() {
        let (lines, dropped): ([QueuedLine], Int) = queuedLock.withLock {
            defer {
                queued.removeAll(keepingCapacity: true)
                queuedItems = 0
                flushTimed = false
                droppedSinceBatch = 0
            }
            return (queued, droppedSinceBatch)
        }
        if dropped > 0 {
            logger.error(
                "\(dropped) impression and start lines dropped: \(Self.maximumQueuedLines) lines or \(Self.maximumQueuedItems) item ids were waiting to be written")
        }
        guard !lines.isEmpty else { return }
        var batch = Data()
        var failed = 0
        for line in lines {
            do {
                switch line {
                case .impression(let record): batch += try JSONText.data(record)
                case .start(let record): batch += try JSONText.data(record)
                }
                batch.append(0x0a)
            } catch {
                failed += 1
            }
        }
        do {
            try writeLine(batch)
        } catch {
            failed = lines.count
            logger.error("\(lines.count) impression and start lines not written: \(error)")
        }
        if failed > 0 { queuedLock.withLock { lost += failed } }
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
        try await onWrites {
            // The impressions answered before it first, so that the file stays in time order.
            self.writeQueued()
            try self.writeLine(line)
        }
    }

    private func onWrites(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writes.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// On the `writes` queue: the whole of `line` (one line or a batch of them), however many
    /// `write` calls it takes, or nothing.
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
