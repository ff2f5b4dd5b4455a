import ArgumentParser
import Evaluation
import Foundation
import SRGNN
import SessionData

/// `srgnn stats`: the paper's Table 1 for a dataset folder (this tool's or an SR-GNN pickle folder).
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Clicks, training sessions and examples, test examples, items and average length of a dataset folder."
    )

    @Argument(help: "A dataset folder: this tool's (dataset.json) or an SR-GNN folder (all_train_seq.txt, test.txt).")
    var folder: String

    @Flag(help: "Print JSON (keys: clicks, train_sessions, train_examples, test_sessions, test_examples, items, average_length).")
    var json = false

    func run() throws {
        let dataset: SessionDataset
        do { dataset = try SessionDataset.load(from: folder) } catch let error as SessionDataError {
            throw CommandError(error.description)
        }
        let statistics = DatasetStatistics(dataset)
        if json {
            print(try JSONText.string(statistics))
        } else {
            print(
                """
                clicks            \(statistics.clicks)
                train sessions    \(statistics.trainSessions)
                train examples    \(statistics.trainExamples)
                test sessions     \(statistics.testSessions)
                test examples     \(statistics.testExamples)
                items             \(statistics.items)
                average length    \((statistics.averageLength * 100).rounded() / 100)
                """)
        }
    }
}
