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
/// and appended to `eventsLog` when given. That log also gets a `start` line (the split and model
/// files) when the application is built and after each reload, and an `impression` line per answered
/// session, batched: call `eventsLog.flush()` after the application has stopped.
///
/// Each variant's model can be replaced while the service runs (`ModelRegistry.Variant.reload`): through
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
    let registry = ModelRegistry(
        split: split, models: models, loader: loader, metrics: metrics, logger: logger,
        minimumOverlap: configuration.minReloadOverlap, signer: signer)
    return try buildApplication(
        configuration: configuration, registry: registry, adminToken: adminToken, reloadOnHangup: reloadOnHangup,
        eventsLog: eventsLog, logger: logger, onServerRunning: onServerRunning)
}

/// The service over the variants of `registry` (see above), counted in the registry's metrics;
/// `configuration.minReloadOverlap` is not read (the registry's own minimum holds).
public func buildApplication(
    configuration: ServingConfiguration,
    registry: ModelRegistry,
    adminToken: AdminToken? = nil,
    reloadOnHangup: Bool = false,
    eventsLog: EventsLog? = nil,
    logger: Logger = Logger(label: "srgnn.serve"),
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try configuration.validate()
    // The split in force from here on, for `srgnn ab-report`.
    eventsLog?.logStart(registry, trigger: "start")
    let metrics = registry.metrics
    // One queue for every variant: jobs of one model are scored together, jobs of two never are.
    let queue = InferenceQueue(
        models: registry.all[0], threads: configuration.inferenceThreads,
        maxCoalescedSessions: configuration.maxCoalescedSessions,
        onBatch: { metrics.batchSessions.record($0) })
    let router = buildRouter(
        configuration: configuration, queue: queue, registry: registry, adminToken: adminToken,
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
        services: reloadOnHangup ? [queue, ReloadOnHangup(registry: registry, eventsLog: eventsLog, logger: logger)] : [queue],
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

/// The routes of the service over `registry` (see `buildApplication`), scored on `queue`: the
/// middleware, then each controller's routes from `ServiceRoutes`.
public func buildRouter(
    configuration: ServingConfiguration, queue: InferenceQueue, registry: ModelRegistry,
    adminToken: AdminToken?, eventsLog: EventsLog? = nil, metrics: ServiceMetrics,
    logger: Logger
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware(logger: logger))
    let limits = Limits(configuration: configuration)
    RecommendationController(queue: queue, registry: registry, limits: limits, maxBatch: configuration.maxBatch, eventsLog: eventsLog)
        .addRoutes(to: router)
    EventsController(
        registry: registry, limits: limits, budget: EventBudget(perSecond: configuration.maxEventsPerSecond),
        eventsLog: eventsLog, logger: logger
    ).addRoutes(to: router)
    StatusController(queue: queue, registry: registry, metrics: metrics).addRoutes(to: router)
    AdminController(registry: registry, limits: limits, adminToken: adminToken, eventsLog: eventsLog).addRoutes(to: router)
    return router
}
