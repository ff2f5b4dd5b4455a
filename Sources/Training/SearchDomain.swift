import Foundation
import TensorCore

/// The values one parameter may take.
public enum SearchDomain: Equatable, Sendable {
    /// One of these values, equally likely (a single value fixes the parameter).
    case choice([Double])
    /// Uniform on [low, high]; integer parameters draw whole numbers in it.
    case uniform(low: Double, high: Double)
    /// exp(uniform(ln low, ln high)), 0 < low: for scales such as learning rate and L2.
    case logUniform(low: Double, high: Double)

    /// A value drawn with `generator`; continuous draws keep 3 significant digits, so that the
    /// configurations and the commands that reproduce them read well.
    public func draw(integer: Bool, using generator: inout SeededGenerator) -> Double {
        switch self {
        case .choice(let values):
            return values[Int.random(in: 0..<values.count, using: &generator)]
        case let .uniform(low, high):
            if integer { return Double(Int.random(in: Int(low)...Int(high), using: &generator)) }
            return Self.significant(Double.random(in: low...high, using: &generator))
        case let .logUniform(low, high):
            let value = exp(Double.random(in: log(low)...log(high), using: &generator))
            return integer ? min(max(value.rounded(), low.rounded(.up)), high.rounded(.down)) : Self.significant(value)
        }
    }

    public static func significant(_ value: Double, digits: Int = 3) -> Double {
        guard value != 0, value.isFinite else { return value }
        let scale = pow(10, Double(digits - 1) - floor(log10(abs(value))))
        return (value * scale).rounded() / scale
    }
}

extension SearchDomain: Codable {
    enum Kind: String, CodingKey { case choice, uniform, logUniform = "log-uniform" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Kind.self)
        if let values = try container.decodeIfPresent([Double].self, forKey: .choice) { self = .choice(values); return }
        if let bounds = try container.decodeIfPresent([Double].self, forKey: .uniform), bounds.count == 2 {
            self = .uniform(low: bounds[0], high: bounds[1]); return
        }
        let bounds = try container.decode([Double].self, forKey: .logUniform)
        guard bounds.count == 2 else {
            throw DecodingError.dataCorruptedError(forKey: .logUniform, in: container, debugDescription: "expected [low, high]")
        }
        self = .logUniform(low: bounds[0], high: bounds[1])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Kind.self)
        switch self {
        case .choice(let values): try container.encode(values, forKey: .choice)
        case let .uniform(low, high): try container.encode([low, high], forKey: .uniform)
        case let .logUniform(low, high): try container.encode([low, high], forKey: .logUniform)
        }
    }
}
