import Foundation
import TensorCore
import Training

/// Where `srgnn tune` searches: a domain for each parameter it varies; the others keep the
/// defaults of `TrainingConfiguration`. Read from YAML, one entry per parameter:
///
/// ```yaml
/// learning-rate: {log-uniform: [1.0e-4, 1.0e-2]}
/// l2-penalty: [0, 1.0e-6, 1.0e-5, 1.0e-4]       # a list is a choice (0 allowed)
/// hidden-size: {choice: [50, 100, 150]}
/// decay-factor: {uniform: [0.1, 0.5]}
/// propagation-steps: 1                          # a single value fixes it
/// ```
public struct SearchSpace: Equatable, Sendable {
    /// The domain of each parameter the search varies (or fixes).
    public var domains: [SearchParameter: SearchDomain]

    public init(domains: [SearchParameter: SearchDomain]) { self.domains = domains }

    /// The space searched when no `--space` is given.
    public static let standard = SearchSpace(
        domains: Dictionary(uniqueKeysWithValues: SearchParameter.allCases.map { ($0, $0.hyperparameter.search!.standard) }))

    /// The spellings a space file may use (`srgnn train`'s aliases), each to its parameter.
    static let names: [String: SearchParameter] = Hyperparameter.byFlag.compactMapValues { entry in
        entry.search == nil ? nil : SearchParameter(entry)
    }

    /// The parameters the space names, in the fixed order of ``SearchParameter``.
    public var parameters: [SearchParameter] { SearchParameter.allCases.filter { domains[$0] != nil } }

    /// Trial `index`'s configuration: `base` with each parameter drawn from its domain. A pure
    /// function of (space, seed, index), so a search can be resumed or extended.
    public func randomConfiguration(index: Int, seed: UInt64, base: TrainingConfiguration) -> TrainingConfiguration {
        var generator = SeededGenerator(seed: seed ^ (0x7E57_0000_0000 &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        var configuration = base
        for parameter in parameters {
            parameter.set(domains[parameter]!.draw(integer: parameter.isInteger, using: &generator), in: &configuration)
        }
        return configuration
    }

    /// The most points a grid search may have: a budget on the product of the choices' counts,
    /// checked before a point is enumerated.
    public static let maximumGridPoints = 1_000_000

    /// Every combination of the choices, the last parameter varying fastest, enumerated lazily
    /// (point `i` is computed when asked for); nil when a domain is a range (which has no grid).
    public func grid(base: TrainingConfiguration) -> SearchGrid? {
        var values = [[Double]]()
        for parameter in parameters {
            guard case .choice(let choices) = domains[parameter]! else { return nil }
            values.append(choices)
        }
        return SearchGrid(base: base, parameters: parameters, values: values)
    }

    /// The grid of this space, checked: every parameter a choice, and at most `maximumGridPoints`
    /// points. Errors say which parameters are ranges, or how large the product is.
    public func checkedGrid(base: TrainingConfiguration) throws -> SearchGrid {
        guard let grid = grid(base: base) else {
            let ranges = parameters.filter { if case .choice = domains[$0]! { false } else { true } }
            throw SearchError.invalid(
                "a grid needs a choice for every parameter; these are ranges: "
                    + ranges.map(\.rawValue).joined(separator: ", ") + " (use --search random, or list their values)")
        }
        guard grid.count <= Self.maximumGridPoints else {
            let factors = zip(grid.parameters, grid.values).map { "\($0.1.count) \($0.0.rawValue)" }.joined(separator: " × ")
            let size = grid.count == Int.max ? "more than \(Int.max)" : "\(grid.count)"
            throw SearchError.invalid(
                "the grid has \(size) points (\(factors)), over the limit of \(Self.maximumGridPoints) points for a grid search; list fewer values, or use --search random"
            )
        }
        return grid
    }
    /// The space as YAML, in the form it is read (for `--help`, the docs and the search header).
    public var yaml: String {
        func number(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e6 ? String(Int(value)) : String(format: "%g", value)
        }
        return parameters.map { parameter -> String in
            let text: String
            switch domains[parameter]! {
            case .choice(let values): text = "{choice: [" + values.map(number).joined(separator: ", ") + "]}"
            case let .uniform(low, high): text = "{uniform: [\(number(low)), \(number(high))]}"
            case let .logUniform(low, high): text = "{log-uniform: [\(number(low)), \(number(high))]}"
            }
            return parameter.rawValue + ": " + text
        }.joined(separator: "\n") + "\n"
    }

    /// Reads a space file's `text`; errors name `path` and the line.
    public static func parse(yaml text: String, path: String) throws -> SearchSpace {
        let file = try YAMLMapping(text: text, path: path)
        var domains = [SearchParameter: SearchDomain]()
        for (name, line, value) in file.entries {
            guard let parameter = Self.names[name] else {
                throw file.error(
                    line,
                    "unknown parameter '\(name)'; the search varies "
                        + SearchParameter.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard domains[parameter] == nil else { throw file.error(line, "'\(name)' sets \(parameter.rawValue) a second time") }
            let domain = try file.reading(name, line, value) { try Self.domain(of: $0) }
            if let problem = check(domain, of: parameter) { throw file.error(value.line ?? line, "'\(name)': \(problem)") }
            domains[parameter] = domain
        }
        guard !domains.isEmpty else { throw file.error(nil, "names no parameter to search") }
        return SearchSpace(domains: domains)
    }

    /// A scalar (fixed), a list (choice) or `{choice: […]}`, `{uniform: [low, high]}`, `{log-uniform: [low, high]}`.
    static func domain(of value: YAMLValue) throws -> SearchDomain {
        if value.node.scalar != nil { return .choice([try value.number()]) }
        if let items = value.items { return .choice(try numbers(items, expected: "a list of values")) }
        let entries = value.entries ?? []
        guard entries.count == 1, let entry = entries.first else {
            throw YAMLValue.Mismatch(
                message: "expected a value, a list of values, or one of {choice: [...]}, {uniform: [low, high]}, {log-uniform: [low, high]}"
            )
        }
        let (kind, argument) = (entry.name, entry.value)
        switch kind {
        case "choice":
            return .choice(try numbers(argument.items, expected: "a list of values after choice"))
        case "uniform", "log-uniform":
            let bounds = try numbers(argument.items, expected: "[low, high] after \(kind)")
            guard bounds.count == 2 else {
                throw YAMLValue.Mismatch(message: "expected [low, high] after \(kind), got \(bounds.count) values")
            }
            return kind == "uniform" ? .uniform(low: bounds[0], high: bounds[1]) : .logUniform(low: bounds[0], high: bounds[1])
        default:
            throw YAMLValue.Mismatch(message: "unknown domain '\(kind)'; expected choice, uniform or log-uniform")
        }
    }

    static func numbers(_ items: [YAMLValue]?, expected: String) throws -> [Double] {
        guard let items, !items.isEmpty else { throw YAMLValue.Mismatch(message: "expected \(expected)") }
        return try items.map { try $0.number() }
    }

    /// Why `domain` cannot be searched for `parameter`, or nil: bounds ordered, integers whole,
    /// every value one `srgnn train` accepts.
    static func check(_ domain: SearchDomain, of parameter: SearchParameter) -> String? {
        let values: [Double]
        switch domain {
        case .choice(let choices):
            values = choices
            guard Set(choices).count == choices.count else { return "a choice lists a value twice" }
        case let .uniform(low, high):
            guard low <= high else { return "the range [\(low), \(high)] is empty" }
            values = [low, high]
        case let .logUniform(low, high):
            guard low > 0 else { return "log-uniform needs a positive lower bound (got \(low)); to allow 0, use a choice" }
            guard low <= high else { return "the range [\(low), \(high)] is empty" }
            values = [low, high]
        }
        if parameter.isInteger, let fraction = values.first(where: { $0 != $0.rounded() }) {
            return "\(parameter.rawValue) takes whole numbers (got \(fraction))"
        }
        for value in values {
            var configuration = TrainingConfiguration()
            parameter.set(value, in: &configuration)
            do {
                try configuration.validate()
            } catch TrainingError.invalidSetting(_, let message) {
                return message
            } catch {
                return "\(error)"
            }
        }
        return nil
    }
}

extension SearchSpace: Codable {
    /// A JSON object from parameter names to domains.
    public init(from decoder: any Decoder) throws {
        let named = try decoder.singleValueContainer().decode([String: SearchDomain].self)
        var domains = [SearchParameter: SearchDomain]()
        for (name, domain) in named {
            guard let parameter = SearchParameter(rawValue: name) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown parameter \(name)"))
            }
            domains[parameter] = domain
        }
        self.domains = domains
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: domains.map { ($0.key.rawValue, $0.value) }))
    }
}

/// The points of a grid search, computed one at a time from their index (a mixed-radix number
/// whose digits pick each parameter's value, the last parameter the fastest), so that taking the
/// first `--trials` points never builds the product.
public struct SearchGrid: RandomAccessCollection, Sendable {
    public let base: TrainingConfiguration
    public let parameters: [SearchParameter]
    /// Each parameter's values, in `parameters`' order.
    public let values: [[Double]]
    /// The number of points; `Int.max` when the product overflows.
    public let count: Int

    init(base: TrainingConfiguration, parameters: [SearchParameter], values: [[Double]]) {
        self.base = base
        self.parameters = parameters
        self.values = values
        var product = 1
        for choices in values {
            let (next, overflow) = product.multipliedReportingOverflow(by: choices.count)
            product = overflow ? Int.max : next
            if overflow { break }
        }
        count = product
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(index: Int) -> TrainingConfiguration {
        precondition(index >= 0 && index < count, "grid point \(index) of \(count)")
        var configuration = base
        var rest = index
        for position in parameters.indices.reversed() {
            let choices = values[position]
            parameters[position].set(choices[rest % choices.count], in: &configuration)
            rest /= choices.count
        }
        return configuration
    }
}
