import Foundation
import SRGNN

/// One hyperparameter of a training run, declared once: the ``TrainingConfiguration`` field it
/// sets (its JSON key, and the keys older files used), the long flags of `srgnn train` (the first
/// as printed in messages, the others aliases; experiment files use the same names), the help
/// text, the valid range and its message, and whether `srgnn tune` searches it (its place among
/// the searched parameters and its default domain).
///
/// The configuration's JSON, its `validate()`, experiment files, the command line's spellings and
/// help, the search space and the trial records all iterate over ``all``: a new hyperparameter is
/// a field of ``TrainingConfiguration``, one entry here, a case of ``TrainingConfiguration/Key``
/// and the option that the command line declares for it.
public struct Hyperparameter: Sendable, CustomStringConvertible {
    public typealias Configuration = TrainingConfiguration

    /// How the value is typed where it is written as text (flags, YAML) and searched.
    public enum Kind: Sendable {
        case integer(WritableKeyPath<Configuration, Int> & Sendable)
        case unsignedInteger(WritableKeyPath<Configuration, UInt64> & Sendable)
        case float(WritableKeyPath<Configuration, Float> & Sendable)
        case double(WritableKeyPath<Configuration, Double> & Sendable)
        /// A switch; `inverted` when the flag says the opposite of the field (`--textbook-decay`
        /// turns `referenceDecayTiming` off).
        case boolean(WritableKeyPath<Configuration, Bool> & Sendable, inverted: Bool)
        /// A switch that sets a count: on is `whenOn`, off is 0 (`--position-embeddings`).
        case count(WritableKeyPath<Configuration, Int> & Sendable, whenOn: Int)
        /// One of `names` (an enumeration's raw values).
        case choice(names: [String], set: @Sendable (inout Configuration, String) -> Bool)
    }

    /// What `srgnn tune` does with a searched hyperparameter.
    public struct Search: Sendable {
        /// Its place among the searched parameters: the order of grids, columns and progress lines.
        public let position: Int
        /// Its domain in the default space (`SearchSpace.standard`).
        public let standard: SearchDomain
    }

    /// The configuration field, and its JSON key.
    public let key: Configuration.Key
    /// JSON keys of older files that set the same field (read, never written).
    public let legacyKeys: [Configuration.Key]
    /// Long flags of `srgnn train` without dashes, the first as printed in messages, the others
    /// aliases; experiment files accept every one of them as a name.
    public let flags: [String]
    /// Other options that set the field too (`--variant`), named in messages after the flags.
    public let alsoSetBy: [String]
    /// The help line of the option (defaults included) and its longer discussion, if any.
    public let help: String
    public let discussion: String?
    public let kind: Kind
    /// Non-nil when `srgnn tune` may search it.
    public let search: Search?
    /// The lower bound's check, then the upper bound's (or the whole range's): the message for
    /// a value out of range, nil for a valid one. `validate()` checks every lower bound first.
    let lowerBound: @Sendable (Configuration) -> String?
    let upperBound: @Sendable (Configuration) -> String?
    /// Copies the field from one configuration to another.
    let copyField: @Sendable (Configuration, inout Configuration) -> Void
    let sameField: @Sendable (AnyKeyPath) -> Bool
    let encodeField: @Sendable (Configuration, inout KeyedEncodingContainer<NameKey>, String) throws -> Void
    let decodeField: @Sendable (KeyedDecodingContainer<NameKey>, String, Bool, inout Configuration) throws -> Bool

    init<T: Codable & Equatable & Sendable>(
        _ key: Configuration.Key, _ keyPath: WritableKeyPath<Configuration, T> & Sendable, _ kind: Kind, flags: [String],
        legacyKeys: [Configuration.Key] = [], alsoSetBy: [String] = [], help: String, discussion: String? = nil,
        search: Search? = nil, atLeast lower: (@Sendable (T) -> String?)? = nil, atMost upper: (@Sendable (T) -> String?)? = nil,
        omittedWhen omitted: @escaping @Sendable (Configuration) -> Bool = { _ in false }
    ) {
        self.key = key
        self.legacyKeys = legacyKeys
        self.flags = flags
        self.alsoSetBy = alsoSetBy
        self.help = help
        self.discussion = discussion
        self.kind = kind
        self.search = search
        lowerBound = { lower?($0[keyPath: keyPath]) }
        upperBound = { upper?($0[keyPath: keyPath]) }
        copyField = { source, target in target[keyPath: keyPath] = source[keyPath: keyPath] }
        sameField = { $0 == keyPath as AnyKeyPath }
        encodeField = { configuration, container, name in
            // Settings added later are left out where they change nothing, so older runs' records stay as they were.
            guard !omitted(configuration) else { return }
            try container.encode(configuration[keyPath: keyPath], forKey: NameKey(name))
        }
        decodeField = { container, name, required, configuration in
            if required {
                configuration[keyPath: keyPath] = try container.decode(T.self, forKey: NameKey(name))
                return true
            }
            guard let value = try container.decodeIfPresent(T.self, forKey: NameKey(name)) else { return false }
            configuration[keyPath: keyPath] = value
            return true
        }
    }

    /// The flag as printed in messages and summaries: its first long name.
    public var name: String { flags[0] }

    /// Every spelling, as messages name the option: `--lr/--learning-rate`, `--normalize/--variant`.
    public var spelling: String { (flags.map { "--" + $0 } + alsoSetBy).joined(separator: "/") }

    public var description: String { key.rawValue }

    /// Why `configuration`'s value of this field is out of range (lower bound first), or nil.
    public func problem(in configuration: Configuration) -> String? {
        lowerBound(configuration) ?? upperBound(configuration)
    }

    /// Writes this field of `configuration` into `container` under `name`.
    public func encode(_ configuration: Configuration, into container: inout KeyedEncodingContainer<NameKey>, as name: String) throws {
        try encodeField(configuration, &container, name)
    }

    /// Reads this field into `configuration` from `container`'s `name`; returns whether it was there
    /// (when `required`, a missing name throws instead).
    @discardableResult
    public func decode(
        from container: KeyedDecodingContainer<NameKey>, name: String, required: Bool, into configuration: inout Configuration
    ) throws -> Bool {
        try decodeField(container, name, required, &configuration)
    }

    /// `target` with this field taken from `source`.
    public func copy(from source: Configuration, to target: inout Configuration) { copyField(source, &target) }

    /// Whether this entry is the field `keyPath` names.
    public func holds(_ keyPath: AnyKeyPath) -> Bool { sameField(keyPath) }

    /// The entry of a configuration key (a legacy key gives the field it is read into).
    public static subscript(key: Configuration.Key) -> Hyperparameter {
        all.first { $0.key == key || $0.legacyKeys.contains(key) }!
    }

    /// The entry of a configuration field (a field not in the table is a programming error).
    public static func entry(for keyPath: AnyKeyPath) -> Hyperparameter {
        guard let entry = all.first(where: { $0.holds(keyPath) }) else { preconditionFailure("\(keyPath) is no hyperparameter") }
        return entry
    }

    /// Each flag name (aliases included), to its entry.
    public static let byFlag: [String: Hyperparameter] = Dictionary(
        uniqueKeysWithValues: all.flatMap { entry in entry.flags.map { ($0, entry) } })

    /// The entries `srgnn tune` may search, in their search order.
    public static let searchable: [Hyperparameter] = all.filter { $0.search != nil }.sorted { $0.search!.position < $1.search!.position }

    /// A coding key from its text: JSON keys (configuration) and flag names (trial records).
    public struct NameKey: CodingKey {
        public let stringValue: String
        public init(_ name: String) { stringValue = name }
        public init?(stringValue: String) { self.stringValue = stringValue }
        public var intValue: Int? { nil }
        public init?(intValue: Int) { nil }
    }
}

extension Hyperparameter {
    private static let defaults = TrainingConfiguration()
    private static let limits = TrainingConfiguration.limits

    /// Every hyperparameter, in the configuration's order (which is the order `validate()` checks them in).
    public static let all: [Hyperparameter] = [
        Hyperparameter(
            .hiddenSize, \.hiddenSize, .integer(\.hiddenSize), flags: ["hidden-size"],
            help: "Hidden size; with --init-from, the model's (default: \(defaults.hiddenSize)).",
            search: Search(position: 2, standard: .choice([50, 100, 150])),
            atLeast: { $0 >= 1 ? nil : "hidden size must be at least 1 (got \($0))" },
            atMost: { $0 <= limits.hiddenSize ? nil : "hidden size must be at most \(limits.hiddenSize) (got \($0))" }),
        Hyperparameter(
            .batchSize, \.batchSize, .integer(\.batchSize), flags: ["batch-size"],
            help: "Examples per batch (default: \(defaults.batchSize)).",
            search: Search(position: 4, standard: .choice([50, 100, 200])),
            atLeast: { $0 >= 1 ? nil : "batch size must be at least 1 (got \($0))" },
            atMost: { $0 <= limits.batchSize ? nil : "batch size must be at most \(limits.batchSize) (got \($0))" }),
        Hyperparameter(
            .epochs, \.epochs, .integer(\.epochs), flags: ["epochs"], help: "Maximum epochs (default: \(defaults.epochs)).",
            atLeast: { $0 >= 1 ? nil : "epochs must be at least 1 (got \($0))" },
            atMost: { $0 <= limits.epochs ? nil : "epochs must be at most \(limits.epochs) (got \($0))" }),
        Hyperparameter(
            .learningRate, \.learningRate, .float(\.learningRate), flags: ["lr", "learning-rate"],
            help: "Initial learning rate (default: \(defaults.learningRate)).",
            search: Search(position: 0, standard: .logUniform(low: 1e-4, high: 1e-2)),
            atLeast: { $0 > 0 && $0.isFinite ? nil : "learning rate must be positive (got \($0))" }),
        Hyperparameter(
            .decayFactor, \.decayFactor, .float(\.decayFactor), flags: ["lr-decay", "decay-factor"],
            help: "Learning-rate decay factor (default: \(defaults.decayFactor)).",
            search: Search(position: 6, standard: .choice([0.1, 0.25, 0.5])),
            atLeast: { $0 > 0 && $0 <= 1 ? nil : "decay factor must be in (0, 1] (got \($0))" }),
        Hyperparameter(
            .decayInterval, \.decayInterval, .integer(\.decayInterval), flags: ["lr-decay-step", "decay-interval"],
            legacyKeys: [.legacyDecayEvery], help: "Epochs between learning-rate decays (default: \(defaults.decayInterval)).",
            search: Search(position: 5, standard: .choice([2, 3, 5])),
            atLeast: { $0 >= 1 ? nil : "decay interval must be at least 1 epoch (got \($0))" }),
        Hyperparameter(
            .referenceDecayTiming, \.referenceDecayTiming, .boolean(\.referenceDecayTiming, inverted: true), flags: ["textbook-decay"],
            help:
                "Decay at the textbook time (after every --lr-decay-step epochs) instead of the reference's (one epoch earlier) (default: \(!defaults.referenceDecayTiming))."
        ),
        Hyperparameter(
            .l2Penalty, \.l2Penalty, .float(\.l2Penalty), flags: ["l2", "l2-penalty"], legacyKeys: [.legacyL2],
            help: "L2 penalty, added to the gradient as torch.optim.Adam's weight_decay (default: \(defaults.l2Penalty)).",
            search: Search(position: 1, standard: .logUniform(low: 1e-7, high: 1e-3)),
            atLeast: { $0 >= 0 && $0.isFinite ? nil : "L2 penalty must be zero or positive (got \($0))" }),
        Hyperparameter(
            .propagationSteps, \.propagationSteps, .integer(\.propagationSteps), flags: ["step", "propagation-steps"],
            legacyKeys: [.legacyStep],
            help: "Gated graph propagation steps; with --init-from, the model's (default: \(defaults.propagationSteps)).",
            search: Search(position: 3, standard: .choice([1, 2, 3])),
            atLeast: { $0 >= 1 ? nil : "propagation steps must be at least 1 (got \($0))" },
            atMost: {
                $0 <= limits.propagationSteps ? nil : "propagation steps must be at most \(limits.propagationSteps) (got \($0))"
            }),
        Hyperparameter(
            .nonhybrid, \.nonhybrid, .boolean(\.nonhybrid, inverted: false), flags: ["nonhybrid"],
            help: "Readout without the hybrid transform; with --init-from, the model's (default: \(defaults.nonhybrid))."),
        Hyperparameter(
            .patience, \.patience, .integer(\.patience), flags: ["patience"],
            help: "Epochs without improvement before stopping, counted as the reference counts them (default: \(defaults.patience)).",
            atLeast: { $0 >= 1 ? nil : "patience must be at least 1 (got \($0))" }),
        Hyperparameter(
            .seed, \.seed, .unsignedInteger(\.seed), flags: ["seed"],
            help: "Seed for initialisation, validation split and shuffling (default: \(defaults.seed))."),
        Hyperparameter(
            .threads, \.threads, .integer(\.threads), flags: ["threads"],
            help: "Worker threads (the number of cores; default: \(defaults.threads)).",
            atLeast: { $0 >= 1 ? nil : "threads must be at least 1 (got \($0))" },
            atMost: { $0 <= limits.threads ? nil : "threads must be at most \(limits.threads) (got \($0))" }),
        // Its range depends on --select-on: `validate()` checks it with the selection.
        Hyperparameter(
            .validationFraction, \.validationFraction, .double(\.validationFraction), flags: ["validation-fraction"],
            help: "Share of training examples held out for validation (default: \(defaults.validationFraction))."),
        Hyperparameter(
            .validationSplit, \.validationSplit, choice(\.validationSplit), flags: ["validation-split"],
            help:
                "What --select-on validation holds out: 'examples' (random prefixes, the reference's), 'sessions' (random whole sessions) or 'latest' (the most recent sessions) (default: \(defaults.validationSplit.rawValue)).",
            discussion:
                "The session splits keep all prefixes of a session on one side and take whole sessions until they hold --validation-fraction of the examples. 'latest' takes the last sessions of the training data, which preprocessing sorts by date (SR-GNN pickles too). Sessions are recovered from the order of the training examples (the reference's augmentation order: a session's prefixes back to back, longest first). The split is saved in the checkpoint; older checkpoints count as 'examples'."
        ),
        Hyperparameter(
            .selectOn, \.selectOn, choice(\.selectOn), flags: ["select-on"],
            help:
                "Choose the best epoch on 'validation' (honest) or 'test' (the reference's protocol), or 'last': train on every example and keep the last epoch (default: \(defaults.selectOn.rawValue)).",
            discussion:
                "'last' is the refit after a validation run: --select-on last --epochs K, with K the epoch validation chose, gives a final model trained on all examples whose test numbers nothing was chosen by."
        ),
        Hyperparameter(
            .cutoff, \.cutoff, .integer(\.cutoff), flags: ["cutoff"],
            help: "K of the HR@K and MRR@K that choose the best epoch and fill the epoch summary (default: \(defaults.cutoff)).",
            atLeast: { $0 >= 1 ? nil : "the metric cut-off must be at least 1 (got \($0))" },
            atMost: { $0 <= limits.cutoff ? nil : "the metric cut-off must be at most \(limits.cutoff) (got \($0))" }),
        Hyperparameter(
            .normalize, \.normalize, .boolean(\.normalize, inverted: false), flags: ["normalize"], alsoSetBy: ["--variant"],
            help: "NISER: L2-normalise item embeddings (graph input and scores) and the session vector; scores = σ · cosine."),
        Hyperparameter(
            .scale, \.scale, .float(\.scale), flags: ["scale"],
            help: "σ of the cosine scores with --normalize (default: \(SRGNNConfiguration.niserScale), the paper's).",
            atMost: {
                $0 > 0 && $0 <= SRGNNConfiguration.maximumScale
                    ? nil : "the cosine scale σ must be in (0, \(SRGNNConfiguration.maximumScale)] (got \($0))"
            }),
        Hyperparameter(
            .positionEmbeddingRows, \.positionEmbeddingRows, .count(\.positionEmbeddingRows, whenOn: SRGNNConfiguration.niserPositionRows),
            flags: ["position-embeddings"], alsoSetBy: ["--variant"],
            help:
                "NISER+: learn reverse-position embeddings (from the last click, \(SRGNNConfiguration.niserPositionRows) positions) added before the readout.",
            atMost: {
                (0...SRGNNConfiguration.maximumPositionEmbeddingRows).contains($0)
                    ? nil : "position embeddings must be 0...\(SRGNNConfiguration.maximumPositionEmbeddingRows) rows (got \($0))"
            }),
        Hyperparameter(
            .dropout, \.dropout, .float(\.dropout), flags: ["dropout"],
            help:
                "NISER+: dropout on the item embeddings fed to the graph, training only (--variant niser: \(SRGNNConfiguration.niserDropout)).",
            atMost: { $0 >= 0 && $0 < 1 ? nil : "dropout must be in [0, 1) (got \($0))" }),
        Hyperparameter(
            .authorsCode, \.authorsCode, .boolean(\.authorsCode, inverted: false), flags: ["authors-code"],
            help:
                "NISER+ as its authors' code runs it, where that departs from the paper: positions counted from the first click, a softmax over the attention weights, and the dropout also on the graph's output."
        ),
        Hyperparameter(
            .loss, \.loss, choice(\.loss), flags: ["loss"],
            help:
                "The objective: 'full' (softmax over every item, the paper's) or 'sampled' (the batch's targets and --negatives shared negatives, log-Q corrected, for large catalogues) (default: \(defaults.loss.rawValue)).",
            discussion:
                "'sampled' scores each batch against its own targets plus --negatives items drawn with replacement from (target count)^--sample-alpha, subtracts each candidate's log expected count (the log-Q correction), masks other copies of a session's target, and updates only the embedding rows the step touched (lazy Adam: an untouched row's moments do not decay). A step then costs O((B + N) · d) instead of O(items · d).",
            omittedWhen: { $0.loss == .full }),
        Hyperparameter(
            .negatives, \.negatives, .integer(\.negatives), flags: ["negatives"],
            help: "--loss sampled: shared negatives per batch (default: \(defaults.negatives)).",
            atLeast: { $0 >= 1 ? nil : "negatives must be at least 1 (got \($0))" },
            atMost: { $0 <= limits.negatives ? nil : "negatives must be at most \(limits.negatives) (got \($0))" },
            omittedWhen: { $0.loss == .full && $0.negatives == defaults.negatives }),
        Hyperparameter(
            .sampleAlpha, \.sampleAlpha, .double(\.sampleAlpha), flags: ["sample-alpha"],
            help:
                "--loss sampled: negatives are drawn ∝ (times an item is a training target)^alpha; 0 is uniform (default: \(defaults.sampleAlpha)).",
            atMost: { $0 >= 0 && $0 <= 2 ? nil : "sample alpha must be in [0, 2] (got \($0))" },
            omittedWhen: { $0.loss == .full && $0.sampleAlpha == defaults.sampleAlpha }),
        Hyperparameter(
            .evaluationExamples, \.evaluationExamples, .integer(\.evaluationExamples), flags: ["evaluation-examples"],
            help:
                "Measure at most this many validation and test examples after each epoch, a fixed sample (by --seed) of each; 0 measures all (default: 0).",
            discussion:
                "For large logs: exact evaluation ranks every item for every example, which at a million items can take longer than the epoch's training. The sample is uniform over each set's examples and the same every epoch, so epochs compare; the run notes how many it measures.",
            atLeast: { $0 >= 0 ? nil : "evaluation examples must be at least 0 (got \($0))" },
            omittedWhen: { $0.evaluationExamples == 0 }),
    ]

    /// The kind of an enumeration-valued field: one of its raw values.
    private static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ keyPath: WritableKeyPath<Configuration, T> & Sendable
    ) -> Kind where T.RawValue == String {
        .choice(names: T.allCases.map(\.rawValue)) { configuration, text in
            guard let value = T(rawValue: text) else { return false }
            configuration[keyPath: keyPath] = value
            return true
        }
    }
}

/// A hyperparameter that `srgnn tune` varies, named (`rawValue`) as `srgnn train`'s long flag
/// for its configuration field (`learning-rate`, not `lr`): the entries of ``Hyperparameter/all``
/// with a search role, in their search order.
public struct SearchParameter: RawRepresentable, Hashable, Codable, Sendable, CaseIterable, CustomStringConvertible {
    public let hyperparameter: Hyperparameter

    public init(_ hyperparameter: Hyperparameter) {
        precondition(hyperparameter.search != nil, "\(hyperparameter) is not searched")
        self.hyperparameter = hyperparameter
    }

    public init?(rawValue: String) {
        guard let entry = Hyperparameter.searchable.first(where: { $0.flags.last == rawValue }) else { return nil }
        hyperparameter = entry
    }

    public var rawValue: String { hyperparameter.flags.last! }
    public var description: String { rawValue }
    public static let allCases = Hyperparameter.searchable.map { SearchParameter($0) }

    public static func == (a: SearchParameter, b: SearchParameter) -> Bool { a.hyperparameter.key == b.hyperparameter.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(hyperparameter.key) }

    public static let learningRate = SearchParameter(Hyperparameter[.learningRate])
    public static let l2Penalty = SearchParameter(Hyperparameter[.l2Penalty])
    public static let hiddenSize = SearchParameter(Hyperparameter[.hiddenSize])
    public static let propagationSteps = SearchParameter(Hyperparameter[.propagationSteps])
    public static let batchSize = SearchParameter(Hyperparameter[.batchSize])
    public static let decayInterval = SearchParameter(Hyperparameter[.decayInterval])
    public static let decayFactor = SearchParameter(Hyperparameter[.decayFactor])

    /// Whether its values are whole numbers (ranges of them draw integers).
    public var isInteger: Bool {
        switch hyperparameter.kind {
        case .integer, .unsignedInteger, .count: true
        default: false
        }
    }

    /// The value of this parameter in `configuration`.
    public func value(in configuration: TrainingConfiguration) -> Double {
        switch hyperparameter.kind {
        case .integer(let field), .count(let field, _): Double(configuration[keyPath: field])
        case .unsignedInteger(let field): Double(configuration[keyPath: field])
        case .float(let field): Double(configuration[keyPath: field])
        case .double(let field): configuration[keyPath: field]
        case .boolean, .choice: preconditionFailure("\(self) is not a number")
        }
    }

    /// `configuration` with this parameter set to `value` (whole for integer parameters).
    public func set(_ value: Double, in configuration: inout TrainingConfiguration) {
        switch hyperparameter.kind {
        case .integer(let field), .count(let field, _): configuration[keyPath: field] = Int(value)
        case .unsignedInteger(let field): configuration[keyPath: field] = UInt64(value)
        case .float(let field): configuration[keyPath: field] = Float(value)
        case .double(let field): configuration[keyPath: field] = value
        case .boolean, .choice: preconditionFailure("\(self) is not a number")
        }
    }
}
