import Dispatch
import Foundation
import Logging
import Recommending
import ServiceLifecycle
import SRGNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a variant's model with a new file without stopping the service.
///
/// A reload reads and checks the whole file and warms the new model up (`ModelLoader.load`) on a
/// thread of its own, then swaps it in in one step. Requests in flight finish on the model they
/// started with; requests that start after the swap get the new one. A file that cannot be served
/// is refused, the old model keeps serving, and the refusal is logged and counted. A variant's
/// reloads run one at a time, in the order asked (one serial queue): two are never interleaved.
/// Each variant of an A/B test has a queue of its own, so variants reload independently.
extension ModelRegistry.Variant {
    /// Loads `path` (default: the served model's own path) and swaps it in; returns the model now
    /// served, the one it replaced and how much they share. `trigger` says who asked, for the log.
    /// Throws `ServingError.reloadRefused` when the file is refused, among others when the new model knows
    /// less than `minimumOverlap` of the old model's items or of the catalog's rows and `force` is
    /// false. The wait ends with `CancellationError` when the calling task is cancelled (the
    /// reload itself goes on), so that a reload never holds up shutdown.
    @discardableResult
    public func reload(
        from path: String? = nil, force: Bool = false,
        trigger: String
    ) async throws -> (served: ServedModel, replaced: ServedModel, overlap: ReloadOverlap) {
        let once = ResumeOnce<(served: ServedModel, replaced: ServedModel, overlap: ReloadOverlap)>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                once.set(continuation)
                reloads.async {
                    once.resume(with: Result { try self.reloadNow(from: path, force: force, trigger: trigger) })
                }
            }
        } onCancel: {
            once.resume(with: .failure(CancellationError()))
        }
    }

    /// One reload, on the `reloads` queue.
    private func reloadNow(
        from requestedPath: String?, force: Bool,
        trigger: String
    ) throws -> (served: ServedModel, replaced: ServedModel, overlap: ReloadOverlap) {
        let current = served
        guard let path = requestedPath ?? current.path else {
            try refuse(
                ServingError.reloadRefused(
                    path: nil,
                    reason: "the served model was not loaded from a file; name one, e.g. {\"model\": \"/models/new.safetensors\"}"),
                trigger: trigger)
        }
        let loaded: ServedModel
        do {
            loaded = try loader.load(path)
        } catch ModelError.weightsFile(_, let reason) {
            try refuse(ServingError.reloadRefused(path: path, reason: reason), trigger: trigger)
        } catch {
            try refuse(ServingError.reloadRefused(path: path, reason: "\(error)"), trigger: trigger)
        }
        // A bare weights file reads raw ids as row numbers: swapped in for a checkpoint, every
        // client's ids would silently name other items.
        let currentHasVocabulary = current.recommender.baseline != nil || current.recommender.loaded?.metadata != nil
        if currentHasVocabulary, let new = loaded.recommender.loaded, new.metadata == nil {
            try refuse(
                ServingError.reloadRefused(
                    path: path,
                    reason:
                        "not a checkpoint (a bare weights file has no vocabulary, so raw ids would be read as row numbers); give a checkpoint written by srgnn train"
                ),
                trigger: trigger)
        }
        let overlap = ReloadOverlap(new: loaded, old: current)
        if !force, let short = overlap.shortfall(minimum: minimumOverlap) {
            try refuse(
                ServingError.reloadRefused(
                    path: path,
                    reason:
                        "\(short) (the least accepted is \(ReloadOverlap.percent(minimumOverlap)), --min-reload-overlap): most sessions or filters would be answered with nothing; check the file, or send {\"force\": true} to reload anyway"
                ),
                trigger: trigger)
        }
        let replaced = replace(with: loaded)
        counters.reloads.increment()
        counters.recordServed(loaded)
        logger.info(
            "reloaded (\(trigger)\(force ? ", forced" : "")) \(name): \(loaded.summary) in \(String(format: "%.3f", loaded.loadSeconds ?? 0)) s; \(overlap); replaced sha256 \(replaced.sha256)"
        )
        return (loaded, replaced, overlap)
    }

    private func refuse(_ error: ServingError, trigger: String) throws -> Never {
        counters.reloadFailures.increment()
        logger.error(
            "reload (\(trigger)) of \(name) refused: \(error); still serving \(served.path ?? "<in memory>") (sha256 \(served.sha256))"
        )
        throw error
    }
}

/// How much a reloaded model shares with the model it replaces and with its catalog: what a reload
/// answers and logs, and what it checks against `--min-reload-overlap`.
public struct ReloadOverlap: Sendable, Equatable, CustomStringConvertible {
    /// The share of the old model's items the new one knows (its raw ids): 1 for the same
    /// vocabulary, 0 when the two share nothing.
    public var previousModel: Double
    /// The share of the catalog's rows the new model knows; nil without a catalog (or an empty one).
    public var catalog: Double?

    init(new: ServedModel, old: ServedModel) {
        let newVocabulary = new.recommender.vocabulary, oldVocabulary = old.recommender.vocabulary
        let shared = oldVocabulary.rawIDs.reduce(0) { $0 + (newVocabulary.internalID(of: $1) == nil ? 0 : 1) }
        previousModel = oldVocabulary.count == 0 ? 1 : Double(shared) / Double(oldVocabulary.count)
        if let file = new.catalog, file.items > 0, let index = new.recommender.catalog {
            catalog = Double(file.items - index.rowsNotInModel) / Double(file.items)
        }
    }

    /// Why the overlap is under `minimum`, or nil when it is not.
    func shortfall(minimum: Double) -> String? {
        var short = [String]()
        if previousModel < minimum { short.append("the new model knows \(Self.percent(previousModel)) of the served model's items") }
        if let catalog, catalog < minimum { short.append("it knows \(Self.percent(catalog)) of the catalog's rows") }
        return short.isEmpty ? nil : short.joined(separator: " and ")
    }

    static func percent(_ share: Double) -> String { String(format: "%.1f %%", 100 * share) }

    public var description: String {
        "overlap: \(Self.percent(previousModel)) of the previous model's items"
            + (catalog.map { ", \(Self.percent($0)) of the catalog's rows" } ?? "")
    }
}

/// Resumes a continuation once: with the reload's result, or earlier with `CancellationError`.
private final class ResumeOnce<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `continuation` and `outcome` are only touched under `lock`.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Value, any Error>?
    /// An outcome that came before the continuation was set (a cancellation at once).
    private var outcome: Result<Value, any Error>?
    private var done = false

    func set(_ continuation: CheckedContinuation<Value, any Error>) {
        let early: Result<Value, any Error>? = lock.withLock {
            if let outcome { return outcome }
            self.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with result: Result<Value, any Error>) {
        let waiting: CheckedContinuation<Value, any Error>? = lock.withLock {
            guard !done else { return nil }
            done = true
            guard let continuation else { outcome = result; return nil }
            self.continuation = nil
            return continuation
        }
        waiting?.resume(with: result)
    }
}

/// Sets SIGHUP's disposition to "ignore" (its default action ends the process), once per process:
/// before the first Dispatch source for it exists, never after, since ignoring it again would drop
/// the signal for the sources already listening (two services in one process: tests).
public func ignoreHangup() {
    _ = hangupIgnored
}

private let hangupIgnored: Void = { _ = signal(SIGHUP, SIG_IGN) }()

/// Reloads every variant from its own file on every SIGHUP, until graceful shutdown: one after
/// another (two models are never loading at once), each on its own, so one refused does not stop
/// the others. SIGHUP is ignored as a signal (its default action ends the process) and heard
/// through a Dispatch signal source; hangups that arrive during a reload make one more round
/// after it, not one each.
///
/// Each SIGHUP first opens the events log again (after a rotation), then reloads, and logs a `start`
/// line when a model was swapped. A reload's wait
/// ends at graceful shutdown, so a reload that hangs never holds the process.
struct ReloadOnHangup: Service {
    let registry: ModelRegistry
    let eventsLog: EventsLog?
    let logger: Logger

    func run() async throws {
        ignoreHangup()
        let (hangups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "srgnn.sighup"))
        source.setEventHandler { continuation.yield() }
        source.resume()
        defer { source.cancel() }
        for await _ in hangups.cancelOnGracefulShutdown() {
            if let eventsLog {
                do { try await eventsLog.reopen() } catch { logger.error("SIGHUP: \(error); events still go to the file open before") }
            }
            var reloaded = false
            for variant in registry.all {
                // A refusal is logged and counted by the variant; the service goes on.
                if (try? await cancelWhenGracefulShutdown { try await variant.reload(trigger: "SIGHUP") }) != nil { reloaded = true }
            }
            if reloaded { eventsLog?.logStart(registry, trigger: "SIGHUP") }
        }
    }
}
