import Foundation
import Testing
import TestSupport

/// Issue 29, item 4: `srgnn recommend`'s flags compare catalogue values by the same rule as the
/// service (`41.0` matches `41`), and a `1e400` in an `--input` line says what is wrong with it.
@Suite("srgnn recommend: one rule for catalogue values")
struct ValueRuleCommandTests {
    @Test("--filter size=2.0 (and 2e0, \" 2 \") answers as --filter size=2; size=02 matches nothing")
    func numberLikeFilterValues() throws {
        let base = ["--items", "503,a17", "--k", "29", "--json"]
        let two = try RulesCommandTests.recommend(base + ["--filter", "size=2"])
        #expect(two.status == 0, "\(two.error)")
        #expect(two.output.contains("\"id\""), "\(two.output)")  // the catalog has size-2 items
        for value in ["2.0", "2e0", " 2 "] {
            let other = try RulesCommandTests.recommend(base + ["--filter", "size=\(value)"])
            #expect(other.status == 0 && other.output == two.output, "size=\(value): \(other.output) \(other.error)")
        }
        let leadingZero = try RulesCommandTests.recommend(base + ["--filter", "size=02", "--fallback", "none"])
        #expect(leadingZero.status == 0 && !leadingZero.output.contains("\"id\""), "\(leadingZero.output)")
    }

    @Test("a 1e400 filter value in an --input line names the field and says to send it as a string")
    func hugeNumberInAnInputLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file("sessions.jsonl", #"{"session_id": 0, "items": ["503"], "filter": {"size": [1e400]}}"# + "\n")
        let result = try RulesCommandTests.recommend(["--input", input])
        #expect(result.status != 0)
        #expect(
            result.error.contains(#"line 1: "filter.size[0]" is invalid (a number beyond the range of 64-bit floating point"#),
            "\(result.error)")
        #expect(!result.error.contains("wrong type"), "\(result.error)")
    }
}
