import Hummingbird
import Recommending

/// `POST /v1/admin/reload`, behind the admin token (`AdminAuthMiddleware`: 403 without one
/// configured, 401 without the right one).
struct AdminController: Sendable {
    /// Its routes in `ServiceRoutes`.
    enum Handler: Sendable { case reload }

    let registry: ModelRegistry
    let limits: Limits
    let adminToken: AdminToken?
    /// Gets a `start` line after a reload that swapped at least one model.
    let eventsLog: EventsLog?

    static let example = #"{"variant": "b", "model": "/models/new.safetensors"}"#

    func addRoutes(to router: some RouterMethods<BasicRequestContext>) {
        let admin = router.group().add(middleware: AdminAuthMiddleware(token: adminToken))
        for route in ServiceRoutes.all {
            guard case .admin(let handler) = route.handler else { continue }
            switch handler {
            case .reload: admin.on(RouterPath(route.path), method: route.method, use: reload)
            }
        }
    }

    /// Loads the model file named in the body (or the served one again) into a variant, or every
    /// variant from its own file, and swaps it in; 422 when refused.
    @Sendable func reload(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await limits.collect(request)
        var requested = ReloadRequest()
        if !body.readableBytesView.allSatisfy({ [0x20, 0x09, 0x0a, 0x0d].contains($0) }) {
            requested = try decodeBody(ReloadRequest.self, from: body, example: Self.example)
            if requested.model?.isEmpty == true {
                throw ServingError(
                    .badRequest, code: "invalid_request", message: #""model" is empty; name a checkpoint file, e.g. "# + Self.example)
            }
        }
        let targets = try targets(of: requested)
        // One after another, each on its own: a refused one leaves the others reloaded.
        var reloaded = [ReloadResponse](), refused = [String]()
        for variant in targets {
            do {
                let (served, replaced, overlap) = try await variant.reload(
                    from: requested.model, force: requested.force ?? false,
                    trigger: "POST /v1/admin/reload")
                reloaded.append(ReloadResponse(variant: variant.name, served: served, replaced: replaced, overlap: overlap))
            } catch let error as ServingError where error.kind == .reloadRefused {
                let kept = variant.served
                refused.append(
                    "\(variant.name): \(error); still serving \(kept.path ?? "the model given at start") (sha256 \(kept.sha256))")
            }
        }
        if !reloaded.isEmpty { eventsLog?.logStart(registry, trigger: "POST /v1/admin/reload") }
        guard refused.isEmpty else {
            let others = reloaded.isEmpty ? "" : "; reloaded \(reloaded.map(\.variant).joined(separator: ", "))"
            throw ServingError(.unprocessableContent, code: "model_refused", message: refused.joined(separator: "; ") + others)
        }
        return try targets.count == 1 ? jsonResponse(reloaded[0]) : jsonResponse(ReloadAllResponse(variants: reloaded))
    }

    /// The variants a reload request names: the one of `variant`, else the only one, else every
    /// one (when no `model` is given: each reloads from its own file).
    private func targets(of requested: ReloadRequest) throws -> [ModelRegistry.Variant] {
        if let name = requested.variant {
            guard let variant = registry.named(name) else {
                throw ServingError(
                    .badRequest, code: "unknown_variant",
                    message: "\"variant\" names no served variant (\"\(name)\"); the variants are \(registry.listed)")
            }
            return [variant]
        } else if registry.all.count == 1 {
            return registry.all
        } else if requested.model != nil {
            throw ServingError(
                .badRequest, code: "variant_required",
                message:
                    "with several variants, say which one loads \"model\": add \"variant\", one of \(registry.listed), e.g. \(Self.example)"
            )
        } else {
            return registry.all
        }
    }
}
