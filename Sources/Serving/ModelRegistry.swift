import CoreMetrics
import Dispatch
import Foundation
import Logging
import Prometheus
import Recommending

/// Which model serves each variant: the one owner of the served models, the split that picks a
/// variant for a request, each variant's serial reloads and its counters.
///
/// A request picks a `Variant` (by name, by its session id, or at random by the split) and takes
/// its `served` model once, keeping it to the end: validated and scored by the same one, whatever
/// reload comes meanwhile. A reload swaps a variant's model whole (`Variant.reload`); variants
/// reload independently, each one reload at a time.
public final class ModelRegistry: Sendable {
    public let split: VariantSplit
    /// In the split's order; the first is the one `GET /v1/model` describes.
    public let all: [Variant]
    private let byName: [String: Variant]
    /// Signs the recommendation ids of every variant and checks those sent back.
    let signer: RecommendationIDSigner
    /// Where the variants' counters are kept, and the service's other metrics with them.
    public let metrics: ServiceMetrics

    /// `models`, one per name of `split`, in its order. Every variant reloads with `loader`, logs to
    /// `logger` and refuses, unless forced, a model sharing less than `minimumOverlap` with the one
    /// it replaces (`ReloadOverlap`); its counters live in `metrics`. `signer` signs the
    /// recommendation ids (default: a key generated now).
    public init(
        split: VariantSplit = .single, models: [ServedModel], loader: ModelLoader = ModelLoader(),
        metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = Logger(label: "srgnn.serve"),
        minimumOverlap: Double = 0.5, signer: RecommendationIDSigner = .generated()
    ) {
        precondition(models.count == split.names.count, "one model per variant of the split")
        self.split = split
        self.signer = signer
        self.metrics = metrics
        all = zip(split.names, models).map { name, model in
            Variant(
                name: name, model: model, loader: loader, counters: Counters(name: name, factory: metrics.factory), logger: logger,
                minimumOverlap: minimumOverlap, signer: signer)
        }
        byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    }

    public func named(_ name: String) -> Variant? { byName[name] }

    /// The names, for messages: `"a", "b"`.
    var listed: String { split.names.map { "\"\($0)\"" }.joined(separator: ", ") }

    /// The variant a request gets: the one `model` names, else the one `sessionID` hashes to, else
    /// one drawn at random by the split. `sessionField` names the session id in refusals; a bad
    /// one is refused even when `model` decides.
    func pick(model: String?, sessionID: String?, sessionField: String) throws -> Variant {
        if let length = sessionID?.unicodeScalars.count, !(1...VariantSplit.maxSessionIDLength).contains(length) {
            throw ServingError(
                .badRequest, code: "invalid_session_id",
                message: "\"\(sessionField)\" must be a string of 1…\(VariantSplit.maxSessionIDLength) characters, got \(length)")
        }
        if let model {
            guard let variant = byName[model] else {
                throw ServingError(
                    .badRequest, code: "unknown_model",
                    message: "\"model\" names no served variant (\"\(model)\"); the variants are \(listed)")
            }
            return variant
        }
        guard let sessionID else { return all[split.randomIndex()] }
        return all[split.index(forSession: sessionID)]
    }

    /// The variant a recommendation id was issued by, or a 400 saying why it is refused: not an
    /// id's form, unsigned (the old `<variant>.<32 hex digits>`), signed with another key, or
    /// naming a variant not served now.
    func issuer(of recommendationID: String) throws -> Variant {
        let shown = "\"\(recommendationID.prefix(80))\""
        let form = "<variant>.<32 hex digits>.<32 hex digits>"
        func refuse(_ message: String) -> ServingError {
            ServingError(.badRequest, code: "invalid_recommendation_id", message: message)
        }
        switch signer.verify(recommendationID) {
        case .signed(let name):
            guard let variant = byName[name] else {
                throw refuse("\"recommendation_id\" names a variant not served now (\(shown)); the variants are \(listed)")
            }
            return variant
        case .unsigned:
            throw refuse(
                "\"recommendation_id\" is unsigned (\(shown)): ids are \(form), signed by the service; send the \"recommendation_id\" of an answer as it came"
            )
        case .foreign:
            throw refuse(
                "\"recommendation_id\" is not signed by this service (\(shown)): it comes from another service, from before a restart without --events-key-file, or was altered; send the \"recommendation_id\" of an answer as it came"
            )
        case .malformed:
            throw refuse(
                "\"recommendation_id\" is not one this service issues (\(shown)): send the \"recommendation_id\" of an answer, \(form), where the variant is one of \(listed)"
            )
        }
    }

    /// One variant as the service runs it: its name, the model new requests get (swapped whole
    /// under a lock by `reload`), its counters.
    public final class Variant: @unchecked Sendable {
        // @unchecked: `model` is only touched under `lock`; everything else is immutable.
        /// The name (`default` for a single model): in answers, logs and the `model` label.
        public let name: String
        private let lock = NSLock()
        private var model: ServedModel
        /// Reads a new file with the options the first one was read with.
        let loader: ModelLoader
        let counters: Counters
        let logger: Logger
        /// Least share of the old model's items, and of the catalog's rows, the new model must know
        /// unless the reload is forced (`ReloadOverlap`).
        let minimumOverlap: Double
        /// Runs reloads one after another, off Swift's cooperative pool (loading blocks for a while).
        let reloads = DispatchQueue(label: "srgnn.model-reload")
        /// Signs the ids of this variant's answers.
        private let signer: RecommendationIDSigner

        init(
            name: String, model: ServedModel, loader: ModelLoader, counters: Counters, logger: Logger, minimumOverlap: Double,
            signer: RecommendationIDSigner
        ) {
            self.name = name
            self.model = model
            self.loader = loader
            self.counters = counters
            self.logger = logger
            self.minimumOverlap = minimumOverlap
            self.signer = signer
            // The load-time gauges show the first model too, not only reloaded ones.
            counters.recordServed(model)
        }

        /// The model to use for one whole request.
        public var served: ServedModel { lock.withLock { model } }

        /// Makes `newModel` the one new requests get; returns the one it replaces.
        func replace(with newModel: ServedModel) -> ServedModel {
            lock.withLock {
                let old = model
                model = newModel
                return old
            }
        }

        /// A new attribution id for one answer, signed (`RecommendationIDSigner`): the name in it is
        /// all the service needs to credit an event, so nothing is kept per answer.
        func makeRecommendationID() -> String { signer.makeID(variant: name) }
    }

    /// The metrics of one variant (label `model`); see `ServiceMetrics`.
    struct Counters: Sendable {
        let reloads: CoreMetrics.Counter
        let reloadFailures: CoreMetrics.Counter
        let loadSeconds: CoreMetrics.Gauge
        let loadedTimestamp: CoreMetrics.Gauge
        let recommendations: CoreMetrics.Counter
        let events: [EventType: CoreMetrics.Counter]

        /// All made now, so that each shows (at 0) from the start. Variants are fixed at start, so
        /// the label values are bounded.
        init(name: String, factory: PrometheusMetricsFactory) {
            let model = [("model", name)]
            reloads = CoreMetrics.Counter(label: "srgnn_model_reloads_total", dimensions: model, factory: factory)
            reloadFailures = CoreMetrics.Counter(label: "srgnn_model_reload_failures_total", dimensions: model, factory: factory)
            loadSeconds = CoreMetrics.Gauge(label: "srgnn_model_load_seconds", dimensions: model, factory: factory)
            loadedTimestamp = CoreMetrics.Gauge(label: "srgnn_model_loaded_timestamp_seconds", dimensions: model, factory: factory)
            recommendations = CoreMetrics.Counter(label: "srgnn_variant_recommendations_total", dimensions: model, factory: factory)
            events = Dictionary(
                uniqueKeysWithValues: EventType.allCases.map {
                    (
                        $0,
                        CoreMetrics.Counter(
                            label: "srgnn_variant_events_total", dimensions: model + [("type", $0.rawValue)], factory: factory)
                    )
                })
        }

        /// Shows `model` as the one served (its load time, when it was swapped in).
        func recordServed(_ model: ServedModel) {
            if let seconds = model.loadSeconds { loadSeconds.record(seconds) }
            loadedTimestamp.record(model.loadedAt.timeIntervalSince1970)
        }
    }
}
