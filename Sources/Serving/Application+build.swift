import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Recommending
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
/// Several model variants can be served side by side for an A/B test (`split`): a request picks
/// one by name, by its session id, or at random by the split; every answer names its variant and
/// carries a `recommendation_id` that `POST /v1/events` credits back to it, counted in `/metrics`
/// and appended to `eventsLog` when given.
///
/// Each variant's model can be replaced while the service runs (`ModelReloader`): through
/// `POST /v1/admin/reload`, which needs `adminToken` (without one, admin routes answer 403), and,
/// when `reloadOnHangup` is set, on SIGHUP. `loader` reads the new file (default: the first
/// recommender's session length, catalog file and fallback, warmed up for `maxCoalescedSessions`).
public func buildApplication(
    configuration: ServingConfiguration,
    models: [ServedModel],
    split: VariantSplit,
    loader: ModelLoader? = nil,
    adminToken: AdminToken? = nil,
    reloadOnHangup: Bool = false,
    eventsLog: EventsLog? = nil,
    signer: RecommendationIDSigner = .generated(),
    metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "srgnn.serve"),
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try configuration.validate()
    precondition(models.count == split.names.count, "one model per variant of the split")
    let loader =
        loader
        ?? ModelLoader(
            maxSessionLength: models[0].recommender.maxSessionLength,
            warmUpSessions: configuration.maxCoalescedSessions,
            catalogPath: models[0].catalog?.path, fallback: models[0].recommender.fallback)
    let variants = ServedVariants(
        split: split,
        reloaders: zip(split.names, models).map { name, model in
            ModelReloader(
                models: CurrentModel(model), variant: name, loader: loader, metrics: metrics, logger: logger,
                minimumOverlap: configuration.minReloadOverlap)
        }, signer: signer)
    // One queue for every variant: jobs of one model are scored together, jobs of two never are.
    let queue = InferenceQueue(
        models: variants.all[0].models, threads: configuration.inferenceThreads,
        maxCoalescedSessions: configuration.maxCoalescedSessions,
        onBatch: { metrics.batchSessions.record($0) })
    let router = buildRouter(
        configuration: configuration, queue: queue, variants: variants, adminToken: adminToken,
        eventsLog: eventsLog, metrics: metrics, logger: logger)
    let perClient = ConnectionsPerClient(limit: configuration.maxConnectionsPerClient, logger: logger)
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [
            PerClientConnectionLimitHandler(
                connections: perClient,
                onRefused: { metrics.connectionsRefusedPerClient.increment() }),
            RequestDeadlineHandler(
                timeout: TimeAmount(configuration.requestReadTimeout),
                onTimeout: { metrics.requestReadTimeouts.increment() }),
            ExpectContinueHandler(maxBodyBytes: configuration.maxBodyBytes),
        ],
        idleTimeout: TimeAmount(configuration.idleTimeout))
    return Application(
        router: router,
        server: .http1(configuration: http1),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "srgnn",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
        services: reloadOnHangup ? [queue, ReloadOnHangup(variants: variants, eventsLog: eventsLog, logger: logger)] : [queue],
        onServerRunning: { channel in
            let address =
                channel.localAddress.map { "\($0.ipAddress ?? configuration.host):\($0.port ?? configuration.port)" }
                ?? "\(configuration.host):\(configuration.port)"
            await onServerRunning(address)
        },
        logger: logger
    )
}

/// The service over one model: the variant `default`, with all the traffic.
public func buildApplication(
    configuration: ServingConfiguration,
    model: ServedModel,
    loader: ModelLoader? = nil,
    adminToken: AdminToken? = nil,
    reloadOnHangup: Bool = false,
    eventsLog: EventsLog? = nil,
    signer: RecommendationIDSigner = .generated(),
    metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "srgnn.serve"),
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try buildApplication(
        configuration: configuration, models: [model], split: .single, loader: loader, adminToken: adminToken,
        reloadOnHangup: reloadOnHangup, eventsLog: eventsLog, signer: signer, metrics: metrics, logger: logger,
        onServerRunning: onServerRunning)
}

/// The routes of the service over `variants` (see `buildApplication`), scored on `queue`.
public func buildRouter(
    configuration: ServingConfiguration, queue: InferenceQueue, variants: ServedVariants,
    adminToken: AdminToken?, eventsLog: EventsLog? = nil, metrics: ServiceMetrics,
    logger: Logger
) -> Router<BasicRequestContext> {
    // The load-time gauges show the first models too, not only reloaded ones.
    for variant in variants.all { variant.counters.recordServed(variant.models.served) }
    let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware(logger: logger))

    let single = #"{"items": [214826, 214827], "k": 20, "exclude_seen": false}"#
    let batch = #"{"sessions": [{"items": [214826, 214827]}, {"items": ["a17"]}], "k": 20}"#
    let reload = #"{"variant": "b", "model": "/models/new.safetensors"}"#
    let event =
        #"{"recommendation_id": "b.5f0c2a9e8d7b4c3a1f0e9d8c7b6a5f4e.0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f", "item": 214826, "type": "click"}"#
    let limits = Limits(configuration: configuration)
    let eventBudget = EventBudget(perSecond: configuration.maxEventsPerSecond)

    // Each request below takes its variant's served model once and keeps it: validated and scored
    // by the same one, whatever reload comes meanwhile.

    /// Top-k next items for one session, from the variant the request picks.
    router.post("/v1/recommendations") { request, _ -> Response in
        let body = try await limits.collect(request)
        let parsed = try decodeBody(RecommendationRequest.self, from: body, example: single)
        let k = try limits.check(k: parsed.k)
        try limits.check(parsed.rules, place: "")
        let variant = try variants.pick(model: parsed.model, sessionID: parsed.sessionID, sessionField: "session_id")
        let query = parsed.rules.query(session: parsed.items, k: k, excludeSeen: parsed.excludeSeen ?? false)
        let model = variant.models.served
        do { try model.recommender.validate(query) } catch let error as RecommenderError {
            throw ServingError.recommender(error, batch: false)
        }
        let result = try await queue.recommend([query], on: model)[0]
        variant.counters.recommendations.increment()
        var response = RecommendationResponse(result, sent: parsed.rules.sent(session: parsed.items))
        response.model = variant.name
        response.recommendationID = variant.makeRecommendationID()
        return try jsonResponse(response)
    }

    /// Top-k next items for each of several sessions; the sessions of each variant are scored as one batch.
    router.post("/v1/recommendations/batch") { request, _ -> Response in
        let body = try await limits.collect(request)
        let parsed = try decodeBody(BatchRecommendationRequest.self, from: body, example: batch)
        let k = try limits.check(k: parsed.k)
        guard !parsed.sessions.isEmpty else {
            throw ServingError(
                .unprocessableContent, code: "empty_batch", message: "\"sessions\" is empty; send at least one session, e.g. \(batch)")
        }
        guard parsed.sessions.count <= configuration.maxBatch else {
            throw ServingError(
                .contentTooLarge, code: "batch_too_large",
                message: "\(parsed.sessions.count) sessions is over the limit of \(configuration.maxBatch) per request; split the batch")
        }
        for (index, session) in parsed.sessions.enumerated() { try limits.check(session.rules, place: "sessions[\(index)].") }
        let picked = try parsed.sessions.indices.map {
            try variants.pick(model: parsed.model, sessionID: parsed.sessions[$0].sessionID, sessionField: "sessions[\($0)].session_id")
        }
        let queries = parsed.sessions.map { $0.rules.query(session: $0.items, k: k, excludeSeen: parsed.excludeSeen ?? false) }
        // One model per variant for the whole request; sessions checked in order, so the first bad one is named.
        var models = [String: ServedModel]()
        for variant in picked where models[variant.name] == nil { models[variant.name] = variant.models.served }
        for (index, query) in queries.enumerated() {
            do { try models[picked[index].name]!.recommender.validate(query, index: index) } catch let error as RecommenderError {
                throw ServingError.recommender(error, batch: true)
            }
        }
        let groups = Dictionary(grouping: queries.indices, by: { picked[$0].name })
        var results = [RecommendationResult?](repeating: nil, count: queries.count)
        try await withThrowingTaskGroup(of: ([Int], [RecommendationResult]).self) { group in
            for (name, indices) in groups {
                let model = models[name]!, groupQueries = indices.map { queries[$0] }
                group.addTask { (indices, try await queue.recommend(groupQueries, on: model)) }
            }
            for try await (indices, answers) in group {
                for (index, answer) in zip(indices, answers) { results[index] = answer }
            }
        }
        for (name, indices) in groups { variants.named(name)!.counters.recommendations.increment(by: Int64(indices.count)) }
        return try jsonResponse(
            BatchRecommendationResponse(
                results: queries.indices.map { index in
                    var response = RecommendationResponse(
                        results[index]!, sent: parsed.sessions[index].rules.sent(session: parsed.sessions[index].items))
                    response.model = picked[index].name
                    response.recommendationID = picked[index].makeRecommendationID()
                    return response
                }))
    }

    /// Credits a click or purchase to the variant whose answer it came from; logs it when a log is kept.
    router.post("/v1/events") { request, _ -> Response in
        let body = try await limits.collect(request)
        let checked = try CheckedEvent(body: body, variants: variants, example: event)
        let variant = checked.variant
        // After every check, so refused events spend none of the budget.
        guard eventBudget.take() else { throw ServingError.eventsOverBudget(perSecond: eventBudget.perSecond) }
        if let eventsLog {
            do { try await eventsLog.append(checked.record(at: Date())) } catch {
                logger.error("event not recorded: \(error)")
                throw ServingError(
                    .serviceUnavailable, code: "events_log_unavailable",
                    message: "the event could not be written to the events log; it was not recorded, retry later")
            }
        }
        variant.counters.events[checked.type]!.increment()
        return try jsonResponse(EventResponse(model: variant.name))
    }

    /// Alive: answers while the process runs.
    router.get("/health") { _, _ -> Response in
        try jsonResponse(StatusResponse(status: "ok"))
    }

    /// Ready: the model is loaded and requests are taken (503 once shutdown begins).
    router.get("/ready") { _, _ -> Response in
        guard queue.isAccepting else { throw ServingError.shuttingDown }
        return try jsonResponse(StatusResponse(status: "ready", items: variants.all[0].models.served.recommender.itemCount))
    }

    /// The first variant's model: configuration, training date, metrics and lineage from the checkpoint; file, SHA-256, load time.
    router.get("/v1/model") { _, _ -> Response in
        try jsonResponse(ModelDescription(variants.all[0].models.served, name: variants.all[0].name))
    }

    /// Every variant, as `/v1/model` describes one, with the split.
    router.get("/v1/models") { _, _ -> Response in
        try jsonResponse(VariantsDescription(variants))
    }

    let admin = router.group("/v1/admin").add(middleware: AdminAuthMiddleware(token: adminToken))

    /// Loads the model file named in the body (or the served one again) into a variant, or every
    /// variant from its own file, and swaps it in; 422 when refused.
    admin.post("reload") { request, _ -> Response in
        let body = try await limits.collect(request)
        var requested = ReloadRequest()
        if !body.readableBytesView.allSatisfy({ [0x20, 0x09, 0x0a, 0x0d].contains($0) }) {
            requested = try decodeBody(ReloadRequest.self, from: body, example: reload)
            if requested.model?.isEmpty == true {
                throw ServingError(
                    .badRequest, code: "invalid_request", message: #""model" is empty; name a checkpoint file, e.g. "# + reload)
            }
        }
        let targets: [ServedVariant]
        if let name = requested.variant {
            guard let variant = variants.named(name) else {
                throw ServingError(
                    .badRequest, code: "unknown_variant",
                    message: "\"variant\" names no served variant (\"\(name)\"); the variants are \(variants.listed)")
            }
            targets = [variant]
        } else if variants.all.count == 1 {
            targets = variants.all
        } else if requested.model != nil {
            throw ServingError(
                .badRequest, code: "variant_required",
                message: "with several variants, say which one loads \"model\": add \"variant\", one of \(variants.listed), e.g. \(reload)")
        } else {
            targets = variants.all
        }
        // One after another, each on its own: a refused one leaves the others reloaded.
        var reloaded = [ReloadResponse](), refused = [String]()
        for variant in targets {
            do {
                let (served, replaced, overlap) = try await variant.reloader.reload(
                    from: requested.model, force: requested.force ?? false,
                    trigger: "POST /v1/admin/reload")
                reloaded.append(ReloadResponse(variant: variant.name, served: served, replaced: replaced, overlap: overlap))
            } catch let error as ModelReloadError {
                let kept = variant.models.served
                refused.append(
                    "\(variant.name): \(error); still serving \(kept.path ?? "the model given at start") (sha256 \(kept.sha256))")
            }
        }
        guard refused.isEmpty else {
            let others = reloaded.isEmpty ? "" : "; reloaded \(reloaded.map(\.variant).joined(separator: ", "))"
            throw ServingError(.unprocessableContent, code: "model_refused", message: refused.joined(separator: "; ") + others)
        }
        return try targets.count == 1 ? jsonResponse(reloaded[0]) : jsonResponse(ReloadAllResponse(variants: reloaded))
    }

    /// The OpenAPI document of every route above (openapi.yaml, embedded at build time).
    router.get("/openapi.yaml") { _, _ -> Response in
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml + "\n")))
    }

    /// Request counts and latency in the Prometheus text format.
    router.get("/metrics") { _, _ -> Response in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
    return router
}

/// Every route of the service, as registered by `buildRouter`: named in 404 answers, and the source
/// of the 405 answer's `Allow` when a known path is asked with another method (each GET route also
/// answers HEAD).
enum ServiceRoutes {
    static let all: [(method: HTTPRequest.Method, path: String)] = [
        (.post, "/v1/recommendations"), (.post, "/v1/recommendations/batch"), (.get, "/v1/model"), (.get, "/v1/models"),
        (.post, "/v1/events"), (.get, "/health"), (.get, "/ready"), (.get, "/metrics"), (.post, "/v1/admin/reload"),
        (.get, "/openapi.yaml"),
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
