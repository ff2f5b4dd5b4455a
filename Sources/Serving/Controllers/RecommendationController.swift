import Foundation
import Hummingbird
import Recommending
import SRGNN

/// `POST /v1/recommendations` and `POST /v1/recommendations/batch`: top-k next items, from the
/// variant each session picks, scored on the inference queue.
///
/// Each request takes its variant's served model once and keeps it: validated and scored by the
/// same one, whatever reload comes meanwhile. With an events log, each answered session queues one
/// `impression` line (batched: the answer does not wait for the write).
struct RecommendationController: Sendable {
    /// Its routes in `ServiceRoutes`.
    enum Handler: Sendable { case recommend, recommendBatch }

    let queue: InferenceQueue
    let registry: ModelRegistry
    let limits: Limits
    /// Most sessions in one batch request.
    let maxBatch: Int
    let eventsLog: EventsLog?

    static let single = #"{"items": [214826, 214827], "k": 20, "exclude_seen": false}"#
    static let batch = #"{"sessions": [{"items": [214826, 214827]}, {"items": ["a17"]}], "k": 20}"#

    func addRoutes(to router: some RouterMethods<BasicRequestContext>) {
        for route in ServiceRoutes.all {
            guard case .recommendations(let handler) = route.handler else { continue }
            let path = RouterPath(route.path)
            switch handler {
            case .recommend: router.on(path, method: route.method, use: recommend)
            case .recommendBatch: router.on(path, method: route.method, use: recommendBatch)
            }
        }
    }

    /// Top-k next items for one session, from the variant the request picks.
    @Sendable func recommend(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await limits.collect(request)
        let parsed = try decodeBody(RecommendationRequest.self, from: body, example: Self.single)
        let k = try limits.check(k: parsed.k)
        try limits.check(parsed.rules, place: "")
        let variant = try registry.pick(model: parsed.model, sessionID: parsed.sessionID, sessionField: "session_id")
        let query = parsed.rules.query(session: parsed.items, k: k, excludeSeen: parsed.excludeSeen ?? false)
        let model = variant.served
        do { try model.recommender.validate(query) } catch let error as RecommenderError {
            throw ServingError.recommender(error, batch: false)
        }
        let result = try await queue.recommend([query], on: model)[0]
        variant.counters.recommendations.increment()
        var response = RecommendationResponse(result, sent: parsed.rules.sent(session: parsed.items))
        response.model = variant.name
        response.recommendationID = variant.makeRecommendationID()
        logImpression(response, sessionID: parsed.sessionID)
        return try jsonResponse(response)
    }

    /// Top-k next items for each of several sessions; the sessions of each variant are scored as one batch.
    @Sendable func recommendBatch(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await limits.collect(request)
        let parsed = try decodeBody(BatchRecommendationRequest.self, from: body, example: Self.batch)
        let k = try limits.check(k: parsed.k)
        guard !parsed.sessions.isEmpty else {
            throw ServingError(
                .unprocessableContent, code: "empty_batch", message: "\"sessions\" is empty; send at least one session, e.g. \(Self.batch)")
        }
        guard parsed.sessions.count <= maxBatch else {
            throw ServingError(
                .contentTooLarge, code: "batch_too_large",
                message: "\(parsed.sessions.count) sessions is over the limit of \(maxBatch) per request; split the batch")
        }
        for (index, session) in parsed.sessions.enumerated() { try limits.check(session.rules, place: "sessions[\(index)].") }
        let picked = try parsed.sessions.indices.map {
            try registry.pick(model: parsed.model, sessionID: parsed.sessions[$0].sessionID, sessionField: "sessions[\($0)].session_id")
        }
        let queries = parsed.sessions.map { $0.rules.query(session: $0.items, k: k, excludeSeen: parsed.excludeSeen ?? false) }
        // One model per variant for the whole request; sessions checked in order, so the first bad one is named.
        var models = [String: ServedModel]()
        for variant in picked where models[variant.name] == nil { models[variant.name] = variant.served }
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
        for (name, indices) in groups { registry.named(name)!.counters.recommendations.increment(by: Int64(indices.count)) }
        return try jsonResponse(
            BatchRecommendationResponse(
                results: queries.indices.map { index in
                    var response = RecommendationResponse(
                        results[index]!, sent: parsed.sessions[index].rules.sent(session: parsed.sessions[index].items))
                    response.model = picked[index].name
                    response.recommendationID = picked[index].makeRecommendationID()
                    logImpression(response, sessionID: parsed.sessions[index].sessionID)
                    return response
                }))
    }

    /// Queues the impression line of one answered session, when a log is kept.
    private func logImpression(_ response: RecommendationResponse, sessionID: String?) {
        guard let eventsLog, let model = response.model, let recommendationID = response.recommendationID else { return }
        eventsLog.logImpression(
            ImpressionRecord(
                date: Date(), recommendationID: recommendationID, model: model, sessionID: sessionID, items: response.items.map(\.id)))
    }
}
