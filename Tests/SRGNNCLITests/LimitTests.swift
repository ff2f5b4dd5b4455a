import ArgumentParser
import Foundation
import Testing
import TestSupport
@testable import SRGNNCLI

/// Issue 17: options that size work or memory have stated limits; negative numbers are values,
/// reported against the option, never "Missing value".
@Suite struct LimitTests {
    static func message<C: ParsableCommand>(_ command: C.Type, _ arguments: [String]) -> String {
        do {
            _ = try command.parse(arguments)
            return "accepted"
        } catch {
            return command.message(for: error)
        }
    }

    @Test("1: recommend --k 10000000 is refused with the limit")
    func hugeK() {
        #expect(
            Self.message(RecommendCommand.self, ["--model", "m", "--items", "1", "--k", "10000000"])
                == "--k must be in 1...10000, got 10000000")
        #expect(Self.message(RecommendCommand.self, ["--model", "m", "--items", "1", "--k", "10000"]) == "accepted")
    }

    @Test("4: recommend --step 2^61 is refused with the limit")
    func hugeStep() {
        #expect(
            Self.message(RecommendCommand.self, ["--model", "m", "--items", "1", "--step", "2305843009213693952"])
                == "--propagation-steps must be in 1...16, got 2305843009213693952")
        #expect(
            Self.message(TrainCommand.self, ["--data", "d", "--out", "m", "--step", "100000"])
                == "--step/--propagation-steps: propagation steps must be at most 16 (got 100000)")
    }

    @Test("10: evaluate --batch-size 4000000000 is refused with the limit")
    func hugeBatch() {
        #expect(
            Self.message(EvaluateCommand.self, ["--model", "m", "--data", "d", "--batch-size", "4000000000"])
                == "--batch-size must be in 1...10000, got 4000000000")
        #expect(
            Self.message(EvaluateCommand.self, ["--model", "m", "--data", "d", "--k", "5,20000"]).hasPrefix(
                "--k must be integers in 1...10000"))
        #expect(
            Self.message(TrainCommand.self, ["--data", "d", "--out", "m", "--batch-size", "4000000000"])
                == "--batch-size: batch size must be at most 10000 (got 4000000000)")
    }

    @Test("22: negative values are read as values and reported against their option")
    func negativeValues() {
        #expect(Self.message(RecommendCommand.self, ["--model", "m", "--items", "1", "--k", "-5"]) == "--k must be in 1...10000, got -5")
        #expect(
            Self.message(EvaluateCommand.self, ["--model", "m", "--data", "d", "--batch-size", "-1"])
                == "--batch-size must be in 1...10000, got -1")
        #expect(
            Self.message(TrainCommand.self, ["--data", "d", "--out", "m", "--epochs", "-3"])
                == "--epochs: epochs must be at least 1 (got -3)")
        #expect(
            Self.message(PreprocessCommand.self, ["in", "--format", "diginetica", "--out", "o", "--test-days", "-2"])
                .contains("test period must be a non-negative number of days, got -2.0"))
    }

    @Test("9: preprocess with a timestamp of 9.3e18 exits non-zero naming the line and writes nothing")
    func hugeTimestampWritesNothing() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file("r.inter", "session_id:token\titem_id:token\ttimestamp:float\n1\t1\t1\n1\t2\t9300000000000000000\n")
        let out = folder.path + "/out"
        let result = try runSRGNN(["preprocess", "--format", "recbole", input, "--out", out])
        #expect(result.status == 1)
        #expect(
            result.error.contains("r.inter: line 3: field 'timestamp:float': expected a time in the years 1 to 9999"), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test(
        "19: train --out in a missing folder fails before the first epoch",
        .enabled(if: Shared.exists(Shared.digineticaFixture), "needs ../shared/fixtures/preprocess beside the repository"))
    func unwritableOut() throws {
        let result = try runSRGNN([
            "train", "--data", Shared.digineticaFixture, "--out", "/nonexistent/dir/m.st",
            "--epochs", "1", "--hidden-size", "8",
        ])
        #expect(result.status == 1)
        #expect(result.error.contains("cannot write /nonexistent/dir/m.st: its folder /nonexistent/dir does not exist"), "\(result.error)")
        #expect(!result.output.contains("epoch 1"))
    }

    @Test("21: a 2 MB first line with no delimiter gives a short error, quickly")
    func hugeFirstLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let input = try folder.file("huge.csv", String(repeating: "x", count: 2 << 20) + "\n")
        let result = try runSRGNN(["preprocess", "--format", "diginetica", input, "--out", folder.path + "/out"])
        #expect(result.status == 1)
        #expect(result.error.count < 400, "\(result.error.prefix(400))")
        #expect(result.error.contains("line 1: the line is longer than 1048576 bytes"))
    }
}
