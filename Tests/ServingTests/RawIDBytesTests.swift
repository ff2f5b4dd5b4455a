import Foundation
@testable import Recommending
import Testing
@testable import Serving

/// Issue 29, item 3: the service pairs the ids it echoes in `unknown_items` with the ids sent byte
/// for byte, so an id comes back in the bytes it was sent (not a canonically equal spelling).
@Suite struct RawIDBytesTests {
    @Test("unknown_items echoes the spelling the model does not know, not the one it knows")
    func echoPairsByBytes() {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        // The model knows the composed spelling; the decomposed one is unknown.
        let sent = [JSONItemID(raw: composed, form: .string), JSONItemID(raw: decomposed, form: .string)]
        let echoed = RecommendationResponse.echo([decomposed], from: sent)
        #expect(echoed.count == 1)
        #expect(echoed.first.map { Array($0.raw.utf8) } == Array(decomposed.utf8))
    }
}
