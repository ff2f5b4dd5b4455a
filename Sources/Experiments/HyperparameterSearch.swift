import Evaluation
import Foundation
import SessionData
import SRGNN
import Training

/// What a search maximises: HR@K or MRR@K on the validation split, written `mrr@20`, `hr@20`.
public struct SearchObjective: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Metric: String, Codable, Sendable { case hitRate = "hr", reciprocalRank = "mrr" }
    public var metric: Metric
    public var cutoff: Int

    public init(metric: Metric, cutoff: Int) {
        self.metric = metric
        self.cutoff = cutoff
    }

    /// Parses `mrr@20` or `hr@20` (any case, K in 1...10,000); nil otherwise.
    public init?(_ text: String) {
        let parts = text.lowercased().split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let metric = Metric(rawValue: String(parts[0])), let cutoff = Int(parts[1]),
            (1...TrainingConfiguration.limits.cutoff).contains(cutoff)
        else { return nil }
        self.init(metric: metric, cutoff: cutoff)
    }

    public var description: String { "\(metric.rawValue)@\(cutoff)" }

    /// The key of the metric in an epoch's validation metrics (`MRR@20`).
    public var metricKey: String { "\(metric == .hitRate ? "HR" : "MRR")@\(cutoff)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let objective = SearchObjective(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an objective: \(text)"))
        }
        self = objective
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// How trial configurations are chosen.
public enum SearchMethod: String, Codable, Sendable, CaseIterable {
    /// Each trial draws every parameter from its domain (seeded by the search seed and the trial index).
    case random
    /// The trials walk the product of the choices in order.
    case grid
}

/// Which run a trial record belongs to: trial `n` (0-based) of the search, or the baseline with
/// the default values of the searched parameters. JSON: the number, or `"defaults"`.
public enum TrialName: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    case index(Int)
    case defaults

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let index = try? container.decode(Int.self) { self = .index(index); return }
        guard try container.decode(String.self) == "defaults" else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a trial is a number or \"defaults\"")
        }
        self = .defaults
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .index(let index): try container.encode(index)
        case .defaults: try container.encode("defaults")
        }
    }

    public var description: String {
        switch self {
        case .index(let index): "trial \(index)"
        case .defaults: "defaults"
        }
    }
}

/// The searched parameters of one trial (``SearchParameter/allCases``), named in JSON as
/// `srgnn train`'s long flags; read as the configuration's fields (`parameters.learningRate`).
@dynamicMemberLookup
public struct TrialParameters: Codable, Sendable, Equatable {
    /// The searched fields; every other field keeps its default.
    private var values = TrainingConfiguration()

    public init(_ configuration: TrainingConfiguration) {
        for parameter in SearchParameter.allCases { parameter.hyperparameter.copy(from: configuration, to: &values) }
    }

    public subscript<T>(dynamicMember field: KeyPath<TrainingConfiguration, T>) -> T {
        precondition(SearchParameter.allCases.contains { $0.hyperparameter.holds(field) }, "\(field) is not searched")
        return values[keyPath: field]
    }

    /// `base` with these parameters.
    public func applied(to base: TrainingConfiguration) -> TrainingConfiguration {
        var configuration = base
        for parameter in SearchParameter.allCases { parameter.hyperparameter.copy(from: values, to: &configuration) }
        return configuration
    }

    public func value(of parameter: SearchParameter) -> Double { parameter.value(in: values) }

    /// Every searched parameter is required, each as the type of its field.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Hyperparameter.NameKey.self)
        for parameter in SearchParameter.allCases {
            try parameter.hyperparameter.decode(from: container, name: parameter.rawValue, required: true, into: &values)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Hyperparameter.NameKey.self)
        for parameter in SearchParameter.allCases { try parameter.hyperparameter.encode(values, into: &container, as: parameter.rawValue) }
    }
}

/// One finished trial, as a line of `trials.jsonl`.
public struct TrialRecord: Codable, Sendable, Equatable {
    public var trial: TrialName
    public var parameters: TrialParameters
    /// The objective on the validation split after each epoch (percent).
    public var validation: [Double]
    /// The epoch (1-based) with the highest objective (the first, if tied) and that objective.
    public var bestEpoch: Int
    public var bestObjective: Double
    /// Whether patience ended the trial before its epoch budget.
    public var stoppedEarly: Bool
    /// Wall-clock seconds of the trial.
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case trial, parameters, validation, seconds
        case bestEpoch = "best_epoch", bestObjective = "best_objective", stoppedEarly = "stopped_early"
    }

    public init(trial: TrialName, parameters: TrialParameters, validation: [Double], stoppedEarly: Bool, seconds: Double) {
        self.trial = trial
        self.parameters = parameters
        self.validation = validation
        let best = validation.indices.max { validation[$0] < validation[$1] || (validation[$0] == validation[$1] && $0 > $1) } ?? 0
        bestEpoch = best + 1
        bestObjective = validation.isEmpty ? 0 : validation[best]
        self.stoppedEarly = stoppedEarly
        self.seconds = seconds
    }
}

/// What a search directory was made by; a rerun continues only under the same header.
public struct SearchHeader: Codable, Sendable, Equatable {
    public var space: SearchSpace
    public var search: SearchMethod
    public var seed: UInt64
    public var objective: SearchObjective
    /// `SessionDataset.fingerprint` of the data; the path is kept for the reproducing command.
    public var datasetFingerprint: String
    public var data: String
    /// Per-trial budget: maximum epochs and patience. The wall-clock budget is for the whole search.
    public var epochsPerTrial: Int
    public var patience: Int
    public var timeBudgetSeconds: Double?
    /// The settings every trial shares (validation split, seed, …); the searched ones are overridden.
    public var base: TrainingConfiguration

    public init(
        space: SearchSpace, search: SearchMethod, seed: UInt64, objective: SearchObjective, datasetFingerprint: String,
        data: String, epochsPerTrial: Int, patience: Int, timeBudgetSeconds: Double?, base: TrainingConfiguration
    ) {
        self.space = space
        self.search = search
        self.seed = seed
        self.objective = objective
        self.datasetFingerprint = datasetFingerprint
        self.data = data
        self.epochsPerTrial = epochsPerTrial
        self.patience = patience
        self.timeBudgetSeconds = timeBudgetSeconds
        self.base = base
    }

    enum CodingKeys: String, CodingKey {
        case space, search, seed, objective, data, patience, base
        case datasetFingerprint = "dataset_fingerprint", epochsPerTrial = "epochs_per_trial", timeBudgetSeconds = "time_budget_seconds"
    }

    /// The fields in which `other` differs from this header that change the trials' results. The
    /// threads, the data's path (same fingerprint) and the time budget (it decides only how many
    /// trials run) may change between runs of one search.
    public func differences(from other: SearchHeader) -> [String] {
        var a = self, b = other
        a.base.threads = 1; b.base.threads = 1
        a.data = ""; b.data = ""
        a.timeBudgetSeconds = nil; b.timeBudgetSeconds = nil
        var names = [String]()
        if a.space != b.space { names.append("space") }
        if a.search != b.search { names.append("search") }
        if a.seed != b.seed { names.append("seed") }
        if a.objective != b.objective { names.append("objective") }
        if a.datasetFingerprint != b.datasetFingerprint { names.append("data (dataset fingerprint)") }
        if a.epochsPerTrial != b.epochsPerTrial { names.append("epochs per trial") }
        if a.patience != b.patience { names.append("patience") }
        if a.base != b.base { names.append("training settings") }
        return names
    }

    /// The configuration of every planned run, in order: the defaults' baseline first, then trial 0, 1, …
    /// of `trials` (random: that many draws; grid: the first `trials` points of the product).
    public func plan(trials: Int) -> [(name: TrialName, configuration: TrainingConfiguration)] {
        var runs: [(name: TrialName, configuration: TrainingConfiguration)] = [(.defaults, base)]
        switch search {
        case .random:
            for index in 0..<trials { runs.append((.index(index), space.randomConfiguration(index: index, seed: seed, base: base))) }
        case .grid:
            guard let grid = space.grid(base: base) else { break }
            for (index, configuration) in grid.prefix(trials).enumerated() { runs.append((.index(index), configuration)) }
        }
        return runs
    }
}

/// Errors of a search that the user can fix.
public enum SearchError: Error, CustomStringConvertible, Equatable {
    case file(path: String, reason: String)
    /// A line of `trials.jsonl` that is not the record this search plans there.
    case trials(path: String, line: Int, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .file(path, reason): return "\(path): \(reason)"
        case let .trials(path, line, reason): return "\(path):\(line): \(reason)"
        case let .invalid(message): return message
        }
    }
}

/// `srgnn tune`: trains the defaults' baseline and then each planned trial in process, selecting
/// on the validation split only (the test set is never evaluated: ``Trainer/evaluatesTest`` is
/// off), and keeps its state in a directory so that rerunning the same search continues it.
///
/// Files in `directory`: `search.json` (the ``SearchHeader``), `trials.jsonl` (one
/// ``TrialRecord`` a line, appended and fsynced as each trial finishes; a torn last line from an
/// interruption is dropped on resume), and after each run `summary.json`, `summary.md` and
/// `report.html` (written atomically). Trial checkpoints go to a scratch folder that is removed.
public final class HyperparameterSearch {
    public let header: SearchHeader
    public let dataset: SessionDataset
    public let directory: String
    /// Trials asked for (the grid may have fewer points).
    public let trials: Int
    /// The most trials one search plans: a budget (each is a training run, and the plan holds
    /// them all).
    public static let maximumTrials = 100_000

    public var headerPath: String { directory + "/search.json" }
    public var trialsPath: String { directory + "/trials.jsonl" }
    public var scratchFolder: String { directory + "/scratch" }

    public init(header: SearchHeader, dataset: SessionDataset, directory: String, trials: Int) throws {
        guard trials >= 1 else { throw SearchError.invalid("--trials must be at least 1 (got \(trials))") }
        guard header.base.selectOn == .validation else { throw SearchError.invalid("a search selects on the validation split only") }
        guard trials <= Self.maximumTrials else {
            throw SearchError.invalid("--trials \(trials) is over the limit of \(Self.maximumTrials) trials for one search")
        }
        if header.search == .grid { _ = try header.space.checkedGrid(base: header.base) }
        for (name, configuration) in header.plan(trials: min(trials, 1)) {
            do { try configuration.validate() } catch TrainingError.invalidSetting(_, let message) {
                throw SearchError.invalid("\(name): \(message)")
            }
        }
        self.header = header
        self.dataset = dataset
        self.directory = directory
        self.trials = trials
    }

    /// Opens the directory: writes the header of a new search, or checks that of an old one
    /// (`restart` discards an old search whose header differs, and its trials). Returns the
    /// trials already finished.
    public func open(restart: Bool, note: (String) -> Void) throws -> [TrialRecord] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for path in [headerPath, trialsPath, directory + "/summary.json", directory + "/summary.md", directory + "/report.html"] {
            FileIO.removeStaleTemporaries(of: path)
        }
        if FileManager.default.fileExists(atPath: headerPath) {
            let saved: SearchHeader
            do {
                saved = try JSONDecoder().decode(SearchHeader.self, from: Data(contentsOf: URL(fileURLWithPath: headerPath)))
            } catch {
                throw SearchError.file(path: headerPath, reason: "not a search header (\(error)); use --restart to start a new search here")
            }
            let differences = header.differences(from: saved)
            if differences.isEmpty {
                if saved.timeBudgetSeconds != header.timeBudgetSeconds {
                    note(
                        "the time budget is now " + (header.timeBudgetSeconds.map { String(format: "%.0f s", $0) } ?? "none")
                            + " (was " + (saved.timeBudgetSeconds.map { String(format: "%.0f s", $0) } ?? "none") + ")")
                }
                if saved != header { try writeAtomically(try JSONText.data(header), to: headerPath) }
                return try readTrials()
            }
            let listed = differences.joined(separator: ", ") + (differences.count == 1 ? " differs" : " differ")
            guard restart else {
                throw SearchError.file(
                    path: headerPath,
                    reason:
                        "this folder holds another search (its \(listed)); rerun with the same options to continue it, use --restart to discard it, or choose another --out"
                )
            }
            note("--restart: discarding the previous search in \(directory) (its \(listed))")
        } else if FileManager.default.fileExists(atPath: trialsPath) && !restart {
            throw SearchError.file(path: headerPath, reason: "missing, but \(trialsPath) exists; use --restart to discard those trials")
        }
        try? FileManager.default.removeItem(atPath: trialsPath)
        try writeAtomically(try JSONText.data(header), to: headerPath)
        return []
    }

    /// The finished trials of `trials.jsonl`. A last line without its newline was being written
    /// when the search was interrupted: it is cut off, and that trial runs again. Every other
    /// line must be the record of the planned run in its place.
    func readTrials() throws -> [TrialRecord] {
        guard FileManager.default.fileExists(atPath: trialsPath) else { return [] }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: trialsPath))
        var completeLength = bytes.count
        if let lastNewline = bytes.lastIndex(of: 0x0A) { completeLength = lastNewline + 1 } else { completeLength = 0 }
        if completeLength < bytes.count {
            guard truncate(trialsPath, off_t(completeLength)) == 0 else {
                throw SearchError.file(path: trialsPath, reason: "cannot cut its torn last line: \(String(cString: strerror(errno)))")
            }
        }
        let lines = bytes.prefix(completeLength).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        let plan = header.plan(trials: max(trials, lines.count))
        var records = [TrialRecord]()
        for (number, line) in lines.enumerated() {
            let record: TrialRecord
            do {
                record = try JSONDecoder().decode(TrialRecord.self, from: Data(line))
            } catch {
                throw SearchError.trials(
                    path: trialsPath, line: number + 1, reason: "not a trial record; use --restart to start the search again")
            }
            guard number < plan.count, record.trial == plan[number].name,
                record.parameters == TrialParameters(plan[number].configuration)
            else {
                throw SearchError.trials(
                    path: trialsPath, line: number + 1,
                    reason:
                        "\(record.trial) is not the run this search plans in that place; use --restart to start the search again")
            }
            records.append(record)
        }
        return records
    }

    /// Runs the planned trials not yet in `finished` while the time budget (counted over all the
    /// recorded trials, so across resumptions) is not spent: a trial that has started runs to its end.
    public func run(finished: [TrialRecord], observer: TrainingObserver?, note: (String) -> Void) throws -> [TrialRecord] {
        var records = finished
        let plan = header.plan(trials: trials)
        if header.search == .grid, let points = header.space.grid(base: header.base)?.count, points != trials {
            note(
                points > trials
                    ? "the grid has \(points) points; --trials \(trials) runs the first \(trials)"
                    : "the grid has \(points) points: all of them are run")
        }
        if !records.isEmpty {
            note("resuming: \(records.count) of \(plan.count) runs (the defaults and \(plan.count - 1) trials) already finished")
        }
        for (name, configuration) in plan.dropFirst(records.count) {
            let spent = records.reduce(0) { $0 + $1.seconds }
            if let budget = header.timeBudgetSeconds, spent >= budget {
                note(String(format: "time budget spent (%.0f s of %.0f s): stopping before %@", spent, budget, "\(name)"))
                break
            }
            note("\(name): " + describe(TrialParameters(configuration)))
            let record = try runTrial(name, configuration: configuration, observer: observer)
            try append(record)
            records.append(record)
            try writeOutputs(records)  // the summary and report follow the search as it goes
            note(
                String(
                    format: "%@: best %@ %.2f at epoch %d (%.0f s)", "\(name)", header.objective.metricKey, record.bestObjective,
                    record.bestEpoch, record.seconds))
        }
        try? FileManager.default.removeItem(atPath: scratchFolder)
        try writeOutputs(records)
        return records
    }

    /// One trial: the trainer on `configuration`, validation only, checkpoints in the scratch folder.
    func runTrial(_ name: TrialName, configuration: TrainingConfiguration, observer: TrainingObserver?) throws -> TrialRecord {
        try FileManager.default.createDirectory(atPath: scratchFolder, withIntermediateDirectories: true)
        let started = Date()
        let trainer = try Trainer(
            configuration: configuration, dataset: dataset, checkpointPath: scratchFolder + "/trial.safetensors",
            datasetPath: header.data)
        trainer.evaluatesTest = false
        let result = try trainer.run(observer: observer)
        let key = header.objective.metricKey
        return TrialRecord(
            trial: name, parameters: TrialParameters(configuration),
            validation: result.history.map { $0.validation?[key] ?? 0 }, stoppedEarly: result.stoppedEarly,
            seconds: Date().timeIntervalSince(started))
    }

    /// Appends one line and flushes it to disk before the next trial starts.
    func append(_ record: TrialRecord) throws {
        var line = try JSONText.data(record)
        line.append(0x0A)
        if let failure = appendSynced(line, to: trialsPath) {
            throw SearchError.file(path: trialsPath, reason: "cannot write: \(failure)")
        }
    }

    /// `learning-rate 0.001, l2-penalty 1e-05, …` for progress lines.
    func describe(_ parameters: TrialParameters) -> String {
        SearchParameter.allCases.map { "\($0.rawValue) \(TuningSummary.format(parameters.value(of: $0), $0))" }.joined(separator: ", ")
    }
}

/// Appends `bytes` to `path` (created if missing) and waits until they are on disk; returns the
/// system's reason on failure. A line is either whole in the file or, if the process dies while
/// writing it, torn at the end, where the next reader cuts it off.
private func appendSynced(_ bytes: Data, to path: String) -> String? {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard descriptor >= 0 else { return String(cString: strerror(errno)) }
    defer { close(descriptor) }
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count, fsync(descriptor) == 0 else { return String(cString: strerror(errno)) }
    return nil
}
