import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request is not read in full within `timeout` of its first byte, so a
/// client that sends its head or its body slowly (slowloris) holds a socket for at most `timeout`.
///
/// The clock starts at the first byte of a request and stops at the request's end; it does not run
/// while the service works on a request it has read, nor while the connection waits between
/// requests (Hummingbird's idle timeout closes a connection that sends nothing). Two handlers
/// share it: this one, after the HTTP decoder, sees where each request ends; `RequestBytesHandler`,
/// which this one puts first in the pipeline, sees bytes arrive before the decoder has made a part
/// of them (a request head sent one byte at a time yields no part until its last byte).
///
/// The connection is closed without an answer, as nginx does on its header and body timeouts: the
/// request is incomplete, so the client may not be reading either. A pipelined request's clock
/// starts with its first byte even while the request before it is still being answered.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    private let onTimeout: @Sendable () -> Void
    private var context: ChannelHandlerContext?
    private var deadline: Scheduled<Void>?

    /// `onTimeout` is called, on the event loop, for each connection closed by the deadline.
    init(timeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            try context.pipeline.syncOperations.addHandler(RequestBytesHandler(deadline: self), position: .first)
        } catch {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { stop() }
        context.fireChannelRead(data)
    }

    /// Bytes arrived: they begin a request unless one is already being read.
    fileprivate func bytesArrived() {
        guard deadline == nil, let context else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            deadline = nil
            onTimeout()
            self.context?.close(promise: nil)
        }
    }

    private func stop() {
        deadline?.cancel()
        deadline = nil
    }
}

/// First in the pipeline: tells `RequestDeadlineHandler` that bytes arrived.
private final class RequestBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private weak var deadline: RequestDeadlineHandler?

    init(deadline: RequestDeadlineHandler) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline?.bytesArrived()
        context.fireChannelRead(data)
    }
}
