import Foundation

/// A value of a baseline's parameter: a number, or one of a parameter's named options (`div`, `cosine`).
public enum BaselineParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case number(Double)
    case name(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .name(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let number): try container.encode(number)
        case .name(let name): try container.encode(name)
        }
    }

    /// `100`, `0.905`, `div`: whole numbers without a decimal point.
    public var description: String {
        switch self {
        case .number(let number):
            number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .name(let name): name
        }
    }
}

/// One parameter of a baseline that `srgnn tune --model NAME` searches and a tuned configuration
/// sets; named as `srgnn compare`'s flag without the model's prefix (`--vstan-lambda-spw` is
/// `lambda-spw` of `vstan`).
public struct BaselineParameter: Sendable {
    public enum Kind: Sendable, Equatable {
        case integer
        case real
        /// A decay λ: positive, or 0 for off (the model's `nil`).
        case decay
        case options([String])
    }
    public let name: String
    public let kind: Kind
    private let read: @Sendable (BaselineFitters) -> BaselineParameterValue
    private let write: @Sendable (inout BaselineFitters, BaselineParameterValue) -> Void

    /// The parameter's value in `fitters`.
    public func value(in fitters: BaselineFitters) -> BaselineParameterValue { read(fitters) }

    /// `fitters` with this parameter set to `value`; an error message when the value is not of the
    /// parameter's kind (ranges are checked by the fitter's own validation afterwards).
    public func set(_ value: BaselineParameterValue, in fitters: inout BaselineFitters) throws(BaselineParameterError) {
        switch (kind, value) {
        case (.integer, .number(let number)) where number == number.rounded() && abs(number) <= 1e9: break
        case (.real, .number(let number)) where number.isFinite: break
        case (.decay, .number(let number)) where number.isFinite && number >= 0: break
        case (.options(let names), .name(let name)) where names.contains(name): break
        default: throw BaselineParameterError("\(name): expected \(expected), got \(value)")
        }
        write(&fitters, value)
    }

    /// What a value must be, for messages.
    public var expected: String {
        switch kind {
        case .integer: "an integer"
        case .real: "a number"
        case .decay: "a non-negative number (0 = off)"
        case .options(let names): "one of " + names.joined(separator: ", ")
        }
    }

    static func integer(_ name: String, _ path: WritableKeyPath<BaselineFitters, Int> & Sendable) -> Self {
        Self(
            name: name, kind: .integer, read: { .number(Double($0[keyPath: path])) },
            write: { if case .number(let n) = $1 { $0[keyPath: path] = Int(n) } })
    }

    static func real(_ name: String, _ path: WritableKeyPath<BaselineFitters, Double> & Sendable) -> Self {
        Self(
            name: name, kind: .real, read: { .number($0[keyPath: path]) }, write: { if case .number(let n) = $1 { $0[keyPath: path] = n } })
    }

    static func decay(_ name: String, _ path: WritableKeyPath<BaselineFitters, Double?> & Sendable) -> Self {
        Self(
            name: name, kind: .decay, read: { .number($0[keyPath: path] ?? 0) },
            write: { if case .number(let n) = $1 { $0[keyPath: path] = n == 0 ? nil : n } })
    }

    static func options<E: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ path: WritableKeyPath<BaselineFitters, E> & Sendable
    ) -> Self where E.RawValue == String {
        Self(
            name: name, kind: .options(E.allCases.map(\.rawValue)), read: { .name($0[keyPath: path].rawValue) },
            write: { if case .name(let text) = $1, let value = E(rawValue: text) { $0[keyPath: path] = value } })
    }
}

/// A baseline parameter value that does not fit the parameter.
public struct BaselineParameterError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Baseline {
    /// The parameters `srgnn tune` searches and `--models NAME@FILE` sets, in a fixed order.
    public var parameters: [BaselineParameter] {
        switch self {
        case .pop, .spop: []
        case .iknn:
            [.integer("neighbours", \.itemKNN.neighbours), .real("lambda", \.itemKNN.lambda), .real("alpha", \.itemKNN.alpha)]
        case .sr:
            [
                .integer("steps", \.sequentialRules.steps), .options("weighting", \.sequentialRules.weighting),
                .integer("pruning", \.sequentialRules.pruning),
            ]
        case .sknn: [.integer("k", \.sessionKNN.k), .integer("sample", \.sessionKNN.sampleSize)]
        case .vsknn:
            [
                .integer("k", \.vectorSessionKNN.k), .integer("sample", \.vectorSessionKNN.sampleSize),
                .options("weighting", \.vectorSessionKNN.weighting), .options("decay", \.vectorSessionKNN.decay),
            ]
        case .stan:
            [
                .integer("k", \.stan.k), .integer("sample", \.stan.sampleSize), .decay("lambda-spw", \.stan.positionDecay),
                .decay("lambda-snh", \.stan.recencyDecayDays), .decay("lambda-inh", \.stan.neighbourPositionDecay),
            ]
        case .vstan:
            [
                .integer("k", \.vstan.k), .integer("sample", \.vstan.sampleSize), .options("similarity", \.vstan.similarity),
                .decay("lambda-spw", \.vstan.positionDecay), .decay("lambda-snh", \.vstan.recencyDecayDays),
                .decay("lambda-inh", \.vstan.neighbourPositionDecay), .decay("lambda-ipw", \.vstan.currentPositionDecay),
                .decay("lambda-idf", \.vstan.idfWeight),
            ]
        }
    }

    /// The parameter named `name`, if this baseline has it.
    public func parameter(named name: String) -> BaselineParameter? { parameters.first { $0.name == name } }

    /// Why the fitter in `fitters` cannot fit (a parameter out of its range), or `nil`.
    public func problem(in fitters: BaselineFitters) -> String? {
        switch self {
        case .pop, .spop: nil
        case .iknn:
            fitters.itemKNN.neighbours >= 1 && fitters.itemKNN.lambda >= 0 && (0...1).contains(fitters.itemKNN.alpha)
                ? nil : "Item-KNN: neighbours ≥ 1, lambda ≥ 0 and alpha in 0...1"
        case .sr: fitters.sequentialRules.steps >= 1 && fitters.sequentialRules.pruning >= 0 ? nil : "SR: steps ≥ 1 and pruning ≥ 0"
        case .sknn: fitters.sessionKNN.k >= 1 && fitters.sessionKNN.sampleSize >= 0 ? nil : "SKNN: k ≥ 1 and sample ≥ 0"
        case .vsknn:
            fitters.vectorSessionKNN.k >= 1 && fitters.vectorSessionKNN.sampleSize >= 0 ? nil : "V-SKNN: k ≥ 1 and sample ≥ 0"
        case .stan: fitters.stan.settings.problem
        case .vstan: fitters.vstan.settings.problem
        }
    }
}
