import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import SRGNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces the served model with a new file without stopping the service.
///
/// A reload reads and checks the whole file and warms the new model up (`ModelLoader.load`) on a
/// thread of its own, then swaps it into `CurrentModel` in one step. Requests in flight finish on
/// the model they started with; requests that start after the swap get the new one. A file that
/// cannot be served is refused, the old model keeps serving, and the refusal is logged and counted.
/// Reloads run one at a time, in the order asked (one serial queue): two are never interleaved.
/// Each variant of an A/B test has a reloader of its own, so variants reload independently.
public final class ModelReloader: Sendable {
    public let models: CurrentModel
    /// The name of the variant it reloads (`default` for a single model): in logs and the `model` label.
    public let variant: String
    let loader: ModelLoader
    let counters: VariantMetrics
    let logger: Logger
    /// Runs reloads one after another, off Swift's cooperative pool (loading blocks for a while).
    private let reloads = DispatchQueue(label: "srgnn.model-reload")

    public init(models: CurrentModel, variant: String = VariantSplit.defaultName, loader: ModelLoader,
                metrics: ServiceMetrics, logger: Logger) {
        self.models = models
        self.variant = variant
        self.loader = loader
        counters = metrics.variant(variant)
        self.logger = logger
    }

    /// Loads `path` (default: the served model's own path) and swaps it in; returns the model now
    /// served and the one it replaced. `trigger` says who asked, for the log. Throws
    /// `ModelReloadError` when the file is refused.
    @discardableResult
    public func reload(from path: String? = nil, trigger: String) async throws -> (served: ServedModel, replaced: ServedModel) {
        try await withCheckedThrowingContinuation { continuation in
            reloads.async {
                continuation.resume(with: Result { try self.reloadNow(from: path, trigger: trigger) })
            }
        }
    }

    /// One reload, on the `reloads` queue.
    private func reloadNow(from requestedPath: String?, trigger: String) throws -> (served: ServedModel, replaced: ServedModel) {
        let current = models.served
        guard let path = requestedPath ?? current.path else {
            try refuse(ModelReloadError(path: nil, reason: "the served model was not loaded from a file; name one, e.g. {\"model\": \"/models/new.safetensors\"}"),
                              trigger: trigger)
        }
        let loaded: ServedModel
        do {
            loaded = try loader.load(path)
        } catch ModelError.weightsFile(_, let reason) {
            try refuse(ModelReloadError(path: path, reason: reason), trigger: trigger)
        } catch {
            try refuse(ModelReloadError(path: path, reason: "\(error)"), trigger: trigger)
        }
        // A bare weights file reads raw ids as row numbers: swapped in for a checkpoint, every
        // client's ids would silently name other items.
        if current.recommender.loaded.metadata != nil, loaded.recommender.loaded.metadata == nil {
            try refuse(ModelReloadError(path: path, reason: "not a checkpoint (a bare weights file has no vocabulary, so raw ids would be read as row numbers); give a checkpoint written by srgnn train"),
                              trigger: trigger)
        }
        let replaced = models.replace(with: loaded)
        counters.reloads.increment()
        counters.recordServed(loaded)
        logger.info("reloaded (\(trigger)) \(variant): \(loaded.summary) in \(String(format: "%.3f", loaded.loadSeconds ?? 0)) s; replaced sha256 \(replaced.sha256)")
        return (loaded, replaced)
    }

    private func refuse(_ error: ModelReloadError, trigger: String) throws -> Never {
        counters.reloadFailures.increment()
        logger.error("reload (\(trigger)) of \(variant) refused: \(error); still serving \(models.served.path ?? "<in memory>") (sha256 \(models.served.sha256))")
        throw error
    }
}

/// A model file a reload refused: which file, and why.
public struct ModelReloadError: Error, CustomStringConvertible, Sendable {
    /// nil when no file was named and the served model has none.
    public var path: String?
    public var reason: String

    public var description: String {
        guard let path else { return "cannot reload: \(reason)" }
        return "cannot reload from \(path): \(reason)"
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
struct ReloadOnHangup: Service {
    let variants: ServedVariants

    func run() async throws {
        ignoreHangup()
        let (hangups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "srgnn.sighup"))
        source.setEventHandler { continuation.yield() }
        source.resume()
        defer { source.cancel() }
        for await _ in hangups.cancelOnGracefulShutdown() {
            for variant in variants.all {
                // A refusal is logged and counted by the reloader; the service goes on.
                _ = try? await variant.reloader.reload(trigger: "SIGHUP")
            }
        }
    }
}
