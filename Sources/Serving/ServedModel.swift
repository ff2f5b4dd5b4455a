import Foundation
import SRGNN

/// A model as the service serves it: the recommender, and which file it came from and when.
///
/// Immutable: a request takes the current one once, at its start, and uses it to the end, so a
/// reload never changes the model under a request in flight. The model's memory is freed when the
/// last request holding it ends.
public final class ServedModel: Sendable {
    public let recommender: Recommender
    /// The file it was loaded from; nil for a recommender built elsewhere (then a reload needs a path).
    public let path: String?
    /// When it was swapped in (or, for the first model, when the service was built).
    public let loadedAt: Date
    /// Seconds taken to read, check and warm up the file; nil for a recommender built elsewhere.
    public let loadSeconds: Double?

    public init(recommender: Recommender, path: String? = nil, loadedAt: Date = Date(), loadSeconds: Double? = nil) {
        self.recommender = recommender
        self.path = path
        self.loadedAt = loadedAt
        self.loadSeconds = loadSeconds
    }

    /// SHA-256 of the file (lowercase hex), as `sha256sum` prints it.
    public var sha256: String { recommender.loaded.sha256 }

    /// One line for the log: file, size, architecture and, for a checkpoint, its epoch and metrics.
    public var summary: String {
        let configuration = recommender.model.configuration
        var text = "\(path ?? "<in memory>"): \(configuration.itemCount) items, hidden size \(configuration.hiddenSize), propagation steps \(configuration.propagationSteps)\(configuration.nonhybrid ? ", nonhybrid" : "")"
        if let metadata = recommender.loaded.metadata {
            let metrics = metadata.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            text += ", checkpoint of epoch \(metadata.epoch) written \(metadata.createdAt)\(metrics.isEmpty ? "" : " (\(metrics))")"
        } else {
            text += ", bare weights file (raw ids are row numbers)"
        }
        return text + ", sha256 \(sha256)"
    }
}

/// Reads a model file into a `ServedModel` ready to take requests. One value for the first load and
/// every reload, so a reloaded model is read with the same options as the first.
public struct ModelLoader: Sendable {
    /// For a bare weights file only (a checkpoint records its own): see `LoadedModel.load`.
    public var propagationSteps: Int
    public var nonhybrid: Bool
    /// Sessions longer than this keep their most recent clicks (`Recommender.maxSessionLength`).
    public var maxSessionLength: Int
    /// Sessions in the warm-up pass run before a model is served: the most one pass will score
    /// (`ServingConfiguration.maxCoalescedSessions`), so its workspace is already full size.
    public var warmUpSessions: Int

    public init(propagationSteps: Int = 1, nonhybrid: Bool = false,
                maxSessionLength: Int = Recommender.defaultMaxSessionLength, warmUpSessions: Int = 64) {
        self.propagationSteps = propagationSteps
        self.nonhybrid = nonhybrid
        self.maxSessionLength = maxSessionLength
        self.warmUpSessions = warmUpSessions
    }

    /// Loads and checks `path` (`LoadedModel.load`: format, shapes, metadata), then scores one batch
    /// of `warmUpSessions` sessions with it, so that a model that cannot answer is refused here and
    /// the first requests after a swap do not pay for allocating the workspace. Throws `ModelError`
    /// naming the path.
    public func load(_ path: String) throws -> ServedModel {
        let start = DispatchTime.now().uptimeNanoseconds
        let loaded = try LoadedModel.load(from: path, propagationSteps: propagationSteps, nonhybrid: nonhybrid)
        let recommender = Recommender(model: loaded, maxSessionLength: maxSessionLength)
        try warmUp(recommender, path: path)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return ServedModel(recommender: recommender, path: path, loadedAt: Date(), loadSeconds: seconds)
    }

    /// Sessions of growing length over the first items, up to `maxSessionLength`; every score must be finite.
    private func warmUp(_ recommender: Recommender, path: String) throws {
        let vocabulary = recommender.loaded.vocabulary
        let items = (1...min(recommender.itemCount, maxSessionLength)).map { vocabulary.rawID(of: Int32($0)) }
        let queries = (0..<max(1, warmUpSessions)).map { index in
            RecommendationQuery(session: Array(items.prefix(1 + index % items.count)), k: 1)
        }
        let results = try recommender.recommend(queries)
        guard results.allSatisfy({ $0.items.allSatisfy { $0.score.isFinite } }) else {
            throw ModelError.weightsFile(path: path, reason: "the model scores items as NaN or infinity (are the weights finite?)")
        }
    }
}

/// The model new requests get, swapped whole under a lock.
public final class CurrentModel: @unchecked Sendable {
    // @unchecked: `model` is only touched under `lock`.
    private let lock = NSLock()
    private var model: ServedModel

    public init(_ model: ServedModel) { self.model = model }

    /// The model to use for one whole request.
    public var served: ServedModel { lock.withLock { model } }

    /// Makes `newModel` the one new requests get; returns the one it replaces.
    @discardableResult
    func replace(with newModel: ServedModel) -> ServedModel {
        lock.withLock {
            let old = model
            model = newModel
            return old
        }
    }
}
