import ArgumentParser
import Evaluation
import Experiments
import Foundation
import SessionData
import SRGNN
import TensorCore

/// `srgnn compare`: SR-GNN and the baselines, one evaluation over the same test examples.
struct CompareCommand: ParsableCommand {
    /// The baselines' names in `--models`, from Evaluation's one list.
    static let baselineNames = Baseline.allCases.map(\.rawValue)

    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare SR-GNN with " + Baseline.allCases.dropLast().map(\.displayName).joined(separator: ", ")
            + " and \(Baseline.allCases.last!.displayName) on the same test examples.",
        discussion: """
            --models lists what to compare: srgnn=MODEL (a checkpoint; repeatable as srgnn=A,srgnn=B), \
            niser=MODEL (a NISER+ checkpoint, from srgnn train --variant niser; repeatable too), \
            \(baselineNames.joined(separator: ", ")). Baselines are fitted on the dataset's training sessions. \
            Every model ranks all items for every test example; ties with the target are averaged. \
            Writes a Markdown table and a self-contained HTML report (SVG charts) to --report-dir.

            Significance, at K = 20 (or the largest --k): every model is tested against the reference \
            (--reference, by default the first SR-GNN model, else the first model) on the per-example \
            HR@K and reciprocal rank. The table's Δ columns give the mean difference in percentage \
            points with its 95 % paired bootstrap interval (2,000 resamples of the test examples) and \
            the two-sided p-value of a paired sign-flip randomisation test (10,000 random sign \
            assignments; exact when there are fewer). The HTML bars carry each model's own 95 % \
            bootstrap interval as whiskers. All resampling is seeded: reruns give the same numbers.

            Time slices: when --data is a folder of slices (slice-1, slice-2, …, from srgnn slice or \
            srgnn preprocess --slices), every model is fitted and tested on every slice (checkpoints and fitted models name \
            their slice with {slice}: srgnn=models/dg-{slice}.safetensors; a tuned configuration may too: \
            vstan@tune/dg-{slice}); REPORT/slice-k/ holds each slice's \
            report and REPORT/comparison.md and .html the figures per slice, their mean ± sd, and the paired \
            tests against the reference over slices (exact sign-flip over the per-slice differences) and over \
            all slices' examples pooled.
            """
    )

    @Option(name: .long, help: "Dataset folder, or a folder of time slices (slice-1, slice-2, …).") var data: String
    @Option(name: .long, help: "Models, comma-separated: srgnn=MODEL,niser=MODEL,\(baselineNames.joined(separator: ",")).")
    var models = baselineNames.joined(separator: ",")
    @Option(name: .long, parsing: .unconditional, help: "Cut-offs, comma-separated.") var k = "5,10,20"
    @Option(name: .long, help: "Folder for comparison.md and comparison.html.") var reportDir = "srgnn-compare"
    @Option(name: .long, parsing: .unconditional, help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .long, parsing: .unconditional, help: "Evaluate only the first N test examples (0 = all).") var limit = 0
    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var baselines: BaselineOptions
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The model the others are tested against: its name in the report (SR-GNN, V-SKNN, …) or its --models entry (srgnn=MODEL, vsknn, …).",
            discussion: "Default: the first SR-GNN model, else the first model.", valueName: "name"))
    var reference: String?
    @Flag(
        name: .long, help: "Print JSON: per model, metrics keyed like HR@20 (percent), intervals, tests against the reference and timings.")
    var json = false

    /// One item of `--models`: an SR-GNN or NISER+ checkpoint (the file's variant must be the one
    /// named) or one of Evaluation's baselines.
    enum Entry: Equatable {
        case srgnn(path: String)
        case niser(path: String)
        case baseline(Baseline)
        /// A baseline with a tuned configuration: `srgnn tune`'s folder (its best.yaml) or a YAML file.
        case tunedBaseline(Baseline, configuration: String)
        /// A baseline fitted by `srgnn fit` (`vstan=FILE`).
        case fittedBaseline(Baseline, path: String)

        /// The checkpoint's variant and path, for the two checkpoint kinds.
        var checkpoint: (variant: ModelVariant, path: String)? {
            switch self {
            case .srgnn(let path): (.srgnn, path)
            case .niser(let path): (.niser, path)
            case .baseline, .tunedBaseline, .fittedBaseline: nil
            }
        }

        /// The file the entry reads, if any: a checkpoint, a tuned configuration or a fitted model.
        var path: String? {
            switch self {
            case .srgnn(let path), .niser(let path), .fittedBaseline(_, let path): path
            case .tunedBaseline(_, let configuration): configuration
            case .baseline: nil
            }
        }

        /// A model trained or fitted on one dataset, so a folder of slices needs one per slice.
        var isFittedToData: Bool {
            switch self {
            case .srgnn, .niser, .fittedBaseline: true
            case .baseline, .tunedBaseline: false
            }
        }
    }

    func entries() throws -> [Entry] {
        try models.split(separator: ",").map { raw -> Entry in
            let text = raw.trimmingCharacters(in: .whitespaces)
            for variant in ModelVariant.allCases where text.hasPrefix(variant.rawValue + "=") {
                let path = String(text.dropFirst(variant.rawValue.count + 1))
                guard !path.isEmpty else {
                    throw ValidationError(
                        "--models: \(variant.rawValue)= needs a checkpoint path, e.g. \(variant.rawValue)=model.safetensors")
                }
                return variant == .srgnn ? .srgnn(path: path) : .niser(path: path)
            }
            if let equals = text.firstIndex(of: "="), let baseline = Baseline(rawValue: String(text[..<equals])) {
                let path = String(text[text.index(after: equals)...])
                guard !path.isEmpty else { throw ValidationError("--models: \(baseline.rawValue)= needs a file from srgnn fit") }
                return .fittedBaseline(baseline, path: path)
            }
            if let at = text.firstIndex(of: "@") {
                let name = String(text[..<at]), configuration = String(text[text.index(after: at)...])
                guard let baseline = Baseline(rawValue: name), !configuration.isEmpty else {
                    throw ValidationError(
                        "--models: '\(text)': NAME@CONFIG takes a baseline (\(Self.baselineNames.joined(separator: ", "))) and srgnn tune's folder or a YAML file"
                    )
                }
                return .tunedBaseline(baseline, configuration: configuration)
            }
            guard let baseline = Baseline(rawValue: text) else {
                throw ValidationError(
                    "--models: unknown model '\(text)'; use srgnn=MODEL, niser=MODEL or one of \(Self.baselineNames.joined(separator: ", "))"
                )
            }
            return .baseline(baseline)
        }
    }

    func cutoffs() throws -> [Int] { try parseCutoffs(k) }

    /// The model's name in the report: a baseline's display name; "SR-GNN" or "NISER+", with
    /// "(file name)" when several checkpoints of that variant are compared.
    static func displayName(of entry: Entry, among entries: [Entry]) -> String {
        switch entry {
        case .baseline(let baseline): return baseline.displayName
        case .fittedBaseline(let baseline, let path):
            return "\(baseline.displayName) (\(URL(fileURLWithPath: path).lastPathComponent))"
        case .tunedBaseline(let baseline, let configuration):
            let several = entries.filter { if case .tunedBaseline(baseline, _) = $0 { true } else { false } }.count > 1
            return several
                ? "\(baseline.displayName) (\(URL(fileURLWithPath: configuration).lastPathComponent))" : "\(baseline.displayName) (tuned)"
        case .srgnn(let path), .niser(let path):
            let variant = entry.checkpoint!.variant
            let name = variant == .srgnn ? "SR-GNN" : "NISER+"
            let severalModels = entries.filter { $0.checkpoint?.variant == variant }.count > 1
            return severalModels ? "\(name) (\(URL(fileURLWithPath: path).lastPathComponent))" : name
        }
    }

    /// The index in `entries()` of the model the others are tested against.
    func referenceIndex() throws -> Int {
        let entries = try entries()
        guard let reference else {
            return entries.firstIndex { if case .srgnn = $0 { true } else { false } } ?? 0
        }
        let wanted = reference.trimmingCharacters(in: .whitespaces)
        func spelling(_ entry: Entry) -> String {
            switch entry {
            case .srgnn(let path): "srgnn=" + path
            case .niser(let path): "niser=" + path
            case .baseline(let baseline): baseline.rawValue
            case .tunedBaseline(let baseline, let configuration): baseline.rawValue + "@" + configuration
            case .fittedBaseline(let baseline, let path): baseline.rawValue + "=" + path
            }
        }
        guard let index = entries.firstIndex(where: { Self.displayName(of: $0, among: entries) == wanted || spelling($0) == wanted }) else {
            throw ValidationError(
                "--reference: no model '\(wanted)' in --models; use one of "
                    + entries.map { Self.displayName(of: $0, among: entries) }.joined(separator: ", "))
        }
        return index
    }

    func validate() throws {
        guard try !entries().isEmpty else { throw ValidationError("--models is empty") }
        _ = try referenceIndex()
        _ = try cutoffs()
        guard (1...CommandLimits.maximumThreads).contains(threads) else {
            throw ValidationError("--threads must be in 1...\(CommandLimits.maximumThreads), got \(threads)")
        }
        guard limit >= 0 else { throw ValidationError("--limit must be 0 (all) or positive, got \(limit)") }
    }

    func run() throws {
        setBLASThreads(1)
        let models = try entries()
        // A folder of slices (slice-1 …) that is not itself a dataset: every model on every slice.
        if (try? DatasetFolder.kind(of: data)) == nil, let folders = DatasetFolder.sliceFolders(in: data) {
            try runSlices(folders, models: models)
            return
        }
        if let path = models.lazy.compactMap(\.path).first(where: { $0.contains(Self.slicePlaceholder) }) {
            throw CommandError(
                "\(path): \(Self.slicePlaceholder) stands for a slice's number, but \(data) is not a folder of slices (slice-1, slice-2, …)"
            )
        }
        let report = try compare(data, models: models) { $0 }
        try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
        try writeAtomically(Data(report.markdown().utf8), to: reportDir + "/comparison.md")
        try writeAtomically(Data(report.html().utf8), to: reportDir + "/comparison.html")
        if json {
            print(try report.json())
        } else {
            print("\n" + report.markdown())
            print("wrote \(reportDir)/comparison.md and \(reportDir)/comparison.html")
        }
    }

    /// In a checkpoint path on a folder of slices, the slice's number: `srgnn=models/dg-{slice}.safetensors`.
    static let slicePlaceholder = "{slice}"

    /// `--data` is a folder of slices: each slice compared as one dataset (its report in
    /// `REPORT/slice-k/`), then per model the figures per slice, mean ± sd and the paired tests
    /// over slices and over the pooled examples (`REPORT/comparison.md`, `.html`).
    func runSlices(_ folders: [String], models: [Entry]) throws {
        // A tuned configuration may serve every slice; a trained or fitted model cannot.
        if let entry = models.first(where: { $0.isFittedToData && !$0.path!.contains(Self.slicePlaceholder) }) {
            let name = entry.checkpoint?.variant.rawValue ?? { if case .fittedBaseline(let b, _) = entry { b.rawValue } else { "" } }()
            throw CommandError(
                "\(entry.path!): \(data) holds \(folders.count) slices, each needing a model trained on it; name them with \(Self.slicePlaceholder), e.g. \(name)=models/model-\(Self.slicePlaceholder).safetensors for model-1 … model-\(folders.count)"
            )
        }
        var reports: [ComparisonReport] = []
        var links: [String] = []
        for (s, folder) in folders.enumerated() {
            if !json { printLine("slice \(s + 1) of \(folders.count):") }
            let report = try compare(folder, models: models) { $0.replacingOccurrences(of: Self.slicePlaceholder, with: "\(s + 1)") }
            let sliceDirectory = reportDir + "/" + DatasetFolder.sliceName(s + 1)
            try FileManager.default.createDirectory(atPath: sliceDirectory, withIntermediateDirectories: true)
            try writeAtomically(Data(report.markdown().utf8), to: sliceDirectory + "/comparison.md")
            try writeAtomically(Data(report.html().utf8), to: sliceDirectory + "/comparison.html")
            links.append(DatasetFolder.sliceName(s + 1) + "/comparison.html")
            reports.append(report)
        }
        let summary = SliceComparisonReport(dataset: data, slices: reports, reference: try referenceIndex())
        try writeAtomically(Data(summary.markdown().utf8), to: reportDir + "/comparison.md")
        try writeAtomically(Data(summary.html(sliceReportLinks: links).utf8), to: reportDir + "/comparison.html")
        if json {
            print(try summary.json())
        } else {
            print("\n" + summary.markdown())
            print("wrote \(reportDir)/comparison.md and \(reportDir)/comparison.html (each slice's in \(reportDir)/slice-k/)")
        }
    }

    /// Every model of `models` on the dataset folder `dataPath`; a checkpoint, tuned configuration
    /// or fitted model is read from `slicePath(its path)` (the slice's number for `{slice}`).
    func compare(_ dataPath: String, models: [Entry], slicePath: (String) -> String) throws -> ComparisonReport {
        let dataset = try SessionDataset.load(from: dataPath)
        let cutoffs = try cutoffs()
        let count = limit == 0 ? dataset.test.count : min(limit, dataset.test.count)
        let prefixes = (0..<count).map { Array(dataset.test.prefix($0)) }
        let targets = Array(dataset.test.targets[0..<count])
        let sessions = dataset.trainSessions.arrays
        let popularity = itemPopularity(of: sessions, itemCount: dataset.itemCount)
        let evaluator = Evaluator(cutoffs: cutoffs, listLength: 20, threads: threads, popularity: popularity)
        var results = [ComparisonEntry]()
        func log(_ message: String) { if !json { printLine(message) } }
        log("\(dataPath): \(sessions.count) training sessions, \(count) test examples, \(dataset.itemCount) items")

        func measure<M>(_ fit: () throws -> M) rethrows -> (M, Double) {
            let start = DispatchTime.now()
            let model = try fit()
            return (model, seconds(since: start))
        }
        let headline = ComparisonReport.headlineCutoff(of: cutoffs)
        let examples = TestExample.examples(prefixes: prefixes, targets: targets)
        func add(_ scorer: some SessionScorer, fitSeconds: Double, history: [EpochRecord]? = nil) {
            // Positions are kept (16 bytes per example) for the paired tests.
            let (report, positions) = evaluator.evaluateKeepingPositions(scorer, on: examples)
            let entry = ComparisonEntry(
                report: report, fitSeconds: fitSeconds, trainingHistory: history,
                perExample: PerExampleMetrics(positions: positions, k: headline, ties: evaluator.ties))
            results.append(entry)
            // The name is padded by hand: corelibs Foundation ignores the width of %@.
            let name = report.name.padding(toLength: max(10, report.name.count), withPad: " ", startingAt: 0)
            log(
                String(
                    format: "%@ HR@%d %6.2f  MRR@%d %6.2f  fit %6.1fs  predict %6.1fs", name, headline,
                    report.metrics(at: headline)?.hitRate ?? 0, headline, report.metrics(at: headline)?.mrr ?? 0,
                    fitSeconds, report.elapsedSeconds))
        }
        let itemCount = dataset.itemCount
        let fitters = baselines.fitters(threads: threads)
        for entry in models {
            switch entry {
            case .srgnn, .niser:
                let path = slicePath(entry.checkpoint!.path)
                let (loaded, seconds) = try measure {
                    try LoadedModel.load(from: path, propagationSteps: architecture.propagationSteps, nonhybrid: architecture.nonhybrid)
                }
                let named = entry.checkpoint!.variant, found = loaded.model.configuration.variant
                guard found == named else {
                    throw CommandError(
                        "\(path) is a\(found == .srgnn ? "n SR-GNN" : " NISER+") checkpoint; list it as \(found.rawValue)=\(path)")
                }
                // Baselines and coverage count in the dataset's ids, so the model must use the same ones.
                guard try loaded.aligned(dataset, modelPath: path, datasetPath: dataPath).vocabulary == dataset.vocabulary else {
                    throw CommandError(
                        "\(path): the model knows \(loaded.vocabulary.count) items, \(dataPath) has \(dataset.itemCount) (a warm-started model with new items?); compare needs the same vocabulary, use srgnn evaluate for this model"
                    )
                }
                add(
                    SRGNNScorer(model: loaded.model, name: Self.displayName(of: entry, among: models)), fitSeconds: seconds,
                    history: loaded.metadata?.trainingHistory)
            case .baseline(let baseline):
                let fitter = fitters.fitter(for: baseline)
                let (model, seconds) = measure { fitter.fit(sessions: sessions, times: dataset.trainSessionTimes, itemCount: itemCount) }
                add(model, fitSeconds: seconds)
            case .tunedBaseline(let baseline, let written):
                let configuration = slicePath(written)
                var tuned = fitters
                do { try applyTuned(configuration, baseline: baseline, to: &tuned) } catch let error as CommandError {
                    throw CommandError("--models \(baseline.rawValue)@\(configuration): \(error)")
                }
                let fitter = tuned.fitter(for: baseline)
                let (model, seconds) = measure { fitter.fit(sessions: sessions, times: dataset.trainSessionTimes, itemCount: itemCount) }
                add(RenamedScorer(model, name: Self.displayName(of: entry, among: models)), fitSeconds: seconds)
            case .fittedBaseline(let baseline, let written):
                let path = slicePath(written)
                let ((file, model), seconds) = try measure { () throws -> (NeighbourhoodModelFile, any SessionScorer) in
                    let file = try loadFitted(path)
                    return (file, try file.scorer(threads: threads))
                }
                guard file.baseline == baseline else {
                    throw CommandError("\(path) is a fitted \(file.baseline.displayName); list it as \(file.baseline.rawValue)=\(path)")
                }
                guard file.header.vocabulary == dataset.vocabulary else {
                    throw CommandError(
                        "\(path): fitted on \(file.header.dataset ?? "another dataset") (\(file.itemCount) items), not on \(data)'s \(dataset.itemCount) items; compare needs the same vocabulary"
                    )
                }
                add(RenamedScorer(model, name: Self.displayName(of: entry, among: models)), fitSeconds: seconds)
            }
        }
        let reference = try referenceIndex()
        if count > 0 { log("paired tests against \(Self.displayName(of: models[reference], among: models)) at K = \(headline)…") }
        return ComparisonReport(
            dataset: dataPath, itemCount: itemCount, examples: count, cutoffs: cutoffs, entries: results,
            reference: reference)
    }
}

/// The baselines' parameters; each default is read from the baseline's own (session-rec's).
struct BaselineOptions: ParsableArguments {
    static let defaults = BaselineFitters()

    @Option(name: .long, parsing: .unconditional, help: "Item-KNN: neighbours kept per item.")
    var iknnNeighbours = Self.defaults.itemKNN.neighbours
    @Option(name: .long, parsing: .unconditional, help: "Item-KNN: similarity shrinkage λ.")
    var iknnLambda = Self.defaults.itemKNN.lambda
    @Option(name: .long, parsing: .unconditional, help: "Item-KNN: cosine exponent α (0.5 = cosine).")
    var iknnAlpha = Self.defaults.itemKNN.alpha
    @Option(name: .long, parsing: .unconditional, help: "SKNN: neighbour sessions that vote.")
    var sknnK = Self.defaults.sessionKNN.k
    @Option(name: .long, parsing: .unconditional, help: "SKNN: most recent candidate sessions (0 = all).")
    var sknnSample = Self.defaults.sessionKNN.sampleSize
    @Option(name: .long, parsing: .unconditional, help: "V-SKNN: neighbour sessions that vote.")
    var vsknnK = Self.defaults.vectorSessionKNN.k
    @Option(name: .long, parsing: .unconditional, help: "V-SKNN: most recent candidate sessions (0 = all).")
    var vsknnSample = Self.defaults.vectorSessionKNN.sampleSize
    @Option(name: .long, help: "V-SKNN: position weighting: same|div|linear|log|quadratic.")
    var vsknnWeighting = Self.defaults.vectorSessionKNN.weighting
    @Option(name: .long, help: "V-SKNN: vote decay by recency: same|div|linear|log|quadratic.")
    var vsknnDecay = Self.defaults.vectorSessionKNN.decay
    @Flag(name: .long, help: "V-SKNN: never recommend items already in the session.")
    var vsknnNoRemind = !Self.defaults.vectorSessionKNN.remind
    @Option(name: .long, parsing: .unconditional, help: "STAN: neighbour sessions that vote.")
    var stanK = Self.defaults.stan.k
    @Option(name: .long, parsing: .unconditional, help: "STAN: most recent candidate sessions (0 = all).")
    var stanSample = Self.defaults.stan.sampleSize
    @Option(name: .long, parsing: .unconditional, help: "STAN: λ_spw, position decay of the session's clicks (0 = off).")
    var stanLambdaSpw = Self.defaults.stan.positionDecay ?? 0
    @Option(name: .long, parsing: .unconditional, help: "STAN: λ_snh, recency decay of neighbour sessions in days (0 = off).")
    var stanLambdaSnh = Self.defaults.stan.recencyDecayDays ?? 0
    @Option(name: .long, parsing: .unconditional, help: "STAN: λ_inh, decay of a neighbour's items by position (0 = off).")
    var stanLambdaInh = Self.defaults.stan.neighbourPositionDecay ?? 0
    @Option(name: .long, parsing: .unconditional, help: "VSTAN: neighbour sessions that vote.")
    var vstanK = Self.defaults.vstan.k
    @Option(name: .long, parsing: .unconditional, help: "VSTAN: most recent candidate sessions (0 = all).")
    var vstanSample = Self.defaults.vstan.sampleSize
    @Option(name: .long, help: "VSTAN: similarity: cosine|vector.")
    var vstanSimilarity = Self.defaults.vstan.similarity
    @Option(name: .long, parsing: .unconditional, help: "VSTAN: λ_spw (0 = off).")
    var vstanLambdaSpw = Self.defaults.vstan.positionDecay ?? 0
    @Option(name: .long, parsing: .unconditional, help: "VSTAN: λ_snh in days (0 = off).")
    var vstanLambdaSnh = Self.defaults.vstan.recencyDecayDays ?? 0
    @Option(name: .long, parsing: .unconditional, help: "VSTAN: λ_inh (0 = off).")
    var vstanLambdaInh = Self.defaults.vstan.neighbourPositionDecay ?? 0
    @Option(name: .long, parsing: .unconditional, help: "VSTAN: λ_ipw, vote decay by the shared click's position in the session (0 = off).")
    var vstanLambdaIpw = Self.defaults.vstan.currentPositionDecay ?? 0
    @Option(name: .long, parsing: .unconditional, help: "VSTAN: λ_idf, weight of the items' idf (0 = off).")
    var vstanLambdaIdf = Self.defaults.vstan.idfWeight ?? 0
    @Option(
        name: .long, parsing: .unconditional,
        help: "STAN, VSTAN: for data without session times (SR-GNN folders), sessions per day of the position clock.")
    var knnSessionsPerDay = Self.defaults.stan.sessionsPerDay
    @Option(name: .long, parsing: .unconditional, help: "SR: maximum distance of a rule.")
    var srSteps = Self.defaults.sequentialRules.steps
    @Option(name: .long, help: "SR: rule weight by distance: same|div|linear|log|quadratic.")
    var srWeighting = Self.defaults.sequentialRules.weighting
    @Option(name: .long, parsing: .unconditional, help: "SR: rules kept per item (0 = all).")
    var srPruning = Self.defaults.sequentialRules.pruning

    func validate() throws {
        guard iknnNeighbours >= 1, sknnK >= 1, vsknnK >= 1, srSteps >= 1 else {
            throw ValidationError("neighbour counts and --sr-steps must be at least 1")
        }
        guard sknnSample >= 0, vsknnSample >= 0, srPruning >= 0, iknnLambda >= 0 else {
            throw ValidationError("sample sizes, --sr-pruning and --iknn-lambda must not be negative")
        }
        let fitters = fitters(threads: 1)
        for problem in [fitters.stan.settings.problem, fitters.vstan.settings.problem].compactMap({ $0 }) {
            throw ValidationError(problem + " (0 turns a λ off)")
        }
    }

    /// A λ option's value: 0 turns the weight off.
    private static func lambda(_ value: Double) -> Double? { value == 0 ? nil : value }

    /// Every baseline's fitter, configured by these options.
    func fitters(threads: Int) -> BaselineFitters {
        var fitters = BaselineFitters()
        fitters.itemKNN = ItemKNN(neighbours: iknnNeighbours, lambda: iknnLambda, alpha: iknnAlpha, threads: threads)
        fitters.sessionKNN = SessionKNN(k: sknnK, sampleSize: sknnSample)
        fitters.vectorSessionKNN = VectorSessionKNN(
            k: vsknnK, sampleSize: vsknnSample, weighting: vsknnWeighting,
            decay: vsknnDecay, remind: !vsknnNoRemind)
        fitters.sequentialRules = SequentialRules(steps: srSteps, weighting: srWeighting, pruning: srPruning, threads: threads)
        fitters.stan = STAN(
            k: stanK, sampleSize: stanSample, positionDecay: Self.lambda(stanLambdaSpw),
            recencyDecayDays: Self.lambda(stanLambdaSnh), neighbourPositionDecay: Self.lambda(stanLambdaInh),
            sessionsPerDay: knnSessionsPerDay)
        fitters.vstan = VSTAN(
            k: vstanK, sampleSize: vstanSample, similarity: vstanSimilarity, positionDecay: Self.lambda(vstanLambdaSpw),
            recencyDecayDays: Self.lambda(vstanLambdaSnh), neighbourPositionDecay: Self.lambda(vstanLambdaInh),
            currentPositionDecay: Self.lambda(vstanLambdaIpw), idfWeight: Self.lambda(vstanLambdaIdf),
            sessionsPerDay: knnSessionsPerDay)
        return fitters
    }
}

extension VectorSessionKNN.PositionWeighting: ExpressibleByArgument {}
extension VectorSessionKNN.RecencyDecay: ExpressibleByArgument {}
extension SequentialRules.Weighting: ExpressibleByArgument {}
extension TimeAwareSessionKNNSettings.Similarity: ExpressibleByArgument {}
