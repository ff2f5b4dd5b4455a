import ArgumentParser
import Evaluation
import Experiments
import Foundation
import SessionData
import SRGNN
import TensorCore
import Training

/// `srgnn train`: train SR-GNN on a dataset folder and save the best epoch as a checkpoint.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train SR-GNN on a dataset folder; save the best epoch as a checkpoint.",
        discussion: """
            Hyperparameters default to the reference's. With --select-on validation (the default) \
            random whole training sessions holding --validation-fraction of the examples are held out \
            (--validation-split sessions; 'examples' is the reference's --validation split of random \
            prefixes, 'latest' the most recent sessions) and the best epoch is chosen by their HR@K \
            (K = --cutoff); the test set is evaluated every epoch but never used for choices. --select-on test reproduces the paper's protocol: all training \
            examples train and the epoch is chosen by the test set, which makes the reported test \
            metrics optimistic.

            Writes MODEL (best epoch: safetensors with the official tensor names plus JSON metadata), \
            MODEL.log.jsonl (one line per epoch) and MODEL.state (for --resume). Every output is checked \
            for writability before training; a new run (without --resume) leaves the previous run's \
            MODEL, MODEL.state and MODEL.log.jsonl in place until its first epoch's checkpoint is \
            renamed over MODEL, then replaces the other two (a run killed earlier leaves the old model \
            whole). --init-from or --init-optimizer-state naming one of the outputs is refused (the \
            new model would replace its own parent). A symbolic link is written through; a \
            device or folder is refused. --resume refuses data other than the run's (a fingerprint of \
            the dataset is saved in MODEL.state and MODEL) and rewrites the log to its completed epochs.

            Limits: --hidden-size ≤ 4096, --step ≤ 16, --batch-size ≤ 10000, --epochs ≤ 10000, \
            --threads ≤ 256, --cutoff ≤ 10000; sessions are read whole, the training and the test \
            examples each at most 268,435,456 item ids.

            Experiment files: --config run.yaml reads the data and settings from a YAML mapping whose \
            names are this command's long flags (aliases too: lr, l2, step, …), e.g. \
            'data: data/diginetica', 'learning-rate: 0.001', 'validation-split: sessions', \
            'nonhybrid: true'. Flags given on the command line override the file (--no-nonhybrid, \
            --no-textbook-decay turn its switches off). An unknown name, a wrong type or a value out of \
            range is an error naming the file and line. The checkpoint records the effective settings, \
            the data path and the file's text, so --config also takes a checkpoint: \
            'srgnn train --config old.safetensors --out new.safetensors' reruns old's experiment. If \
            old was warm-started, the rerun starts from the same parent (and optimizer state), which \
            must still be at its recorded path with its recorded SHA-256; otherwise it is refused, \
            naming what is missing (--init-from overrides the parent).
            """
    )

    @Option(name: .long, help: "Dataset folder (ours, from srgnn preprocess, or an SR-GNN pickle folder); may come from --config.")
    var data: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Experiment file: YAML data and settings (names as the long flags), or a checkpoint to rerun its experiment; flags override it.",
            valueName: "run.yaml|checkpoint"))
    var config: String?

    @Option(name: .long, help: "Checkpoint to write.")
    var out: String

    @OptionGroup var options: TrainingOptions

    @Flag(name: .long, help: "Continue an interrupted run from its last completed epoch (same options).")
    var resume = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Warm start: begin from this checkpoint instead of a fresh initialisation.",
            discussion:
                "The vocabulary becomes the checkpoint's plus the new data's new items (raw ids keep their meaning and rows; new items get rows drawn as a cold start draws them; items absent from --data keep theirs). Every other weight is copied. Hidden size, propagation steps, hybrid/non-hybrid and the variant (SR-GNN or NISER, its σ and position embeddings) are the checkpoint's; a conflicting flag is an error. For a bare weights file (official names, no metadata) items are the row numbers and --step/--nonhybrid say how it was built. The new checkpoint records its lineage (the parent's SHA-256, the data's fingerprint and counts, the items added).",
            valueName: "checkpoint"))
    var initFrom: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --init-from: continue Adam's moments and step count from this training state (the parent run's MODEL.state).",
            discussion:
                "Without it the moments start at zero, and the first steps on the new data take the full bias-corrected rate. For incremental retraining on only the newest sessions, continue them: in the retraining simulation (docs/RESULTS.md) zeroed moments cost 2–3 HR@20 points against a full retrain on Diginetica, continued ones stayed within 1.",
            valueName: "state"))
    var initOptimizerState: String?

    // Unconditional: `--seeds -1,2` is a bad value to name, not an unknown option `-1`.
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Train one model per seed, e.g. 1,2,3 (conflicts with --seed), and summarise them.",
            discussion:
                "MODEL.safetensors becomes MODEL.seed1.safetensors, MODEL.seed2.safetensors, … (each with its own .log.jsonl and .state; a MODEL without an extension gets .seed1 appended). After the last run, each seed's selected epoch and its validation and test HR@K and MRR@K are printed with, over the seeds, the mean ± sample standard deviation and a 95 % Student-t interval (n − 1 degrees of freedom); the same goes to MODEL.seeds.json. With --resume, seeds with a saved state continue and the others start afresh.",
            valueName: "seeds"))
    var seeds: String?

    func validate() throws {
        if initOptimizerState != nil && initFrom == nil { throw ValidationError("--init-optimizer-state needs --init-from") }
        if try parsedSeeds() != nil, let seed = options.seed {
            throw ValidationError("--seeds and --seed \(seed) conflict: --seeds trains one model per seed; give one of them")
        }
    }

    /// `--seeds` as numbers: at least two, distinct, each a UInt64.
    func parsedSeeds() throws -> [UInt64]? {
        guard let seeds else { return nil }
        let parts = seeds.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.map { UInt64($0) }
        if let bad = parts.indices.first(where: { values[$0] == nil }) {
            throw ValidationError(
                "--seeds: expected non-negative integers separated by commas, e.g. 1,2,3; '\(quotedPrefix(parts[bad]))' is not one")
        }
        let numbers = values.map { $0! }
        guard numbers.count >= 2 else { throw ValidationError("--seeds: give at least two seeds (for one run, use --seed)") }
        guard Set(numbers).count == numbers.count else { throw ValidationError("--seeds: each seed once (got \(seeds))") }
        return numbers
    }

    /// Where the run of `seed` writes its checkpoint: `model.safetensors` → `model.seed1.safetensors`.
    static func checkpointPath(_ out: String, seed: UInt64) -> String { insert("seed\(seed)", into: out) }

    /// Where `--seeds` writes its summary: `model.safetensors` → `model.seeds.json`.
    static func seedSummaryPath(_ out: String) -> String { insert("seeds", into: out, extension: "json") }

    /// `name.ext` → `name.tag.ext` (or `.newExtension`); a name without an extension gets `.tag` appended.
    static func insert(_ tag: String, into path: String, extension newExtension: String? = nil) -> String {
        let suffix = URL(fileURLWithPath: path).pathExtension
        let stem = suffix.isEmpty ? path : String(path.dropLast(suffix.count + 1))
        let ending = newExtension ?? suffix
        return stem + "." + tag + (ending.isEmpty ? "" : "." + ending)
    }

    /// The experiment: `--config`'s file (if any) with the flags given over it, and the data path.
    func experiment() throws -> (file: ExperimentFile?, settings: TrainingSettings, data: String) {
        let file: ExperimentFile?
        do {
            file = try config.map(ExperimentFile.load)
        } catch let error as SettingsFileError {
            throw CommandError("--config \(error)")
        }
        guard let data = data ?? file?.data else {
            throw CommandError(
                config == nil
                    ? "give --data (the dataset folder), or --config with a 'data' setting"
                    : "--config \(config!) names no data: give --data")
        }
        return (file, (file?.settings ?? TrainingSettings()).overridden(by: options.settings()), data)
    }

    func run() throws {
        setBLASThreads(1)  // products are split over our threads instead (see TensorCore's gemm(threads:))
        let (experimentFile, settings, data) = try experiment()
        let warmStart = try resolvedWarmStart(experimentFile, settings)
        let configuration = TrainingOptions.configuration(settings, warmStartingFrom: warmStart?.parent.model.configuration)
        let dataset = try SessionDataset.load(from: data)
        let run = Run(data: data, experiment: experimentFile?.source, warmStart: warmStart)
        guard let seeds = try parsedSeeds() else {
            _ = try train(configuration, on: dataset, run: run, to: out, resume: resume)
            return
        }
        var runs = [SeedSummary.Run]()
        for (index, seed) in seeds.enumerated() {
            var seeded = configuration
            seeded.seed = seed
            let path = Self.checkpointPath(out, seed: seed)
            printLine("\nseed \(seed) (\(index + 1) of \(seeds.count)): \(path)")
            // A seed that never started has no state to resume from.
            let resumable = resume && FileManager.default.fileExists(atPath: path + ".state")
            if resume && !resumable { printLine("note: no saved state for seed \(seed): starting it afresh") }
            let result = try train(seeded, on: dataset, run: run, to: path, resume: resumable)
            runs.append(SeedSummary.Run(seed: seed, checkpoint: path, result: result, cutoff: configuration.cutoff))
        }
        let summary = SeedSummary(runs: runs, configuration: configuration)
        let summaryPath = Self.seedSummaryPath(out)
        try writeAtomically(Data(try JSONText.string(summary).utf8), to: summaryPath)
        print(Self.seedReport(summary))
        print("summary: \(summaryPath)")
    }

    /// The warm start: `--init-from`'s, or for a checkpoint given as `--config` whose run was warm
    /// started, that run's parent again, which must still be at its recorded path with its
    /// recorded SHA-256 (a rerun from another parent, or from scratch, would not be that run).
    func resolvedWarmStart(_ experiment: ExperimentFile?, _ settings: TrainingSettings) throws -> WarmStart? {
        func load(_ path: String, _ statePath: String?) throws -> WarmStart {
            try WarmStart.load(
                from: path, optimizerStatePath: statePath,
                propagationSteps: settings.propagationSteps ?? TrainingOptions.defaults.propagationSteps,
                nonhybrid: settings.nonhybrid ?? TrainingOptions.defaults.nonhybrid)
        }
        if let initFrom { return try load(initFrom, initOptimizerState) }
        guard let config, let lineage = experiment?.warmStart else { return nil }
        let recorded = "\(lineage.parentPath) (sha256 \(lineage.parentSHA256.prefix(16))…)"
        let remedy = "put it back there, or give --init-from to start from another checkpoint"
        guard FileManager.default.fileExists(atPath: lineage.parentPath) else {
            throw CommandError("--config \(config): its run was warm-started from \(recorded), which is missing; \(remedy)")
        }
        if let state = lineage.optimizerState, !FileManager.default.fileExists(atPath: state) {
            throw CommandError(
                "--config \(config): its run continued the optimizer state \(state), which is missing; \(remedy) (with or without --init-optimizer-state)"
            )
        }
        let warmStart = try load(lineage.parentPath, lineage.optimizerState)
        guard warmStart.parent.sha256 == lineage.parentSHA256 else {
            throw CommandError(
                "--config \(config): its run was warm-started from \(recorded), but that file has changed (sha256 now \(warmStart.parent.sha256.prefix(16))…); \(remedy)"
            )
        }
        printLine("warm start as --config's run: from \(lineage.parentPath), sha256 checked")
        return warmStart
    }

    /// The per-seed lines and the statistics over seeds, as printed.
    static func seedReport(_ summary: SeedSummary) -> String {
        let k = summary.cutoff
        func metrics(_ name: String, _ values: [String: Double]?) -> String {
            guard let values else { return "" }
            return String(format: "  %@ HR@%d %.2f MRR@%d %.2f", name, k, values["HR@\(k)"] ?? 0, k, values["MRR@\(k)"] ?? 0)
        }
        var text = "\nselected epochs:\n"
        for run in summary.runs {
            text +=
                "seed \(run.seed): epoch \(run.selectedEpoch)" + metrics("validation", run.validation) + metrics("test", run.test) + "\n"
        }
        let n = summary.runs.count
        let t = studentTQuantile(0.975, degreesOfFreedom: n - 1)
        text += String(
            format: "over %d seeds: mean ± sample standard deviation [95 %% interval: mean ± t · sd/√%d, t(0.975, %d) = %.3f]\n", n, n,
            n - 1, t)
        for key in summary.statisticKeys {
            guard let value = summary.statistics[key] else { continue }
            let name = key.replacingOccurrences(of: ".", with: " ").padding(toLength: 18, withPad: " ", startingAt: 0)
            text +=
                name
                + String(
                    format: "%6.2f ± %.2f [%.2f, %.2f]\n", value.mean, value.standardDeviation ?? 0, value.lower ?? value.mean,
                    value.upper ?? value.mean)
        }
        return text
    }

    /// What every run of one invocation shares: the data path, the experiment file, the warm start.
    struct Run {
        var data: String
        var experiment: ExperimentSource?
        var warmStart: WarmStart?
    }

    /// One training run to `out`, with its configuration, data and outcome printed.
    func train(
        _ configuration: TrainingConfiguration, on dataset: SessionDataset, run: Run, to out: String,
        resume: Bool
    ) throws -> TrainingResult {
        let (data, warmStart) = (run.data, run.warmStart)
        let trainer: Trainer
        do {
            trainer = try Trainer(
                configuration: configuration, dataset: dataset, checkpointPath: out, datasetPath: data,
                warmStart: warmStart)
        } catch TrainingError.invalidSetting(let key, let message) {
            throw CommandError("\(TrainingOptions.spelling(of: key))\(config.map { " (with --config \($0))" } ?? ""): \(message)")
        }
        trainer.experiment = run.experiment
        printLine("configuration: \(describe(configuration))" + (config.map { " (from \($0) and the flags given)" } ?? ""))
        if let warmStart {
            printLine(
                "warm start from \(warmStart.parentPath) (sha256 \(warmStart.parent.sha256.prefix(16))…): \(warmStart.parent.model.configuration.itemCount) items kept, \(trainer.addedItems) added; Adam moments "
                    + (warmStart.optimizerStatePath.map { "continued from \($0)" } ?? "start at zero"))
            for note in warmStart.parent.notes { printLine("note: \(warmStart.parentPath): \(note)") }
        }
        printLine(
            "data: \(data): \(dataset.train.count) training examples (\(trainer.trainIndices.count) train, \(trainer.validationIndices.count) validation"
                + (configuration.selectOn == .validation ? ", split by \(configuration.validationSplit.rawValue)" : "")
                + "), \(dataset.test.count) test, \(dataset.itemCount) items")
        let progress = ProgressReporter(cutoff: configuration.cutoff)
        let result = try trainer.run(resume: resume, observer: progress)
        let k = configuration.cutoff
        let protocolName = configuration.selectOn == .validation ? "validation" : "test (reference protocol)"
        if configuration.selectOn == .last {
            print("kept the last epoch: \(result.bestEpoch + 1) (--select-on last chooses nothing)")
        } else {
            print("best epoch by \(protocolName) HR@\(k): \(result.bestEpoch + 1)")
        }
        if let record = result.history.first(where: { $0.epoch == result.bestEpoch }), let test = record.test {
            print(String(format: "test at that epoch: HR@%d %.2f  MRR@%d %.2f", k, test["HR@\(k)"] ?? 0, k, test["MRR@\(k)"] ?? 0))
        }
        if configuration.selectOn != .last {
            print(
                String(
                    format: "best %@ HR@%d %.2f (epoch %d), best MRR@%d %.2f (epoch %d)", protocolName, k, result.bestHitRate.value,
                    result.bestHitRate.epoch + 1, k, result.bestReciprocalRank.value, result.bestReciprocalRank.epoch + 1))
        }
        print("checkpoint: \(out)  log: \(trainer.logPath)  peak memory: \(peakResidentBytes() / 1_048_576) MiB")
        return result
    }
}

/// Every training hyperparameter. Options are optional so that a flag the user gave can be told
/// from one left out: given flags override `--config`'s file, which overrides the defaults of
/// `TrainingConfiguration()` (shown in the help, so the help text and the library cannot disagree).
/// Spellings are kept from earlier releases; the names of the configuration's fields are accepted
/// as aliases (`--l2-penalty` for `--l2`).
struct TrainingOptions: ParsableArguments {
    static let defaults = TrainingConfiguration()

    @Option(name: Self.names(.hiddenSize), parsing: .unconditional, help: Self.help(.hiddenSize))
    var hiddenSize: Int?
    @Option(name: Self.names(.batchSize), parsing: .unconditional, help: Self.help(.batchSize))
    var batchSize: Int?
    @Option(name: Self.names(.epochs), parsing: .unconditional, help: Self.help(.epochs))
    var epochs: Int?
    @Option(name: Self.names(.learningRate), parsing: .unconditional, help: Self.help(.learningRate))
    var learningRate: Float?
    @Option(name: Self.names(.decayFactor), parsing: .unconditional, help: Self.help(.decayFactor))
    var decayFactor: Float?
    @Option(name: Self.names(.decayInterval), parsing: .unconditional, help: Self.help(.decayInterval))
    var decayInterval: Int?
    @Flag(inversion: .prefixedNo, help: Self.help(.referenceDecayTiming))
    var textbookDecay: Bool?
    @Option(name: Self.names(.l2Penalty), parsing: .unconditional, help: Self.help(.l2Penalty))
    var l2Penalty: Float?
    @Option(name: Self.names(.propagationSteps), parsing: .unconditional, help: Self.help(.propagationSteps))
    var propagationSteps: Int?
    @Flag(inversion: .prefixedNo, help: Self.help(.nonhybrid))
    var nonhybrid: Bool?
    @Option(name: Self.names(.patience), parsing: .unconditional, help: Self.help(.patience))
    var patience: Int?
    @Option(name: Self.names(.seed), parsing: .unconditional, help: Self.help(.seed))
    var seed: UInt64?
    @Option(name: Self.names(.threads), parsing: .unconditional, help: Self.help(.threads))
    var threads: Int?
    @Option(name: Self.names(.validationFraction), parsing: .unconditional, help: Self.help(.validationFraction))
    var validationFraction: Double?
    @Option(name: Self.names(.validationSplit), help: Self.help(.validationSplit))
    var validationSplit: ValidationSplit?
    @Option(name: Self.names(.selectOn), help: Self.help(.selectOn))
    var selectOn: SelectionProtocol?
    @Option(name: Self.names(.cutoff), parsing: .unconditional, help: Self.help(.cutoff))
    var cutoff: Int?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "'srgnn' (the default) or 'niser': NISER+ (Gupta et al. 2019) with the paper's settings, i.e. --normalize --scale \(SRGNNConfiguration.niserScale) --position-embeddings --dropout \(SRGNNConfiguration.niserDropout).",
            discussion:
                "The flags below change one part each, on top of the variant; with --init-from, the parent's settings unless given (then they must agree, dropout aside). In an experiment file: variant, normalize, scale, position-embeddings (true/false), dropout, authors-code (true/false)."
        ))
    var variant: ModelVariant?
    @Flag(name: Self.names(.normalize), help: Self.help(.normalize))
    var normalize = false
    @Option(name: Self.names(.scale), parsing: .unconditional, help: Self.help(.scale))
    var scale: Float?
    @Flag(name: Self.names(.positionEmbeddingRows), help: Self.help(.positionEmbeddingRows))
    var positionEmbeddings = false
    @Option(name: Self.names(.dropout), parsing: .unconditional, help: Self.help(.dropout))
    var dropout: Float?
    @Flag(name: Self.names(.authorsCode), help: Self.help(.authorsCode))
    var authorsCode = false
    @Option(name: Self.names(.loss), help: Self.help(.loss))
    var loss: TrainingLoss?
    @Option(name: Self.names(.negatives), parsing: .unconditional, help: Self.help(.negatives))
    var negatives: Int?
    @Option(name: Self.names(.sampleAlpha), parsing: .unconditional, help: Self.help(.sampleAlpha))
    var sampleAlpha: Double?
    @Option(name: Self.names(.evaluationExamples), parsing: .unconditional, help: Self.help(.evaluationExamples))
    var evaluationExamples: Int?

    /// An option's long names, from its hyperparameter's entry.
    static func names(_ key: TrainingConfiguration.Key) -> NameSpecification {
        NameSpecification(Hyperparameter[key].flags.map { .customLong($0) })
    }

    /// An option's help, from its hyperparameter's entry (defaults included).
    static func help(_ key: TrainingConfiguration.Key) -> ArgumentHelp {
        ArgumentHelp(Hyperparameter[key].help, discussion: Hyperparameter[key].discussion)
    }

    /// The settings given on the command line (the others nil).
    func settings() -> TrainingSettings {
        var settings = TrainingSettings()
        settings.hiddenSize = hiddenSize
        settings.batchSize = batchSize
        settings.epochs = epochs
        settings.learningRate = learningRate
        settings.decayFactor = decayFactor
        settings.decayInterval = decayInterval
        settings.textbookDecay = textbookDecay
        settings.l2Penalty = l2Penalty
        settings.propagationSteps = propagationSteps
        settings.nonhybrid = nonhybrid
        settings.patience = patience
        settings.seed = seed
        settings.threads = threads
        settings.validationFraction = validationFraction
        settings.validationSplit = validationSplit
        settings.selectOn = selectOn
        settings.cutoff = cutoff
        settings.loss = loss
        settings.negatives = negatives
        settings.sampleAlpha = sampleAlpha
        settings.evaluationExamples = evaluationExamples
        // The variant sets its four parts; each flag then overrides one.
        if let variant { settings.apply(variant) }
        if normalize { settings.normalize = true }
        if let scale { settings.scale = scale }
        if positionEmbeddings { settings.positionEmbeddingRows = SRGNNConfiguration.niserPositionRows }
        if let dropout { settings.dropout = dropout }
        if authorsCode { settings.authorsCode = true }
        return settings
    }

    /// The configuration these options describe over the defaults (not yet validated).
    func configuration() -> TrainingConfiguration {
        settings().applied(to: Self.defaults)
    }

    /// The configuration of `settings` (a file's, overridden by the flags), for a cold start or a
    /// warm start from `parent`: architecture settings that neither gave are then the parent's
    /// (those given must agree with it; the trainer checks).
    static func configuration(_ settings: TrainingSettings, warmStartingFrom parent: SRGNNConfiguration?) -> TrainingConfiguration {
        var base = defaults
        if let parent {
            base.hiddenSize = parent.hiddenSize
            base.propagationSteps = parent.propagationSteps
            base.nonhybrid = parent.nonhybrid
            base.normalize = parent.normalize
            base.scale = parent.scale
            base.positionEmbeddingRows = parent.positionEmbeddingRows
            base.dropout = parent.dropout
            base.authorsCode = parent.authorsCode
        }
        return settings.applied(to: base)
    }

    /// The library's checks, reported against the option that set the bad value.
    func validate() throws {
        do {
            try configuration().validate()
        } catch TrainingError.invalidSetting(let key, let message) {
            throw ValidationError("\(Self.spelling(of: key)): \(message)")
        }
    }

    /// The option (all its spellings) that sets a configuration field.
    static func spelling(of key: TrainingConfiguration.Key) -> String { Hyperparameter[key].spelling }
}

extension SelectionProtocol: ExpressibleByArgument {}
extension ModelVariant: ExpressibleByArgument {}
extension ValidationSplit: ExpressibleByArgument {}
extension TrainingLoss: ExpressibleByArgument {}

func describe(_ configuration: TrainingConfiguration) -> String {
    (try? JSONText.string(configuration)) ?? "\(configuration)"
}

/// Prints a line and flushes standard output, so progress reaches a pipe or log file as it happens
/// (stdout is block-buffered when it is not a terminal).
func printLine(_ line: String) {
    print(line)
    fflush(nil)  // nil: every output stream (naming `stdout` is a concurrency error in Swift 6)
}

/// Progress on a terminal as a redrawn bar (examples/s, running loss, time left); elsewhere as
/// plain lines every tenth of an epoch. One summary line per epoch either way.
final class ProgressReporter: TrainingObserver {
    let cutoff: Int
    let interactive = isatty(STDERR_FILENO) != 0
    var lastDraw = 0.0
    var lastTenth = -1

    init(cutoff: Int) { self.cutoff = cutoff }

    func batchFinished(epoch: Int, examplesDone: Int, examplesTotal: Int, runningLoss: Double, seconds: Double) {
        let rate = Double(examplesDone) / max(seconds, 1e-9)
        let left = Double(examplesTotal - examplesDone) / max(rate, 1e-9)
        if interactive {
            guard seconds - lastDraw > 0.2 || examplesDone == examplesTotal else { return }
            lastDraw = seconds
            let width = 30, filled = width * examplesDone / max(examplesTotal, 1)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = String(
                format: "\repoch %2d %@ %3d%% %6.0f ex/s loss %.4f %4.0fs left ", epoch + 1, bar,
                100 * examplesDone / max(examplesTotal, 1), rate, runningLoss, left)
            FileHandle.standardError.write(Data(line.utf8))
        } else {
            let tenth = 10 * examplesDone / max(examplesTotal, 1)
            if tenth != lastTenth && tenth < 10 && tenth > 0 {
                lastTenth = tenth
                printLine(
                    String(
                        format: "epoch %d: %d/%d examples, %.0f ex/s, loss %.4f, %.0fs left", epoch + 1, examplesDone,
                        examplesTotal, rate, runningLoss, left))
            }
        }
    }

    func epochFinished(_ record: EpochRecord, selected: Bool) {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        lastTenth = -1
        lastDraw = 0
        let k = cutoff
        func metrics(_ name: String, _ values: [String: Double]?) -> String {
            guard let values else { return "" }
            return String(format: "  %@ HR@%d %.2f MRR@%d %.2f", name, k, values["HR@\(k)"] ?? 0, k, values["MRR@\(k)"] ?? 0)
        }
        printLine(
            String(format: "epoch %d  loss %.4f  lr %.0e", record.epoch + 1, record.loss, record.learningRate)
                + metrics("validation", record.validation) + metrics("test", record.test)
                + String(format: "  %.0fs", record.seconds) + (selected ? "  *saved" : ""))
    }

    func note(_ message: String) { printLine("note: \(message)") }
}
