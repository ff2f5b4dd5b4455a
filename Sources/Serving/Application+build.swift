import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import SessionData
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
///
/// The model can be replaced while the service runs (`ModelReloader`): through
/// `POST /v1/admin/reload`, which needs `adminToken` (without one, admin routes answer 403), and,
/// when `reloadOnHangup` is set, on SIGHUP. `loader` reads the new file (default: the served
/// recommender's session length, catalog file and fallback, warmed up for `maxCoalescedSessions`).
public func buildApplication(
    configuration: ServingConfiguration,
    model: ServedModel,
    loader: ModelLoader? = nil,
    adminToken: AdminToken? = nil,
    reloadOnHangup: Bool = false,
    metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "srgnn.serve"),
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try configuration.validate()
    let queue = InferenceQueue(models: CurrentModel(model), threads: configuration.inferenceThreads,
                               maxCoalescedSessions: configuration.maxCoalescedSessions,
                               onBatch: { metrics.batchSessions.record($0) })
    let reloader = ModelReloader(
        models: queue.models,
        loader: loader ?? ModelLoader(maxSessionLength: model.recommender.maxSessionLength,
                                      warmUpSessions: configuration.maxCoalescedSessions,
                                      catalogPath: model.catalog?.path, fallback: model.recommender.fallback),
        metrics: metrics, logger: logger)
    let router = buildRouter(configuration: configuration, queue: queue, reloader: reloader, adminToken: adminToken,
                             metrics: metrics, logger: logger)
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [RequestDeadlineHandler(timeout: TimeAmount(configuration.requestReadTimeout),
                                                           onTimeout: { metrics.requestReadTimeouts.increment() })],
        idleTimeout: TimeAmount(configuration.idleTimeout))
    return Application(
        router: router,
        server: .http1(configuration: http1),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "srgnn",
                             availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
        services: reloadOnHangup ? [queue, ReloadOnHangup(reloader: reloader)] : [queue],
        onServerRunning: { channel in
            let address = channel.localAddress.map { "\($0.ipAddress ?? configuration.host):\($0.port ?? configuration.port)" }
                ?? "\(configuration.host):\(configuration.port)"
            await onServerRunning(address)
        },
        logger: logger
    )
}

/// The routes of the service over `queue`'s model (see `buildApplication`); `reloader` swaps it.
public func buildRouter(configuration: ServingConfiguration, queue: InferenceQueue, reloader: ModelReloader,
                        adminToken: AdminToken?, metrics: ServiceMetrics, logger: Logger) -> Router<BasicRequestContext> {
    let models = queue.models
    // The load-time gauges show the first model too, not only reloaded ones.
    metrics.recordServed(models.served)
    let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware(logger: logger))

    let single = #"{"items": [214826, 214827], "k": 20, "exclude_seen": false}"#
    let batch = #"{"sessions": [{"items": [214826, 214827]}, {"items": ["a17"]}], "k": 20}"#
    let reload = #"{"model": "/models/new.safetensors"}"#
    let limits = Limits(configuration: configuration)

    // Each request below takes the served model once and keeps it: validated and scored by the
    // same one, whatever reload comes meanwhile.

    /// Top-k next items for one session.
    router.post("/v1/recommendations") { request, _ -> Response in
        let body = try await limits.collect(request)
        let parsed = try decodeBody(RecommendationRequest.self, from: body, example: single)
        let k = try limits.check(k: parsed.k)
        try limits.check(parsed.rules, place: "")
        let query = parsed.rules.query(session: parsed.items, k: k, excludeSeen: parsed.excludeSeen ?? false)
        let model = models.served
        do { try model.recommender.validate(query) } catch let error as RecommenderError {
            throw ServingError.recommender(error, batch: false)
        }
        let result = try await queue.recommend([query], on: model)[0]
        return try jsonResponse(RecommendationResponse(result, sent: parsed.rules.sent(session: parsed.items)))
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
        for (index, session) in parsed.sessions.enumerated() { try limits.check(session.rules, place: "sessions[\(index)].") }
        let queries = parsed.sessions.map { $0.rules.query(session: $0.items, k: k, excludeSeen: parsed.excludeSeen ?? false) }
        let model = models.served
        for (index, query) in queries.enumerated() {
            do { try model.recommender.validate(query, index: index) } catch let error as RecommenderError {
                throw ServingError.recommender(error, batch: true)
            }
        }
        let results = try await queue.recommend(queries, on: model)
        return try jsonResponse(BatchRecommendationResponse(
            results: zip(results, parsed.sessions).map { RecommendationResponse($0, sent: $1.rules.sent(session: $1.items)) }))
    }

    /// Alive: answers while the process runs.
    router.get("/health") { _, _ -> Response in
        try jsonResponse(StatusResponse(status: "ok"))
    }

    /// Ready: the model is loaded and requests are taken (503 once shutdown begins).
    router.get("/ready") { _, _ -> Response in
        guard queue.isAccepting else { throw ServingError.shuttingDown }
        return try jsonResponse(StatusResponse(status: "ready", items: models.served.recommender.itemCount))
    }

    /// The served model: configuration, training date, metrics and lineage from the checkpoint; file, SHA-256, load time.
    router.get("/v1/model") { _, _ -> Response in
        try jsonResponse(ModelDescription(models.served))
    }

    let admin = router.group("/v1/admin").add(middleware: AdminAuthMiddleware(token: adminToken))

    /// Loads the model file named in the body (or the served one again) and swaps it in; 422 when refused.
    admin.post("reload") { request, _ -> Response in
        let body = try await limits.collect(request)
        let requested: String?
        if body.readableBytesView.allSatisfy({ [0x20, 0x09, 0x0a, 0x0d].contains($0) }) {
            requested = nil
        } else {
            requested = try decodeBody(ReloadRequest.self, from: body, example: reload).model
            if requested?.isEmpty == true {
                throw ServingError(.badRequest, code: "invalid_request", message: #""model" is empty; name a checkpoint file, e.g. "# + reload)
            }
        }
        do {
            let (served, replaced) = try await reloader.reload(from: requested, trigger: "POST /v1/admin/reload")
            return try jsonResponse(ReloadResponse(served: served, replaced: replaced))
        } catch let error as ModelReloadError {
            let kept = models.served
            throw ServingError(.unprocessableContent, code: "model_refused",
                               message: "\(error); still serving \(kept.path ?? "the model given at start") (sha256 \(kept.sha256))")
        }
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
        (.get, "/health"), (.get, "/ready"), (.get, "/metrics"), (.post, "/v1/admin/reload"),
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
        let counts = [("exclude", rules.exclude?.count ?? 0, "ids"), ("candidates", rules.candidates?.count ?? 0, "ids"),
                      ("filter", rules.filter?.values.reduce(0) { $0 + $1.count } ?? 0, "values")]
        for (field, count, unit) in counts where count > maxRuleItems {
            throw ServingError(.contentTooLarge, code: "list_too_long",
                               message: "\"\(place)\(field)\" has \(count) \(unit), over the limit of \(maxRuleItems) per session; send fewer")
        }
        if let attributes = rules.filter?.count, attributes > Catalog.maximumAttributes {
            throw ServingError(.contentTooLarge, code: "list_too_long",
                               message: "\"\(place)filter\" names \(attributes) attributes, over the limit of \(Catalog.maximumAttributes) (the most a catalog has)")
        }
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
