import ArgumentParser
import Foundation
import Testing
import TestSupport
@testable import SRGNNCLI

/// `srgnn ab-report`'s flags: several logs after one `--events`, the split and the lift checked
/// before any log is read, and the report written as HTML.
@Suite("srgnn ab-report options")
struct ABReportCommandTests {
    @Test func logsSplitAndFlagsParse() throws {
        let command = try ABReportCommand.parse([
            "--events", "1.jsonl", "2.jsonl", "--split", "a=50,b=50", "--min-lift", "0.05", "--json", "--html", "r.html",
        ])
        #expect(command.events == ["1.jsonl", "2.jsonl"] && command.split == "a=50,b=50" && command.minLift == 0.05)
        #expect(command.json && command.html == "r.html")
        #expect(try ABReportCommand.parseSplit("a=90,b=10")?.map(\.weight) == [90, 10])
    }

    @Test(arguments: [
        (["--split", "a=50,b=x"], "\"b=x\" is not NAME=WEIGHT"), (["--split", "a=1,a=2"], "a is given twice"),
        (["--split", "a=0,b=0"], "every weight is 0"), (["--min-lift", "0"], "--min-lift"), (["--min-lift", "-1.5"], "--min-lift"),
    ])
    func mistakesAreRefusedNamingTheFlag(arguments: [String], message: String) {
        do {
            _ = try ABReportCommand.parse(["--events", "log.jsonl"] + arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            #expect(ABReportCommand.message(for: error).contains(message), "\(ABReportCommand.message(for: error))")
        }
        #expect(throws: (any Error).self) { try ABReportCommand.parse([]) }
    }

    /// The HTML page is written whole, and a bad line stops the command with the file and line.
    @Test func writesTheHTMLPageAndNamesABadLine() throws {
        let folder = try TemporaryFolder(prefix: "srgnn-ab-command")
        defer { folder.cleanUp() }
        let log = try folder.file(
            "events.jsonl",
            #"{"items":[1,2],"model":"a","recommendation_id":"r1","session_id":"s1","type":"impression"}"# + "\n"
                + #"{"items":[2,1],"model":"b","recommendation_id":"r2","session_id":"s2","type":"impression"}"# + "\n"
                + #"{"item":2,"model":"b","recommendation_id":"r2","type":"click"}"# + "\n")
        let page = folder.path + "/report.html"
        try ABReportCommand.parse(["--events", log, "--html", page]).run()
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n") && html.contains("<td>b</td>"))
        let bad = try folder.file("bad.jsonl", "{\"type\": \"impression\"\n")
        do {
            try ABReportCommand.parse(["--events", log, bad]).run()
            Issue.record("a bad line was accepted")
        } catch {
            #expect("\(error)".hasPrefix(bad + ": line 1: not JSON"), "\(error)")
        }
    }
}
