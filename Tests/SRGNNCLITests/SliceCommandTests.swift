import Foundation
import SessionData
import Testing
import TestSupport

/// Issue 32, time slices through the executable: `srgnn slice` and `srgnn preprocess --slices`.
@Suite("srgnn slice and preprocess --slices")
struct SliceCommandTests {
    /// A synthetic log of 60 days (`srgnn synth`), as the CSV preprocess reads.
    func syntheticLog(_ folder: TemporaryFolder) throws -> String {
        let log = folder.path + "/log.csv"
        let synth = try runSRGNN(["synth", "--items", "60", "--sessions", "1500", "--days", "60", "--seed", "3", "--out", log])
        #expect(synth.status == 0, "\(synth.error)")
        return log
    }

    let csvOptions = [
        "--format", "csv", "--session-column", "session", "--item-column", "item", "--time-column", "timestamp", "--time-format",
        "unix",
    ]

    @Test("preprocess --slices writes N dataset folders whose windows follow each other; slice re-cuts one by position")
    func slicesEndToEnd() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try syntheticLog(folder)
        let out = folder.path + "/slices"
        let result = try runSRGNN(["preprocess", log, "--out", out, "--slices", "3", "--test-days", "4"] + csvOptions)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("slice-3:"), "\(result.output)")
        let folders = try #require(DatasetFolder.sliceFolders(in: out))
        #expect(folders.count == 3)
        var previousLast: Int64? = nil
        for path in folders {
            let slice = try SessionDataset.load(from: path)
            let times = try #require(slice.trainSessionTimes)
            #expect(times == times.sorted(), "training sessions in date order")
            if let previousLast { #expect(times.first! > previousLast, "windows follow each other") }
            previousLast = times.last
            #expect(slice.test.count > 0)
            // Every test item is one of the slice's training items.
            let trained = Set(slice.trainSessions.items)
            #expect(Set(slice.test.items).union(slice.test.targets).isSubset(of: trained))
        }

        // By position: slice-1 into 2 windows, with an explicit test share.
        let cut = try runSRGNN(["slice", folders[0], "--slices", "2", "--test-fraction", "0.2", "--out", folder.path + "/cut"])
        #expect(cut.status == 0, "\(cut.error)")
        let source = try SessionDataset.load(from: folders[0])
        let pieces = try #require(DatasetFolder.sliceFolders(in: folder.path + "/cut")).map { try SessionDataset.load(from: $0) }
        #expect(pieces.count == 2)
        #expect(pieces.allSatisfy { $0.vocabulary == source.vocabulary }, "the source's ids")
        // The first window's training sessions are the source's first ones, in order.
        #expect(Array(pieces[0].trainSessions.arrays) == Array(source.trainSessions.arrays.prefix(pieces[0].trainSessions.count)))
    }

    @Test(
        "bad slicing exits non-zero with a message that says what to change",
        arguments: [
            (["slice", "DATA", "--slices", "0", "--out", "OUT"], "--slices must be at least 1"),
            (["slice", "DATA", "--slices", "2", "--test-fraction", "1.5", "--out", "OUT"], "--test-fraction must be between 0 and 1"),
            (["slice", "DATA", "--slices", "100000", "--out", "OUT"], "needs at least 200000 sessions"),
            (["preprocess", "LOG", "--out", "OUT", "--slices", "0", "--format", "yoochoose"], "--slices must be at least 1"),
            (["preprocess", "LOG", "--out", "OUT", "--slice-days", "3", "--format", "yoochoose"], "--slice-days needs --slices"),
            (["preprocess", "LOG", "--out", "OUT", "--slices", "2", "--fraction", "4", "--format", "yoochoose"], "--fraction"),
        ])
    func badSlicing(arguments: [String], message: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sessions = SessionList([[1, 2], [2, 1], [1, 2]])
        let dataset = SessionDataset(
            trainSessions: sessions, train: .augmenting(sessions), test: .augmenting(SessionList([[2, 1]])),
            vocabulary: .identity(count: 2), itemCount: 2)
        try dataset.write(to: folder.path + "/data")
        let resolved = arguments.map {
            $0 == "DATA" ? folder.path + "/data" : $0 == "OUT" ? folder.path + "/out" : $0 == "LOG" ? folder.path + "/none.dat" : $0
        }
        let result = try runSRGNN(resolved)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/out/slice-1"), "nothing written")
    }

    @Test("compare --data on a folder of slices: every model on every slice, per-slice and pooled figures in every output")
    func compareOverSlices() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try syntheticLog(folder)
        let out = folder.path + "/slices"
        let made = try runSRGNN(["preprocess", log, "--out", out, "--slices", "3", "--test-days", "4"] + csvOptions)
        #expect(made.status == 0, "\(made.error)")
        let reports = folder.path + "/reports"
        let result = try runSRGNN(["compare", "--data", out, "--models", "pop,sr", "--report-dir", reports, "--json", "--threads", "1"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(object["reference"] as? String == "POP")
        let slices = try #require(object["slices"] as? [[String: Any]])
        #expect(slices.count == 3)
        let models = try #require(object["models"] as? [[String: Any]])
        #expect(models.map { $0["name"] as? String } == ["POP", "SR"])
        // The per-slice figures are each slice's own comparison's.
        let perSlice = try #require((models[1]["per_slice"] as? [String: [Double]])?["HR@20"])
        let sliceFigures = slices.map { (($0["models"] as? [[String: Any]])?[1]["metrics"] as? [String: Double])?["HR@20"] }
        #expect(perSlice.map { Optional($0) } == sliceFigures)
        #expect(models[1]["versus_reference_over_slices"] != nil && models[1]["versus_reference_pooled"] != nil)
        for name in ["comparison.md", "comparison.html", "slice-1/comparison.html", "slice-3/comparison.md"] {
            #expect(FileManager.default.fileExists(atPath: reports + "/" + name), "\(name)")
        }

        // A checkpoint without {slice} cannot be meant for every slice.
        let unnamed = try runSRGNN(["compare", "--data", out, "--models", "pop,srgnn=model.safetensors", "--report-dir", reports])
        #expect(unnamed.status != 0)
        #expect(unnamed.error.contains("name them with {slice}"), "\(unnamed.error)")
    }

    /// `{slice}` in a tuned configuration or a fitted model's path picks slice k's file on slice k:
    /// the per-slice figures are those of comparing each slice alone with its own file.
    @Test("compare over slices: sr@cfg-{slice}.yaml and sr=sr-{slice}.safetensors read each slice's own file")
    func compareReadsEachSlicesFiles() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let log = try syntheticLog(folder)
        let out = folder.path + "/slices", reports = folder.path + "/reports"
        let made = try runSRGNN(["preprocess", log, "--out", out, "--slices", "3", "--test-days", "4"] + csvOptions)
        #expect(made.status == 0, "\(made.error)")
        var alone = [Double]()
        for (k, steps) in [(1, 1), (2, 3), (3, 10)] {
            let configuration = try folder.file("cfg-\(k).yaml", "steps: \(steps)\nweighting: div\n")
            let fitted = try runSRGNN([
                "fit", "sr", "--data", out + "/slice-\(k)", "--out", folder.path + "/sr-\(k).safetensors", "--tuned", configuration,
            ])
            #expect(fitted.status == 0, "\(fitted.error)")
            let result = try runSRGNN([
                "compare", "--data", out + "/slice-\(k)", "--models", "sr@\(configuration)", "--report-dir", reports, "--json",
                "--threads", "1",
            ])
            #expect(result.status == 0, "\(result.error)")
            let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
            let models = try #require(object?["models"] as? [[String: Any]])
            alone.append(try #require((models[0]["metrics"] as? [String: Double])?["HR@20"]))
        }
        #expect(Set(alone).count > 1, "the three configurations should not all score alike: \(alone)")

        let result = try runSRGNN([
            "compare", "--data", out, "--models", "sr@\(folder.path)/cfg-{slice}.yaml,sr=\(folder.path)/sr-{slice}.safetensors",
            "--report-dir", reports, "--json", "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.error)")
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let models = try #require(object?["models"] as? [[String: Any]])
        for model in models {
            #expect((model["per_slice"] as? [String: [Double]])?["HR@20"] == alone, "\(model["name"] ?? "")")
        }

        // A fitted model without {slice} was fitted on one slice only; {slice} off a folder of slices means nothing.
        var refused = try runSRGNN([
            "compare", "--data", out, "--models", "sr=\(folder.path)/sr-1.safetensors", "--report-dir", reports,
        ])
        #expect(refused.status != 0 && refused.error.contains("name them with {slice}"), "\(refused.error)")
        refused = try runSRGNN([
            "compare", "--data", out + "/slice-1", "--models", "sr@\(folder.path)/cfg-{slice}.yaml", "--report-dir", reports,
        ])
        #expect(refused.status != 0 && refused.error.contains("stands for a slice's number"), "\(refused.error)")
    }
}
