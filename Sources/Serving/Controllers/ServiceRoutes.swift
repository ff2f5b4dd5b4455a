import Hummingbird
import Recommending

/// A route of the service: its method, its path, and the handler that answers it.
struct ServiceRoute: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let handler: Handler

    init(_ method: HTTPRequest.Method, _ path: String, _ handler: Handler) {
        self.method = method
        self.path = path
        self.handler = handler
    }

    /// The handler, by controller: each controller registers the routes of its own case, and its
    /// `switch` over its own handlers is exhaustive, so no route of the table goes unregistered.
    enum Handler: Sendable {
        case recommendations(RecommendationController.Handler)
        case events(EventsController.Handler)
        case admin(AdminController.Handler)
        case status(StatusController.Handler)
    }
}

/// Every route of the service, the one table behind them all: the controllers register their
/// routes from it, 404 answers name them, a known path asked with another method gets a 405 whose
/// `Allow` it fills (each GET route also answers HEAD), the `route` label of the request metrics
/// takes only its paths, and the contract test checks openapi.yaml against it.
enum ServiceRoutes {
    static let all: [ServiceRoute] = [
        ServiceRoute(.post, "/v1/recommendations", .recommendations(.recommend)),
        ServiceRoute(.post, "/v1/recommendations/batch", .recommendations(.recommendBatch)),
        ServiceRoute(.get, "/v1/model", .status(.model)),
        ServiceRoute(.get, "/v1/models", .status(.models)),
        ServiceRoute(.post, "/v1/events", .events(.record)),
        ServiceRoute(.get, "/health", .status(.health)),
        ServiceRoute(.get, "/ready", .status(.ready)),
        ServiceRoute(.get, "/metrics", .status(.metrics)),
        ServiceRoute(.post, "/v1/admin/reload", .admin(.reload)),
        ServiceRoute(.get, "/openapi.yaml", .status(.openAPI)),
    ]

    /// The methods `path` takes, or nil for a path that is not a route.
    static func methods(for path: String) -> [HTTPRequest.Method]? {
        let methods = all.filter { $0.path == path }.map(\.method)
        return methods.isEmpty ? nil : methods.contains(.get) ? methods + [.head] : methods
    }
}
