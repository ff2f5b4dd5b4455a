import Foundation
import SRGNN

/// Some of the settings of a ``TrainingConfiguration``: those one source gave (an experiment file,
/// the command line). A field left nil leaves the value below it, so sources stack:
/// `defaults ← file ← flags` is `file.overridden(by: flags).applied(to: defaults)`.
public struct TrainingSettings: Sendable, Equatable {
    public var hiddenSize: Int?
    public var batchSize: Int?
    public var epochs: Int?
    public var learningRate: Float?
    public var decayFactor: Float?
    public var decayInterval: Int?
    /// `true` is the textbook decay timing (`referenceDecayTiming == false`), as `--textbook-decay` says.
    public var textbookDecay: Bool?
    public var l2Penalty: Float?
    public var propagationSteps: Int?
    public var nonhybrid: Bool?
    public var patience: Int?
    public var seed: UInt64?
    public var threads: Int?
    public var validationFraction: Double?
    public var validationSplit: ValidationSplit?
    public var selectOn: SelectionProtocol?
    public var cutoff: Int?
    /// NISER's settings (`--normalize`, `--scale`, `--position-embeddings`, `--dropout`, `--authors-code`).
    public var normalize: Bool?
    public var scale: Float?
    public var positionEmbeddingRows: Int?
    public var dropout: Float?
    public var authorsCode: Bool?

    public init() {}

    /// Sets the four NISER settings to the variant's (`--variant`).
    public mutating func apply(_ variant: ModelVariant) {
        var configuration = TrainingConfiguration()
        configuration.apply(variant)
        normalize = configuration.normalize
        scale = configuration.scale
        positionEmbeddingRows = configuration.positionEmbeddingRows
        dropout = configuration.dropout
    }

    /// Every field set: `configuration` itself as settings.
    public init(_ configuration: TrainingConfiguration) {
        hiddenSize = configuration.hiddenSize
        batchSize = configuration.batchSize
        epochs = configuration.epochs
        learningRate = configuration.learningRate
        decayFactor = configuration.decayFactor
        decayInterval = configuration.decayInterval
        textbookDecay = !configuration.referenceDecayTiming
        l2Penalty = configuration.l2Penalty
        propagationSteps = configuration.propagationSteps
        nonhybrid = configuration.nonhybrid
        patience = configuration.patience
        seed = configuration.seed
        threads = configuration.threads
        validationFraction = configuration.validationFraction
        validationSplit = configuration.validationSplit
        selectOn = configuration.selectOn
        cutoff = configuration.cutoff
        normalize = configuration.normalize
        scale = configuration.scale
        positionEmbeddingRows = configuration.positionEmbeddingRows
        dropout = configuration.dropout
        authorsCode = configuration.authorsCode
    }

    /// `base` with every given field replaced.
    public func applied(to base: TrainingConfiguration) -> TrainingConfiguration {
        var configuration = base
        configuration.hiddenSize = hiddenSize ?? base.hiddenSize
        configuration.batchSize = batchSize ?? base.batchSize
        configuration.epochs = epochs ?? base.epochs
        configuration.learningRate = learningRate ?? base.learningRate
        configuration.decayFactor = decayFactor ?? base.decayFactor
        configuration.decayInterval = decayInterval ?? base.decayInterval
        configuration.referenceDecayTiming = textbookDecay.map { !$0 } ?? base.referenceDecayTiming
        configuration.l2Penalty = l2Penalty ?? base.l2Penalty
        configuration.propagationSteps = propagationSteps ?? base.propagationSteps
        configuration.nonhybrid = nonhybrid ?? base.nonhybrid
        configuration.patience = patience ?? base.patience
        configuration.seed = seed ?? base.seed
        configuration.threads = threads ?? base.threads
        configuration.validationFraction = validationFraction ?? base.validationFraction
        configuration.selectOn = selectOn ?? base.selectOn
        // Selecting on test (or keeping the last epoch) holds nothing out: no split unless one is
        // named (which `validate()` then refuses as a mistake); `examples` is the configuration's way of saying none.
        configuration.validationSplit = validationSplit ?? (configuration.selectOn != .validation ? .examples : base.validationSplit)
        configuration.cutoff = cutoff ?? base.cutoff
        configuration.normalize = normalize ?? base.normalize
        configuration.scale = scale ?? base.scale
        configuration.positionEmbeddingRows = positionEmbeddingRows ?? base.positionEmbeddingRows
        configuration.dropout = dropout ?? base.dropout
        configuration.authorsCode = authorsCode ?? base.authorsCode
        return configuration
    }

    /// These settings with every field that `other` gives taken from `other`.
    public func overridden(by other: TrainingSettings) -> TrainingSettings {
        var merged = self
        merged.hiddenSize = other.hiddenSize ?? hiddenSize
        merged.batchSize = other.batchSize ?? batchSize
        merged.epochs = other.epochs ?? epochs
        merged.learningRate = other.learningRate ?? learningRate
        merged.decayFactor = other.decayFactor ?? decayFactor
        merged.decayInterval = other.decayInterval ?? decayInterval
        merged.textbookDecay = other.textbookDecay ?? textbookDecay
        merged.l2Penalty = other.l2Penalty ?? l2Penalty
        merged.propagationSteps = other.propagationSteps ?? propagationSteps
        merged.nonhybrid = other.nonhybrid ?? nonhybrid
        merged.patience = other.patience ?? patience
        merged.seed = other.seed ?? seed
        merged.threads = other.threads ?? threads
        merged.validationFraction = other.validationFraction ?? validationFraction
        merged.validationSplit = other.validationSplit ?? validationSplit
        merged.selectOn = other.selectOn ?? selectOn
        merged.cutoff = other.cutoff ?? cutoff
        merged.normalize = other.normalize ?? normalize
        merged.scale = other.scale ?? scale
        merged.positionEmbeddingRows = other.positionEmbeddingRows ?? positionEmbeddingRows
        merged.dropout = other.dropout ?? dropout
        merged.authorsCode = other.authorsCode ?? authorsCode
        return merged
    }

    /// The names a setting is written under in files, the long flag names of `srgnn train`
    /// (aliases included), and the configuration field each one sets.
    public static let names: [String: TrainingConfiguration.Key] = [
        "hidden-size": .hiddenSize, "batch-size": .batchSize, "epochs": .epochs,
        "lr": .learningRate, "learning-rate": .learningRate,
        "lr-decay": .decayFactor, "decay-factor": .decayFactor,
        "lr-decay-step": .decayInterval, "decay-interval": .decayInterval,
        "textbook-decay": .referenceDecayTiming,
        "l2": .l2Penalty, "l2-penalty": .l2Penalty,
        "step": .propagationSteps, "propagation-steps": .propagationSteps,
        "nonhybrid": .nonhybrid, "patience": .patience, "seed": .seed, "threads": .threads,
        "validation-fraction": .validationFraction, "validation-split": .validationSplit,
        "select-on": .selectOn, "cutoff": .cutoff,
        "normalize": .normalize, "scale": .scale, "position-embeddings": .positionEmbeddingRows, "dropout": .dropout,
        "authors-code": .authorsCode,
    ]

    /// Sets the field `key` from a YAML value; a value of the wrong type throws
    /// ``YAMLValue/Mismatch``, which the caller places in its file and line.
    mutating func set(_ key: TrainingConfiguration.Key, from node: YAMLValue) throws {
        switch key {
        case .hiddenSize: hiddenSize = try node.integer()
        case .batchSize: batchSize = try node.integer()
        case .epochs: epochs = try node.integer()
        case .learningRate: learningRate = Float(try node.number())
        case .decayFactor: decayFactor = Float(try node.number())
        case .decayInterval, .legacyDecayEvery: decayInterval = try node.integer()
        case .referenceDecayTiming: textbookDecay = try node.boolean()
        case .l2Penalty, .legacyL2: l2Penalty = Float(try node.number())
        case .propagationSteps, .legacyStep: propagationSteps = try node.integer()
        case .nonhybrid: nonhybrid = try node.boolean()
        case .patience: patience = try node.integer()
        case .seed: seed = try node.unsignedInteger()
        case .threads: threads = try node.integer()
        case .validationFraction: validationFraction = try node.number()
        case .validationSplit: validationSplit = try node.choice(of: ValidationSplit.self)
        case .selectOn: selectOn = try node.choice(of: SelectionProtocol.self)
        case .cutoff: cutoff = try node.integer()
        case .normalize: normalize = try node.boolean()
        case .scale: scale = Float(try node.number())
        case .positionEmbeddingRows:
            positionEmbeddingRows = try node.boolean() ? SRGNNConfiguration.niserPositionRows : 0  // as the flag
        case .dropout: dropout = Float(try node.number())
        case .authorsCode: authorsCode = try node.boolean()
        }
    }
}
