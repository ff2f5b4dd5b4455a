import Foundation
import Hummingbird
import Logging
import Recommending

/// `POST /v1/events`: credits a click or purchase to the variant whose answer it came from, within
/// a budget of events per second, and appends it to the events log when one is kept.
struct EventsController: Sendable {
    /// Its routes in `ServiceRoutes`.
    enum Handler: Sendable { case record }

    let registry: ModelRegistry
    let limits: Limits
    let budget: EventBudget
    let eventsLog: EventsLog?
    let logger: Logger

    static let example =
        #"{"recommendation_id": "b.5f0c2a9e8d7b4c3a1f0e9d8c7b6a5f4e.0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f", "item": 214826, "type": "click"}"#

    func addRoutes(to router: some RouterMethods<BasicRequestContext>) {
        for route in ServiceRoutes.all {
            guard case .events(let handler) = route.handler else { continue }
            switch handler {
            case .record: router.on(RouterPath(route.path), method: route.method, use: record)
            }
        }
    }

    /// Credits a click or purchase to the variant whose answer it came from; logs it when a log is kept.
    @Sendable func record(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await limits.collect(request)
        let checked = try CheckedEvent(body: body, variants: registry, example: Self.example)
        let variant = checked.variant
        // After every check, so refused events spend none of the budget.
        guard budget.take() else { throw ServingError.eventsOverBudget(perSecond: budget.perSecond) }
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
}
