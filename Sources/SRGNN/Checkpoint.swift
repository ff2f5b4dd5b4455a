import Foundation
import SessionData

/// What a checkpoint says besides its weights: stored as JSON under the `srgnn` key of the
/// safetensors `__metadata__`, so a checkpoint is still a plain weights file for other tools.
public struct CheckpointMetadata: Codable, Sendable, Equatable {
    public static let key = "srgnn"
    public static let currentFormat = 1

    public var format = CheckpointMetadata.currentFormat
    public var model: SRGNNConfiguration
    public var vocabulary: ItemVocabulary
    /// The saved epoch (0-based) and its metrics (percentages).
    public var epoch: Int
    public var metrics: [String: Double]
    /// The resolved training configuration.
    public var training: JSONValue?
    /// The run's per-epoch records as the trainer wrote them (`EpochRecord`s, module Evaluation).
    public var history: JSONValue?
    public var createdAt: String
    public var versions: [String: String]
    public var dataset: String?
    /// `SessionDataset.fingerprint` of the data the model was trained on (absent in older checkpoints).
    public var datasetFingerprint: String?
    /// Counts of the data the model was trained on (absent in older checkpoints).
    public var trainingData: TrainingDataSummary?
    /// Where the model started from: absent for a cold start, the parent for a warm start.
    public var lineage: CheckpointLineage?
    /// The most clicked items of the training data's most recent sessions: the answer for a
    /// session the model cannot embed (empty, or only unknown items). Absent in older checkpoints.
    public var recentPopularity: RecentPopularity?
    /// The experiment file the run was configured by (`srgnn train --config`), absent otherwise.
    /// `training` and `dataset` hold the effective settings, after command-line overrides.
    public var experiment: ExperimentSource?

    public init(
        model: SRGNNConfiguration, vocabulary: ItemVocabulary, epoch: Int, metrics: [String: Double],
        training: JSONValue?, history: JSONValue?, createdAt: Date = Date(),
        versions: [String: String] = ["srgnn": srgnnVersion], dataset: String? = nil,
        datasetFingerprint: String? = nil, trainingData: TrainingDataSummary? = nil,
        lineage: CheckpointLineage? = nil, recentPopularity: RecentPopularity? = nil,
        experiment: ExperimentSource? = nil
    ) {
        self.model = model
        self.vocabulary = vocabulary
        self.epoch = epoch
        self.metrics = metrics
        self.training = training
        self.history = history
        self.createdAt = ISO8601DateFormatter().string(from: createdAt)
        self.versions = versions
        self.dataset = dataset
        self.datasetFingerprint = datasetFingerprint
        self.trainingData = trainingData
        self.lineage = lineage
        self.recentPopularity = recentPopularity
        self.experiment = experiment
    }
}

/// The experiment file a run was configured by: its path as given and its text as it was read
/// (for a checkpoint given as the experiment, the text of that run's own file, if it had one).
public struct ExperimentSource: Codable, Sendable, Equatable {
    public var file: String
    public var text: String?

    public init(file: String, text: String?) {
        self.file = file
        self.text = text
    }
}

/// The most clicked items of the last sessions of the training data (sessions are in time order
/// in every supported format), most clicked first, ties by internal id.
public struct RecentPopularity: Codable, Sendable, Equatable {
    /// Share of the training sessions counted (the most recent ones) and how many that was.
    public var fraction: Double
    public var sessions: Int
    /// Internal item ids and their click counts, at most `limit` of them.
    public var items: [Int32]
    public var clicks: [Int]

    public static let defaultFraction = 0.1
    public static let defaultLimit = 1_000

    public init(fraction: Double, sessions: Int, items: [Int32], clicks: [Int]) {
        self.fraction = fraction
        self.sessions = sessions
        self.items = items
        self.clicks = clicks
    }

    /// Counts the last `fraction` of `sessions` (at least one session when there are any).
    public init(of sessions: SessionList, itemCount: Int, fraction: Double = defaultFraction, limit: Int = defaultLimit) {
        let counted = sessions.count == 0 ? 0 : max(1, Int((Double(sessions.count) * fraction).rounded()))
        var clicks = [Int](repeating: 0, count: itemCount + 1)
        for session in (sessions.count - counted)..<sessions.count {
            for item in sessions[session] where item >= 1 && Int(item) <= itemCount { clicks[Int(item)] += 1 }
        }
        let ranked = stride(from: 1, through: itemCount, by: 1).filter { clicks[$0] > 0 }
            .sorted { clicks[$0] != clicks[$1] ? clicks[$0] > clicks[$1] : $0 < $1 }
            .prefix(limit)
        self.init(fraction: fraction, sessions: counted, items: ranked.map { Int32($0) }, clicks: ranked.map { clicks[$0] })
    }
}

/// The data a checkpoint was trained on, in counts (its fingerprint is `datasetFingerprint`).
public struct TrainingDataSummary: Codable, Sendable, Equatable {
    public var trainSessions: Int
    public var trainExamples: Int
    public var testExamples: Int
    public var items: Int

    public init(trainSessions: Int, trainExamples: Int, testExamples: Int, items: Int) {
        self.trainSessions = trainSessions
        self.trainExamples = trainExamples
        self.testExamples = testExamples
        self.items = items
    }

    public init(_ dataset: SessionDataset) {
        self.init(
            trainSessions: dataset.trainSessions.count, trainExamples: dataset.train.count,
            testExamples: dataset.test.count, items: dataset.itemCount)
    }
}

/// A warm-started checkpoint's parent: which file it grew from and how much it grew.
public struct CheckpointLineage: Codable, Sendable, Equatable {
    /// SHA-256 of the parent checkpoint file (lowercase hex).
    public var parentSHA256: String
    /// The parent's path as given to `--init-from`.
    public var parentPath: String
    /// The parent's dataset fingerprint, when it recorded one.
    public var parentDatasetFingerprint: String?
    /// Items the parent knew (they keep their rows `1...parentItems`) and items this run added.
    public var parentItems: Int
    public var addedItems: Int
    /// SHA-256 of the parent's own ancestors, nearest first (empty when the parent was a cold start).
    public var ancestors: [String]
    /// The training state whose Adam moments were continued, if any (otherwise they started at zero).
    public var optimizerState: String?

    public init(
        parentSHA256: String, parentPath: String, parentDatasetFingerprint: String?, parentItems: Int,
        addedItems: Int, ancestors: [String], optimizerState: String?
    ) {
        self.parentSHA256 = parentSHA256
        self.parentPath = parentPath
        self.parentDatasetFingerprint = parentDatasetFingerprint
        self.parentItems = parentItems
        self.addedItems = addedItems
        self.ancestors = ancestors
        self.optimizerState = optimizerState
    }
}

/// This package's version, recorded in checkpoints.
public let srgnnVersion = "0.1.0"

/// A model ready to serve: its weights, its configuration, the vocabulary that maps the user's raw
/// item ids to rows, and the checkpoint's metadata when the file had it.
public struct LoadedModel: Sendable {
    public var model: SRGNNModel
    public var vocabulary: ItemVocabulary
    public var metadata: CheckpointMetadata?
    /// Tensor names in the file that the model does not use.
    public var ignoredTensors: [String]
    /// SHA-256 of the file it was loaded from (lowercase hex).
    public var sha256: String
    /// What the user should know about the file although it loaded (e.g. a checkpoint written
    /// before checksums, whose data could not be checked for damage).
    public var notes: [String] = []

    /// Loads a checkpoint written by `srgnn train`, or a bare weights file under the official names
    /// (then `propagationSteps` and `nonhybrid` say how the model was built, and item ids are the row numbers).
    public static func load(from path: String, propagationSteps: Int = 1, nonhybrid: Bool = false) throws -> LoadedModel {
        let file = try SafeTensorsFile(contentsOf: path)
        do {
            try SRGNNConfiguration(itemCount: 1, propagationSteps: propagationSteps).validate()
        } catch let error as ModelError {
            throw ModelError.weightsFile(path: path, reason: "\(error)")
        }
        // The metadata's configuration is checked before the weights are unpacked.
        var metadata: CheckpointMetadata? = nil
        if let json = file.metadata[CheckpointMetadata.key] {
            do {
                metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(json.utf8))
                try metadata!.model.validate()
            } catch let error as ModelError {
                throw ModelError.weightsFile(path: path, reason: "the checkpoint metadata: \(error)")
            } catch {
                throw ModelError.weightsFile(path: path, reason: "the checkpoint metadata is unreadable: \(error)")
            }
        }
        let (parameters, ignored) = try SRGNNParameters.load(from: file, path: path)
        let notes =
            metadata != nil && !file.hasDataChecksum
            ? [
                "written before checkpoints carried a checksum of their tensor data: it loads, but damage to it cannot be detected (train again to get a checked file)"
            ]
            : []
        guard let metadata else {
            let configuration = SRGNNConfiguration(
                itemCount: parameters.embeddingRows - 1, hiddenSize: parameters.hiddenSize,
                propagationSteps: propagationSteps, nonhybrid: nonhybrid)
            return LoadedModel(
                model: try SRGNNModel(configuration: configuration, parameters: parameters),
                vocabulary: .identity(count: configuration.itemCount), metadata: nil, ignoredTensors: ignored,
                sha256: file.sha256 ?? "", notes: notes)
        }
        guard metadata.model.embeddingRows == parameters.embeddingRows, metadata.model.hiddenSize == parameters.hiddenSize else {
            throw ModelError.weightsFile(
                path: path,
                reason:
                    "metadata describes \(metadata.model.itemCount) items and hidden size \(metadata.model.hiddenSize), but embedding.weight is \(file.entries[ParameterName.embedding.rawValue]!.shape)"
            )
        }
        guard metadata.vocabulary.count == metadata.model.itemCount else {
            throw ModelError.weightsFile(
                path: path,
                reason:
                    "the vocabulary has \(metadata.vocabulary.count) items but the model \(metadata.model.itemCount)")
        }
        return LoadedModel(
            model: try SRGNNModel(configuration: metadata.model, parameters: parameters),
            vocabulary: metadata.vocabulary, metadata: metadata, ignoredTensors: ignored,
            sha256: file.sha256 ?? "", notes: notes)
    }

    /// Writes a checkpoint: weights under the official names and the metadata, atomically.
    public static func save(model: SRGNNModel, metadata: CheckpointMetadata, to path: String) throws {
        let json = try JSONText.string(metadata)
        try model.saveWeights(to: path, metadata: [CheckpointMetadata.key: json])
    }

    /// Ignored tensors worth telling the user about: all of them for a bare weights file; for our
    /// own checkpoints, not the `gnn.linear_edge_f.*` zeros we write for the official loader's sake.
    public var reportableIgnoredTensors: [String] {
        metadata == nil ? ignoredTensors : ignoredTensors.filter { !unusedReferenceTensorNames.contains($0) }
    }

    /// `dataset` in this model's internal ids, checked: every raw id of the dataset must be one
    /// of the model's (a warm-started model may know more items than the data it is evaluated on).
    /// A bare weights file has no raw ids, so its item count must equal the dataset's. Errors name
    /// the model file and the mismatch.
    public func aligned(_ dataset: SessionDataset, modelPath: String, datasetPath: String) throws -> SessionDataset {
        let items = model.configuration.itemCount
        guard metadata != nil else {
            guard items == dataset.itemCount else {
                throw ModelError.weightsFile(
                    path: modelPath,
                    reason:
                        "the model has \(items) items but \(datasetPath) has \(dataset.itemCount); was it trained on this dataset?")
            }
            return dataset
        }
        guard let aligned = dataset.remapped(to: vocabulary) else {
            let unknown = dataset.vocabulary.rawIDs.filter { vocabulary.internalID(of: $0) == nil }
            throw ModelError.weightsFile(
                path: modelPath,
                reason:
                    "\(unknown.count) of \(datasetPath)'s \(dataset.itemCount) items are not in the model's vocabulary of \(items) (first: '\(quotedPrefix(unknown.first ?? ""))'); was it trained on this dataset?"
            )
        }
        return aligned
    }

    /// Maps raw item ids to internal ids; unknown ones are returned separately, in order.
    public func internalIDs(of rawItems: [String]) -> (known: [Int32], unknown: [String]) {
        var known = [Int32](), unknown = [String]()
        for raw in rawItems {
            if let id = vocabulary.internalID(of: raw) { known.append(id) } else { unknown.append(raw) }
        }
        return (known, unknown)
    }
}
