import Crypto
import Foundation

/// How the service splits traffic between the model variants of an A/B test: the variants' names,
/// in the order given, and an integer weight each.
///
/// A session id picks a variant by a stable hash, the same in every process, release and replica
/// with the same split: h = the first 8 bytes of SHA-256(UTF-8 of the id) as a big-endian integer,
/// point = ⌊h · total / 2⁶⁴⌋ in `0..<total`, and the variant is the first whose cumulative weight
/// exceeds the point. A request without a session id draws h at random. A variant of weight 0
/// gets traffic only when a request names it.
public struct VariantSplit: Sendable, Equatable {
    public let names: [String]
    public let weights: [Int]
    /// Running sums of `weights`: variant i takes the points `cumulative[i-1]..<cumulative[i]`.
    private let cumulative: [Int]

    /// The name a single `--model PATH` gets.
    public static let defaultName = "default"
    /// One variant, `default`, with all the traffic.
    public static let single = try! VariantSplit(names: [defaultName])
    /// The longest `session_id` a request may send, in Unicode scalars (JSON Schema's `maxLength`).
    public static let maxSessionIDLength = 256

    /// `names` with `weights` (default: equal shares). Throws naming the mistake: a bad or repeated
    /// name, a negative weight, no positive weight.
    public init(names: [String], weights: [Int]? = nil) throws {
        let weights = weights ?? Array(repeating: 1, count: names.count)
        precondition(weights.count == names.count, "one weight per name")
        guard !names.isEmpty else { throw ServingConfigurationError("give at least one model") }
        var seen = Set<String>()
        for name in names {
            guard Self.isValidName(name) else {
                throw ServingConfigurationError("bad variant name \"\(name)\": use 1–32 characters of A–Z, a–z, 0–9, _ and -")
            }
            guard seen.insert(name).inserted else { throw ServingConfigurationError("the variant name \"\(name)\" is given twice") }
        }
        var cumulative = [Int](), total = 0
        for (name, weight) in zip(names, weights) {
            guard weight >= 0 else { throw ServingConfigurationError("the weight of \(name) is negative (\(weight))") }
            let (sum, overflow) = total.addingReportingOverflow(weight)
            guard !overflow else { throw ServingConfigurationError("the weights are too large to add up") }
            total = sum
            cumulative.append(total)
        }
        guard total > 0 else { throw ServingConfigurationError("every weight is 0; give at least one variant a positive weight") }
        self.names = names
        self.weights = weights
        self.cumulative = cumulative
    }

    /// 1–32 characters of `[A-Za-z0-9_-]`: safe in a Prometheus label, a log line and a
    /// recommendation id (which puts a `.` after it).
    public static func isValidName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || $0 == 0x5f || $0 == 0x2d
            }
    }

    /// The sum of the weights.
    public var total: Int { cumulative[cumulative.count - 1] }

    /// Variant `index`'s fraction of the traffic.
    public func share(_ index: Int) -> Double { Double(weights[index]) / Double(total) }

    /// The variant for a session id (see the type's documentation), the same wherever it runs.
    public func index(forSession id: String) -> Int {
        let digest = SHA256.hash(data: Data(id.utf8))
        return index(at: digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    /// A variant drawn at random by the weights.
    public func randomIndex() -> Int { index(at: UInt64.random(in: .min ... .max)) }

    /// The variant whose share of `0..<total` holds ⌊h · total / 2⁶⁴⌋.
    func index(at h: UInt64) -> Int {
        let point = Int(h.multipliedFullWidth(by: UInt64(total)).high)
        // A zero weight repeats the sum before it, so `>` skips it.
        return cumulative.firstIndex { $0 > point }!
    }

    /// The variants and split of `srgnn serve`'s flags: `models` as given to `--model` (`PATH` or
    /// `NAME=PATH`, repeated) and `split` as given to `--split` (`a=90,b=10`, or nil for equal
    /// shares). Returns the split and each variant's path, in `--model` order. A lone `PATH` is
    /// the variant `default`; a value is `NAME=PATH` when the text before its first `=` is a valid
    /// name, so a path holding `=` elsewhere (`/data/run=3/model.safetensors`) is read whole.
    public static func fromCommandLine(models: [String], split: String?) throws -> (split: VariantSplit, paths: [String]) {
        guard !models.isEmpty else {
            throw ServingConfigurationError("give the model to serve: --model PATH, or --model NAME=PATH once per variant")
        }
        let parsed: [(name: String?, path: String)] = models.map { value in
            if let equals = value.firstIndex(of: "="), isValidName(String(value[..<equals])) {
                return (String(value[..<equals]), String(value[value.index(after: equals)...]))
            }
            return (nil, value)
        }
        for (value, entry) in zip(models, parsed) where entry.path.isEmpty {
            throw ServingConfigurationError("--model \(value) names no file; use --model NAME=PATH")
        }
        let names: [String]
        if parsed.count == 1 {
            names = [parsed[0].name ?? defaultName]
        } else {
            if let unnamed = parsed.first(where: { $0.name == nil }) {
                throw ServingConfigurationError(
                    "--model \(unnamed.path) has no name; with several models give each as --model NAME=PATH (NAME: 1–32 characters of A–Z, a–z, 0–9, _ and -)"
                )
            }
            names = parsed.map { $0.name! }
        }
        let paths = parsed.map(\.path)
        guard let split else {
            do { return (try VariantSplit(names: names), paths) } catch let error as ServingConfigurationError {
                throw ServingConfigurationError("--model: \(error.description)")
            }
        }
        var weights = [String: Int]()
        for part in split.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, !pair[0].isEmpty else {
                throw ServingConfigurationError("--split \(split): \"\(part)\" is not NAME=WEIGHT; write e.g. --split a=90,b=10")
            }
            let name = String(pair[0])
            guard names.contains(name) else {
                throw ServingConfigurationError(
                    "--split \(split): \(name) is not a variant; the variants are \(names.joined(separator: ", ")) (from --model NAME=PATH)"
                )
            }
            guard weights[name] == nil else { throw ServingConfigurationError("--split \(split): \(name) is given twice") }
            guard let weight = Int(pair[1]), weight >= 0 else {
                throw ServingConfigurationError(
                    "--split \(split): the weight of \(name) must be a non-negative integer, got \"\(pair[1])\"")
            }
            weights[name] = weight
        }
        let missing = names.filter { weights[$0] == nil }
        guard missing.isEmpty else {
            throw ServingConfigurationError(
                "--split \(split) gives no weight to \(missing.joined(separator: ", ")); give one to every --model variant (0 serves it only when a request names it)"
            )
        }
        do {
            return (try VariantSplit(names: names, weights: names.map { weights[$0]! }), paths)
        } catch let error as ServingConfigurationError {
            throw ServingConfigurationError("--split \(split): \(error.description)")
        }
    }
}
