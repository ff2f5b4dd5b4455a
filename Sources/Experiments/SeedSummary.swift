import Evaluation
import Training

/// Several runs that differ only in their seed, summarised: each run's selected epoch with its
/// validation and test HR@K and MRR@K, and over the runs the mean, the sample standard deviation
/// and a Student-t confidence interval of each (``MeanInterval``). `srgnn train --seeds` prints it
/// and writes it as JSON beside the checkpoints.
public struct SeedSummary: Codable, Sendable, Equatable {
    public struct Run: Codable, Sendable, Equatable {
        public var seed: UInt64
        public var checkpoint: String
        /// The saved epoch, 1-based as printed.
        public var selectedEpoch: Int
        public var completedEpochs: Int
        /// `HR@K` and `MRR@K` (percent) at the selected epoch; nil when not measured (no
        /// validation split with `selectOn: .test`).
        public var validation: [String: Double]?
        public var test: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case seed, checkpoint, validation, test
            case selectedEpoch = "selected_epoch", completedEpochs = "completed_epochs"
        }

        /// The run's selected epoch from its `result`, its metrics cut to `HR@cutoff` and `MRR@cutoff`.
        public init(seed: UInt64, checkpoint: String, result: TrainingResult, cutoff: Int) {
            self.seed = seed
            self.checkpoint = checkpoint
            selectedEpoch = result.bestEpoch + 1
            completedEpochs = result.history.count
            let record = result.history.first { $0.epoch == result.bestEpoch }
            let keys = ["HR@\(cutoff)", "MRR@\(cutoff)"]
            validation = record?.validation.map { $0.filter { keys.contains($0.key) } }
            test = record?.test.map { $0.filter { keys.contains($0.key) } }
        }
    }

    public var cutoff: Int
    public var selectOn: SelectionProtocol
    public var validationSplit: ValidationSplit
    public var runs: [Run]
    /// Over the runs, keyed `validation.HR@K`, `validation.MRR@K`, `test.HR@K`, `test.MRR@K`
    /// (those every run measured).
    public var statistics: [String: MeanInterval]

    enum CodingKeys: String, CodingKey {
        case cutoff, runs, statistics
        case selectOn = "select_on", validationSplit = "validation_split"
    }

    public init(runs: [Run], configuration: TrainingConfiguration, level: Double = 0.95) {
        precondition(!runs.isEmpty, "need at least one run")
        cutoff = configuration.cutoff
        selectOn = configuration.selectOn
        validationSplit = configuration.validationSplit
        self.runs = runs
        var statistics = [String: MeanInterval]()
        for (set, values) in [("validation", runs.map(\.validation)), ("test", runs.map(\.test))] {
            for metric in ["HR@\(cutoff)", "MRR@\(cutoff)"] {
                let measured = values.compactMap { $0?[metric] }
                if measured.count == runs.count { statistics[set + "." + metric] = MeanInterval(measured, level: level) }
            }
        }
        self.statistics = statistics
    }

    /// The keys of `statistics` in reading order.
    public var statisticKeys: [String] {
        ["validation", "test"].flatMap { set in ["HR@\(cutoff)", "MRR@\(cutoff)"].map { set + "." + $0 } }
            .filter { statistics[$0] != nil }
    }
}
