/// A string that compares and hashes byte for byte (its UTF-8), for raw item and session ids and
/// catalogue values.
///
/// Swift's `String ==` and `String` hashing follow Unicode canonical equivalence, so `café` written
/// as U+00E9 and as `e` + U+0301 would be one key. A user's ids are bytes from their files: two
/// different byte strings are two ids everywhere (preprocess, the vocabulary, recommend, the
/// catalogue and the service), and an id comes back in the bytes it was given.
public struct RawKey: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public let string: String

    @inlinable public init(_ string: String) { self.string = string }
    public init(stringLiteral value: String) { string = value }
    public init(stringInterpolation: DefaultStringInterpolation) { string = String(stringInterpolation: stringInterpolation) }

    @inlinable public static func == (lhs: RawKey, rhs: RawKey) -> Bool { lhs.string.utf8.elementsEqual(rhs.string.utf8) }

    /// Byte order of the UTF-8 (which is also code point order).
    public static func < (lhs: RawKey, rhs: RawKey) -> Bool { lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8) }

    public func hash(into hasher: inout Hasher) {
        let hashed: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil { Array(string.utf8).withUnsafeBytes { hasher.combine(bytes: $0) } }
        hasher.combine(string.utf8.count)
    }

    public var description: String { string }
}

extension String {
    /// `true` when the two strings have the same UTF-8 bytes (not merely canonically equivalent).
    @inlinable public func sameBytes(as other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}
