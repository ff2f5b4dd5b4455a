import Foundation
import SRGNN
import Training

/// Some of the settings of a ``TrainingConfiguration``: those one source gave (an experiment file,
/// the command line). A field left nil leaves the value below it, so sources stack:
/// `defaults ← file ← flags` is `file.overridden(by: flags).applied(to: defaults)`.
///
/// Each field of the configuration reads and writes as an optional of its type
/// (`settings.hiddenSize = 16`); the fields are the entries of ``Hyperparameter/all``.
@dynamicMemberLookup
public struct TrainingSettings: Sendable, Equatable {
    /// The values given; a field not given holds its default, so that equal settings compare equal.
    private var values = TrainingConfiguration()
    /// The fields given.
    public private(set) var given = Set<TrainingConfiguration.Key>()

    public init() {}

    /// Every field set: `configuration` itself as settings.
    public init(_ configuration: TrainingConfiguration) {
        values = configuration
        given = Set(Hyperparameter.all.map(\.key))
    }

    /// The given value of a configuration field, nil if none; setting nil forgets it.
    public subscript<T>(dynamicMember field: WritableKeyPath<TrainingConfiguration, T>) -> T? {
        get { given.contains(Hyperparameter.entry(for: field).key) ? values[keyPath: field] : nil }
        set {
            let key = Hyperparameter.entry(for: field).key
            if let newValue {
                values[keyPath: field] = newValue
                given.insert(key)
            } else {
                values[keyPath: field] = TrainingConfiguration()[keyPath: field]
                given.remove(key)
            }
        }
    }

    /// `true` is the textbook decay timing (`referenceDecayTiming == false`), as `--textbook-decay` says.
    public var textbookDecay: Bool? {
        get { self.referenceDecayTiming.map { !$0 } }
        set { self.referenceDecayTiming = newValue.map { !$0 } }
    }

    /// Sets the four NISER settings to the variant's (`--variant`).
    public mutating func apply(_ variant: ModelVariant) {
        var configuration = TrainingConfiguration()
        configuration.apply(variant)
        self.normalize = configuration.normalize
        self.scale = configuration.scale
        self.positionEmbeddingRows = configuration.positionEmbeddingRows
        self.dropout = configuration.dropout
    }

    /// `base` with every given field replaced.
    public func applied(to base: TrainingConfiguration) -> TrainingConfiguration {
        var configuration = base
        for entry in Hyperparameter.all where given.contains(entry.key) { entry.copy(from: values, to: &configuration) }
        // Selecting on test (or keeping the last epoch) holds nothing out: no split unless one is
        // named (which `validate()` then refuses as a mistake); `examples` is the configuration's way of saying none.
        if !given.contains(.validationSplit) && configuration.selectOn != .validation { configuration.validationSplit = .examples }
        return configuration
    }

    /// These settings with every field that `other` gives taken from `other`.
    public func overridden(by other: TrainingSettings) -> TrainingSettings {
        var merged = self
        for entry in Hyperparameter.all where other.given.contains(entry.key) { entry.copy(from: other.values, to: &merged.values) }
        merged.given.formUnion(other.given)
        return merged
    }

    /// The names a setting is written under in files, the long flag names of `srgnn train`
    /// (aliases included), and the configuration field each one sets.
    public static let names: [String: TrainingConfiguration.Key] = Hyperparameter.byFlag.mapValues(\.key)

    /// Sets the field of `entry` from a YAML value; a value of the wrong type throws
    /// ``YAMLValue/Mismatch``, which the caller places in its file and line.
    mutating func set(_ entry: Hyperparameter, from node: YAMLValue) throws {
        switch entry.kind {
        case .integer(let field): values[keyPath: field] = try node.integer()
        case .unsignedInteger(let field): values[keyPath: field] = try node.unsignedInteger()
        case .float(let field): values[keyPath: field] = Float(try node.number())
        case .double(let field): values[keyPath: field] = try node.number()
        case .boolean(let field, let inverted): values[keyPath: field] = try node.boolean() != inverted
        case .count(let field, let whenOn): values[keyPath: field] = try node.boolean() ? whenOn : 0  // as the flag
        case .choice(let names, let set): _ = set(&values, try node.choice(names: names))
        }
        given.insert(entry.key)
    }
}
