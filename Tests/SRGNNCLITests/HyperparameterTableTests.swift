import ArgumentParser
import Experiments
import Foundation
import SRGNN
import Testing
import Training
@testable import SRGNNCLI

/// Issue 30, item 2: the hyperparameter table is the one declaration that flags, experiment
/// files, the configuration's JSON, validation, the search space and trial records follow.
@Suite("hyperparameter table")
struct HyperparameterTableTests {
    /// A valid value other than the default for `entry`, as flag/YAML text (nil for a switch),
    /// and the default configuration with that value.
    static func sample(_ entry: Hyperparameter) -> (text: String?, configuration: TrainingConfiguration) {
        var configuration = TrainingConfiguration()
        switch entry.kind {
        case .integer(let field):
            let value = configuration[keyPath: field] > 1 ? configuration[keyPath: field] - 1 : configuration[keyPath: field] + 1
            configuration[keyPath: field] = value
            return ("\(value)", configuration)
        case .unsignedInteger(let field):
            configuration[keyPath: field] += 1
            return ("\(configuration[keyPath: field])", configuration)
        case .float(let field):
            let value: Float = configuration[keyPath: field] == 0 ? 0.25 : configuration[keyPath: field] / 2
            configuration[keyPath: field] = value
            return ("\(value)", configuration)
        case .double(let field):
            configuration[keyPath: field] /= 2
            return ("\(configuration[keyPath: field])", configuration)
        case .boolean(let field, let inverted):
            configuration[keyPath: field] = !inverted
            return (nil, configuration)
        case .count(let field, let whenOn):
            configuration[keyPath: field] = whenOn
            return (nil, configuration)
        case .choice(let names, let set):
            #expect(set(&configuration, names.last!))
            return (names.last!, configuration)
        }
    }

    /// `configuration`'s value of `entry`'s field, in an otherwise default configuration.
    static func field(_ entry: Hyperparameter, of configuration: TrainingConfiguration) -> TrainingConfiguration {
        var isolated = TrainingConfiguration()
        entry.copy(from: configuration, to: &isolated)
        return isolated
    }

    @Test("every flag and alias of every entry parses into its field")
    func everyFlagParses() throws {
        for entry in Hyperparameter.all {
            let (text, expected) = Self.sample(entry)
            for flag in entry.flags {
                let options = try TrainingOptions.parse(["--" + flag] + (text.map { [$0] } ?? []))
                #expect(Self.field(entry, of: options.configuration()) == expected, "--\(flag)")
                #expect(TrainingOptions.spelling(of: entry.key).contains("--" + flag))
            }
        }
    }

    @Test("every YAML name of every entry round-trips through an experiment file, and the JSON key through a checkpoint's")
    func everyYAMLKeyRoundTrips() throws {
        for entry in Hyperparameter.all {
            let (text, expected) = Self.sample(entry)
            for flag in entry.flags {
                let file = try ExperimentFile.parse(yaml: "\(flag): \(text ?? "true")\n", path: "run.yaml")
                #expect(file.settings.given == [entry.key], "\(flag)")
                #expect(Self.field(entry, of: file.settings.applied(to: TrainingConfiguration())) == expected, "\(flag)")
            }
            let json = try JSONText.string(expected)
            #expect(json.contains("\"\(entry.key.rawValue)\":"))
            #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8)) == expected)
            // Older files' keys still set the field.
            for legacy in entry.legacyKeys {
                let old = json.replacingOccurrences(of: "\"\(entry.key.rawValue)\":", with: "\"\(legacy.rawValue)\":")
                #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: Data(old.utf8)) == expected, "\(legacy)")
            }
        }
    }

    @Test("every searchable entry is in the default search space and in the trial records, in its search order")
    func searchableEntriesAreSearched() throws {
        let searchable = Hyperparameter.all.filter { $0.search != nil }
        #expect(SearchParameter.allCases.map(\.hyperparameter.key) == Hyperparameter.searchable.map(\.key))
        #expect(Set(SearchParameter.allCases.map(\.hyperparameter.key)) == Set(searchable.map(\.key)))
        #expect(searchable.map(\.search!.position).sorted() == Array(0..<searchable.count))
        for entry in searchable {
            let parameter = SearchParameter(entry)
            #expect(SearchSpace.standard.domains[parameter] != nil, "\(parameter)")
            #expect(SearchParameter(rawValue: parameter.rawValue) == parameter && entry.flags.contains(parameter.rawValue))
            let (_, expected) = Self.sample(entry)
            let record = try JSONText.string(TrialParameters(expected))
            #expect(record.contains("\"\(parameter.rawValue)\":"))
            let decoded = try JSONDecoder().decode(TrialParameters.self, from: Data(record.utf8))
            #expect(Self.field(entry, of: decoded.applied(to: TrainingConfiguration())) == expected)
        }
    }

    /// `configuration` with `entry`'s numeric field set to `value`, or nil for a field that is not a number.
    static func setting(_ entry: Hyperparameter, to value: Double) -> TrainingConfiguration? {
        var configuration = TrainingConfiguration()
        switch entry.kind {
        case .integer(let field), .count(let field, _): configuration[keyPath: field] = Int(value)
        case .float(let field): configuration[keyPath: field] = Float(value)
        case .double(let field): configuration[keyPath: field] = value
        case .unsignedInteger, .boolean, .choice: return nil
        }
        return configuration
    }

    @Test("an out-of-range value gives its entry's message: from validate(), an experiment file and the command line")
    func outOfRangeValuesGiveTheEntrysMessage() throws {
        var bounded = Set<TrainingConfiguration.Key>()
        for entry in Hyperparameter.all {
            for probe in [-1.0, 0, 1e9] {
                guard let configuration = Self.setting(entry, to: probe), let message = entry.problem(in: configuration) else { continue }
                bounded.insert(entry.key)
                #expect(throws: TrainingError.invalidSetting(entry.key, message)) { try configuration.validate() }
                // A switch (position embeddings) cannot be given a number in a file or a flag.
                if case .count = entry.kind { continue }
                let text: String
                switch entry.kind {
                case .integer: text = "\(Int(probe))"
                default: text = "\(probe)"
                }
                let flag = entry.flags.last!
                do {
                    _ = try ExperimentFile.parse(yaml: "\(flag): \(text)\n", path: "run.yaml")
                    Issue.record("\(flag): \(text) was accepted")
                } catch {
                    #expect("\(error)" == "run.yaml:1: '\(flag)': \(message)")
                }
                do {
                    _ = try TrainCommand.parse(["--data", "d", "--out", "m", "--" + flag, text])
                    Issue.record("--\(flag) \(text) was accepted")
                } catch {
                    #expect(TrainCommand.message(for: error).contains("\(entry.spelling): \(message)"), "\(flag) \(text)")
                }
            }
        }
        // The fields with a range of their own (the validation fraction's depends on the selection).
        #expect(
            bounded == [
                .hiddenSize, .batchSize, .epochs, .learningRate, .decayFactor, .decayInterval, .l2Penalty, .propagationSteps,
                .patience, .threads, .cutoff, .scale, .positionEmbeddingRows, .dropout, .negatives, .sampleAlpha, .evaluationExamples,
            ])
    }

    @Test("the table has one entry per configuration field, and each flag names one entry")
    func oneEntryPerField() {
        let keys = Hyperparameter.all.map(\.key) + Hyperparameter.all.flatMap(\.legacyKeys)
        #expect(Set(keys) == Set(TrainingConfiguration.Key.allCases) && keys.count == TrainingConfiguration.Key.allCases.count)
        let flags = Hyperparameter.all.flatMap(\.flags)
        #expect(Set(flags).count == flags.count && Set(flags) == Set(TrainingSettings.names.keys))
    }
}
