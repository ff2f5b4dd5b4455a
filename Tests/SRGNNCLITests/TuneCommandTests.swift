import Evaluation
import Foundation
import SRGNN
import SessionData
import Testing
import TestSupport
import Training

/// `srgnn tune` and `srgnn train --config` end to end on a tiny dataset folder.
@Suite("srgnn tune, srgnn train --config")
struct TuneCommandTests {
    /// What a one-trial search on a tiny folder left, and its printed command run again (one epoch).
    struct RetrainedSearch {
        /// `bestObjective`: the best run's, the defaults' included (the run the command trains).
        let search: String, output: String, command: String, bestObjective: Double
        let retrained: CheckpointMetadata
    }

    /// `srgnn tune` with `arguments` (one trial, one epoch, hidden size 8), then the `srgnn train`
    /// command its summary prints, cut to one epoch.
    static func searchThenRetrain(_ folder: TemporaryFolder, _ arguments: [String]) throws -> RetrainedSearch {
        let data = folder.path + "/data", out = folder.path + "/search"
        try WarmStartCommandTests.writeFolder(data, items: 30, seed: 1) { "sku\($0)" }
        let space = try folder.file("space.yaml", "hidden-size: 8\n")
        var result = try runSRGNN(
            ["tune", "--data", data, "--trials", "1", "--out", out, "--space", space, "--epochs-per-trial", "1", "--threads", "1"]
                + arguments)
        #expect(result.status == 0, "\(result.error)")
        let output = result.output
        let summary = try SummaryFile.read(out)
        result = try retrain(summary.command, folder)
        #expect(result.status == 0, "\(result.error)")
        return RetrainedSearch(
            search: try String(contentsOfFile: out + "/search.json", encoding: .utf8), output: output, command: summary.command,
            bestObjective: summary.trainedObjective,
            retrained: try #require(try LoadedModel.load(from: folder.path + "/best.safetensors").metadata))
    }

    /// summary.json's runs and command, read with JSONDecoder as the checkpoint's metadata is:
    /// JSONSerialization may round the last bit of a number differently, which an exact
    /// comparison would take for a change.
    struct SummaryFile: Decodable {
        struct Run: Decodable { let best_objective: Double }
        let best: Run, defaults: Run, command: String
        /// The objective of the run the command trains: the best trial, the defaults when no trial beat them.
        var trainedObjective: Double { max(best.best_objective, defaults.best_objective) }

        static func read(_ searchFolder: String) throws -> SummaryFile {
            try JSONDecoder().decode(SummaryFile.self, from: Data(contentsOf: URL(fileURLWithPath: searchFolder + "/summary.json")))
        }
    }

    /// Runs a summary's `srgnn train` command cut to one epoch, its checkpoint in `folder`/best.safetensors.
    static func retrain(_ command: String, _ folder: TemporaryFolder) throws -> (status: Int32, output: String, error: String) {
        let words = command.replacingOccurrences(of: "--epochs 30", with: "--epochs 1")
            .replacingOccurrences(of: "best.safetensors", with: folder.path + "/best.safetensors")
            .split(separator: " ").map(String.init)
        #expect(words.prefix(2) == ["srgnn", "train"])
        return try runSRGNN(Array(words.dropFirst()) + ["--threads", "1"])
    }

    /// `--loss sampled` reaches every run of a search, its record and the command it prints, and
    /// that command retrains the best run to the same validation objective.
    @Test("tune --loss sampled: every run samples, and the printed command trains the best run again")
    func tuneSampled() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.searchThenRetrain(folder, ["--loss", "sampled", "--negatives", "16", "--sample-alpha", "0.5"])
        #expect(run.search.contains("\"loss\":\"sampled\"") && run.search.contains("\"negatives\":16"), "\(run.search)")
        #expect(run.output.contains("--loss sampled --negatives 16 --sample-alpha 0.5"), "\(run.output)")
        #expect(run.retrained.metrics["validation.MRR@20"] == run.bestObjective, "\(run.command)")
        #expect(run.retrained.trainingConfiguration?.loss == .sampled && run.retrained.trainingConfiguration?.negatives == 16)
    }

    /// `--model niser` trains every run as NISER+, and the printed command trains NISER+ again.
    @Test("tune --model niser: every run is NISER+, and the command says --variant niser")
    func tuneNiser() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.searchThenRetrain(folder, ["--model", "niser"])
        #expect(run.search.contains("\"normalize\":true") && run.search.contains("\"dropout\":0.1"), "\(run.search)")
        #expect(run.command.hasSuffix("--variant niser"), "\(run.command)")
        #expect(run.retrained.metrics["validation.MRR@20"] == run.bestObjective, "\(run.command)")
        let configuration = run.retrained.trainingConfiguration
        #expect(configuration?.normalize == true && configuration?.positionEmbeddingRows ?? 0 > 0)

        let result = try runSRGNN([
            "tune", "--model", "gru4rec", "--data", folder.path + "/data", "--trials", "1", "--out", folder.path + "/x",
        ])
        #expect(result.status != 0 && result.error.contains("use srgnn, niser or one of"), "\(result.error)")
    }

    @Test("tune runs the defaults and 2 trials, writes its files, and continues when rerun")
    func tune() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = folder.path + "/data", out = folder.path + "/search"
        try WarmStartCommandTests.writeFolder(data, items: 30, seed: 1) { "sku\($0)" }
        let space = try folder.file("space.yaml", "learning-rate: {log-uniform: [1.0e-3, 1.0e-2]}\nhidden-size: 8\nbatch-size: [32, 64]\n")
        let arguments = [
            "tune", "--data", data, "--trials", "2", "--out", out, "--space", space, "--epochs-per-trial", "1",
            "--threads", "1", "--seed", "5",
        ]
        var result = try runSRGNN(arguments)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("defaults: learning-rate 0.001, l2-penalty 1e-05, hidden-size 100"), "\(result.output)")
        #expect(result.output.contains("srgnn train --data \(data) --out best.safetensors --learning-rate "), "\(result.output)")
        let lines = try String(contentsOfFile: out + "/trials.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].contains("\"trial\":\"defaults\"") && lines[1].contains("\"trial\":0") && lines[2].contains("\"trial\":1"))
        for name in ["search.json", "summary.json", "summary.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/scratch"), "trial checkpoints are removed")
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        #expect(summary["objective"] as? String == "MRR@20" && summary["trials_finished"] as? Int == 2)
        #expect((summary["defaults"] as? [String: Any])?["trial"] as? String == "defaults")

        // The summary's command trains the best trial again (here within the trial's one epoch): same validation objective.
        _ = try #require(summary["best"] as? [String: Any])
        let command = try #require(summary["command"] as? String)
        result = try Self.retrain(command, folder)
        #expect(result.status == 0, "\(result.error)")
        let retrained = try #require(try LoadedModel.load(from: folder.path + "/best.safetensors").metadata)
        #expect(retrained.metrics["validation.MRR@20"] == (try SummaryFile.read(out)).trainedObjective, "\(command)")

        // The same command again: nothing left to run, the trials are untouched.
        result = try runSRGNN(arguments)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("resuming: 3 of 3 runs"), "\(result.output)")
        #expect(try String(contentsOfFile: out + "/trials.jsonl", encoding: .utf8).split(separator: "\n") == lines)

        // Another seed in the same folder is refused, naming what differs.
        result = try runSRGNN(Array(arguments.dropLast()) + ["6"])
        #expect(result.status != 0)
        #expect(result.error.contains("this folder holds another search (its seed, training settings differ)"), "\(result.error)")

        // A bad space file names its line.
        let bad = try folder.file("bad.yaml", "learning-rate: [0.001]\nhidden-size: {normal: [8, 16]}\n")
        result = try runSRGNN(["tune", "--data", data, "--trials", "1", "--out", folder.path + "/other", "--space", bad])
        #expect(result.status != 0)
        #expect(result.error.contains("\(bad):2: 'hidden-size': unknown domain 'normal'"), "\(result.error)")
    }

    @Test("train --config: the file's settings, flags over them, and a checkpoint as the experiment")
    func trainConfig() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = folder.path + "/data"
        try WarmStartCommandTests.writeFolder(data, items: 30, seed: 2) { "sku\($0)" }
        let config = try folder.file(
            "run.yaml",
            """
            data: \(data)
            hidden-size: 8
            batch-size: 32
            epochs: 1
            lr: 0.004
            threads: 1
            validation-split: sessions
            """)
        let first = folder.path + "/first.safetensors", second = folder.path + "/second.safetensors"
        var result = try runSRGNN(["train", "--config", config, "--out", first, "--batch-size", "16"])
        #expect(result.status == 0, "\(result.error)")
        let metadata = try #require(try LoadedModel.load(from: first).metadata)
        let training = try #require(metadata.training?.decode([String: JSONValue].self))
        #expect(training["hiddenSize"] == .number(8) && training["learningRate"] == .number(0.004), "the file's values")
        #expect(training["batchSize"] == .number(16), "the flag's value over the file's")
        #expect(training["validationSplit"] == .string("sessions"))
        #expect(metadata.dataset == data)
        #expect(metadata.experiment?.file == config && metadata.experiment?.text?.contains("lr: 0.004") == true)

        // The checkpoint alone reruns the experiment: same configuration, same data, same numbers.
        result = try runSRGNN(["train", "--config", first, "--out", second])
        #expect(result.status == 0, "\(result.error)")
        let rerun = try #require(try LoadedModel.load(from: second).metadata)
        #expect(rerun.training == metadata.training)
        #expect(rerun.dataset == data)
        #expect(rerun.metrics == metadata.metrics)
        #expect(rerun.experiment?.text == metadata.experiment?.text)

        // Errors name the file and line.
        let bad = try folder.file("bad.yaml", "data: \(data)\nepochs: 1\nhidden_size: 8\n")
        result = try runSRGNN(["train", "--config", bad, "--out", folder.path + "/bad.safetensors"])
        #expect(result.status != 0)
        #expect(result.error.contains("\(bad):3: unknown setting 'hidden_size'"), "\(result.error)")
        result = try runSRGNN(["train", "--out", folder.path + "/none.safetensors"])
        #expect(result.status != 0)
        #expect(result.error.contains("give --data"), "\(result.error)")
    }

    /// `tune --model sr` searches SR's parameters on held-out sessions and writes best.yaml, which
    /// `compare --models sr@DIR` fits beside the defaults; POP has nothing to tune.
    @Test("tune --model sr, then compare --models sr,sr@DIR")
    func tuneBaseline() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = folder.path + "/data", out = folder.path + "/sr-search", report = folder.path + "/report"
        try WarmStartCommandTests.writeFolder(data, items: 30, seed: 1) { "sku\($0)" }
        let space = try folder.file("space.yaml", "steps: [1, 2, 5]\nweighting: [div, same]\n")
        var result = try runSRGNN([
            "tune", "--model", "sr", "--data", data, "--trials", "6", "--search", "grid", "--space", space, "--out", out,
            "--threads", "1", "--objective", "hr@10",
        ])
        #expect(result.status == 0, "\(result.error)")
        let lines = try String(contentsOfFile: out + "/trials.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 7 && lines[0].contains("\"trial\":\"defaults\""))
        let best = try String(contentsOfFile: out + "/best.yaml", encoding: .utf8)
        #expect(best.contains("steps: ") && best.contains("weighting: "), "\(best)")
        #expect(result.output.contains("--models sr@\(out)"), "\(result.output)")

        result = try runSRGNN(["compare", "--data", data, "--models", "sr,sr@\(out)", "--report-dir", report, "--threads", "1"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("SR (tuned)"), "\(result.output)")

        result = try runSRGNN(["tune", "--model", "pop", "--data", data, "--trials", "1", "--out", out])
        #expect(result.status != 0 && result.error.contains("POP has no parameters to tune"), "\(result.error)")
        let wrong = try folder.file("wrong.yaml", "steps: 0\n")
        result = try runSRGNN(["compare", "--data", data, "--models", "sr@\(wrong)", "--report-dir", report])
        #expect(result.status != 0 && result.error.contains("wrong.yaml: SR: steps ≥ 1"), "\(result.error)")
    }

    /// `fit vstan` writes a file that evaluate and compare read: it scores as the baseline fitted
    /// in process does, and a file of another baseline or dataset is refused with the reason.
    @Test("fit vstan, then evaluate --model FILE and compare --models vstan,vstan=FILE")
    func fitBaseline() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = folder.path + "/data", other = folder.path + "/other", file = folder.path + "/vstan.safetensors"
        let report = folder.path + "/report"
        try WarmStartCommandTests.writeFolder(data, items: 30, seed: 1) { "sku\($0)" }
        try WarmStartCommandTests.writeFolder(other, items: 40, seed: 2) { "sku\($0 + 5)" }
        var result = try runSRGNN(["fit", "vstan", "--data", data, "--out", file, "--vstan-k", "50"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("VSTAN (k 50, sample 5000"), "\(result.output)")

        result = try runSRGNN([
            "compare", "--data", data, "--models", "vstan,vstan=\(file)", "--report-dir", report, "--json", "--vstan-k", "50",
        ])
        #expect(result.status == 0, "\(result.error)")
        struct Comparison: Decodable {
            struct Model: Decodable { let name: String; let metrics: [String: Double] }
            let models: [Model]
        }
        let comparison = try JSONDecoder().decode(Comparison.self, from: Data(result.output.utf8))
        #expect(comparison.models.map(\.name) == ["VSTAN", "VSTAN (vstan.safetensors)"])
        #expect(comparison.models[0].metrics == comparison.models[1].metrics)

        result = try runSRGNN(["evaluate", "--model", file, "--data", data, "--json", "--k", "20"])
        #expect(result.status == 0, "\(result.error)")
        let evaluated = try JSONDecoder().decode([String: Double].self, from: Data(result.output.utf8))
        #expect(evaluated["HR@20"] == comparison.models[0].metrics["HR@20"])

        result = try runSRGNN(["compare", "--data", data, "--models", "stan=\(file)", "--report-dir", report])
        #expect(result.status != 0 && result.error.contains("is a fitted VSTAN; list it as vstan="), "\(result.error)")
        result = try runSRGNN(["evaluate", "--model", file, "--data", other])
        #expect(result.status != 0 && result.error.contains("vocabulary lacks"), "\(result.error)")
        let broken = try folder.file("broken.safetensors", "not a model")
        result = try runSRGNN(["compare", "--data", data, "--models", "vstan=\(broken)", "--report-dir", report])
        #expect(result.status != 0 && result.error.contains("broken.safetensors"), "\(result.error)")
    }

    /// A dataset folder's session times reach the baselines: `fit stan` stores them with the sessions.
    @Test("fit stan keeps the dataset's session times")
    func fitKeepsSessionTimes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = folder.path + "/data", file = folder.path + "/stan.safetensors"
        let sessions = SyntheticClickLog(itemCount: 20, sessionCount: 60, seed: 3).sessions()
        let train = SessionList(Array(sessions[..<50])), test = ExampleSet.augmenting(SessionList(Array(sessions[50...])))
        let times = (0..<50).map { Int64(1_450_000_000 + 3_600 * $0) }
        try DatasetFolder.write(
            SessionDataset(
                trainSessions: train, train: .augmenting(train), test: test, vocabulary: ItemVocabulary(rawIDs: (1...20).map { "i\($0)" }),
                itemCount: 20, trainSessionTimes: times), to: data)
        let result = try runSRGNN(["fit", "stan", "--data", data, "--out", file])
        #expect(result.status == 0, "\(result.error)")
        let fitted = try NeighbourhoodModelFile(contentsOf: file)
        #expect(fitted.times == times && fitted.sessions == train)
    }
}
