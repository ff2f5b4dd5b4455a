import Foundation
import Hummingbird
import Logging
import SRGNN

/// A request the service refuses, answered as `{"error": {"code": …, "message": …}}`; the message
/// says what to fix.
public struct ServingError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public var headers: HTTPFields { [.contentType: "application/json; charset=utf-8"] }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        errorResponse()
    }

    func errorResponse() -> Response {
        // Two strings always encode; the literal is only there so that this cannot throw.
        let body = (try? JSONText.data(ErrorResponse(code: code, message: message)))
            ?? Data(#"{"error":{"code":"internal_error","message":"the error could not be encoded"}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static let shuttingDown = ServingError(.serviceUnavailable, code: "shutting_down",
                                           message: "the service is shutting down; retry on another instance")

    static func bodyTooLarge(limit: Int) -> ServingError {
        ServingError(.contentTooLarge, code: "body_too_large",
                     message: "the request body is over the limit of \(limit) bytes; send fewer or shorter sessions (or start the server with a larger --max-body-size)")
    }

    /// The 422 or 400 for a session the recommender cannot score; `batch` names the session.
    static func recommender(_ error: RecommenderError, batch: Bool) -> ServingError {
        switch error {
        case let .emptySession(index):
            let place = batch ? "sessions[\(index)]" : "the session"
            return ServingError(.unprocessableContent, code: "empty_session",
                                message: "\(place) has no items; give at least one clicked item id in \"items\"")
        case let .noKnownItems(index, unknown):
            let place = batch ? "sessions[\(index)]" : "the session"
            let shown = unknown.count > 10 ? unknown.prefix(10).joined(separator: ", ") + ", … (\(unknown.count) in all)" : unknown.joined(separator: ", ")
            return ServingError(.unprocessableContent, code: "no_known_items",
                                message: "none of the items of \(place) is known to the model (\(shown)); send item ids from the training click log")
        case let .invalidK(_, k):
            return ServingError(.badRequest, code: "invalid_k", message: "\"k\" must be at least 1, got \(k)")
        }
    }
}

/// Turns every error into the JSON error form: `ServingError` as is, Hummingbird's own errors
/// (unknown route, wrong method, body too large) with their status, anything else as a 500.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServingError {
            return error.errorResponse()
        } catch let error as any HTTPResponseError {
            let status = error.status
            let message: String
            switch status {
            case .notFound:
                message = "no route \(request.method) \(request.uri.path); the routes are POST /v1/recommendations, POST /v1/recommendations/batch, GET /v1/model, GET /health, GET /ready, GET /metrics"
            case .methodNotAllowed:
                message = "\(request.uri.path) does not take \(request.method); see the allowed methods in the Allow header"
            case .contentTooLarge:
                message = "the request body is too large"
            default:
                message = (error as? HTTPError)?.body ?? status.reasonPhrase
            }
            var response = ServingError(status, code: status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"),
                                        message: message).errorResponse()
            for field in (error as? HTTPError)?.headers ?? [:] where field.name != .contentType && field.name != .contentLength {
                response.headers.append(field)
            }
            return response
        } catch {
            logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return ServingError(.internalServerError, code: "internal_error",
                                message: "the server failed to answer this request; it has been logged").errorResponse()
        }
    }
}
