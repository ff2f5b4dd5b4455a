import Foundation
import Testing
import TestSupport

/// The `srgnn` executable end to end, run as a child process. A missing executable fails these
/// tests (see ``Executable``); only the shared sample data may be absent, which skips that suite.
@Suite(
    "srgnn preprocess and stats",
    .enabled(
        if: Shared.exists(Shared.digineticaSampleLog) && Shared.exists(Shared.digineticaFixture),
        "needs ../shared/data and ../shared/fixtures"))
struct CommandLineTests {
    @Test("preprocess writes a folder whose pickles equal the reference's; stats --json reads it")
    func preprocessThenStats() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let result = try runSRGNN(["preprocess", "--format", "diginetica", Shared.digineticaSampleLog, "--out", folder.path, "--pickles"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("Kept:     train 469 sessions, 1,674 clicks, 1,205 examples"))
        for name in ["train.txt", "test.txt", "all_train_seq.txt"] {
            let written = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/" + name))
            let expected = try Data(contentsOf: URL(fileURLWithPath: Shared.digineticaFixture + "/" + name))
            #expect(written == expected, "\(name)")
        }
        let stats = try runSRGNN(["stats", folder.path, "--json"])
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
        let result = try runSRGNN(["preprocess", "--format", "diginetica", log, "--out", folder.path + "/out"])
        #expect(result.status != 0)
        #expect(result.error.contains("bad.csv: line 2: field 'timeframe': expected an integer, found 'abc'"))
    }
}

/// Option errors through the real executable: they are caught before any data is read.
@Suite("srgnn option errors")
struct OptionErrorTests {
    @Test(
        "train with a bad value exits non-zero naming the option",
        arguments: [
            (["--step", "0"], "--step/--propagation-steps: propagation steps must be at least 1"),
            (["--propagation-steps", "0"], "--step/--propagation-steps: propagation steps must be at least 1"),
            (["--l2=-1"], "--l2/--l2-penalty: L2 penalty must be zero or positive"),
            (["--lr-decay-step", "0"], "--lr-decay-step/--decay-interval: decay interval must be at least 1"),
            (["--batch-size", "0"], "--batch-size: batch size must be at least 1"),
        ])
    func trainRejectsBadValue(arguments: [String], message: String) throws {
        let result = try runSRGNN(["train", "--data", "/nonexistent", "--out", "/nonexistent/model"] + arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "\(result.error)")
    }

    @Test("compare --models with an unknown name exits non-zero naming it")
    func compareRejectsUnknownModel() throws {
        let result = try runSRGNN(["compare", "--data", "/nonexistent", "--models", "pop,gru4rec"])
        #expect(result.status != 0)
        #expect(result.error.contains("unknown model 'gru4rec'"), "\(result.error)")
        #expect(result.error.contains("pop, spop, iknn, sr, sknn, vsknn"), "\(result.error)")
    }

    @Test("train --help lists every option with the library's default")
    func trainHelpThroughTheExecutable() throws {
        let result = try runSRGNN(["train", "--help"])
        #expect(result.status == 0, "\(result.error)")
        for spelling in ["--l2-penalty", "--decay-interval", "--propagation-steps", "--lr-decay-step", "--step", "--l2"] {
            #expect(result.output.contains(spelling), "\(spelling)")
        }
    }
}
