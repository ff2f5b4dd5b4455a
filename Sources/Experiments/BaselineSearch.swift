import Evaluation
import Foundation
import SessionData
import TensorCore
import Training

/// Where one baseline parameter is searched: listed values, or a range of numbers.
public enum BaselineDomain: Sendable, Equatable, Codable {
    case values([BaselineParameterValue])
    case uniform(low: Double, high: Double)
    case logUniform(low: Double, high: Double)

    func draw(_ parameter: BaselineParameter, using generator: inout SeededGenerator) -> BaselineParameterValue {
        let integer = parameter.kind == .integer
        switch self {
        case .values(let values): return values[Int.random(in: 0..<values.count, using: &generator)]
        case let .uniform(low, high): return .number(SearchDomain.uniform(low: low, high: high).draw(integer: integer, using: &generator))
        case let .logUniform(low, high):
            return .number(SearchDomain.logUniform(low: low, high: high).draw(integer: integer, using: &generator))
        }
    }

    /// `[100, 200]`, `{uniform: [1, 10]}`: the space file's spelling.
    var yaml: String {
        switch self {
        case .values(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case let .uniform(low, high): "{uniform: [\(BaselineParameterValue.number(low)), \(BaselineParameterValue.number(high))]}"
        case let .logUniform(low, high): "{log-uniform: [\(BaselineParameterValue.number(low)), \(BaselineParameterValue.number(high))]}"
        }
    }
}

/// The search space of one baseline: a domain for each searched parameter, in the baseline's
/// parameter order; the others keep their defaults.
public struct BaselineSearchSpace: Sendable, Equatable, Codable {
    public var model: Baseline
    public var names: [String]
    public var domains: [BaselineDomain]

    public init(model: Baseline, names: [String], domains: [BaselineDomain]) {
        precondition(names.count == domains.count, "one domain per name")
        self.model = model
        self.names = names
        self.domains = domains
    }

    /// session-rec's grids (Ludewig et al. 2021), with STAN's and VSTAN's position decays as
    /// multiples of the mean training session length L, as session-rec writes them.
    public static func standard(for model: Baseline, meanSessionLength length: Double) -> BaselineSearchSpace {
        func numbers(_ values: [Double]) -> BaselineDomain { .values(values.map { .number($0) }) }
        let lengths = numbers([1e-5] + [0.125, 0.25, 0.5, 1, 2].map { SearchDomain.significant(length * $0) })
        let neighbours = numbers([50, 100, 200, 500, 1000, 1500]), samples = numbers([500, 1000, 2500, 5000, 10000])
        let entries: [(String, BaselineDomain)] =
            switch model {
            case .pop, .spop: []
            case .iknn:
                [
                    ("neighbours", numbers([50, 100, 200, 500])), ("lambda", numbers([0, 20, 50, 100])),
                    ("alpha", numbers([0.25, 0.5, 0.75])),
                ]
            case .sr:
                [
                    ("steps", numbers([2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30])),
                    ("weighting", .values(["linear", "div", "quadratic", "log"].map { .name($0) })), ("pruning", numbers([0, 10, 20])),
                ]
            case .sknn: [("k", neighbours), ("sample", samples)]
            case .vsknn:
                [
                    ("k", neighbours), ("sample", samples),
                    ("weighting", .values(VectorSessionKNN.PositionWeighting.allCases.map { .name($0.rawValue) })),
                    ("decay", .values(VectorSessionKNN.RecencyDecay.allCases.map { .name($0.rawValue) })),
                ]
            case .stan:
                [
                    ("k", numbers([100, 200, 500, 1000, 1500])), ("sample", numbers([1000, 2500, 5000, 10000])), ("lambda-spw", lengths),
                    ("lambda-snh", numbers([2.5, 5, 10, 20, 40, 80, 100])), ("lambda-inh", lengths),
                ]
            case .vstan:
                [
                    ("k", numbers([100, 200, 500, 1000, 1500])), ("sample", numbers([1000, 2500, 5000, 10000])),
                    ("similarity", .values([.name("cosine"), .name("vector")])), ("lambda-spw", lengths),
                    ("lambda-snh", numbers([2.5, 5, 10, 20, 40, 80, 100])), ("lambda-inh", lengths), ("lambda-ipw", lengths),
                    ("lambda-idf", numbers([0, 1, 2, 5, 10])),
                ]
            }
        return BaselineSearchSpace(model: model, names: entries.map(\.0), domains: entries.map(\.1))
    }

    /// The space as a space file.
    public var yaml: String { zip(names, domains).map { "\($0): \($1.yaml)" }.joined(separator: "\n") + "\n" }

    /// Reads a space file for `model`: `name: value`, `name: [values]`, `{uniform: [low, high]}` or
    /// `{log-uniform: [low, high]}` per parameter; errors name the file and line.
    public static func parse(yaml text: String, path: String, model: Baseline) throws -> BaselineSearchSpace {
        let file = try YAMLMapping(text: text, path: path)
        var found = [String: BaselineDomain]()
        for (name, line, value) in file.entries {
            guard let parameter = model.parameter(named: name) else {
                throw file.error(line, "\(model.displayName) has no parameter '\(name)'; it has " + Self.parameterList(of: model))
            }
            found[name] = try file.reading(name, line, value) { try domain(of: $0, parameter) }
        }
        guard !found.isEmpty else { throw file.error(nil, "names no parameter to search") }
        let names = model.parameters.map(\.name).filter { found[$0] != nil }
        return BaselineSearchSpace(model: model, names: names, domains: names.map { found[$0]! })
    }

    static func parameterList(of model: Baseline) -> String {
        model.parameters.isEmpty ? "none" : model.parameters.map(\.name).joined(separator: ", ")
    }

    static func domain(of value: YAMLValue, _ parameter: BaselineParameter) throws -> BaselineDomain {
        func checked(_ item: YAMLValue) throws -> BaselineParameterValue {
            let value = try parameterValue(item, parameter)
            var fitters = BaselineFitters()
            do { try parameter.set(value, in: &fitters) } catch { throw YAMLValue.Mismatch(message: error.description) }
            return value
        }
        if value.node.scalar != nil { return .values([try checked(value)]) }
        if let items = value.items, !items.isEmpty { return .values(try items.map(checked)) }
        guard let entry = value.entries?.first, value.entries?.count == 1, ["uniform", "log-uniform"].contains(entry.name),
            let bounds = try entry.value.items?.map({ try $0.number() }), bounds.count == 2, bounds[0] <= bounds[1]
        else {
            throw YAMLValue.Mismatch(message: "expected a value, a list of values, {uniform: [low, high]} or {log-uniform: [low, high]}")
        }
        guard case .options = parameter.kind else {
            if entry.name == "log-uniform" && !(bounds[0] > 0) {
                throw YAMLValue.Mismatch(message: "log-uniform needs a positive lower bound")
            }
            return entry.name == "uniform" ? .uniform(low: bounds[0], high: bounds[1]) : .logUniform(low: bounds[0], high: bounds[1])
        }
        throw YAMLValue.Mismatch(message: "\(parameter.name) takes named values: list them")
    }

    /// A value of `parameter` read from YAML: a name for named options, else a number.
    static func parameterValue(_ item: YAMLValue, _ parameter: BaselineParameter) throws -> BaselineParameterValue {
        if case .options(let names) = parameter.kind { return .name(try item.choice(names: names)) }
        return .number(try item.number())
    }

    /// Trial `index`'s parameters: each drawn from its domain with a generator seeded by the seed and the index.
    public func draw(index: Int, seed: UInt64) -> [BaselineParameterValue] {
        var generator = SeededGenerator(seed: seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
        return zip(names, domains).map { name, domain in domain.draw(model.parameter(named: name)!, using: &generator) }
    }

    /// The product of the listed values in order (the last parameter varies fastest), or `nil`
    /// when a domain is a range.
    public var grid: [[BaselineParameterValue]]? {
        var points: [[BaselineParameterValue]] = [[]]
        for domain in domains {
            guard case .values(let values) = domain else { return nil }
            points = points.flatMap { point in values.map { point + [$0] } }
            if points.count > HyperparameterSearch.maximumTrials { break }
        }
        return points
    }
}

/// One finished run of a baseline search, a line of `trials.jsonl`.
public struct BaselineTrial: Codable, Sendable, Equatable {
    public var trial: TrialName
    /// Parameter name → value (the searched ones).
    public var parameters: [String: BaselineParameterValue]
    /// The objective on the validation examples (percent).
    public var objective: Double
    public var seconds: Double
}

/// `srgnn tune --model NAME` for a baseline: fits it on the training sessions left after holding
/// out a validation share of whole sessions (as SR-GNN's `--validation-split sessions` or
/// `latest`), and scores every trial on the held-out sessions' prefixes. The test set is never used.
public struct BaselineSearch: Sendable {
    public var space: BaselineSearchSpace
    public var search: SearchMethod
    public var seed: UInt64
    public var objective: SearchObjective
    public var trials: Int
    /// The fitters every trial starts from (threads, the options not searched).
    public var base: BaselineFitters
    public var validationSplit: ValidationSplit
    public var validationFraction: Double
    public var threads: Int

    public init(
        space: BaselineSearchSpace, search: SearchMethod, seed: UInt64, objective: SearchObjective, trials: Int,
        base: BaselineFitters = BaselineFitters(), validationSplit: ValidationSplit = .sessions, validationFraction: Double = 0.1,
        threads: Int = 1
    ) {
        self.space = space
        self.search = search
        self.seed = seed
        self.objective = objective
        self.trials = trials
        self.base = base
        self.validationSplit = validationSplit
        self.validationFraction = validationFraction
        self.threads = threads
    }

    /// The planned runs: the defaults, then the trials (random draws, or the grid's first points).
    public func plan() throws -> [(name: TrialName, values: [BaselineParameterValue])] {
        let defaults = space.names.map { space.model.parameter(named: $0)!.value(in: base) }
        var runs: [(name: TrialName, values: [BaselineParameterValue])] = [(.defaults, defaults)]
        switch search {
        case .random: for index in 0..<trials { runs.append((.index(index), space.draw(index: index, seed: seed))) }
        case .grid:
            guard let grid = space.grid else { throw SearchError.invalid("a grid search needs a list of values for every parameter") }
            for (index, point) in grid.prefix(trials).enumerated() { runs.append((.index(index), point)) }
        }
        return runs
    }

    /// The fitters of one run, or an error naming the run when its values cannot fit.
    public func fitters(_ values: [BaselineParameterValue], name: TrialName) throws -> BaselineFitters {
        var fitters = base
        for (parameterName, value) in zip(space.names, values) {
            do { try space.model.parameter(named: parameterName)!.set(value, in: &fitters) } catch {
                throw SearchError.invalid("\(name): \(error)")
            }
        }
        if let problem = space.model.problem(in: fitters) { throw SearchError.invalid("\(name): \(problem)") }
        return fitters
    }

    /// The training sessions (and their times) to fit on, and the held-out sessions' prefixes.
    public func split(_ sessions: SessionList, times: [Int64]?) -> (fit: SessionList, times: [Int64]?, validation: ExampleSet) {
        let examplesPerSession = (0..<sessions.count).map { max(sessions.length(of: $0) - 1, 0) }
        let total = examplesPerSession.reduce(0, +)
        let wanted = total - Int((Double(total) * (1 - validationFraction)).rounded(.toNearestOrEven))
        var order = Array(0..<sessions.count)
        if validationSplit == .latest {
            order.reverse()
        } else {
            var generator = SeededGenerator(seed: seed ^ 0x5EED_0F_5B1D)
            order.shuffle(using: &generator)
        }
        var heldOut = [Bool](repeating: false, count: sessions.count)
        var taken = 0
        for session in order where taken < wanted {
            heldOut[session] = true
            taken += examplesPerSession[session]
        }
        var fit = SessionList(), fitTimes = [Int64](), validation = ExampleSet()
        for s in 0..<sessions.count {
            if heldOut[s] {
                let session = sessions[s]
                for end in stride(from: session.count - 1, through: 1, by: -1) {
                    validation.append(prefix: session.prefix(end), target: session[session.startIndex + end])
                }
            } else {
                fit.append(sessions[s])
                if let times { fitTimes.append(times[s]) }
            }
        }
        return (fit, times == nil ? nil : fitTimes, validation)
    }

    /// Runs every planned trial and returns the records, best first by objective (ties: the earlier run).
    public func run(
        sessions: SessionList, times: [Int64]?, itemCount: Int, note: (String) -> Void
    ) throws -> [BaselineTrial] {
        let plan = try plan()
        let runs = try plan.map { ($0.name, $0.values, try fitters($0.values, name: $0.name)) }
        let (fit, fitTimes, validation) = split(sessions, times: times)
        guard validation.count > 0, fit.count > 0 else {
            throw SearchError.invalid("the validation split leaves no training or no validation session; change --validation-fraction")
        }
        let fitSessions = fit.arrays
        note("fitting on \(fit.count) training sessions, validating on \(validation.count) prefixes of held-out sessions")
        let evaluator = Evaluator(cutoffs: [objective.cutoff], listLength: nil, threads: threads)
        let examples = TestExample.examples(of: validation)
        var records = [BaselineTrial]()
        for (name, values, fitters) in runs {
            let started = Date()
            let model = fitters.fitter(for: space.model).fit(sessions: fitSessions, times: fitTimes, itemCount: itemCount)
            let metrics = evaluator.evaluate(model, on: examples).metrics(at: objective.cutoff)
            let value = objective.metric == .hitRate ? metrics?.hitRate ?? 0 : metrics?.mrr ?? 0
            let record = BaselineTrial(
                trial: name, parameters: Dictionary(uniqueKeysWithValues: zip(space.names, values)), objective: value,
                seconds: Date().timeIntervalSince(started))
            records.append(record)
            note(
                "\(name): " + zip(space.names, values).map { "\($0) \($1)" }.joined(separator: ", ")
                    + String(format: " → %@ %.2f (%.0f s)", objective.metricKey, value, record.seconds))
        }
        return records
    }

    /// The best record: highest objective, the earlier run on ties.
    public static func best(of records: [BaselineTrial]) -> BaselineTrial? {
        records.enumerated().max { a, b in
            a.element.objective < b.element.objective || (a.element.objective == b.element.objective && a.offset > b.offset)
        }?
        .element
    }

    /// A tuned configuration file (`--models vstan@FILE`): the best run's parameters, one per line.
    public func configurationYAML(_ best: BaselineTrial, trials: Int) -> String {
        "# srgnn tune --model \(space.model.rawValue): the best of \(trials) runs, validation \(objective.metricKey) "
            + String(format: "%.2f", best.objective) + "\n"
            + space.names.map { "\($0): \(best.parameters[$0]!)" }.joined(separator: "\n") + "\n"
    }

    /// The summary table: every run, best first.
    public func markdown(_ records: [BaselineTrial]) -> String {
        let ranked = records.enumerated().sorted { a, b in
            a.element.objective != b.element.objective ? a.element.objective > b.element.objective : a.offset < b.offset
        }.map(\.element)
        var lines = ["| run | " + space.names.joined(separator: " | ") + " | \(objective.metricKey) | seconds |"]
        lines.append("|---|" + String(repeating: "---|", count: space.names.count) + "---:|---:|")
        for record in ranked {
            let values = space.names.map { record.parameters[$0]?.description ?? "" }
            lines.append(
                "| \(record.trial) | " + values.joined(separator: " | ")
                    + String(format: " | %.2f | %.1f |", record.objective, record.seconds))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Reads a tuned configuration (`srgnn tune`'s `best.yaml`, or a file written by hand) for `model`
/// into `fitters`: `name: value` per parameter; errors name the file and line.
public func applyTunedConfiguration(yaml text: String, path: String, model: Baseline, to fitters: inout BaselineFitters) throws {
    let file = try YAMLMapping(text: text, path: path)
    for (name, line, value) in file.entries {
        guard let parameter = model.parameter(named: name) else {
            throw file.error(
                line, "\(model.displayName) has no parameter '\(name)'; it has " + BaselineSearchSpace.parameterList(of: model))
        }
        let parsed = try file.reading(name, line, value) { try BaselineSearchSpace.parameterValue($0, parameter) }
        do { try parameter.set(parsed, in: &fitters) } catch { throw file.error(value.line ?? line, error.description) }
    }
    if let problem = model.problem(in: fitters) { throw file.error(nil, problem) }
}
