import Foundation
import Testing
@testable import SessionData

/// The `srgnn` executable end to end (built by `swift build --build-tests`; skipped when absent).
@Suite("srgnn preprocess and stats",
       .enabled(if: Shared.exists(Shared.executable) && Shared.exists(Shared.digineticaSampleLog),
                "needs .build/debug/srgnn and ../shared/data"))
struct CommandLineTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Shared.executable)
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test("preprocess writes a folder whose pickles equal the reference's; stats --json reads it")
    func preprocessThenStats() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let result = try run(["preprocess", "--format", "diginetica", Shared.digineticaSampleLog, "--out", folder.path, "--pickles"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("Kept:     train 469 sessions, 1,674 clicks, 1,205 examples"))
        for name in ["train.txt", "test.txt", "all_train_seq.txt"] {
            #expect(try FileIO.readAll(folder.path + "/" + name) == FileIO.readAll(Shared.digineticaFixture + "/" + name), "\(name)")
        }
        let stats = try run(["stats", folder.path, "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as! [String: Any]
        #expect(json["train_sessions"] as? Int == 469)
        #expect(json["train_examples"] as? Int == 1205)
        #expect(json["test_examples"] as? Int == 99)
        #expect(json["items"] as? Int == 309)
    }

    @Test("bad input exits non-zero with the file, line and field")
    func badInput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try folder.file("bad.csv", "session_id;user_id;item_id;timeframe;eventdate\n1;NA;5;abc;2016-01-01\n")
        let result = try run(["preprocess", "--format", "diginetica", log, "--out", folder.path + "/out"])
        #expect(result.status != 0)
        #expect(result.error.contains("bad.csv: line 2: field 'timeframe': expected an integer, found 'abc'"))
    }
}
