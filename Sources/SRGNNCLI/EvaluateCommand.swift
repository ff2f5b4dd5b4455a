import ArgumentParser
import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore

/// `srgnn evaluate`: full-ranking metrics of a checkpoint on a dataset's test examples.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a model on a dataset's test examples, ranking all items.",
        discussion: """
            Every test example's target is ranked among all items (rank = 1 + the number of items \
            scoring strictly higher). Metrics, in percent, averaged over examples:
              HR@K         the target is in the top K (the paper's P@20, the reference's Recall@20)
              MRR@K        1/rank if the target is in the top K, else 0
              NDCG@K       1/log2(rank + 1) if the target is in the top K, else 0
              Precision@K  HR@K / K (one relevant item per example)
            """
    )

    @Option(
        name: .long,
        help: "Checkpoint from srgnn train, bare official weights (then see --step, --nonhybrid), or a baseline from srgnn fit.")
    var model: String

    @Option(name: .long, help: "Dataset folder whose test examples to rank.")
    var data: String

    @Option(name: .long, parsing: .unconditional, help: "Cut-offs, comma-separated.")
    var k: String = "5,10,20"

    @OptionGroup var architecture: ArchitectureOptions

    @Option(name: .long, parsing: .unconditional, help: "Worker threads (1...\(CommandLimits.maximumThreads)).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, parsing: .unconditional, help: "Examples scored together (1...\(CommandLimits.maximumBatchSize)).")
    var batchSize = 500

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        _ = try cutoffs()
        guard (1...CommandLimits.maximumThreads).contains(threads) else {
            throw ValidationError("--threads must be in 1...\(CommandLimits.maximumThreads), got \(threads)")
        }
        guard (1...CommandLimits.maximumBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1...\(CommandLimits.maximumBatchSize), got \(batchSize)")
        }
    }

    func cutoffs() throws -> [Int] { try parseCutoffs(k) }

    func run() throws {
        setBLASThreads(1)
        let cutoffs = try cutoffs()
        if isFittedBaseline(model) { return try evaluateFitted(cutoffs: cutoffs) }
        let loaded = try LoadedModel.load(from: model, propagationSteps: architecture.propagationSteps, nonhybrid: architecture.nonhybrid)
        reportLoaded(loaded, path: model)
        let dataset = try loaded.aligned(try SessionDataset.load(from: data), modelPath: model, datasetPath: data)
        let report = Evaluator(cutoffs: cutoffs, listLength: nil, threads: threads)
            .evaluate(SRGNNScorer(model: loaded.model, batchSize: batchSize), on: TestExample.examples(of: dataset.test))
        show(report, itemCount: loaded.model.configuration.itemCount, cutoffs: cutoffs)
    }

    /// A baseline from `srgnn fit`: the dataset in its vocabulary, scored by the rebuilt index.
    func evaluateFitted(cutoffs: [Int]) throws {
        let file = try loadFitted(model)
        let raw = try SessionDataset.load(from: data)
        guard let dataset = raw.remapped(to: file.header.vocabulary) else {
            throw CommandError("\(data) has items that \(model)'s vocabulary lacks; was it fitted on this dataset?")
        }
        let report = Evaluator(cutoffs: cutoffs, listLength: nil, threads: threads)
            .evaluate(try file.scorer(threads: threads), on: TestExample.examples(of: dataset.test))
        show(report, itemCount: file.itemCount, cutoffs: cutoffs)
    }

    func show(_ report: EvaluationReport, itemCount: Int, cutoffs: [Int]) {
        let metrics = report.keyedMetrics, rate = report.examplesPerSecond
        if json {
            var object: [String: JSONValue] = metrics.mapValues { .number($0) }
            object["examples"] = .number(Double(report.examples))
            object["examples_per_s"] = .number(rate)
            print((try? JSONText.string(object)) ?? "{}")
        } else {
            print("\(report.examples) test examples, \(itemCount) items, \(String(format: "%.0f", rate)) examples/s")
            for k in cutoffs {
                print(
                    String(
                        format: "@%-3d HR %6.2f  MRR %6.2f  NDCG %6.2f  Precision %6.2f", k, metrics["HR@\(k)"]!,
                        metrics["MRR@\(k)"]!, metrics["NDCG@\(k)"]!, metrics["Precision@\(k)"]!))
            }
        }
    }
}
