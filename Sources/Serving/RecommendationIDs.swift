import Crypto
import Dispatch
import Foundation

/// Signs the `recommendation_id` of every answer and checks the ids `POST /v1/events` brings back,
/// so that only ids this service issued credit a variant, with nothing stored per answer.
///
/// An id is `<variant>.<nonce>.<mac>`: the variant's name, 128 random bits as 32 lowercase hex
/// digits, and the first 128 bits of HMAC-SHA256(key, "<variant>.<nonce>") as 32 lowercase hex
/// digits. The key comes from `--events-key-file` (then ids stay valid across restarts and
/// replicas sharing the file) or is generated at start (then ids issued before a restart are
/// refused). The keyed HMAC state is computed once; each id copies it.
public struct RecommendationIDSigner: Sendable {
    /// The shortest key accepted, in bytes.
    public static let minimumKeyBytes = 16
    /// The largest key file read, in bytes.
    static let maximumKeyFileBytes = 4096
    /// The longest id: a 32-character name, two dots, two 32-digit hex parts.
    static let maximumIDLength = 32 + 1 + 32 + 1 + 32

    private let keyed: KeyedHMAC
    /// True when the key was generated at start (ids do not survive a restart).
    public let isGenerated: Bool

    /// Signs with `key`; refused when shorter than `minimumKeyBytes`.
    public init(key: [UInt8]) throws {
        guard key.count >= Self.minimumKeyBytes else {
            throw ServingConfigurationError(
                description: "the events key is \(key.count) bytes; it must be at least \(Self.minimumKeyBytes) (e.g. openssl rand -hex 32)"
            )
        }
        self.init(key: key, isGenerated: false)
    }

    private init(key: [UInt8], isGenerated: Bool) {
        keyed = KeyedHMAC(hmac: HMAC<SHA256>(key: SymmetricKey(data: key)))
        self.isGenerated = isGenerated
    }

    /// A signer with 32 random bytes as its key.
    public static func generated() -> RecommendationIDSigner {
        var generator = SystemRandomNumberGenerator()
        return RecommendationIDSigner(key: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }, isGenerated: true)
    }

    /// The key in the file at `path` (`--events-key-file`): its bytes without the whitespace and line
    /// breaks around them. The file is checked like every file the service opens (a regular file, at
    /// most 4 KiB, opened without blocking); a key under 16 bytes is refused. Errors never quote it.
    public init(contentsOfFile path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try ServiceFile.readAll(path, what: "the events key file", limit: Self.maximumKeyFileBytes)
        } catch let error as ServingError {
            throw ServingConfigurationError(description: error.description)
        }
        let isSpace: (UInt8) -> Bool = { [0x20, 0x09, 0x0a, 0x0d].contains($0) }
        let key = Array(bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
        guard key.count >= Self.minimumKeyBytes else {
            throw ServingConfigurationError(
                description:
                    "the events key file \(path) holds \(key.count) bytes; a key needs at least \(Self.minimumKeyBytes) (e.g. openssl rand -hex 32 > \(path))"
            )
        }
        self.init(key: key, isGenerated: false)
    }

    /// A new id for an answer of `variant`.
    func makeID(variant: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = [UInt8]()
        text.reserveCapacity(variant.utf8.count + 66)
        text += variant.utf8
        text.append(0x2e)
        appendHex(generator.next() as UInt64, to: &text)
        appendHex(generator.next() as UInt64, to: &text)
        let mac = keyed.mac(of: text)
        text.append(0x2e)
        appendHex(mac.0, to: &text)
        appendHex(mac.1, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// What an id sent back is.
    enum Verdict: Equatable {
        /// Issued by this service (this key) for the variant named.
        case signed(variant: String)
        /// `<variant>.<32 hex digits>`: the form of ids before they were signed.
        case unsigned
        /// The form of a signed id, but not signed with this key: forged, from another service,
        /// or from before a restart without `--events-key-file`.
        case foreign
        /// Not an id's form at all.
        case malformed
    }

    /// Checks `id`; the MAC is compared in time that does not depend on where it first differs.
    func verify(_ id: String) -> Verdict {
        let bytes = Array(id.utf8.prefix(Self.maximumIDLength + 1))
        guard bytes.count <= Self.maximumIDLength else { return .malformed }
        let parts = bytes.split(separator: 0x2e, omittingEmptySubsequences: false)
        let isHex: (ArraySlice<UInt8>) -> Bool = {
            $0.count == 32 && $0.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        guard parts.count == 2 || parts.count == 3, VariantSplit.isValidName(String(decoding: parts[0], as: UTF8.self)),
            parts[1...].allSatisfy(isHex)
        else { return .malformed }
        guard parts.count == 3 else { return .unsigned }
        let signed = Array(bytes[..<(parts[2].startIndex - 1)])
        let mac = keyed.mac(of: signed)
        var expected = [UInt8]()
        appendHex(mac.0, to: &expected)
        appendHex(mac.1, to: &expected)
        var difference: UInt8 = 0
        for (given, wanted) in zip(parts[2], expected) { difference |= given ^ wanted }
        return difference == 0 ? .signed(variant: String(decoding: parts[0], as: UTF8.self)) : .foreign
    }
}

/// The HMAC state after the key is absorbed; copied per message. @unchecked: a value type whose
/// stored hashers are value types too (copied, never shared).
private struct KeyedHMAC: @unchecked Sendable {
    let hmac: HMAC<SHA256>

    /// The first 128 bits of the MAC of `message`, as two big-endian words.
    func mac(of message: [UInt8]) -> (UInt64, UInt64) {
        var copy = hmac
        copy.update(data: message)
        return copy.finalize().withUnsafeBytes { raw in
            (raw.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, raw[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// `value` as 16 lowercase hex digits.
private func appendHex(_ value: UInt64, to text: inout [UInt8]) {
    for shift in stride(from: 60, through: 0, by: -4) { text.append(hexDigits[Int((value >> UInt64(shift)) & 0xf)]) }
}

/// A token bucket: at most `perSecond` events a second on average, in bursts of at most
/// `perSecond`. Bounds how fast `POST /v1/events` can grow the events log and move the A/B counts.
public final class EventBudget: @unchecked Sendable {
    // @unchecked: `tokens` and `refilledAt` are only touched under `lock`.
    public let perSecond: Int
    private let lock = NSLock()
    private var tokens: Double
    private var refilledAt: UInt64

    public init(perSecond: Int) {
        self.perSecond = perSecond
        tokens = Double(perSecond)
        refilledAt = DispatchTime.now().uptimeNanoseconds
    }

    /// Takes one event's token; false when the budget is spent (answer 429).
    func take() -> Bool {
        lock.withLock {
            let now = max(refilledAt, DispatchTime.now().uptimeNanoseconds)
            tokens = min(Double(perSecond), tokens + Double(now - refilledAt) * 1e-9 * Double(perSecond))
            refilledAt = now
            guard tokens >= 1 else { return false }
            tokens -= 1
            return true
        }
    }
}
