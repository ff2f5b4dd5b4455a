import ArgumentParser
import Evaluation
import Experiments
import Foundation
import SessionData
import SRGNN

/// `srgnn fit`: a baseline fitted on a dataset's training sessions, as a file that `evaluate` and
/// `compare` read like a checkpoint.
struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a baseline (pop, spop, iknn, sknn, vsknn, stan, vstan, sr) and write it as a model file.",
        discussion: """
            The file (safetensors) holds the baseline's name and every parameter, the dataset's \
            vocabulary of raw item ids, its training sessions (and their times, when the dataset has \
            them) and the recent popularity for the fallback; it is written through a temporary file. \
            Loading it rebuilds the baseline's index. The parameters are compare's flags (--vstan-k, …) \
            or a tuned configuration (--tuned: srgnn tune --model NAME's folder, or a YAML file). \
            srgnn evaluate --model FILE and srgnn compare --models NAME=FILE take it.
            Example: srgnn fit vstan --data data/diginetica --out vstan.safetensors --tuned tune-vstan
            """
    )

    @Argument(help: "The baseline: \(Baseline.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: String

    @Option(name: .long, help: "Dataset folder whose training sessions to fit on.")
    var data: String

    @Option(name: .long, help: "The model file to write.")
    var out: String

    @Option(name: .long, help: "A tuned configuration: srgnn tune --model NAME's folder (its best.yaml) or a YAML file.")
    var tuned: String?

    @OptionGroup var baselines: BaselineOptions

    func validate() throws {
        guard Baseline(rawValue: model) != nil else {
            throw ValidationError("unknown baseline '\(model)'; use one of \(Baseline.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let baseline = Baseline(rawValue: model)!
        var fitters = baselines.fitters(threads: 1)
        if let tuned { try applyTuned(tuned, baseline: baseline, to: &fitters) }
        let dataset = try SessionDataset.load(from: data)
        let started = Date()
        let file = NeighbourhoodModelFile(
            baseline: baseline, fitters: fitters, sessions: dataset.trainSessions, times: dataset.trainSessionTimes,
            vocabulary: dataset.vocabulary,
            dataset: data, datasetFingerprint: dataset.fingerprint)
        _ = try file.scorer()  // the index builds: the file will load
        try file.write(to: out)
        let parameters = baseline.parameters.map { "\($0.name) \($0.value(in: fitters))" }.joined(separator: ", ")
        print(
            "\(baseline.displayName)\(parameters.isEmpty ? "" : " (\(parameters))"): \(dataset.trainSessions.count) training sessions, "
                + "\(dataset.trainSessions.clickCount) clicks, \(dataset.itemCount) items; wrote \(out) in "
                + String(format: "%.1f s", Date().timeIntervalSince(started)))
    }
}

/// Applies a tuned configuration (a tune folder's best.yaml, or a YAML file) for `baseline`.
func applyTuned(_ configuration: String, baseline: Baseline, to fitters: inout BaselineFitters) throws {
    let path = FileIO.isDirectory(configuration) ? configuration + "/best.yaml" : configuration
    do {
        let text = String(decoding: try FileIO.readAll(path), as: UTF8.self)
        try applyTunedConfiguration(yaml: text, path: path, model: baseline, to: &fitters)
    } catch let error as SessionDataError {
        throw CommandError("\(error)")
    } catch let error as SettingsFileError {
        throw CommandError("\(error)")
    }
}

/// Reads a fitted baseline (`srgnn fit`'s file); errors name the file.
func loadFitted(_ path: String) throws -> NeighbourhoodModelFile {
    do { return try NeighbourhoodModelFile(contentsOf: path) } catch let error as NeighbourhoodModelError {
        throw CommandError(error.description)
    }
}

/// Whether `path` is a fitted baseline rather than an SR-GNN checkpoint (its metadata says so).
func isFittedBaseline(_ path: String) -> Bool {
    (try? SafeTensorsFile(contentsOf: path))?.metadata[NeighbourhoodModelFile.metadataKey] != nil
}
