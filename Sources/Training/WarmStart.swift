import Foundation
import SessionData
import SRGNN

/// Training that continues from an earlier checkpoint instead of a fresh initialisation: the
/// vocabulary grows by the new data's new items, old items keep their ids and embedding rows,
/// new items get rows drawn as a cold start draws them, and every other weight is copied.
public struct WarmStart: Sendable {
    public var parent: LoadedModel
    /// The parent checkpoint's path as given (recorded in the lineage, named in errors).
    public var parentPath: String
    /// A training state (`MODEL.state` of the parent's run) whose Adam moments and step count
    /// continue; `nil` starts them at zero. Zero is the default because the parent's moments
    /// belong to its last epoch's parameters and its decayed learning rate, not to the new data.
    public var optimizerStatePath: String?

    public init(parent: LoadedModel, parentPath: String, optimizerStatePath: String? = nil) {
        self.parent = parent
        self.parentPath = parentPath
        self.optimizerStatePath = optimizerStatePath
    }

    /// Loads the parent checkpoint; a file that is missing, corrupt or not a checkpoint is an
    /// error naming it. A bare weights file (official names, no metadata) works too: its items
    /// are its row numbers and `propagationSteps`/`nonhybrid` say how it was built.
    public static func load(
        from path: String, optimizerStatePath: String? = nil, propagationSteps: Int = 1,
        nonhybrid: Bool = false
    ) throws -> WarmStart {
        do {
            let parent = try LoadedModel.load(from: path, propagationSteps: propagationSteps, nonhybrid: nonhybrid)
            return WarmStart(parent: parent, parentPath: path, optimizerStatePath: optimizerStatePath)
        } catch let error as ModelError {
            if case let .weightsFile(_, reason) = error { throw TrainingError.warmStart(path: path, reason: reason) }
            throw TrainingError.warmStart(path: path, reason: "\(error)")
        }
    }

    /// The architecture settings the parent fixes, checked against `configuration`: a conflict is
    /// an error naming the setting (the CLI maps it to its option).
    public func checkArchitecture(of configuration: TrainingConfiguration) throws {
        let fixed = parent.model.configuration
        func conflict(_ key: TrainingConfiguration.Key, _ parentHas: String, _ asked: String) -> TrainingError {
            .invalidSetting(
                key,
                "\(parentPath) was trained with \(parentHas), which a warm start keeps; the setting asks for \(asked) (leave it out to take the model's)"
            )
        }
        if fixed.hiddenSize != configuration.hiddenSize {
            throw conflict(.hiddenSize, "hidden size \(fixed.hiddenSize)", "\(configuration.hiddenSize)")
        }
        if fixed.propagationSteps != configuration.propagationSteps {
            throw conflict(.propagationSteps, "\(fixed.propagationSteps) propagation steps", "\(configuration.propagationSteps)")
        }
        if fixed.nonhybrid != configuration.nonhybrid {
            throw conflict(
                .nonhybrid, fixed.nonhybrid ? "a non-hybrid readout" : "a hybrid readout", configuration.nonhybrid ? "nonhybrid" : "hybrid")
        }
        // The variant is architecture: SR-GNN and NISER weights do not mean the same (dropout,
        // training-only, may change).
        if fixed.normalize != configuration.normalize {
            throw conflict(
                .normalize, fixed.normalize ? "normalised embeddings (NISER)" : "unnormalised embeddings (SR-GNN)",
                configuration.normalize ? "normalised ones (NISER)" : "unnormalised ones (SR-GNN)")
        }
        if fixed.normalize && fixed.scale != configuration.scale {
            throw conflict(.scale, "the cosine scale σ = \(fixed.scale)", "σ = \(configuration.scale)")
        }
        if fixed.positionEmbeddingRows != configuration.positionEmbeddingRows {
            throw conflict(
                .positionEmbeddingRows, "\(fixed.positionEmbeddingRows) position embeddings", "\(configuration.positionEmbeddingRows)")
        }
        if fixed.authorsCode != configuration.authorsCode {
            throw conflict(
                .authorsCode, fixed.authorsCode ? "the NISER+ authors' code's choices (--authors-code)" : "the paper's choices",
                configuration.authorsCode ? "the authors' code's" : "the paper's")
        }
    }

    /// The grown vocabulary and `dataset` in its ids.
    func grow(_ dataset: SessionDataset) -> (dataset: SessionDataset, addedItems: Int) {
        let (vocabulary, added) = parent.vocabulary.extended(with: dataset.vocabulary)
        // `extended` holds every raw id of `dataset`, so the remap cannot fail.
        return (dataset.remapped(to: vocabulary)!, added)
    }

    /// `fresh` (a cold start's draw for the grown model) with the parent's weights copied in:
    /// embedding rows `0...parentItems` and every other tensor whole.
    func initialParameters(fresh: SRGNNParameters) -> SRGNNParameters {
        var parameters = fresh
        parameters.copyLeadingRows(from: parent.model.parameters)
        return parameters
    }

    /// The Adam moments and step count of `optimizerStatePath`, grown to `rows` embedding rows
    /// (new rows start at zero), or `nil` when no state was given.
    func optimizerState(embeddingRows rows: Int) throws -> (steps: Int, first: SRGNNParameters, second: SRGNNParameters)? {
        guard let path = optimizerStatePath else { return nil }
        let old = parent.model.parameters
        let saved: (steps: Int, first: SRGNNParameters, second: SRGNNParameters)
        do {
            saved = try TrainingState.loadMoments(from: path, of: parent)
        } catch TrainingError.resume(_, let reason) {
            throw TrainingError.warmStart(path: path, reason: reason)
        }
        var first = SRGNNParameters(zerosWithEmbeddingRows: rows, hiddenSize: old.hiddenSize, positionRows: old.positionRows),
            second = first
        first.copyLeadingRows(from: saved.first)
        second.copyLeadingRows(from: saved.second)
        return (saved.steps, first, second)
    }

    /// What the new checkpoint records about its parent.
    func lineage(addedItems: Int) -> CheckpointLineage {
        CheckpointLineage(
            parentSHA256: parent.sha256, parentPath: parentPath,
            parentDatasetFingerprint: parent.metadata?.datasetFingerprint,
            parentItems: parent.model.configuration.itemCount, addedItems: addedItems,
            ancestors: parent.metadata?.lineage.map { [$0.parentSHA256] + $0.ancestors } ?? [],
            optimizerState: optimizerStatePath)
    }
}
