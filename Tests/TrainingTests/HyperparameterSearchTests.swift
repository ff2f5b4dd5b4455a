import Experiments
import Foundation
import SessionData
import SRGNN
import Testing
import TestSupport
import Training

/// `srgnn tune`'s library: the space, the sampling, the grid, the records and the resumption.
@Suite struct HyperparameterSearchTests {
    /// A tiny space for trials that take well under a second: hidden size 8, one epoch.
    static let tinySpace = SearchSpace(domains: [
        .learningRate: .logUniform(low: 1e-3, high: 1e-2),
        .l2Penalty: .choice([0, 1e-5]),
        .hiddenSize: .choice([8]),
        .batchSize: .choice([32, 64]),
    ])

    static func header(
        space: SearchSpace = tinySpace, search: SearchMethod = .random, seed: UInt64 = 3,
        dataset: SessionDataset
    ) -> SearchHeader {
        var base = TrainingConfiguration()
        base.epochs = 1
        base.patience = 1
        base.seed = seed
        base.threads = 1
        base.hiddenSize = 8  // the defaults' run too: keeps it as small as the trials
        return SearchHeader(
            space: space, search: search, seed: seed, objective: SearchObjective("mrr@20")!,
            datasetFingerprint: dataset.fingerprint, data: "synthetic", epochsPerTrial: 1, patience: 1,
            timeBudgetSeconds: nil, base: base)
    }

    /// The printed command trains the best run: a trial that beats the defaults, else the defaults.
    @Test(arguments: [(0.30, "0.001"), (0.10, "0.005")])
    func theCommandTrainsTheDefaultsWhenNoTrialBeatsThem(defaultsObjective: Double, learningRate: String) throws {
        let header = Self.header(dataset: syntheticDataset(sessions: 20, items: 10))
        var trial = header.base
        trial.learningRate = 0.005
        let records = [
            TrialRecord(
                trial: .defaults, parameters: TrialParameters(header.base), validation: [defaultsObjective], stoppedEarly: false,
                seconds: 1),
            TrialRecord(trial: .index(0), parameters: TrialParameters(trial), validation: [0.2], stoppedEarly: false, seconds: 1),
        ]
        let summary = TuningSummary(header: header, records: records, trialsPlanned: 1)
        #expect(summary.best?.trial == .index(0))
        #expect(summary.command?.contains("--learning-rate \(learningRate) ") == true, "\(summary.command ?? "")")
        let which = defaultsObjective > 0.2 ? "Train the defaults" : "Train the best trial"
        #expect(summary.markdown().contains(which))
    }

    @Test func randomSearchIsReproducibleFromItsSeed() {
        let base = TrainingConfiguration()
        let space = SearchSpace.standard
        let first = (0..<8).map { space.randomConfiguration(index: $0, seed: 42, base: base) }
        let again = (0..<8).map { space.randomConfiguration(index: $0, seed: 42, base: base) }
        let other = (0..<8).map { space.randomConfiguration(index: $0, seed: 43, base: base) }
        #expect(first == again)
        #expect(first != other)
        // The trials differ from each other and stay in their domains.
        #expect(Set(first.map { $0.learningRate }).count == 8)
        for configuration in first {
            #expect((1e-4...1e-2).contains(Double(configuration.learningRate)))
            #expect([50, 100, 150].contains(configuration.hiddenSize))
            #expect(configuration.epochs == base.epochs, "unsearched settings are the base's")
        }
    }

    @Test func gridEnumeratesTheProductExactly() throws {
        let space = SearchSpace(domains: [
            .hiddenSize: .choice([8, 16]), .learningRate: .choice([1e-3, 1e-2]), .decayInterval: .choice([2, 3, 4]),
        ])
        let grid = try #require(space.grid(base: TrainingConfiguration()))
        #expect(grid.count == 2 * 2 * 3)
        let points = grid.map { "\($0.learningRate) \($0.hiddenSize) \($0.decayInterval)" }
        #expect(Set(points).count == 12, "every point once")
        // The fixed parameter order (learning rate, …, hidden size, …, decay interval), the last fastest.
        #expect(points.prefix(4) == ["0.001 8 2", "0.001 8 3", "0.001 8 4", "0.001 16 2"])
        #expect(SearchSpace.standard.grid(base: TrainingConfiguration()) == nil, "ranges have no grid")
    }

    @Test func spaceFilesParseAndNameTheLineOfAnError() throws {
        let text = """
            # learning rate on a log scale
            lr: {log-uniform: [1.0e-4, 1.0e-2]}
            l2-penalty: [0, 1.0e-5]
            hidden-size: 8
            decay-factor: {uniform: [0.1, 0.5]}
            """
        let space = try SearchSpace.parse(yaml: text, path: "space.yaml")
        #expect(
            space.domains == [
                .learningRate: .logUniform(low: 1e-4, high: 1e-2), .l2Penalty: .choice([0, 1e-5]),
                .hiddenSize: .choice([8]), .decayFactor: .uniform(low: 0.1, high: 0.5),
            ])
        // The default space written out reads back as itself.
        #expect(try SearchSpace.parse(yaml: SearchSpace.standard.yaml, path: "default") == SearchSpace.standard)

        func error(_ text: String) -> SettingsFileError? {
            do { _ = try SearchSpace.parse(yaml: text, path: "space.yaml"); return nil } catch { return error as? SettingsFileError }
        }
        #expect(
            error("lr: [1.0e-3]\nwidth: [3]\n")
                == SettingsFileError(
                    path: "space.yaml", line: 2,
                    "unknown parameter 'width'; the search varies learning-rate, l2-penalty, hidden-size, propagation-steps, batch-size, decay-interval, decay-factor"
                ))
        #expect(error("lr: [1.0e-3]\nhidden-size: [8, abc]\n")?.description == "space.yaml:2: 'hidden-size': expected a number, got 'abc'")
        #expect(error("hidden-size: [8.5]\n")?.description == "space.yaml:1: 'hidden-size': hidden-size takes whole numbers (got 8.5)")
        #expect(error("\n\nl2: {log-uniform: [0, 1.0e-3]}\n")?.line == 3)
        #expect(
            error("lr: {log-uniform: [1.0e-3]}\n")?.description
                == "space.yaml:1: 'lr': expected [low, high] after log-uniform, got 1 values")
        #expect(error("batch-size: [0, 10]\n")?.description == "space.yaml:1: 'batch-size': batch size must be at least 1 (got 0)")
        #expect(error("lr: [0.001\nhidden-size: 8\n")?.line != nil, "a YAML syntax error names its line")
        #expect(error("lr: [0.001]\nlearning-rate: [0.01]\n")?.line == 2, "an alias naming the same parameter twice")
    }

    /// Trial records with the wall-clock seconds zeroed, as the file holds them.
    static func comparableLines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            var record = try JSONDecoder().decode(TrialRecord.self, from: Data(line.utf8))
            record.seconds = 0
            return try JSONText.string(record)
        }
    }

    static func search(_ header: SearchHeader, dataset: SessionDataset, folder: String, trials: Int) throws -> [TrialRecord] {
        let search = try HyperparameterSearch(header: header, dataset: dataset, directory: folder, trials: trials)
        return try search.run(finished: try search.open(restart: false) { _ in }, observer: nil) { _ in }
    }

    @Test func anInterruptedSearchResumesToTheSameTrials() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = syntheticDataset(sessions: 200, items: 30)
        let header = Self.header(dataset: dataset)
        let straight = try Self.search(header, dataset: dataset, folder: folder.path + "/straight", trials: 4)
        #expect(straight.map(\.trial) == [.defaults, .index(0), .index(1), .index(2), .index(3)])
        #expect(straight.allSatisfy { $0.validation.count == 1 && $0.bestEpoch == 1 && $0.bestObjective > 0 })
        let expected = try Self.comparableLines(folder.path + "/straight/trials.jsonl")

        // Stopped after 2 trials, then asked for all 4.
        _ = try Self.search(header, dataset: dataset, folder: folder.path + "/extended", trials: 2)
        #expect(try Self.comparableLines(folder.path + "/extended/trials.jsonl").count == 3)
        _ = try Self.search(header, dataset: dataset, folder: folder.path + "/extended", trials: 4)
        #expect(try Self.comparableLines(folder.path + "/extended/trials.jsonl") == expected)

        // Killed while writing the third trial's line: the torn line is dropped and that trial rerun.
        let torn = folder.path + "/torn"
        _ = try Self.search(header, dataset: dataset, folder: torn, trials: 3)
        let full = try Data(contentsOf: URL(fileURLWithPath: torn + "/trials.jsonl"))
        let cut = full.dropLast(40)  // mid-way through the last line
        try cut.write(to: URL(fileURLWithPath: torn + "/trials.jsonl"))
        _ = try Self.search(header, dataset: dataset, folder: torn, trials: 4)
        #expect(try Self.comparableLines(torn + "/trials.jsonl") == expected)

        // A complete line that is not the planned record is an error naming it, not silently rerun.
        let edited = folder.path + "/edited"
        try FileManager.default.copyItem(atPath: torn, toPath: edited)
        var lines = try String(contentsOfFile: edited + "/trials.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = "{\"trial\": 1}"
        try (lines.joined(separator: "\n") + "\n").write(toFile: edited + "/trials.jsonl", atomically: true, encoding: .utf8)
        do {
            _ = try Self.search(header, dataset: dataset, folder: edited, trials: 4)
            Issue.record("an edited trials file was accepted")
        } catch {
            #expect("\(error)" == edited + "/trials.jsonl:3: not a trial record; use --restart to start the search again")
        }

        // The summary names the best trial and the defaults; the report holds one panel per varied parameter.
        let summary = try JSONDecoder().decode(TuningSummary.self, from: Data(contentsOf: URL(fileURLWithPath: torn + "/summary.json")))
        let best = try #require(summary.best)
        #expect(best.bestObjective == straight.dropFirst().map(\.bestObjective).max())
        #expect(summary.defaults?.trial == .defaults)
        // The command trains the best run: the best trial, or the defaults when no trial beat them.
        let defaults = try #require(summary.defaults)
        let chosen = best.bestObjective > defaults.bestObjective ? best : defaults
        #expect(
            summary.command?.hasPrefix(
                "srgnn train --data synthetic --out best.safetensors --learning-rate \(chosen.parameters.learningRate)") == true)
        #expect(summary.command?.contains("--epochs 30 --patience 10 --seed 3") == true, "\(summary.command ?? "")")
        let html = try String(contentsOfFile: torn + "/report.html", encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == 3, "learning rate, L2 and batch size vary; hidden size is fixed")
        #expect(!html.contains("<script"))
    }

    /// The time budget is checked before each run; a search it stopped goes on under a larger one.
    @Test func theTimeBudgetStopsBetweenRunsAndMayBeRaised() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = syntheticDataset(sessions: 200, items: 30)
        var header = Self.header(dataset: dataset)
        header.timeBudgetSeconds = 1e-9  // spent by the first run, whatever its length
        var notes = [String]()
        let search = try HyperparameterSearch(header: header, dataset: dataset, directory: folder.path, trials: 3)
        let stopped = try search.run(finished: try search.open(restart: false) { _ in }, observer: nil) { notes.append($0) }
        #expect(stopped.map(\.trial) == [.defaults])
        #expect(notes.last?.hasPrefix("time budget spent") == true, "\(notes)")
        header.timeBudgetSeconds = nil
        let resumed = try Self.search(header, dataset: dataset, folder: folder.path, trials: 3)
        #expect(resumed.map(\.trial) == [.defaults, .index(0), .index(1), .index(2)])
        #expect(resumed.first == stopped.first, "the finished run is kept, not rerun")
    }

    @Test func aSearchWithAnotherHeaderIsRefusedUnlessRestarted() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = syntheticDataset(sessions: 200, items: 30)
        _ = try Self.search(Self.header(dataset: dataset), dataset: dataset, folder: folder.path, trials: 1)
        let other = Self.header(seed: 4, dataset: dataset)
        let search = try HyperparameterSearch(header: other, dataset: dataset, directory: folder.path, trials: 1)
        do {
            _ = try search.open(restart: false) { _ in }
            Issue.record("a search with another seed was continued")
        } catch {
            #expect("\(error)".contains("this folder holds another search (its seed, training settings differ)"), "\(error)")
        }
        #expect(try search.open(restart: true) { _ in }.isEmpty)
    }

    @Test func theTestSetIsNotEvaluatedDuringASearch() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let dataset = syntheticDataset(sessions: 200, items: 30)
        let trainer = try Trainer(
            configuration: Self.header(dataset: dataset).base, dataset: dataset,
            checkpointPath: folder.path + "/model.safetensors")
        trainer.evaluatesTest = false
        let result = try trainer.run()
        #expect(result.history.allSatisfy { $0.test == nil && $0.validation != nil })
    }
}
