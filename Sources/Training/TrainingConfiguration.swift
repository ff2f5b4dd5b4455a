import Evaluation
import Foundation
import SRGNN

/// How the best epoch is chosen.
public enum SelectionProtocol: String, Codable, Sendable, CaseIterable {
    /// Hold out `validationFraction` of the training examples (as `validationSplit` says) and pick
    /// the epoch by them (honest).
    case validation
    /// The reference's protocol: train on all examples and pick the epoch by the test set.
    case test
    /// No choice: train on all examples and keep the last epoch. The refit after a validation run:
    /// `--epochs` set to the epoch validation chose, so the final model sees every example and the
    /// test set still decides nothing.
    case last
}

/// Every setting of a training run, with the reference's defaults. The command line maps onto it
/// (its defaults are read from `TrainingConfiguration()`), `validate()` rejects bad combinations,
/// and the resolved value is printed and saved in the checkpoint.
///
/// JSON uses the property names. Files written before the renames still load: `l2`, `decayEvery`
/// and `step` are read as `l2Penalty`, `decayInterval` and `propagationSteps`, and any missing key
/// takes its default, except `validationSplit`: a file without it was split by `examples`, as every
/// run was before the splits existed.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// Hidden size `d` (reference `--hiddenSize 100`).
    public var hiddenSize = 100
    /// Examples per batch (reference `--batchSize 100`).
    public var batchSize = 100
    /// Maximum epochs (reference `--epoch 30`).
    public var epochs = 30
    /// Initial learning rate (reference `--lr 0.001`).
    public var learningRate: Float = 1e-3
    /// Learning-rate decay factor: the rate is multiplied by it every `decayInterval` epochs
    /// (reference `--lr_dc 0.1`).
    public var decayFactor: Float = 0.1
    /// Epochs between learning-rate decays (reference `--lr_dc_step 3`).
    public var decayInterval = 3
    /// Decay timing: `true` steps the schedule at the start of each epoch, as the reference does
    /// (first decay in the third epoch); `false` is the textbook timing (fourth epoch).
    public var referenceDecayTiming = true
    /// L2 penalty added to the gradient, as torch.optim.Adam's `weight_decay` (reference `--l2 1e-5`).
    public var l2Penalty: Float = 1e-5
    /// Gated graph propagation steps per session graph (reference `--step 1`).
    public var propagationSteps = 1
    /// Readout without the hybrid transform (reference `--nonhybrid`).
    public var nonhybrid = false
    /// Stop after this many epochs without improvement, counted as the reference counts them.
    public var patience = 10
    /// Seed for initialisation, the validation split and every epoch's shuffle.
    public var seed: UInt64 = 0
    /// Worker threads (our loops and product splits; BLAS itself runs single-threaded).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Share of training examples held out for validation (reference `--valid_portion 0.1`).
    public var validationFraction = 0.1
    /// What is held out: random whole sessions (the default), the latest sessions, or random
    /// examples (the reference's). Used only when selecting on validation. Whole sessions, because
    /// the reference's example split leaks prefixes of validation sessions into training and, on
    /// Diginetica, picked an epoch before the test-best one (docs/RESULTS.md, "Validation splits").
    public var validationSplit = ValidationSplit.sessions
    /// How the best epoch is chosen.
    public var selectOn = SelectionProtocol.validation
    /// Cut-off of the metrics used for selection and the epoch summary.
    public var cutoff = 20
    /// NISER: normalised item and session embeddings, scores = `scale` · cosine (`srgnn train --normalize`).
    public var normalize = false
    /// σ of NISER's cosine scores (the paper's 16; `--scale`).
    public var scale = SRGNNConfiguration.niserScale
    /// NISER+: rows of the reverse-position embedding, 0 for none (`--position-embeddings` sets 200).
    public var positionEmbeddingRows = 0
    /// NISER+: dropout on the item embeddings fed to the graph, training only (`--dropout`; the paper's 0.1).
    public var dropout: Float = 0
    /// NISER+ as its authors' code runs it: positions from the first click, a softmax in the
    /// attention, dropout also on the graph's output (`--authors-code`; see `SRGNNConfiguration`).
    public var authorsCode = false
    /// The training objective: the full softmax over every item (the paper's, the default) or a
    /// sampled softmax over the batch's targets and `negatives` shared negatives (`--loss sampled`).
    public var loss = TrainingLoss.full
    /// Sampled softmax: shared negatives per batch (`--negatives`).
    public var negatives = 2_048
    /// Sampled softmax: negatives are drawn ∝ (times an item is a training target)^α (`--sample-alpha`).
    public var sampleAlpha = 0.75
    /// At most this many validation and test examples are measured after each epoch: a fixed
    /// uniform sample (by the seed) of each set, the same every epoch; 0 measures them all
    /// (`--evaluation-examples`). Exact full ranking costs O(items · d) per example, so on a large
    /// log and catalogue measuring every example can take longer than the epoch's training.
    public var evaluationExamples = 0

    public init() {}

    /// The variant's settings as the paper trains it (`srgnn train --variant`).
    public mutating func apply(_ variant: ModelVariant) {
        var model = modelConfiguration(itemCount: 1)
        variant.configure(&model)
        normalize = model.normalize
        scale = model.scale
        positionEmbeddingRows = model.positionEmbeddingRows
        dropout = model.dropout
    }

    /// The JSON keys: one per property, plus the names older files used.
    public enum Key: String, CodingKey, Sendable, CaseIterable {
        case hiddenSize, batchSize, epochs, learningRate, decayFactor, decayInterval, referenceDecayTiming
        case l2Penalty, propagationSteps, nonhybrid, patience, seed, threads, validationFraction, validationSplit, selectOn, cutoff
        case normalize, scale, positionEmbeddingRows, dropout, authorsCode, loss, negatives, sampleAlpha, evaluationExamples
        /// Before the renames: `l2Penalty`, `decayInterval`, `propagationSteps`.
        case legacyL2 = "l2", legacyDecayEvery = "decayEvery", legacyStep = "step"
    }

    /// Decodes every field that is present (new name first, then the old one) and defaults the rest.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Hyperparameter.NameKey.self)
        var value = TrainingConfiguration()
        value.validationSplit = .examples  // what a file written before the splits existed used
        for entry in Hyperparameter.all {
            for key in [entry.key] + entry.legacyKeys {
                if try entry.decode(from: container, name: key.rawValue, required: false, into: &value) { break }
            }
        }
        self = value
    }

    /// Encodes the current names only.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Hyperparameter.NameKey.self)
        for entry in Hyperparameter.all { try entry.encode(self, into: &container, as: entry.key.rawValue) }
    }

    /// Upper limits on the settings: hidden size and propagation steps as `SRGNNConfiguration`'s,
    /// batch size 10,000, epochs 10,000, threads 256, cut-off 10,000, sampled negatives 1,000,000.
    public static let limits = (
        hiddenSize: SRGNNConfiguration.maximumHiddenSize, batchSize: 10_000, epochs: 10_000,
        propagationSteps: SRGNNConfiguration.maximumPropagationSteps, threads: 256, cutoff: 10_000, negatives: 1_000_000
    )

    /// Throws ``TrainingError/invalidSetting(_:_:)`` naming the first bad field: every field's
    /// lower bound (``Hyperparameter/all``), then every upper bound, then the validation settings,
    /// whose range depends on the selection.
    public func validate() throws {
        func fail(_ key: Key, _ message: String) -> Error { TrainingError.invalidSetting(key, message) }
        // Upper limits (documented in `srgnn train --help` and docs/DATASET.md): values read from
        // outside never size an allocation or a loop beyond these.
        for bound in [\Hyperparameter.lowerBound, \Hyperparameter.upperBound] {
            for entry in Hyperparameter.all {
                if let message = entry[keyPath: bound](self) { throw fail(entry.key, message) }
            }
        }
        switch selectOn {
        case .validation:
            guard validationFraction > 0, validationFraction < 1 else {
                throw fail(
                    .validationFraction,
                    "validation fraction must be in (0, 1) when selecting on validation (got \(validationFraction))")
            }
        case .test, .last:
            guard validationFraction >= 0, validationFraction < 1 else {
                throw fail(.validationFraction, "validation fraction must be in [0, 1) (got \(validationFraction))")
            }
            guard validationSplit == .examples else {
                throw fail(
                    .validationSplit,
                    "a validation split (\(validationSplit.rawValue)) applies only when selecting on validation; selecting on \(selectOn.rawValue) holds nothing out"
                )
            }
        }
    }

    /// The learning-rate schedule this configuration describes.
    public var schedule: StepDecay {
        StepDecay(initialRate: learningRate, interval: decayInterval, factor: decayFactor, referenceTiming: referenceDecayTiming)
    }

    /// The model shape for a dataset of `itemCount` items.
    public func modelConfiguration(itemCount: Int) -> SRGNNConfiguration {
        SRGNNConfiguration(
            itemCount: itemCount, hiddenSize: hiddenSize, propagationSteps: propagationSteps, nonhybrid: nonhybrid,
            normalize: normalize, scale: scale, positionEmbeddingRows: positionEmbeddingRows, dropout: dropout,
            authorsCode: authorsCode)
    }

    /// This configuration as a JSON value, for checkpoints.
    public var jsonValue: JSONValue {
        (try? JSONValue(encoding: self)) ?? .null
    }
}

extension CheckpointMetadata {
    /// The run's configuration, decoded by its owner from the checkpoint's `training` JSON (older
    /// key names and missing keys read as ``TrainingConfiguration/init(from:)`` reads them); nil
    /// when the checkpoint records none or an unreadable one. The JSON is kept as written, so a
    /// checkpoint's bytes do not depend on which fields this version knows.
    public var trainingConfiguration: TrainingConfiguration? { training?.decode(TrainingConfiguration.self) }
}

/// What a training step minimises.
public enum TrainingLoss: String, Codable, Sendable, CaseIterable {
    /// Cross-entropy of the softmax over every item: O(items · d) a session, the paper's objective.
    case full
    /// Cross-entropy of a sampled softmax (`SampledSoftmax`): the batch's targets and shared
    /// negatives, log-Q corrected, accidental hits masked; embedding rows updated lazily (only those
    /// the step touched). O((B + N) · d) a session.
    case sampled
}

/// Errors of training: bad settings, settings that do not fit the data, unreadable state.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A setting that conflicts with the data (e.g. a validation share that leaves no examples).
    case invalidConfiguration(String)
    /// One field of ``TrainingConfiguration`` is out of range; front ends map the key to their own
    /// spelling of it (the CLI to its option).
    case invalidSetting(TrainingConfiguration.Key, String)
    case resume(path: String, reason: String)
    /// The checkpoint (or training state) to warm-start from cannot be used.
    case warmStart(path: String, reason: String)
    /// An output file that cannot be written; checked before training starts.
    case output(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): return "invalid training configuration: \(message)"
        case let .invalidSetting(_, message): return "invalid training configuration: \(message)"
        case let .resume(path, reason): return "cannot resume from \(path): \(reason)"
        case let .warmStart(path, reason): return "cannot warm-start from \(path): \(reason)"
        case let .output(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}
