import Foundation
import Hummingbird
import SRGNN

/// A refusal: `{"error": {"code": …, "message": …}}`.
public struct ErrorResponse: Encodable, Sendable, Equatable {
    public struct Detail: Encodable, Sendable, Equatable {
        public var code: String
        public var message: String
    }
    public var error: Detail

    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}

/// `GET /health` and `GET /ready`: `{"status": "ok"}`, `{"items": 43097, "status": "ready"}`.
struct StatusResponse: Encodable, Sendable {
    var status: String
    var items: Int?
}

/// `value` as an `application/json` response.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(bytes: try JSONText.data(value))))
}
