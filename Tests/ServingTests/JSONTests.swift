import Foundation
import Recommending
import Testing
import SRGNN
import Serving

/// The wire forms, compared with JSON written out by hand.
@Suite struct JSONTests {
    /// A raw id is a JSON number exactly when it is an integer's canonical text and fits in Int64.
    @Test(arguments: [
        ("12", "12"),
        ("-5", "-5"),
        ("0", "0"),
        ("9223372036854775807", "9223372036854775807"),
        ("-01", #""-01""#),
        ("007", #""007""#),
        ("-0", #""-0""#),
        ("+5", #""+5""#),
        ("a17", #""a17""#),
        ("", #""""#),
        (" 12", #"" 12""#),
        ("1234567890123456789012345", #""1234567890123456789012345""#),
        ("9223372036854775808", #""9223372036854775808""#),
        ("a/b", #""a/b""#),
        ("say \"hi\"\n\u{1}", #""say \"hi\"\n\u0001""#),
    ])
    func itemIDs(raw: String, json: String) throws {
        #expect(try JSONText.string(JSONItemID(raw)) == json)
    }

    @Test func itemIDsReadBackAsSent() throws {
        let decoded = try JSONDecoder().decode([JSONItemID].self, from: Data(#"[17, "17", "007", -5, "x y"]"#.utf8))
        #expect(decoded.map(\.raw) == ["17", "17", "007", "-5", "x y"])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([JSONItemID].self, from: Data("[2.5]".utf8)) }
    }

    @Test func aResponseHasItemsScoresAndUnknownItems() throws {
        let response = RecommendationResponse(
            items: [ScoredItem(id: "1003", score: 1.5), ScoredItem(id: "a17", score: -0.25)],
            unknownItems: ["007", "9"])
        #expect(
            try JSONText.string(response)
                == #"{"items":[{"id":1003,"score":1.5},{"id":"a17","score":-0.25}],"unknown_items":["007",9]}"#)
        // `srgnn recommend --json` leaves the unknown items out.
        let cli = RecommendationResponse(items: [ScoredItem(id: "x", score: 2.5)], unknownItems: nil)
        #expect(try JSONText.string(cli) == #"{"items":[{"id":"x","score":2.5}]}"#)
    }

    @Test func nonFiniteScoresAreNull() throws {
        let items = [ScoredItem(id: "1", score: .nan), ScoredItem(id: "2", score: .infinity), ScoredItem(id: "3", score: -.infinity)]
        #expect(
            try JSONText.string(RecommendationResponse(items: items, unknownItems: []))
                == #"{"items":[{"id":1,"score":null},{"id":2,"score":null},{"id":3,"score":null}],"unknown_items":[]}"#)
    }

    @Test func scoredItemsRoundTrip() throws {
        let items = [ScoredItem<Int32>(id: 7, score: 0.5), ScoredItem(id: 3, score: .nan)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // key order is otherwise unspecified
        let data = try encoder.encode(items)
        #expect(String(decoding: data, as: UTF8.self) == #"[{"id":7,"score":0.5},{"id":3,"score":null}]"#)
        let back = try JSONDecoder().decode([ScoredItem<Int32>].self, from: data)
        #expect(back[0] == items[0])
        #expect(back[1].id == 3 && back[1].score.isNaN)
    }

    @Test func errorsEscapeTheirMessages() throws {
        let error = ErrorResponse(code: "no_known_items", message: "none of (say \"hi\"\n\t\u{7}\\) is known")
        #expect(
            try JSONText.string(error)
                == #"{"error":{"code":"no_known_items","message":"none of (say \"hi\"\n\t\u0007\\) is known"}}"#)
    }
}
