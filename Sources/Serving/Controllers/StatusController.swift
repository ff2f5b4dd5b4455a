import Hummingbird
import NIOCore
import Recommending

/// The routes that describe the service rather than answer for a session: health, readiness, the
/// served models, the OpenAPI document and the metrics.
struct StatusController: Sendable {
    /// Its routes in `ServiceRoutes`.
    enum Handler: Sendable { case health, ready, model, models, openAPI, metrics }

    let queue: InferenceQueue
    let registry: ModelRegistry
    let metrics: ServiceMetrics

    func addRoutes(to router: some RouterMethods<BasicRequestContext>) {
        for route in ServiceRoutes.all {
            guard case .status(let handler) = route.handler else { continue }
            let path = RouterPath(route.path)
            switch handler {
            case .health: router.on(path, method: route.method, use: health)
            case .ready: router.on(path, method: route.method, use: ready)
            case .model: router.on(path, method: route.method, use: model)
            case .models: router.on(path, method: route.method, use: models)
            case .openAPI: router.on(path, method: route.method, use: openAPI)
            case .metrics: router.on(path, method: route.method, use: exposition)
            }
        }
    }

    /// Alive: answers while the process runs.
    @Sendable func health(_ request: Request, context: BasicRequestContext) throws -> Response {
        try jsonResponse(StatusResponse(status: "ok"))
    }

    /// Ready: the model is loaded and requests are taken (503 once shutdown begins).
    @Sendable func ready(_ request: Request, context: BasicRequestContext) throws -> Response {
        guard queue.isAccepting else { throw ServingError.shuttingDown }
        return try jsonResponse(StatusResponse(status: "ready", items: registry.all[0].served.recommender.itemCount))
    }

    /// The first variant's model: configuration, training date, metrics and lineage from the checkpoint; file, SHA-256, load time.
    @Sendable func model(_ request: Request, context: BasicRequestContext) throws -> Response {
        try jsonResponse(ModelDescription(registry.all[0].served, name: registry.all[0].name))
    }

    /// Every variant, as `/v1/model` describes one, with the split.
    @Sendable func models(_ request: Request, context: BasicRequestContext) throws -> Response {
        try jsonResponse(VariantsDescription(registry))
    }

    /// The OpenAPI document of every route (openapi.yaml, embedded at build time).
    @Sendable func openAPI(_ request: Request, context: BasicRequestContext) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml + "\n")))
    }

    /// Request counts and latency in the Prometheus text format.
    @Sendable func exposition(_ request: Request, context: BasicRequestContext) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
}
