import ArgumentParser
import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore
import Training

/// `srgnn demo`: the whole pipeline on a built-in synthetic click log, with nothing to download.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate a synthetic click log, preprocess it, train SR-GNN, compare with popularity, recommend.",
        discussion: """
            The log is seeded and has learnable structure: skewed item popularity, and sessions that \
            mostly walk from an item to one of a few fixed successors. Everything is written under \
            --out, so the result can be tried afterwards with srgnn recommend and srgnn evaluate.
            """
    )

    @Option(name: .long, help: "Folder for the click log, the dataset and the model.")
    var out = "srgnn-demo"

    @Option(name: .long, parsing: .unconditional, help: "Synthetic sessions to generate (100...1000000).")
    var sessions = 20_000

    @Option(name: .long, parsing: .unconditional, help: "Synthetic catalogue size (50...1000000).")
    var items = 2_000

    @Option(name: .long, parsing: .unconditional, help: "Training epochs.")
    var epochs = 4

    @Option(name: .long, parsing: .unconditional, help: "Seed of the log and of training.")
    var seed: UInt64 = 42

    @Option(name: .long, parsing: .unconditional, help: "Worker threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard (100...1_000_000).contains(sessions) else { throw ValidationError("--sessions must be in 100...1000000, got \(sessions)") }
        guard (50...1_000_000).contains(items) else { throw ValidationError("--items must be in 50...1000000, got \(items)") }
        guard (1...TrainingConfiguration.limits.epochs).contains(epochs) else {
            throw ValidationError("--epochs must be in 1...\(TrainingConfiguration.limits.epochs), got \(epochs)")
        }
        guard (1...CommandLimits.maximumThreads).contains(threads) else {
            throw ValidationError("--threads must be in 1...\(CommandLimits.maximumThreads), got \(threads)")
        }
    }

    func run() throws {
        setBLASThreads(1)
        let started = DispatchTime.now()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        // 1. A click log as users have them: one click per line, raw string item ids.
        let logPath = out + "/clicks.csv"
        let generator = SyntheticClickLog(itemCount: items, sessionCount: sessions, seed: seed)
        var text = "session_id,item_id,timestamp\n"
        for click in generator.clicks() { text += "\(click.session),sku-\(click.item),\(click.timestamp)\n" }
        try writeAtomically(Data(text.utf8), to: logPath)
        print("1. wrote \(logPath): \(sessions) synthetic sessions over \(items) items")

        // 2. The reference's preprocessing (last 7 days are the test period).
        let format = ClickLogFormat(
            delimiter: UInt8(ascii: ","), header: .present, session: .name("session_id"),
            item: .name("item_id"), time: .name("timestamp"), timeFormat: .unix)
        let result = try Preprocessor.run(path: logPath, format: format, options: PreprocessOptions())
        let dataPath = out + "/data"
        try DatasetFolder.write(
            result.dataset, to: dataPath, source: ["demo": "synthetic, seed \(seed)"],
            options: PreprocessOptions(), summary: result.summary)
        let dataset = result.dataset
        print(
            "2. preprocessed into \(dataPath): \(dataset.train.count) training examples, \(dataset.test.count) test examples, \(dataset.itemCount) items"
        )

        // 3. Train with the reference's hyperparameters, selecting the epoch on validation.
        var configuration = TrainingConfiguration()
        configuration.epochs = epochs
        configuration.seed = seed
        configuration.threads = threads
        let modelPath = out + "/model.safetensors"
        let trainer = try Trainer(configuration: configuration, dataset: dataset, checkpointPath: modelPath, datasetPath: dataPath)
        print("3. training SR-GNN (\(epochs) epochs, d=\(configuration.hiddenSize), batch \(configuration.batchSize)):")
        let training = try trainer.run(observer: ProgressReporter(cutoff: configuration.cutoff))

        // 4. The saved model against popularity on the same test examples.
        let loaded = try LoadedModel.load(from: modelPath)
        let model = loaded.model
        // Both through the one evaluator (ties with the target averaged, which only POP has).
        let testExamples = TestExample.examples(of: dataset.test)
        let modelMetrics = Evaluator(cutoffs: [20], listLength: nil, threads: threads)
            .evaluate(SRGNNScorer(model: model), on: testExamples).keyedMetrics
        let popularity = Popularity().fit(sessions: dataset.trainSessions.arrays, itemCount: dataset.itemCount)
        let popularityMetrics = Evaluator(cutoffs: [20], threads: threads).evaluate(popularity, on: testExamples).keyedMetrics
        print("4. test set, full ranking over \(dataset.itemCount) items (epoch \(training.bestEpoch + 1) kept):")
        print(String(format: "   SR-GNN      HR@20 %6.2f  MRR@20 %6.2f", modelMetrics["HR@20"]!, modelMetrics["MRR@20"]!))
        print(String(format: "   popularity  HR@20 %6.2f  MRR@20 %6.2f", popularityMetrics["HR@20"]!, popularityMetrics["MRR@20"]!))

        // 5. A recommendation for a live session, in the log's own ids.
        let session = Array(dataset.test.prefix(0))
        let raw = session.map { loaded.vocabulary.rawID(of: $0) }
        let top = try model.recommend(session: session, k: 5)
        print("5. next items for the session [\(raw.joined(separator: ", "))]:")
        for (rank, entry) in top.enumerated() {
            print(String(format: "   %d. %@  (score %.3f)", rank + 1, loaded.vocabulary.rawID(of: entry.id), entry.score))
        }
        print(
            String(
                format: "done in %.0f s. Try: srgnn recommend --model %@ --items %@", seconds(since: started), modelPath,
                raw.joined(separator: ",")))
    }
}
