import ArgumentParser
import Evaluation
import Experiments
import Foundation
import SessionData
import SRGNN
import TensorCore
import Training

/// `srgnn tune`: random or grid search over the training hyper-parameters, selected on the
/// validation split only, resumable from its output folder.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search learning rate, L2, hidden size, propagation steps, batch size and decay on the validation split.",
        discussion: """
            Trains the default configuration once as a baseline (recorded as trial "defaults"), then \
            --trials trials in process, each with at most --epochs-per-trial epochs and early stopping \
            after --patience epochs that improve neither validation HR@K nor MRR@K. A trial's score is \
            its best epoch's validation objective. The test set is never evaluated during a search. \
            With --time-budget, no run starts once the finished runs' seconds reach it (a started run \
            finishes). Every trial uses --seed for initialisation, split and shuffling.

            --search random draws each trial's parameters from the space (log-uniform ranges for \
            scales), seeded by --seed and the trial's number: the trials are a pure function of \
            (space, seed, search, trials). --search grid walks the product of the choices in order \
            (every parameter must be a list of values), the first --trials points of it.

            Writes to --out: search.json (the header: space, search, seed, objective, data \
            fingerprint, budget), trials.jsonl (one line per finished run: trial, parameters, \
            validation objective per epoch, best_epoch, best_objective, stopped_early, seconds; \
            appended and synced as each finishes), summary.json and summary.md (the best trial, the \
            defaults' objective, and the srgnn train command that trains the better of the two with \
            the full epoch budget) and report.html (objective against each parameter, and the trials). \
            Rerunning the same command continues after the last finished run (a run interrupted \
            midway starts again); a larger --trials extends the search, a larger --time-budget lets \
            it go on (--threads and the budget may change between runs). A folder holding a search \
            with another space, search, seed, objective, data, epochs per trial, patience or \
            validation settings is refused unless --restart.

            Space files are YAML, one entry per parameter (named as srgnn train's long flags): a value \
            (fixed), a list or {choice: [...]}, {uniform: [low, high]} (integers for whole-number \
            parameters), or {log-uniform: [low, high]} (low > 0; list the values to include 0). \
            Parameters not named keep their defaults. The default space:

            \(SearchSpace.standard.yaml)
            """
    )

    @Option(name: .long, help: "Dataset folder (ours, from srgnn preprocess, or an SR-GNN pickle folder).")
    var data: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The model to tune: srgnn, niser (NISER+: every run trains with --variant niser), or a baseline (\(Baseline.allCases.filter { !$0.parameters.isEmpty }.map(\.rawValue).joined(separator: ", "))).",
            discussion:
                "A baseline is fitted on the training sessions left after the validation split (--validation-split sessions or latest, --validation-fraction) and scored on the held-out sessions' prefixes; --space names its parameters as compare's flags without the model prefix (vstan: k, sample, lambda-spw, …). It writes search.json, trials.jsonl, summary.md and best.yaml, which compare reads as --models vstan@DIR. The epoch, patience and loss options are SR-GNN's only."
        ))
    var model = "srgnn"

    @Option(name: .long, parsing: .unconditional, help: "Number of trials (besides the defaults' run).")
    var trials: Int

    @Option(name: .long, help: "Folder for the search's files (created if missing).")
    var out: String

    @Option(name: .long, help: "Search space (YAML); default: the space shown above.")
    var space: String?

    @Option(name: .long, help: "What to maximise on the validation split: mrr@K or hr@K.")
    var objective = "mrr@20"

    @Option(name: .long, help: "random or grid.")
    var search = SearchMethod.random

    @Option(name: .long, parsing: .unconditional, help: "Seed of the search and of every trial's training.")
    var seed: UInt64 = 0

    @Option(name: .long, parsing: .unconditional, help: "Maximum epochs of each trial.")
    var epochsPerTrial = 5

    @Option(name: .long, parsing: .unconditional, help: "Stop a trial after this many epochs without improvement.")
    var patience = 2

    @Option(name: .long, parsing: .unconditional, help: "Wall-clock budget of the whole search in seconds (checked before each run).")
    var timeBudget: Double?

    @Option(name: .long, help: "What the validation split holds out: examples, sessions or latest (as srgnn train).")
    var validationSplit = TrainingConfiguration().validationSplit

    @Option(name: .long, parsing: .unconditional, help: "Share of training examples held out for validation.")
    var validationFraction = TrainingConfiguration().validationFraction

    @Option(name: .long, parsing: .unconditional, help: "Worker threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: TrainingOptions.names(.loss), help: TrainingOptions.help(.loss))
    var loss = TrainingConfiguration().loss

    @Option(name: TrainingOptions.names(.negatives), parsing: .unconditional, help: TrainingOptions.help(.negatives))
    var negatives = TrainingConfiguration().negatives

    @Option(name: TrainingOptions.names(.sampleAlpha), parsing: .unconditional, help: TrainingOptions.help(.sampleAlpha))
    var sampleAlpha = TrainingConfiguration().sampleAlpha

    @Flag(name: .long, help: "Discard a previous search in --out whose header differs, instead of refusing.")
    var restart = false

    func validate() throws {
        guard (1...HyperparameterSearch.maximumTrials).contains(trials) else {
            throw ValidationError("--trials must be in 1...\(HyperparameterSearch.maximumTrials) (got \(trials))")
        }
        guard SearchObjective(objective) != nil else {
            throw ValidationError(
                "--objective: expected mrr@K or hr@K with K in 1...\(TrainingConfiguration.limits.cutoff), e.g. mrr@20 (got '\(quotedPrefix(objective))')"
            )
        }
        if let timeBudget, !(timeBudget > 0) {
            throw ValidationError("--time-budget must be a positive number of seconds (got \(timeBudget))")
        }
        do {
            try baseConfiguration().validate()
        } catch TrainingError.invalidSetting(let key, let message) {
            let spelling: String =
                switch key {
                case .epochs: "--epochs-per-trial"
                case .patience: "--patience"
                case .threads: "--threads"
                case .validationFraction: "--validation-fraction"
                default: TrainingOptions.spelling(of: key)
                }
            throw ValidationError("\(spelling): \(message)")
        }
    }

    /// The settings every run shares; the searched parameters keep `TrainingConfiguration`'s defaults
    /// (the baseline's values) until a trial sets them.
    func baseConfiguration() -> TrainingConfiguration {
        var base = TrainingConfiguration()
        base.epochs = epochsPerTrial
        base.patience = patience
        base.seed = seed
        base.threads = threads
        base.validationSplit = validationSplit
        base.validationFraction = validationFraction
        base.cutoff = SearchObjective(objective)?.cutoff ?? base.cutoff
        base.loss = loss
        base.negatives = negatives
        base.sampleAlpha = sampleAlpha
        if model == ModelVariant.niser.rawValue { base.apply(.niser) }
        return base
    }

    func run() throws {
        if ModelVariant(rawValue: model) == nil {
            guard let baseline = Baseline(rawValue: model) else {
                throw CommandError(
                    "--model: unknown model '\(model)'; use srgnn, niser or one of \(Baseline.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return try tuneBaseline(baseline)
        }
        setBLASThreads(1)  // products are split over our threads instead (see TensorCore's gemm(threads:))
        let searchSpace: SearchSpace
        if let space {
            let text: String
            do {
                text = String(decoding: try FileIO.readAll(space), as: UTF8.self)
            } catch let error as SessionDataError {
                throw CommandError("--space \(error)")
            }
            do {
                searchSpace = try SearchSpace.parse(yaml: text, path: space)
            } catch let error as SettingsFileError {
                throw CommandError("--space \(error)")
            }
        } else {
            searchSpace = .standard
        }
        // A grid is checked before the data is read: its size is known from the space alone.
        if search == .grid {
            do { _ = try searchSpace.checkedGrid(base: baseConfiguration()) } catch let error as SearchError {
                throw CommandError("--space \(space ?? "(the default space)"): \(error)")
            }
        }
        let dataset = try SessionDataset.load(from: data)
        let header = SearchHeader(
            space: searchSpace, search: search, seed: seed, objective: SearchObjective(objective)!,
            datasetFingerprint: dataset.fingerprint, data: data, epochsPerTrial: epochsPerTrial,
            patience: patience, timeBudgetSeconds: timeBudget, base: baseConfiguration())
        let tuner: HyperparameterSearch
        do {
            tuner = try HyperparameterSearch(header: header, dataset: dataset, directory: out, trials: trials)
        } catch let error as SearchError {
            throw CommandError("\(error)")
        }
        let note = { (message: String) in printLine("tune: \(message)") }
        printLine(
            "tune: \(search.rawValue) search of \(trials) trials on \(data) (\(dataset.train.count) training examples, \(dataset.itemCount) items), validation \(header.objective.metricKey), seed \(seed), into \(out)"
        )
        let finished: [TrialRecord]
        do {
            finished = try tuner.open(restart: restart, note: note)
        } catch let error as SearchError {
            throw CommandError("\(error)")
        }
        let records = try tuner.run(finished: finished, observer: ProgressReporter(cutoff: header.objective.cutoff), note: note)
        let summary = try tuner.writeOutputs(records)
        print("")
        print(summary.markdown())
        print("files: \(out)/trials.jsonl, \(out)/summary.json, \(out)/summary.md, \(out)/report.html")
    }
}

extension SearchMethod: ExpressibleByArgument {}

extension TuneCommand {
    /// `--model NAME` for a baseline: every run fits and scores in seconds to minutes, so the search
    /// is not resumed; its files are rewritten as each run finishes.
    func tuneBaseline(_ baseline: Baseline) throws {
        guard !baseline.parameters.isEmpty else {
            throw CommandError("--model \(baseline.rawValue): \(baseline.displayName) has no parameters to tune")
        }
        guard validationSplit != .examples else {
            throw CommandError("--validation-split examples: a baseline is fitted on whole sessions; use sessions or latest")
        }
        let dataset = try SessionDataset.load(from: data)
        let sessions = dataset.trainSessions
        let meanLength = Double(sessions.clickCount) / Double(max(sessions.count, 1))
        var searchSpace = BaselineSearchSpace.standard(for: baseline, meanSessionLength: meanLength)
        if let space {
            do {
                let text = String(decoding: try FileIO.readAll(space), as: UTF8.self)
                searchSpace = try BaselineSearchSpace.parse(yaml: text, path: space, model: baseline)
            } catch let error as SessionDataError {
                throw CommandError("--space \(error)")
            } catch let error as SettingsFileError {
                throw CommandError("--space \(error)")
            }
        }
        var base = BaselineFitters()
        base.itemKNN.threads = threads
        base.sequentialRules.threads = threads
        let tuner = BaselineSearch(
            space: searchSpace, search: search, seed: seed, objective: SearchObjective(objective)!, trials: trials, base: base,
            validationSplit: validationSplit, validationFraction: validationFraction, threads: threads)
        printLine(
            "tune: \(search.rawValue) search of \(trials) trials of \(baseline.displayName) on \(data), validation \(tuner.objective.metricKey), seed \(seed), into \(out)"
        )
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let header: [String: JSONValue] = [
            "model": .string(baseline.rawValue), "space": .string(searchSpace.yaml), "search": .string(search.rawValue),
            "seed": .number(Double(seed)), "objective": .string(tuner.objective.description), "data": .string(data),
            "dataset_fingerprint": .string(dataset.fingerprint), "validation_split": .string(validationSplit.rawValue),
            "validation_fraction": .number(validationFraction),
        ]
        try writeAtomically(try JSONText.data(header), to: out + "/search.json")
        let records: [BaselineTrial]
        do {
            records = try tuner.run(sessions: sessions, times: dataset.trainSessionTimes, itemCount: dataset.itemCount) {
                printLine("tune: \($0)")
            }
        } catch let error as SearchError {
            throw CommandError("\(error)")
        }
        var lines = Data()
        for record in records {
            lines.append(try JSONText.data(record))
            lines.append(0x0A)
        }
        try writeAtomically(lines, to: out + "/trials.jsonl")
        let best = BaselineSearch.best(of: records)!
        try writeAtomically(Data(tuner.configurationYAML(best, trials: records.count).utf8), to: out + "/best.yaml")
        let summary = "# \(baseline.displayName) on \(data)\n\n" + tuner.markdown(records)
        try writeAtomically(Data(summary.utf8), to: out + "/summary.md")
        print("")
        print(summary)
        print("best: \(best.trial); compare it with: srgnn compare --data \(data) --models \(baseline.rawValue)@\(out)")
        print("files: \(out)/search.json, \(out)/trials.jsonl, \(out)/summary.md, \(out)/best.yaml")
    }
}
