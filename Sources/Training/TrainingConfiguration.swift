import Evaluation
import Foundation
import SRGNN

/// How the best epoch is chosen.
public enum SelectionProtocol: String, Codable, Sendable, CaseIterable {
    /// Hold out `validationFraction` of the training examples and pick the epoch by them (honest).
    case validation
    /// The reference's protocol: train on all examples and pick the epoch by the test set.
    case test
}

/// Every setting of a training run, with the reference's defaults. The command line maps onto it,
/// `validate()` rejects bad combinations, and the resolved value is printed and saved in the
/// checkpoint.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// Hidden size `d` (reference `--hiddenSize 100`).
    public var hiddenSize = 100
    /// Examples per batch (reference `--batchSize 100`).
    public var batchSize = 100
    /// Maximum epochs (reference `--epoch 30`).
    public var epochs = 30
    /// Initial learning rate (reference `--lr 0.001`).
    public var learningRate: Float = 1e-3
    /// Learning-rate decay factor (reference `--lr_dc 0.1`).
    public var decayFactor: Float = 0.1
    /// Epochs between decays (reference `--lr_dc_step 3`).
    public var decayInterval = 3
    /// Decay timing: `true` steps the schedule at the start of each epoch, as the reference does
    /// (first decay in the third epoch); `false` is the textbook timing (fourth epoch).
    public var referenceDecayTiming = true
    /// L2 penalty added to the gradient (reference `--l2 1e-5`).
    public var l2Penalty: Float = 1e-5
    /// Gated graph propagation steps (reference `--step 1`).
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
    /// How the best epoch is chosen.
    public var selectOn = SelectionProtocol.validation
    /// Cut-off of the metrics used for selection and the epoch summary.
    public var cutoff = 20

    public init() {}

    public func validate() throws {
        func fail(_ message: String) -> Error { TrainingError.invalidConfiguration(message) }
        guard hiddenSize >= 1 else { throw fail("hidden size must be at least 1 (got \(hiddenSize))") }
        guard batchSize >= 1 else { throw fail("batch size must be at least 1 (got \(batchSize))") }
        guard epochs >= 1 else { throw fail("epochs must be at least 1 (got \(epochs))") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("learning rate must be positive (got \(learningRate))") }
        guard decayFactor > 0, decayFactor <= 1 else { throw fail("decay factor must be in (0, 1] (got \(decayFactor))") }
        guard decayInterval >= 1 else { throw fail("decay interval must be at least 1 epoch (got \(decayInterval))") }
        guard l2Penalty >= 0, l2Penalty.isFinite else { throw fail("L2 penalty must be zero or positive (got \(l2Penalty))") }
        guard propagationSteps >= 1 else { throw fail("propagation steps must be at least 1 (got \(propagationSteps))") }
        guard patience >= 1 else { throw fail("patience must be at least 1 (got \(patience))") }
        guard threads >= 1 else { throw fail("threads must be at least 1 (got \(threads))") }
        guard cutoff >= 1 else { throw fail("the metric cut-off must be at least 1 (got \(cutoff))") }
        switch selectOn {
        case .validation:
            guard validationFraction > 0, validationFraction < 1 else {
                throw fail("validation fraction must be in (0, 1) when selecting on validation (got \(validationFraction))")
            }
        case .test:
            guard validationFraction >= 0, validationFraction < 1 else {
                throw fail("validation fraction must be in [0, 1) (got \(validationFraction))")
            }
        }
    }

    /// The learning-rate schedule this configuration describes.
    public var schedule: StepDecay {
        StepDecay(initialRate: learningRate, interval: decayInterval, factor: decayFactor, referenceTiming: referenceDecayTiming)
    }

    /// The model shape for a dataset of `itemCount` items.
    public func modelConfiguration(itemCount: Int) -> SRGNNConfiguration {
        SRGNNConfiguration(itemCount: itemCount, hiddenSize: hiddenSize, propagationSteps: propagationSteps, nonhybrid: nonhybrid)
    }

    /// This configuration as a JSON value, for checkpoints.
    public var jsonValue: JSONValue {
        (try? JSONValue(encoding: self)) ?? .null
    }
}

/// Errors of training: bad settings, data that does not fit a checkpoint, unreadable state.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case mismatch(path: String, reason: String)
    case resume(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): return "invalid training configuration: \(message)"
        case let .mismatch(path, reason): return "\(path): \(reason)"
        case let .resume(path, reason): return "cannot resume from \(path): \(reason)"
        }
    }
}
