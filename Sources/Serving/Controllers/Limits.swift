import Foundation
import Hummingbird
import Recommending
import SessionData
import SRGNN

/// The request limits of a `ServingConfiguration`, checked with messages that say what to fix.
struct Limits: Sendable {
    var maxBodyBytes: Int
    var maxK: Int
    var maxRuleItems: Int

    init(configuration: ServingConfiguration) {
        maxBodyBytes = configuration.maxBodyBytes
        maxK = configuration.maxK
        maxRuleItems = configuration.maxRuleItems
    }

    /// A 413 when a session's `exclude`, `candidates` or `filter` is over `maxRuleItems` (ids, or
    /// values over all attributes) or its filter names more attributes than a catalog can have;
    /// `place` prefixes the field (`sessions[2].`).
    func check(_ rules: ItemRules, place: String) throws {
        let counts = [
            ("exclude", rules.exclude?.count ?? 0, "ids"), ("candidates", rules.candidates?.count ?? 0, "ids"),
            ("filter", rules.filter?.values.reduce(0) { $0 + $1.count } ?? 0, "values"),
        ]
        for (field, count, unit) in counts where count > maxRuleItems {
            throw ServingError(
                .contentTooLarge, code: "list_too_long",
                message: "\"\(place)\(field)\" has \(count) \(unit), over the limit of \(maxRuleItems) per session; send fewer")
        }
        if let attributes = rules.filter?.count, attributes > Catalog.maximumAttributes {
            throw ServingError(
                .contentTooLarge, code: "list_too_long",
                message:
                    "\"\(place)filter\" names \(attributes) attributes, over the limit of \(Catalog.maximumAttributes) (the most a catalog has)"
            )
        }
    }

    /// The body, or a 413 when it is over the limit (refused from `Content-Length` when sent), or a
    /// 415 when it is compressed (`Content-Encoding` other than `identity`: it would be read as JSON
    /// bytes and refused as malformed, or worse, taken).
    func collect(_ request: Request) async throws -> ByteBuffer {
        for encoding in request.headers[values: .contentEncoding] {
            for coding in encoding.split(separator: ",") where coding.trimmingCharacters(in: .whitespaces).lowercased() != "identity" {
                throw ServingError.unsupportedEncoding(coding.trimmingCharacters(in: .whitespaces))
            }
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            throw ServingError.bodyTooLarge(limit: maxBodyBytes)
        }
        var request = request
        do {
            return try await request.collectBody(upTo: maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ServingError.bodyTooLarge(limit: maxBodyBytes)
        }
    }

    /// `k` (default `Recommender.defaultK`), or a 400 when it is not an integer in `1...maxK`.
    func check(k: RequestedK?) throws -> Int {
        guard let k else { return Recommender.defaultK }
        guard let value = k.value, (1...maxK).contains(value) else {
            throw ServingError(.badRequest, code: "invalid_k", message: "\"k\" must be an integer in 1...\(maxK), got \(k.text)")
        }
        return value
    }
}
