import Evaluation
import Foundation
import Hummingbird
import Recommending
import SessionData
import SRGNN

/// `POST /v1/events`: `{"recommendation_id": "b.5f0c…", "item": 214826, "type": "click"}`.
struct EventRequest: Decodable, Sendable {
    var recommendationID: String
    var item: JSONItemID
    /// `click` or `purchase` (`EventType`); checked after decoding so that a bad one gets its own code.
    var type: String

    enum CodingKeys: String, CodingKey {
        case item, type
        case recommendationID = "recommendation_id"
    }
}

/// A `POST /v1/events` body, decoded and checked: the id signed by this service for a variant
/// served now, the item an id of 1…256 characters (like a session id), the type known. Every
/// refusal is a 400 naming the field. So every line of the events log is at most
/// `EventsLog.maximumLineBytes`.
struct CheckedEvent: Sendable {
    var variant: ModelRegistry.Variant
    var recommendationID: String
    var item: JSONItemID
    var type: EventType

    init(body: ByteBuffer, variants: ModelRegistry, example: String) throws {
        let parsed = try decodeBody(EventRequest.self, from: body, example: example)
        variant = try variants.issuer(of: parsed.recommendationID)
        let length = parsed.item.raw.unicodeScalars.count
        guard (1...VariantSplit.maxSessionIDLength).contains(length) else {
            throw ServingError(
                .badRequest, code: "invalid_item",
                message: "\"item\" must be an item id of 1…\(VariantSplit.maxSessionIDLength) characters, got \(length)")
        }
        guard let type = EventType(rawValue: parsed.type) else {
            throw ServingError(
                .badRequest, code: "invalid_event_type",
                message:
                    "\"type\" must be \(EventType.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")), got \"\(parsed.type.prefix(80))\""
            )
        }
        recommendationID = parsed.recommendationID
        item = parsed.item
        self.type = type
    }

    /// The events log's line for it, received at `date`.
    func record(at date: Date) -> EventRecord {
        EventRecord(
            time: EventRecord.timestamp(date), recommendationID: recommendationID, model: variant.name, item: item, type: type.rawValue)
    }
}

/// `POST /v1/events`' answer: `{"status": "recorded", "model": "b"}`.
struct EventResponse: Encodable, Sendable {
    var status = "recorded"
    var model: String
}

/// Decodes a JSON body; a malformed body or a wrong field type is a 400 naming the field.
func decodeBody<T: Decodable>(_ type: T.Type, from bytes: ByteBuffer, example: String) throws -> T {
    let data = Data(bytes.readableBytesView)
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let error as DecodingError {
        if case let .dataCorrupted(context) = error, context.codingPath.isEmpty {
            throw ServingError(.badRequest, code: "malformed_json", message: "the body is not valid JSON; send e.g. \(example)")
        }
        throw ServingError(.badRequest, code: "invalid_request", message: describe(error, in: .requestBody(example: example)))
    } catch {
        throw ServingError(.badRequest, code: "malformed_json", message: "the body is not valid JSON; send e.g. \(example)")
    }
}

/// `GET /v1/model`: what is loaded, from which file, since when; in `GET /v1/models`, one variant.
struct ModelDescription: Encodable {
    struct Configuration: Encodable {
        var itemCount: Int
        var hiddenSize: Int
        var propagationSteps: Int
        var nonhybrid: Bool
        /// `srgnn` or `niser` (NISER+: scores are σ · cosine).
        var modelVariant: String
        enum CodingKeys: String, CodingKey {
            case itemCount = "item_count", hiddenSize = "hidden_size", propagationSteps = "propagation_steps", nonhybrid
            case modelVariant = "model_variant"
        }
    }
    /// `CheckpointLineage` with the parent's file name in place of its path.
    struct Lineage: Encodable {
        var parentSHA256: String
        var parentFile: String?
        var parentDatasetFingerprint: String?
        var parentItems: Int
        var addedItems: Int
        var ancestors: [String]
        var optimizerStateFile: String?
        enum CodingKeys: String, CodingKey {
            case ancestors
            case parentSHA256 = "parent_sha256", parentFile = "parent_file", parentDatasetFingerprint = "parent_dataset_fingerprint"
            case parentItems = "parent_items", addedItems = "added_items", optimizerStateFile = "optimizer_state_file"
        }
    }
    /// `{"model": "vstan", "parameters": {"k": 100, …}}`.
    struct FittedBaselineDescription: Encodable {
        var model: String
        var parameters: [String: BaselineParameterValue]
    }
    /// `TrainingDataSummary`: counts of the data the model was trained on.
    struct TrainingData: Encodable {
        var trainSessions: Int
        var trainExamples: Int
        var testExamples: Int
        var items: Int
        enum CodingKeys: String, CodingKey {
            case items
            case trainSessions = "train_sessions", trainExamples = "train_examples", testExamples = "test_examples"
        }
    }
    /// The variant's name (`default` for a single model).
    var name: String
    /// The variant's fraction of the traffic; only in `GET /v1/models`.
    var share: Double?
    /// `checkpoint`, `bare-weights` or `baseline`.
    var format = "baseline"
    /// An SR-GNN model's architecture (nil for a baseline).
    var configuration: Configuration?
    /// A fitted baseline's name and parameters (nil for SR-GNN).
    var baseline: FittedBaselineDescription?
    var itemCount: Int
    var maxSessionLength: Int
    var epoch: Int?
    var metrics: [String: Double]?
    var trainedAt: String?
    /// The training data's folder or file name, never its path (a path tells clients about the
    /// server's disk).
    var dataset: String?
    /// The training data's fingerprint, when the checkpoint records one.
    var datasetFingerprint: String?
    var versions: [String: String]?
    /// SHA-256 of the model file, as `sha256sum` prints it.
    var sha256: String
    /// The model file's name (not its path, as for `dataset`); the admin reload answer gives the path.
    var modelFile: String?
    /// When this model was swapped in (ISO 8601, UTC).
    var loadedAt: String
    /// Seconds it took to read, check and warm up.
    var loadSeconds: Double?
    var lineage: Lineage?
    var trainingData: TrainingData?
    /// The item catalog, when one is loaded (`srgnn serve --catalog`).
    var catalog: CatalogDescription?
    /// What answers a session the model cannot embed: `popularity` only when asked for and the
    /// checkpoint records recent popularity (else such a session is a 422).
    var fallback: Fallback

    /// `{"file": "items.csv", "items": rows, "unavailable": rows marked so, "attributes": [names]}`.
    struct CatalogDescription: Encodable {
        var file: String?
        var items: Int
        var unavailable: Int
        var attributes: [String]
    }

    enum CodingKeys: String, CodingKey {
        case name, share, format, configuration, baseline, epoch, metrics, dataset, versions, sha256, lineage, catalog, fallback
        case datasetFingerprint = "dataset_fingerprint"
        case itemCount = "item_count", maxSessionLength = "max_session_length", trainedAt = "trained_at"
        case modelFile = "model_file", loadedAt = "loaded_at", loadSeconds = "load_seconds", trainingData = "training_data"
    }

    init(_ served: ServedModel, name: String, share: Double? = nil) {
        self.name = name
        self.share = share
        let recommender = served.recommender
        itemCount = recommender.itemCount
        maxSessionLength = recommender.maxSessionLength
        sha256 = served.sha256
        modelFile = served.path.flatMap(lastPathComponent)
        loadedAt = ISO8601DateFormatter().string(from: served.loadedAt)
        loadSeconds = served.loadSeconds
        if let fitted = recommender.baseline {
            let header = fitted.file.header
            format = "baseline"
            baseline = FittedBaselineDescription(model: header.model, parameters: header.parameters)
            trainedAt = header.createdAt
            dataset = header.dataset.flatMap(lastPathComponent)
            datasetFingerprint = header.datasetFingerprint
            versions = header.versions
        }
        if let loaded = recommender.loaded {
            let configuration = loaded.model.configuration
            format = loaded.metadata == nil ? "bare-weights" : "checkpoint"
            self.configuration = Configuration(
                itemCount: configuration.itemCount, hiddenSize: configuration.hiddenSize,
                propagationSteps: configuration.propagationSteps, nonhybrid: configuration.nonhybrid,
                modelVariant: configuration.variant.rawValue)
            epoch = loaded.metadata?.epoch
            metrics = loaded.metadata?.metrics
            trainedAt = loaded.metadata?.createdAt
            dataset = loaded.metadata?.dataset.flatMap(lastPathComponent)
            datasetFingerprint = loaded.metadata?.datasetFingerprint
            versions = loaded.metadata?.versions
            lineage = loaded.metadata?.lineage.map {
                Lineage(
                    parentSHA256: $0.parentSHA256, parentFile: lastPathComponent($0.parentPath),
                    parentDatasetFingerprint: $0.parentDatasetFingerprint, parentItems: $0.parentItems,
                    addedItems: $0.addedItems, ancestors: $0.ancestors, optimizerStateFile: $0.optimizerState.flatMap(lastPathComponent))
            }
            trainingData = loaded.metadata?.trainingData.map {
                TrainingData(
                    trainSessions: $0.trainSessions, trainExamples: $0.trainExamples, testExamples: $0.testExamples, items: $0.items)
            }
        }
        catalog = served.catalog.map {
            CatalogDescription(file: lastPathComponent($0.path), items: $0.items, unavailable: $0.unavailable, attributes: $0.attributes)
        }
        fallback = served.fallback
    }
}

/// `GET /v1/models`: `{"split": {"a": 90, "b": 10}, "variants": [{"name": "a", "share": 0.9, …}, …]}`.
struct VariantsDescription: Encodable {
    var split: [String: Int]
    var variants: [ModelDescription]

    init(_ variants: ModelRegistry) {
        split = Dictionary(uniqueKeysWithValues: zip(variants.split.names, variants.split.weights))
        self.variants = variants.all.indices.map {
            ModelDescription(variants.all[$0].served, name: variants.all[$0].name, share: variants.split.share($0))
        }
    }
}

/// `POST /v1/admin/reload`: `{"variant": "b", "model": "/models/new.safetensors"}`. Without
/// `model`, the variant's own file again; without `variant`, the only one, or with several, every
/// one from its own file (`model` then needs a `variant`).
struct ReloadRequest: Decodable, Sendable {
    var model: String?
    var variant: String?
    /// Reload even when the new model shares less than `--min-reload-overlap` with the old one or the catalog.
    var force: Bool?
}

/// `POST /v1/admin/reload`'s answer for one variant: the model now served and the one it replaced.
struct ReloadResponse: Encodable, Sendable {
    var status = "reloaded"
    var variant: String
    /// The file now served, as given (the caller is an admin).
    var path: String?
    var sha256: String
    var previousSHA256: String
    var itemCount: Int
    var loadSeconds: Double?
    var loadedAt: String
    /// How much the new model shares with the old one and the catalog.
    var overlap: Overlap

    /// `{"previous_model": 0.98, "catalog": 0.99}` (`ReloadOverlap`); `catalog` left out without one.
    struct Overlap: Encodable, Sendable {
        var previousModel: Double
        var catalog: Double?
        enum CodingKeys: String, CodingKey {
            case catalog
            case previousModel = "previous_model"
        }
    }

    enum CodingKeys: String, CodingKey {
        case status, variant, path, sha256, overlap
        case previousSHA256 = "previous_sha256", itemCount = "item_count", loadSeconds = "load_seconds", loadedAt = "loaded_at"
    }

    init(variant: String, served: ServedModel, replaced: ServedModel, overlap: ReloadOverlap) {
        self.overlap = Overlap(previousModel: overlap.previousModel, catalog: overlap.catalog)
        self.variant = variant
        path = served.path
        sha256 = served.sha256
        previousSHA256 = replaced.sha256
        itemCount = served.recommender.itemCount
        loadSeconds = served.loadSeconds
        loadedAt = ISO8601DateFormatter().string(from: served.loadedAt)
    }
}

/// `POST /v1/admin/reload`'s answer when every one of several variants was reloaded:
/// `{"status": "reloaded", "variants": [<one variant's answer>, …]}`.
struct ReloadAllResponse: Encodable, Sendable {
    var status = "reloaded"
    var variants: [ReloadResponse]
}

/// The last component of a path as a checkpoint or the command line gives it (`/data/diginetica/` →
/// `diginetica`, `C:\\data\\yoochoose` → `yoochoose`); nil when nothing is left. What clients see
/// of the server's files.
func lastPathComponent(_ recorded: String) -> String? {
    let parts = recorded.split(whereSeparator: { $0 == "/" || $0 == "\\" })
    return parts.last.map(String.init)
}
