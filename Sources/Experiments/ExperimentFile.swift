import Foundation
import SessionData
import SRGNN
import Training

/// An experiment for `srgnn train --config`: the data and the training settings, read from a YAML
/// file or from a checkpoint (whose metadata holds its run's effective settings and data path).
///
/// A YAML file is a mapping whose names are the long flags of `srgnn train`, aliases included:
///
/// ```yaml
/// data: data/diginetica
/// hidden-size: 100
/// learning-rate: 0.001      # or lr
/// l2-penalty: 1.0e-5        # or l2
/// validation-split: sessions
/// nonhybrid: false
/// ```
///
/// Per-invocation flags (`out`, `resume`, `init-from`, …) are not experiment settings. Unknown
/// names, values of the wrong type and values out of range are errors naming the file and line.
public struct ExperimentFile: Sendable, Equatable {
    public var path: String
    /// The dataset folder, as written (relative paths are taken from the current folder, as the flag's are).
    public var data: String?
    public var settings: TrainingSettings
    /// The YAML text as read; for a checkpoint, the text its own run was configured by (nil if none).
    public var text: String?
    /// For a warm-started checkpoint: the parent its run began from (path as given, SHA-256) and
    /// the optimizer state it continued, which a rerun must start from again.
    public var warmStart: CheckpointLineage?

    public init(path: String, data: String?, settings: TrainingSettings, text: String?, warmStart: CheckpointLineage? = nil) {
        self.path = path
        self.data = data
        self.settings = settings
        self.text = text
        self.warmStart = warmStart
    }

    /// What to record in the checkpoint of a run configured by this experiment.
    public var source: ExperimentSource { ExperimentSource(file: path, text: text) }

    /// Flags of `srgnn train` that belong to one invocation, not to the experiment.
    static let invocationFlags: Set<String> = ["out", "resume", "init-from", "init-optimizer-state", "seeds", "config"]

    /// Reads `path`: a checkpoint (a safetensors file, recognised by its binary length prefix) or YAML.
    public static func load(from path: String) throws -> ExperimentFile {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readAll(path)
        } catch let error as SessionDataError {
            throw SettingsFileError(path: path, line: nil, error.message)
        }
        // A safetensors file starts with its header's length as a little-endian UInt64, whose high
        // bytes are zero; text never holds a zero byte.
        if bytes.count >= 8 && bytes[..<8].contains(0) { return try fromCheckpoint(path) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SettingsFileError(path: path, line: nil, "neither a YAML experiment file (not UTF-8 text) nor a checkpoint")
        }
        return try parse(yaml: text, path: path)
    }

    /// Reads YAML `text` from `path` (named in errors).
    public static func parse(yaml text: String, path: String) throws -> ExperimentFile {
        let file = try YAMLMapping(text: text, path: path)
        var data: String?
        var settings = TrainingSettings()
        var placed = [TrainingConfiguration.Key: (name: String, line: Int?)]()
        // The variant sets its four parts first, wherever it stands, so that the file's own
        // normalize/scale/position-embeddings/dropout override it as the flags do.
        if let entry = file.entries.first(where: { $0.name == "variant" }) {
            settings.apply(try file.reading(entry.name, entry.line, entry.value) { try $0.choice(of: ModelVariant.self) })
        }
        for (name, line, value) in file.entries {
            if name == "variant" { continue }
            if name == "data" {
                data = try file.reading(name, line, value) { try $0.nonEmptyString(expected: "the dataset folder's path") }
                continue
            }
            guard let entry = Hyperparameter.byFlag[name] else {
                if invocationFlags.contains(name) {
                    throw file.error(line, "'\(name)' is not an experiment setting: give --\(name) on the command line")
                }
                throw file.error(
                    line,
                    "unknown setting '\(name)'; the settings are data, variant and the long flags of srgnn train: "
                        + TrainingSettings.names.keys.sorted().joined(separator: ", "))
            }
            try file.reading(name, line, value) { try settings.set(entry, from: $0) }
            placed[entry.key] = (name, line)
        }
        // Out-of-range values are reported here, at their line; a bad combination with a flag is
        // reported when the flags are applied.
        do {
            try settings.applied(to: TrainingConfiguration()).validate()
        } catch TrainingError.invalidSetting(let key, let message) {
            if let (name, line) = placed[key] { throw file.error(line, "'\(name)': \(message)") }
        }
        return ExperimentFile(path: path, data: data, settings: settings, text: text)
    }

    /// The experiment a checkpoint records: every setting of its run, its data path, its own experiment text.
    static func fromCheckpoint(_ path: String) throws -> ExperimentFile {
        let metadata: CheckpointMetadata
        do {
            let file = try SafeTensorsFile(contentsOf: path)
            guard let json = file.metadata[CheckpointMetadata.key] else {
                throw SettingsFileError(path: path, line: nil, "a weights file without srgnn metadata: it records no experiment")
            }
            metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(json.utf8))
        } catch let error as ModelError {
            throw SettingsFileError(path: path, line: nil, "\(error)")
        } catch is DecodingError {
            throw SettingsFileError(path: path, line: nil, "the checkpoint metadata is unreadable")
        }
        guard let configuration = metadata.trainingConfiguration else {
            throw SettingsFileError(path: path, line: nil, "the checkpoint records no training configuration")
        }
        return ExperimentFile(
            path: path, data: metadata.dataset, settings: TrainingSettings(configuration),
            text: metadata.experiment?.text, warmStart: metadata.lineage)
    }
}
