import Foundation
import FuzzSupport
import Hummingbird
@testable import Serving
import Recommending
import SRGNN

/// What the two recommendation routes do with a body, without the socket: decode, check `k`,
/// validate, recommend with a small model, encode the answer. The first byte picks the route.
/// Bad bodies must end in a `ServingError` (a 4xx), never a crash.
let recommender: Recommender = {
    let model = try! SRGNNModel(configuration: SRGNNConfiguration(itemCount: 50, hiddenSize: 4), seed: 1)
    let path = Scratch.folder + "/model.safetensors"
    try! model.saveWeights(to: path)
    return try! Recommender(contentsOf: path)
}()
let limits = Limits(configuration: ServingConfiguration())

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let body = ByteBuffer(bytes: bytes[1...])
    do {
        if bytes[0] % 2 == 0 {
            let parsed = try decodeBody(RecommendationRequest.self, from: body, example: "{}")
            let query = RecommendationQuery(
                session: parsed.items.map(\.raw), k: try limits.check(k: parsed.k),
                excludeSeen: parsed.excludeSeen ?? false)
            let result = try recommender.recommend([query])[0]
            _ = try JSONText.data(RecommendationResponse(result, sent: parsed.items))
        } else {
            let parsed = try decodeBody(BatchRecommendationRequest.self, from: body, example: "{}")
            let k = try limits.check(k: parsed.k)
            let queries = parsed.sessions.prefix(100).map {
                RecommendationQuery(session: $0.items.map(\.raw), k: k, excludeSeen: parsed.excludeSeen ?? false)
            }
            let results = try recommender.recommend(Array(queries))
            _ = try JSONText.data(BatchRecommendationResponse(results: zip(results, queries).map { RecommendationResponse($0.0) }))
        }
    } catch is ServingError {
    } catch is RecommenderError {
    } catch {
        fatalError("a request body ended in an error that is not a 4xx: \(error)")
    }
    return 0
}
