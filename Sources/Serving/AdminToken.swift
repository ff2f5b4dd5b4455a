import Foundation
import Hummingbird
import HummingbirdAuth

/// The secret that admin routes (`POST /v1/admin/reload`) ask for as `Authorization: Bearer …`.
///
/// It prints as `<redacted>` wherever it is interpolated (a log line, an error), and is compared
/// in time that does not depend on where a wrong guess first differs.
public struct AdminToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let bytes: [UInt8]

    /// The shortest token accepted, in bytes: a shorter one is quick to guess.
    public static let minimumBytes = 16

    /// `token` as is; refused when empty, shorter than `minimumBytes`, or when it holds a character
    /// an `Authorization` header cannot carry (anything but visible ASCII).
    public init(_ token: String) throws {
        guard !token.isEmpty else { throw ServingConfigurationError("the admin token is empty") }
        guard token.utf8.count >= Self.minimumBytes else {
            throw ServingConfigurationError(
                description:
                    "the admin token is \(token.utf8.count) bytes; it must be at least \(Self.minimumBytes) (e.g. openssl rand -hex 32)")
        }
        guard token.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw ServingConfigurationError(
                description:
                    "the admin token holds a space, control or non-ASCII character; use visible ASCII only (e.g. openssl rand -hex 32)")
        }
        bytes = Array(token.utf8)
    }

    /// The token in the file at `path`, without the whitespace and line breaks around it (an
    /// editor's or `echo`'s trailing newline). The file is checked like every file the service
    /// opens (`ServiceFile`: a regular file, at most 4 KiB, opened without blocking). An unreadable
    /// or empty file is refused with an error naming it; the error never quotes the file's contents.
    public init(contentsOfFile path: String) throws {
        let data: Data
        do {
            data = Data(try ServiceFile.readAll(path, what: "the admin token file", limit: 4096))
        } catch let error as ServingError {
            throw ServingConfigurationError(description: "cannot read the admin token file \(path) (\(error.description))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ServingConfigurationError(description: "the admin token file \(path) is not UTF-8 text")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw ServingConfigurationError(
                description: "the admin token file \(path) is empty; write a token into it, e.g. openssl rand -hex 32 > \(path)")
        }
        do { try self.init(token) } catch let error as ServingConfigurationError {
            throw ServingConfigurationError(description: "\(path): \(error.description)")
        }
    }

    /// Whether `presented` is the token. Every byte of the token is compared, whatever the guess,
    /// so the time taken says nothing about how much of the guess was right.
    public func matches(_ presented: String) -> Bool {
        let given = Array(presented.utf8)
        var difference: UInt8 = given.count == bytes.count ? 0 : 1
        for index in bytes.indices {
            difference |= bytes[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "AdminToken(<redacted>)" }
}

/// Guards the admin routes: 403 when no admin token is configured (admin is off), 401 with
/// `WWW-Authenticate: Bearer` when the request lacks the token or has another one. Never logs the
/// request's headers.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: AdminToken?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else {
            throw ServingError(
                .forbidden, code: "admin_disabled",
                message: "admin routes are disabled; start srgnn serve with --admin-token-file PATH to enable them")
        }
        guard let presented = Self.bearerToken(request.headers[.authorization]) else {
            return unauthorized(
                "this route needs the admin token: send the header Authorization: Bearer <token>",
                challenge: #"Bearer realm="srgnn-admin""#)
        }
        guard token.matches(presented) else {
            return unauthorized(
                "the bearer token is not the admin token",
                challenge: #"Bearer realm="srgnn-admin", error="invalid_token""#)
        }
        return try await next(request, context)
    }

    /// The token of `Authorization: Bearer <token>`; the scheme's name is case-insensitive
    /// (RFC 7235: `bearer` and `BEARER` are `Bearer`), and spaces after it are skipped.
    static func bearerToken(_ authorization: String?) -> String? {
        guard let authorization, let space = authorization.firstIndex(of: " "),
            authorization[..<space].lowercased() == "bearer"
        else { return nil }
        let token = authorization[space...].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    private func unauthorized(_ message: String, challenge: String) -> Response {
        var response = ServingError(.unauthorized, code: "unauthorized", message: message).errorResponse()
        response.headers[.wwwAuthenticate] = challenge
        return response
    }
}
