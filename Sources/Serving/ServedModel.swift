import Foundation
import Recommending
import SessionData
import SRGNN

/// A model as the service serves it: the recommender (with its catalog), and which files it came
/// from and when.
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
    /// The catalog file the recommender's catalog was read from.
    public let catalog: CatalogFile?

    public init(
        recommender: Recommender, path: String? = nil, catalog: CatalogFile? = nil, loadedAt: Date = Date(),
        loadSeconds: Double? = nil
    ) {
        self.recommender = recommender
        self.path = path
        self.catalog = catalog
        self.loadedAt = loadedAt
        self.loadSeconds = loadSeconds
    }

    /// SHA-256 of the file (lowercase hex), as `sha256sum` prints it.
    public var sha256: String { recommender.sha256 }

    /// The fallback in force: `.popularity` needs the checkpoint's recent popularity as well.
    public var fallback: Fallback {
        recommender.fallback == .popularity && recommender.recentPopularity != nil ? .popularity : .none
    }

    /// One line for the log: file, size, architecture and, for a checkpoint, its epoch and metrics.
    public var summary: String {
        var text: String
        if let fitted = recommender.baseline {
            let header = fitted.file.header
            let parameters = header.parameters.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            text =
                "\(path ?? "<in memory>"): \(recommender.itemCount) items, \(fitted.file.baseline.displayName) fitted on \(fitted.file.sessions.count) sessions"
                + "\(parameters.isEmpty ? "" : " (\(parameters))") written \(header.createdAt)"
        } else if let configuration = recommender.model?.configuration {
            text =
                "\(path ?? "<in memory>"): \(configuration.itemCount) items, hidden size \(configuration.hiddenSize), propagation steps \(configuration.propagationSteps)\(configuration.nonhybrid ? ", nonhybrid" : "")\(configuration.variant == .niser ? ", NISER+" : "")"
        } else {
            text = path ?? "<in memory>"
        }
        if recommender.baseline != nil {
        } else if let metadata = recommender.loaded?.metadata {
            let metrics = metadata.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            text += ", checkpoint of epoch \(metadata.epoch) written \(metadata.createdAt)\(metrics.isEmpty ? "" : " (\(metrics))")"
        } else {
            text += ", bare weights file (raw ids are row numbers)"
        }
        text += ", sha256 \(sha256)"
        if let catalog, let index = recommender.catalog {
            text +=
                "; catalog \(catalog.path): \(catalog.items) items (\(catalog.unavailable) unavailable), attributes "
                + (catalog.attributes.isEmpty ? "none" : catalog.attributes.joined(separator: ", "))
            // Rows the model cannot recommend: usually items newer than the checkpoint.
            if index.rowsNotInModel > 0 { text += ", \(index.rowsNotInModel) rows name items the model does not know" }
        }
        if recommender.fallback == .popularity && fallback == .none {
            text += "; no popularity fallback (the checkpoint records no recent popularity), so cold sessions are refused"
        }
        return text
    }
}

/// A catalog as read from its file, for `GET /v1/model` and the log.
public struct CatalogFile: Sendable, Equatable {
    public var path: String
    /// Rows, and rows marked unavailable.
    public var items: Int
    public var unavailable: Int
    public var attributes: [String]

    public init(path: String, catalog: Catalog) {
        self.path = path
        items = catalog.entries.count
        unavailable = catalog.entries.values.filter { !$0.available }.count
        attributes = catalog.attributeNames
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
    /// The item catalog (csv, tsv or jsonl), read again with every model, so a reload picks up its
    /// changes; nil: every item available, no filters.
    public var catalogPath: String?
    /// What answers a session the model cannot embed (`Recommender.fallback`).
    public var fallback: Fallback
    /// Exact full ranking, or approximate retrieval for large catalogues (`Retrieval`).
    public var retrieval: Retrieval

    public init(
        propagationSteps: Int = 1, nonhybrid: Bool = false,
        maxSessionLength: Int = Recommender.defaultMaxSessionLength, warmUpSessions: Int = 64,
        catalogPath: String? = nil, fallback: Fallback = .none, retrieval: Retrieval = .exact
    ) {
        self.propagationSteps = propagationSteps
        self.nonhybrid = nonhybrid
        self.maxSessionLength = maxSessionLength
        self.warmUpSessions = warmUpSessions
        self.catalogPath = catalogPath
        self.fallback = fallback
        self.retrieval = retrieval
    }

    /// The largest catalog file read, in bytes (1 GiB): a budget for memory and reload time.
    public static let maximumCatalogBytes = 1 << 30

    /// Loads and checks `path` (`LoadedModel.load`: format, shapes, metadata) and the catalog,
    /// then scores one batch of `warmUpSessions` sessions with it, so that a model that cannot
    /// answer is refused here and the first requests after a swap do not pay for allocating the
    /// workspace. Throws `ModelError` naming the path, or a `ServingError` (kind `.catalog`) naming
    /// the catalog's file, line and field.
    public func load(_ path: String) throws -> ServedModel {
        let start = DispatchTime.now().uptimeNanoseconds
        let baseline = try FittedBaseline.load(from: path)
        let loaded = try baseline == nil ? LoadedModel.load(from: path, propagationSteps: propagationSteps, nonhybrid: nonhybrid) : nil
        let catalog = try catalogPath.map { catalogPath in
            do {
                // Checked first without blocking: a FIFO there would hang the read (and every later
                // reload, and shutdown behind them); a device never ends.
                try ServiceFile.check(catalogPath, what: "the catalog", limit: Self.maximumCatalogBytes)
                return (try Catalog.load(from: catalogPath), catalogPath)
            } catch {
                // A `ServingError.file` describes itself by its message alone.
                throw ServingError.catalogRefused("\(error)")
            }
        }
        let recommender =
            if let baseline {
                Recommender(baseline: baseline, maxSessionLength: maxSessionLength, catalog: catalog?.0, fallback: fallback)
            } else {
                Recommender(
                    model: loaded!, maxSessionLength: maxSessionLength, catalog: catalog?.0, fallback: fallback, retrieval: retrieval)
            }
        try warmUp(recommender, path: path)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return ServedModel(
            recommender: recommender, path: path, catalog: catalog.map { CatalogFile(path: $1, catalog: $0) },
            loadedAt: Date(), loadSeconds: seconds)
    }

    /// Sessions of growing length over the first items, up to `maxSessionLength`; every score must be finite.
    private func warmUp(_ recommender: Recommender, path: String) throws {
        let vocabulary = recommender.vocabulary
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
