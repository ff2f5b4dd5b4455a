import CoreMetrics
import Foundation
import Hummingbird
import Metrics
import Prometheus

/// The service's metrics: recorded through swift-metrics, kept in a Prometheus registry of the
/// service's own (not the process-wide bootstrap, so tests and several apps in one process each
/// see only their own counts), and exposed by `GET /metrics` in the Prometheus text format.
///
/// - `http_requests_total{route, method, status}`: requests answered; a client that disconnects
///   before its request is read is counted under status 499 ("client closed request", as nginx),
///   never under 5xx.
/// - `http_request_duration_seconds{route, method}`: handler latency histogram, 0.5 ms…1 s.
/// - `inference_batch_sessions`: sessions per pass of the model (how much requests coalesce).
/// - `http_request_read_timeouts_total`: connections closed because a request was not read in
///   full within the request read timeout (slow or stalled clients).
/// - `http_connections_refused_per_client_total`: connections closed at once because their client
///   address already had `--max-connections-per-client` open.
///
/// Per variant of an A/B test (label `model`, the variant's name; `default` for a single model):
/// - `srgnn_model_reloads_total{model}`: reloads that swapped a new model in (SIGHUP or the admin route).
/// - `srgnn_model_reload_failures_total{model}`: reloads refused (missing, corrupt or unusable
///   file); the old model kept serving.
/// - `srgnn_model_load_seconds{model}`: seconds the served model took to read, check and warm up.
/// - `srgnn_model_loaded_timestamp_seconds{model}`: Unix time the served model was swapped in.
/// - `srgnn_variant_recommendations_total{model}`: sessions answered (one per batch entry).
/// - `srgnn_variant_events_total{model, type}`: events recorded (`POST /v1/events`), by type.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let cache = NSLockedDictionary()
    let batchSessions: CoreMetrics.Recorder
    let requestReadTimeouts: CoreMetrics.Counter
    let connectionsRefusedPerClient: CoreMetrics.Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["http_request_duration_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.valueHistogramBuckets["inference_batch_sessions"] = [1, 2, 4, 8, 16, 32, 64, 128]
        self.factory = factory
        batchSessions = CoreMetrics.Recorder(label: "inference_batch_sessions", dimensions: [], aggregate: true, factory: factory)
        requestReadTimeouts = CoreMetrics.Counter(label: "http_request_read_timeouts_total", dimensions: [], factory: factory)
        connectionsRefusedPerClient = CoreMetrics.Counter(
            label: "http_connections_refused_per_client_total", dimensions: [], factory: factory)
    }

    /// Counts one answered request and records its latency.
    func record(route: String, method: String, status: Int, nanoseconds: UInt64) {
        let key = "\(route) \(method) \(status)"
        let (counter, timer) = cache.value(for: key) {
            (
                CoreMetrics.Counter(
                    label: "http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                    factory: factory),
                CoreMetrics.Timer(
                    label: "http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory)
            )
        }
        counter.increment()
        timer.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// Everything recorded, in the Prometheus text exposition format.
    public func exposition() -> String { registry.emitToString() }
}

/// Handles of metrics already made, by key; made once under the lock.
private final class NSLockedDictionary: @unchecked Sendable {
    // @unchecked: `values` is only touched under `lock`.
    private let lock = NSLock()
    private var values: [String: (CoreMetrics.Counter, CoreMetrics.Timer)] = [:]

    func value(for key: String, make: () -> (CoreMetrics.Counter, CoreMetrics.Timer)) -> (CoreMetrics.Counter, CoreMetrics.Timer) {
        lock.withLock {
            if let value = values[key] { return value }
            let value = make()
            values[key] = value
            return value
        }
    }
}

/// Records every request in `ServiceMetrics`, with the status it finally got (runs outside the
/// JSON error middleware, so refused requests are counted under their 4xx).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let method = request.method.rawValue
        do {
            let response = try await next(request, context)
            metrics.record(
                route: Self.route(request, context: context, status: response.status), method: method,
                status: response.status.code, nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            metrics.record(
                route: Self.route(request, context: context, status: status), method: method, status: status.code,
                nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
            throw error
        }
    }

    /// The `route` label: the matched route; for a 405, the route the path names (the router found
    /// no handler for the method, so it calls it `NotFound`). Only paths of `ServiceRoutes` become
    /// labels, so clients cannot add label values.
    static func route(_ request: Request, context: Context, status: HTTPResponse.Status) -> String {
        if status == .methodNotAllowed, ServiceRoutes.methods(for: request.uri.path) != nil { return request.uri.path }
        return context.endpointPath ?? "unmatched"
    }
}
