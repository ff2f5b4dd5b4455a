import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Recommending
import SRGNN

/// The service's error while it runs. Mostly a request it refuses, answered as
/// `{"error": {"code": …, "message": …}}`, the message saying what to fix; otherwise (`kind`) a
/// model file a reload refused, the events log that cannot be written, or a file it reads that
/// cannot be used: those are answered only by the handler that meets them, in its own words (422
/// `model_refused`, 503 `events_log_unavailable`), and reach the error middleware as a 500 at most.
/// A bad start (flags, token, key, split) is a `ServingConfigurationError`.
public struct ServingError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Sent with the answer besides `Content-Type` (`Retry-After`, `Accept-Encoding`).
    public var extraHeaders: HTTPFields
    public var kind: Kind

    /// What an error is about.
    public enum Kind: Sendable, Equatable {
        /// A request refused, with `status`: described as `<status> <code>: <message>`.
        case request
        /// A model file a reload refused (the old model keeps serving): which file, and why.
        case reloadRefused
        /// The events log cannot be opened or written.
        case eventsLog
        /// A file the service reads (catalog, admin token, events key) cannot be used: which one,
        /// what for, and why (never its contents).
        case file
        /// The catalog cannot be read: its file, line and field.
        case catalog
    }

    /// A request refused with `status`.
    public init(_ status: HTTPResponse.Status, code: String, message: String, extraHeaders: HTTPFields = [:]) {
        self.init(kind: .request, status, code: code, message: message, extraHeaders: extraHeaders)
    }

    private init(kind: Kind, _ status: HTTPResponse.Status, code: String, message: String, extraHeaders: HTTPFields = [:]) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.extraHeaders = extraHeaders
    }

    /// A refused request as `<status> <code>: <message>`; any other error as its message alone.
    public var description: String { kind == .request ? "\(status.code) \(code): \(message)" : message }

    /// A reload that refuses the file at `path` (nil when no file was named and the served model
    /// has none) for `reason`.
    static func reloadRefused(path: String?, reason: String) -> ServingError {
        ServingError(
            kind: .reloadRefused, .unprocessableContent, code: "model_refused",
            message: path.map { "cannot reload from \($0): \(reason)" } ?? "cannot reload: \(reason)")
    }

    /// The events log cannot be opened or written: `message` names the path and the reason.
    static func eventsLog(_ message: String) -> ServingError {
        ServingError(kind: .eventsLog, .serviceUnavailable, code: "events_log_unavailable", message: message)
    }

    /// A file the service cannot use (`ServiceFile`): `message` names it, what for, and why.
    static func file(_ message: String) -> ServingError {
        ServingError(kind: .file, .internalServerError, code: "internal_error", message: message)
    }

    /// A catalog file that cannot be read: `reason` names the file, the line and the field.
    static func catalogRefused(_ reason: String) -> ServingError {
        ServingError(kind: .catalog, .internalServerError, code: "internal_error", message: "the catalog is refused: \(reason)")
    }

    public var headers: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers.append(contentsOf: extraHeaders)
        return headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        errorResponse()
    }

    func errorResponse() -> Response {
        // Two strings always encode; the literal is only there so that this cannot throw.
        let body =
            (try? JSONText.data(ErrorResponse(code: code, message: message)))
            ?? Data(#"{"error":{"code":"internal_error","message":"the error could not be encoded"}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The request's HTTP framing is broken (a chunk size that is not hexadecimal, say): the body
    /// cannot be read, so the connection is closed after the answer.
    static func malformedFraming(_ error: HTTPParserError) -> ServingError {
        ServingError(
            .badRequest, code: "malformed_request",
            message:
                "the request's HTTP framing is invalid (\(error)); a chunked body needs each chunk size as hexadecimal digits on its own line, e.g. \"1a\\r\\n\""
        )
    }

    /// 499 (nginx's "client closed request"): the client went away before its request was read.
    /// The answer reaches no one; the status keeps such requests out of the 5xx counts.
    static let clientClosedRequest = ServingError(
        HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"),
        code: "client_closed_request",
        message: "the client closed the connection before the request was read")

    /// 405 for a route that exists under other methods; `Allow` lists them.
    static func methodNotAllowed(_ method: HTTPRequest.Method, path: String, allowed: [HTTPRequest.Method]) -> ServingError {
        let names = allowed.map(\.rawValue).joined(separator: ", ")
        return ServingError(
            .methodNotAllowed, code: "method_not_allowed",
            message: "\(path) does not take \(method.rawValue); use \(names)")
    }

    static let shuttingDown = ServingError(
        .serviceUnavailable, code: "shutting_down",
        message: "the service is shutting down; retry on another instance")

    /// 415 for a body sent compressed (`Content-Encoding` other than `identity`): the service reads
    /// JSON bytes only, and says so in `Accept-Encoding` (RFC 7694).
    static func unsupportedEncoding(_ encoding: String) -> ServingError {
        ServingError(
            .unsupportedMediaType, code: "unsupported_content_encoding",
            message: "the body is sent with Content-Encoding \(encoding.prefix(40)); send it uncompressed (identity)",
            extraHeaders: [.acceptEncoding: "identity"])
    }

    /// 429 when `POST /v1/events` is over its budget of events per second (`EventBudget`).
    static func eventsOverBudget(perSecond: Int) -> ServingError {
        ServingError(
            .tooManyRequests, code: "too_many_events",
            message:
                "over the limit of \(perSecond) events per second (--max-events-per-second); the event was not recorded, retry after a second",
            extraHeaders: [.retryAfter: "1"])
    }

    static func bodyTooLarge(limit: Int) -> ServingError {
        ServingError(
            .contentTooLarge, code: "body_too_large",
            message:
                "the request body is over the limit of \(limit) bytes; send fewer or shorter sessions (or start the server with a larger --max-body-size)"
        )
    }

    /// The 422 or 400 for a session the recommender cannot score; `batch` names the session.
    static func recommender(_ error: RecommenderError, batch: Bool) -> ServingError {
        switch error {
        case let .emptySession(index):
            let place = batch ? "sessions[\(index)]" : "the session"
            return ServingError(
                .unprocessableContent, code: "empty_session",
                message: "\(place) has no items; give at least one clicked item id in \"items\"")
        case let .noKnownItems(index, unknown):
            let place = batch ? "sessions[\(index)]" : "the session"
            let shown =
                unknown.count > 10
                ? unknown.prefix(10).joined(separator: ", ") + ", … (\(unknown.count) in all)" : unknown.joined(separator: ", ")
            return ServingError(
                .unprocessableContent, code: "no_known_items",
                message: "none of the items of \(place) is known to the model (\(shown)); send item ids from the training click log")
        case let .invalidK(_, k):
            return ServingError(.badRequest, code: "invalid_k", message: "\"k\" must be at least 1, got \(k)")
        case let .invalidFilter(index, reason):
            return ServingError(.badRequest, code: "invalid_filter", message: (batch ? "sessions[\(index)]: " : "") + reason)
        }
    }
}

/// Turns every error into the JSON error form: `ServingError` as is, Hummingbird's own errors
/// (unknown route, body too large) with their status, a wrong method on a known route as 405 with
/// `Allow`, broken HTTP framing as 400, a client gone mid-request as 499, anything else as a 500.
/// Only the 500s are logged as errors: the others are the client's doing.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServingError {
            // Only a refused request is answered in its own words; the others are the server's.
            guard error.kind == .request else { return internalError(request, error) }
            return error.errorResponse()
        } catch let error as HTTPParserError {
            if error == .invalidEOFState || error == .closedConnection {
                return clientClosed(request, error)
            }
            logger.debug("malformed request framing", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            var response = ServingError.malformedFraming(error).errorResponse()
            response.headers[.connection] = "close"
            return response
        } catch let error as IOError {
            return clientClosed(request, error)
        } catch let error as ChannelError {
            return clientClosed(request, error)
        } catch let error as any HTTPResponseError {
            let status = error.status
            if status == .notFound, let allowed = ServiceRoutes.methods(for: request.uri.path) {
                var response = ServingError.methodNotAllowed(request.method, path: request.uri.path, allowed: allowed).errorResponse()
                response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
                return response
            }
            let message: String
            switch status {
            case .notFound:
                message =
                    "no route \(request.method) \(request.uri.path); the routes are \(ServiceRoutes.all.map { "\($0.method) \($0.path)" }.joined(separator: ", "))"
            case .contentTooLarge:
                message = "the request body is too large"
            default:
                message = (error as? HTTPError)?.body ?? status.reasonPhrase
            }
            var response = ServingError(
                status, code: status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"),
                message: message
            ).errorResponse()
            for field in (error as? HTTPError)?.headers ?? [:] where field.name != .contentType && field.name != .contentLength {
                response.headers.append(field)
            }
            return response
        } catch {
            return internalError(request, error)
        }
    }

    /// A 500 for anything the client did not cause; logged, and never says more to the client.
    private func internalError(_ request: Request, _ error: any Error) -> Response {
        logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
        return ServingError(
            .internalServerError, code: "internal_error",
            message: "the server failed to answer this request; it has been logged"
        ).errorResponse()
    }

    /// The client went away mid-request (closed, reset, or timed out by `RequestDeadlineHandler`).
    private func clientClosed(_ request: Request, _ error: any Error) -> Response {
        logger.debug("client closed the connection mid-request", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
        return ServingError.clientClosedRequest.errorResponse()
    }
}
