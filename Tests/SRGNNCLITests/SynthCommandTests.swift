import Foundation
import SessionData
import Testing
import TestSupport

/// `srgnn synth` (issue 31 item 3): a seeded log that `preprocess --format csv` reads as written.
@Suite struct SynthCommandTests {
    @Test func synthThenPreprocess() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let csv = folder.path + "/clicks.csv"
        let run = try runSRGNN([
            "synth", "--items", "3000", "--sessions", "4000", "--out", csv, "--seed", "7", "--popularity-exponent", "0.7",
        ])
        #expect(run.status == 0, "\(run.error)")
        let expected = SyntheticClickLog(itemCount: 3_000, sessionCount: 4_000, seed: 7, popularityExponent: 0.7).clicks()
        #expect(run.output.contains("4000 sessions, \(expected.count) clicks over 3000 items"), "\(run.output)")
        let again = folder.path + "/again.csv"
        #expect(
            try runSRGNN(["synth", "--items", "3000", "--sessions", "4000", "--out", again, "--seed", "7", "--popularity-exponent", "0.7"])
                .status == 0)
        #expect(FileManager.default.contentsEqual(atPath: csv, andPath: again), "same options, same file")
        let data = folder.path + "/data"
        let preprocess = try runSRGNN([
            "preprocess", csv, "--format", "csv", "--session-column", "session", "--item-column", "item",
            "--time-column", "timestamp", "--time-format", "unix", "--out", data,
        ])
        #expect(preprocess.status == 0, "\(preprocess.error)")
        let dataset = try SessionDataset.load(from: data)
        #expect(dataset.train.count > 0 && dataset.test.count > 0 && dataset.itemCount > 0)
        // Written through temporary files: nothing else is left beside them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["again.csv", "clicks.csv", "data"])
    }

    @Test(arguments: [
        (["--items", "1", "--sessions", "10"], "--items must be in 2..."),
        (["--items", "10", "--sessions", "0"], "--sessions must be in 1..."),
        (["--items", "10", "--sessions", "10", "--popularity-exponent", "5"], "--popularity-exponent must be in 0...4"),
        (["--items", "10", "--sessions", "10", "--mean-length", "1.5"], "--mean-length must be in 2...100"),
        (["--items", "10", "--sessions", "10", "--item-prefix", "a,b"], "--item-prefix must not contain a comma"),
    ])
    func badOptionsAreRefused(arguments: [String], message: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try runSRGNN(["synth"] + arguments + ["--out", folder.path + "/x.csv"])
        #expect(run.status != 0)
        #expect(run.error.contains(message), "\(run.error)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/x.csv"))
    }
}
