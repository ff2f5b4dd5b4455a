import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import SRGNN

/// The recommendation service: routes, middleware and the inference threads, built from its
/// dependencies so that tests run it in memory (`app.test(.router)`) or over a real socket.
///
/// The returned application runs the inference queue as one of its services; `runService()`
/// shuts down gracefully on SIGTERM and SIGINT: the server stops accepting connections, answers
/// the requests in flight, then the inference threads end.
///
/// No client holds a socket for long: a connection that sends nothing is closed after
/// `idleTimeout`, a request not read in full within `requestReadTimeout` of its first byte is
/// dropped with its connection (`RequestDeadlineHandler`), and at most `maxConnections` are open.
public func buildApplication(
    configuration: ServingConfiguration,
    recommender: Recommender,
    metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "srgnn.serve"),
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try configuration.validate()
    let queue = InferenceQueue(recommender: recommender, threads: configuration.inferenceThreads,
                               maxCoalescedSessions: configuration.maxCoalescedSessions,
                               onBatch: { metrics.batchSessions.record($0) })
    let router = buildRouter(configuration: configuration, queue: queue, metrics: metrics, logger: logger)
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [RequestDeadlineHandler(timeout: TimeAmount(configuration.requestReadTimeout),
                                                           onTimeout: { metrics.requestReadTimeouts.increment() })],
        idleTimeout: TimeAmount(configuration.idleTimeout))
    return Application(
        router: router,
        server: .http1(configuration: http1),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "srgnn",
                             availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
        services: [queue],
        onServerRunning: { channel in
            let address = channel.localAddress.map { "\($0.ipAddress ?? configuration.host):\($0.port ?? configuration.port)" }
                ?? "\(configuration.host):\(configuration.port)"
            await onServerRunning(address)
        },
        logger: logger
    )
}

/// The routes of the service over `queue`'s recommender (see `buildApplication`).
public func buildRouter(configuration: ServingConfiguration, queue: InferenceQueue, metrics: ServiceMetrics,
                        logger: Logger) -> Router<BasicRequestContext> {
    let recommender = queue.recommender
    let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware(logger: logger))

    let single = #"{"items": [214826, 214827], "k": 20, "exclude_seen": false}"#
    let batch = #"{"sessions": [{"items": [214826, 214827]}, {"items": ["a17"]}], "k": 20}"#
    let limits = Limits(configuration: configuration)

    /// Top-k next items for one session.
    router.post("/v1/recommendations") { request, _ -> Response in
        let body = try await limits.collect(request)
        let parsed = try decodeBody(RecommendationRequest.self, from: body, example: single)
        let k = try limits.check(k: parsed.k)
        let query = RecommendationQuery(session: parsed.items.map(\.raw), k: k, excludeSeen: parsed.excludeSeen ?? false)
        do { try recommender.validate(query) } catch let error as RecommenderError {
            throw ServingError.recommender(error, batch: false)
        }
        let result = try await queue.recommend([query])[0]
        return try jsonResponse(RecommendationResponse(result, sent: parsed.items))
    }

    /// Top-k next items for each of several sessions, scored as one batch.
    router.post("/v1/recommendations/batch") { request, _ -> Response in
        let body = try await limits.collect(request)
        let parsed = try decodeBody(BatchRecommendationRequest.self, from: body, example: batch)
        let k = try limits.check(k: parsed.k)
        guard !parsed.sessions.isEmpty else {
            throw ServingError(.unprocessableContent, code: "empty_batch", message: "\"sessions\" is empty; send at least one session, e.g. \(batch)")
        }
        guard parsed.sessions.count <= configuration.maxBatch else {
            throw ServingError(.contentTooLarge, code: "batch_too_large",
                               message: "\(parsed.sessions.count) sessions is over the limit of \(configuration.maxBatch) per request; split the batch")
        }
        let queries = parsed.sessions.map {
            RecommendationQuery(session: $0.items.map(\.raw), k: k, excludeSeen: parsed.excludeSeen ?? false)
        }
        for (index, query) in queries.enumerated() {
            do { try recommender.validate(query, index: index) } catch let error as RecommenderError {
                throw ServingError.recommender(error, batch: true)
            }
        }
        let results = try await queue.recommend(queries)
        return try jsonResponse(BatchRecommendationResponse(
            results: zip(results, parsed.sessions).map { RecommendationResponse($0, sent: $1.items) }))
    }

    /// Alive: answers while the process runs.
    router.get("/health") { _, _ -> Response in
        try jsonResponse(StatusResponse(status: "ok"))
    }

    /// Ready: the model is loaded and requests are taken (503 once shutdown begins).
    router.get("/ready") { _, _ -> Response in
        guard queue.isAccepting else { throw ServingError.shuttingDown }
        return try jsonResponse(StatusResponse(status: "ready", items: recommender.itemCount))
    }

    /// The loaded model: configuration, item count, metrics and training date from the checkpoint.
    router.get("/v1/model") { _, _ -> Response in
        try jsonResponse(ModelDescription(recommender))
    }

    /// Request counts and latency in the Prometheus text format.
    router.get("/metrics") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
    return router
}

/// Every route of the service, as registered by `buildRouter`: named in 404 answers, and the source
/// of the 405 answer's `Allow` when a known path is asked with another method (each GET route also
/// answers HEAD).
enum ServiceRoutes {
    static let all: [(method: HTTPRequest.Method, path: String)] = [
        (.post, "/v1/recommendations"), (.post, "/v1/recommendations/batch"), (.get, "/v1/model"),
        (.get, "/health"), (.get, "/ready"), (.get, "/metrics"),
    ]

    /// The methods `path` takes, or nil for a path that is not a route.
    static func methods(for path: String) -> [HTTPRequest.Method]? {
        let methods = all.filter { $0.path == path }.map(\.method)
        return methods.isEmpty ? nil : methods.contains(.get) ? methods + [.head] : methods
    }
}

/// The request limits of a `ServingConfiguration`, checked with messages that say what to fix.
struct Limits: Sendable {
    var maxBodyBytes: Int
    var maxK: Int

    init(configuration: ServingConfiguration) {
        maxBodyBytes = configuration.maxBodyBytes
        maxK = configuration.maxK
    }

    /// The body, or a 413 when it is over the limit (refused from `Content-Length` when sent).
    func collect(_ request: Request) async throws -> ByteBuffer {
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
