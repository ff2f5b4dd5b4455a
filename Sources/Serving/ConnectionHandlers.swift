import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Open connections per client address (the IP, without the port), shared by every event loop.
final class ConnectionsPerClient: @unchecked Sendable {
    // @unchecked: `counts` is only touched under `lock`.
    let limit: Int
    private let logger: Logger
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Counts one more connection from `client`; false (and not counted) when it already has `limit`.
    func open(_ client: String) -> Bool {
        let opened = lock.withLock {
            let count = counts[client, default: 0]
            guard count < limit else { return false }
            counts[client] = count + 1
            return true
        }
        if !opened {
            logger.debug(
                "connection refused: the client has \(limit) open (--max-connections-per-client)", metadata: ["client": "\(client)"])
        }
        return opened
    }

    /// One connection from `client` closed.
    func close(_ client: String) {
        lock.withLock {
            let count = counts[client, default: 1] - 1
            // No entry is kept for a client with no connection, so the table stays as small as the open connections.
            counts[client] = count > 0 ? count : nil
        }
    }

    /// Open connections from `client` (tests).
    func count(_ client: String) -> Int { lock.withLock { counts[client, default: 0] } }
}

/// Closes a new connection at once when its client address already has `limit` open, so that one
/// client's idle sockets cannot take every connection the server allows (`maxConnections`) and
/// leave everyone else waiting for the idle timeout. The connection is closed without an answer:
/// no request has been read yet.
final class PerClientConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let connections: ConnectionsPerClient
    private let onRefused: @Sendable () -> Void
    /// The client counted for this connection; nil until counted (and for a refused one).
    private var counted: String?
    /// Set once the connection is admitted or refused (`handlerAdded` and `channelActive` may both see it active).
    private var decided = false

    init(connections: ConnectionsPerClient, onRefused: @escaping @Sendable () -> Void = {}) {
        self.connections = connections
        self.onRefused = onRefused
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { release() }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func admit(context: ChannelHandlerContext) {
        guard !decided else { return }
        decided = true
        let client = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if connections.open(client) {
            counted = client
        } else {
            onRefused()
            context.close(promise: nil)
        }
    }

    private func release() {
        if let counted { connections.close(counted) }
        counted = nil
    }
}

/// Answers `Expect: 100-continue` with `100 Continue` as soon as the request head arrives, so a
/// client that waits for it (curl, for bodies over 1 KiB) sends its body at once instead of after a
/// timeout. A body announced over `maxBodyBytes` gets no 100: the route answers 413 from
/// `Content-Length` without reading it. Expectations other than `100-continue` are left to the
/// route (RFC 9110 allows ignoring them).
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let maxBodyBytes: Int

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), Self.wantsContinue(head, maxBodyBytes: maxBodyBytes) {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }

    static func wantsContinue(_ head: HTTPRequest, maxBodyBytes: Int) -> Bool {
        guard head.headerFields[values: .expect].contains(where: { $0.trimmingCharacters(in: .whitespaces).lowercased() == "100-continue" })
        else { return false }
        if let length = head.headerFields[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes { return false }
        // A compressed body is refused (415) unread.
        if let encoding = head.headerFields[.contentEncoding], encoding.lowercased() != "identity" { return false }
        return true
    }
}
