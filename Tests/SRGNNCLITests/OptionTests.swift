import ArgumentParser
import Foundation
import Testing
import Training
import Evaluation
@testable import SRGNNCLI

/// The option groups in process: defaults come from the library, aliases agree, errors name options.
@Suite("srgnn options")
struct OptionTests {
    /// No flags give exactly `TrainingConfiguration()`.
    @Test func trainingDefaultsAreTheConfigurationDefaults() throws {
        #expect(try TrainingOptions.parse([]).configuration() == TrainingConfiguration())
    }

    /// The help text shows each option's default as the library has it.
    @Test func trainHelpShowsTheConfigurationDefaults() {
        let defaults = TrainingConfiguration()
        // Wide enough that no option's line wraps.
        let help = TrainCommand.helpMessage(columns: 1_000)
        let expected: [(String, String)] = [
            ("--hidden-size", "\(defaults.hiddenSize)"), ("--batch-size", "\(defaults.batchSize)"),
            ("--epochs", "\(defaults.epochs)"), ("--lr", "\(defaults.learningRate)"),
            ("--lr-decay", "\(defaults.decayFactor)"), ("--lr-decay-step", "\(defaults.decayInterval)"),
            ("--l2", "\(defaults.l2Penalty)"), ("--step", "\(defaults.propagationSteps)"),
            ("--patience", "\(defaults.patience)"), ("--seed", "\(defaults.seed)"),
            ("--threads", "\(defaults.threads)"), ("--validation-fraction", "\(defaults.validationFraction)"),
            ("--select-on", defaults.selectOn.rawValue), ("--cutoff", "\(defaults.cutoff)"),
            ("--validation-split", defaults.validationSplit.rawValue),
        ]
        // One entry per option: its line of names and the description lines under it.
        var entries = [String]()
        for line in help.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("-") { entries.append(line) } else if !entries.isEmpty { entries[entries.count - 1] += " " + line }
        }
        for (option, value) in expected {
            let entry = entries.first { $0.hasPrefix(option + " ") || $0.hasPrefix(option + ",") }
            #expect(entry?.contains("default: \(value))") == true, "\(option): \(entry ?? "missing")")
        }
    }

    /// `--select-on last` (the refit) holds nothing out, as `--select-on test` does.
    @Test func selectOnLastHoldsNothingOut() throws {
        let configuration = try TrainingOptions.parse(["--select-on", "last", "--epochs", "4"]).configuration()
        #expect(configuration.selectOn == .last && configuration.validationSplit == .examples && configuration.epochs == 4)
        try configuration.validate()
    }

    /// Each old spelling and its alias set the same field.
    @Test func oldFlagsAndAliasesGiveTheSameConfiguration() throws {
        let old = try TrainingOptions.parse(["--l2", "0.5", "--lr-decay-step", "4", "--step", "2", "--lr", "0.01", "--lr-decay", "0.5"])
        let new = try TrainingOptions.parse([
            "--l2-penalty", "0.5", "--decay-interval", "4", "--propagation-steps", "2",
            "--learning-rate", "0.01", "--decay-factor", "0.5",
        ])
        var expected = TrainingConfiguration()
        expected.l2Penalty = 0.5
        expected.decayInterval = 4
        expected.propagationSteps = 2
        expected.learningRate = 0.01
        expected.decayFactor = 0.5
        #expect(old.configuration() == expected)
        #expect(new.configuration() == expected)
    }

    /// A bad value is reported against the option, in the message the user sees.
    @Test func badValueNamesTheOption() {
        do {
            _ = try TrainCommand.parse(["--data", "d", "--out", "m", "--propagation-steps", "0"])
            Issue.record("--propagation-steps 0 was accepted")
        } catch {
            let message = TrainCommand.message(for: error)
            #expect(message.contains("--step/--propagation-steps: propagation steps must be at least 1 (got 0)"), "\(message)")
        }
    }

    /// Every configuration key has an option, so no field is unreachable from the command line.
    @Test func everyConfigurationFieldHasAnOption() {
        let help = TrainCommand.helpMessage(columns: 1_000)
        for key in TrainingConfiguration.Key.allCases {
            for spelling in TrainingOptions.spelling(of: key).split(separator: "/") {
                #expect(help.contains(String(spelling)), "\(key): \(spelling)")
            }
        }
    }

    /// `--models` parses into checkpoints and Evaluation's baselines; the default is every baseline.
    @Test func compareModelsParseIntoBaselines() throws {
        let command = try CompareCommand.parse(["--data", "d", "--models", "srgnn=a.safetensors,pop,vsknn"])
        #expect(try command.entries() == [.srgnn(path: "a.safetensors"), .baseline(.pop), .baseline(.vsknn)])
        let all = try CompareCommand.parse(["--data", "d"])
        #expect(try all.entries() == Baseline.allCases.map { .baseline($0) })
    }

    @Test func compareRejectsUnknownModel() {
        #expect(throws: (any Error).self) { try CompareCommand.parse(["--data", "d", "--models", "pop,nope"]) }
        do {
            _ = try CompareCommand.parse(["--data", "d", "--models", "pop,nope"])
        } catch {
            #expect(CompareCommand.message(for: error).contains("unknown model 'nope'"))
        }
    }

    /// `--seeds` names each run's files after its seed and refuses a --seed beside it.
    @Test func seedsNameTheirFilesAndConflictWithSeed() throws {
        #expect(TrainCommand.checkpointPath("runs/model.safetensors", seed: 3) == "runs/model.seed3.safetensors")
        #expect(TrainCommand.checkpointPath("runs.v2/model", seed: 3) == "runs.v2/model.seed3")
        #expect(TrainCommand.seedSummaryPath("runs/model.safetensors") == "runs/model.seeds.json")
        #expect(TrainCommand.seedSummaryPath("runs.v2/model") == "runs.v2/model.seeds.json")
        #expect(try TrainCommand.parse(["--data", "d", "--out", "m", "--seeds", "1, 2,30"]).parsedSeeds() == [1, 2, 30])
        for (arguments, message) in [
            (["--seeds", "1,2", "--seed", "3"], "--seeds and --seed 3 conflict"),
            (["--seeds", "1"], "--seeds: give at least two seeds (for one run, use --seed)"),
            (["--seeds", "1,x"], "--seeds: expected non-negative integers separated by commas, e.g. 1,2,3; 'x' is not one"),
            (["--seeds", "2,2"], "--seeds: each seed once"),
        ] {
            do {
                _ = try TrainCommand.parse(["--data", "d", "--out", "m"] + arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                #expect(TrainCommand.message(for: error).contains(message), "\(TrainCommand.message(for: error))")
            }
        }
    }

    /// `--reference` takes a report name or a --models entry; by default the first SR-GNN model.
    @Test func compareReferenceResolves() throws {
        #expect(try CompareCommand.parse(["--data", "d", "--models", "pop,srgnn=a.safetensors"]).referenceIndex() == 1)
        #expect(try CompareCommand.parse(["--data", "d", "--models", "pop,vsknn"]).referenceIndex() == 0)
        #expect(try CompareCommand.parse(["--data", "d", "--models", "pop,vsknn", "--reference", "vsknn"]).referenceIndex() == 1)
        #expect(try CompareCommand.parse(["--data", "d", "--models", "pop,vsknn", "--reference", "V-SKNN"]).referenceIndex() == 1)
        let two = ["--data", "d", "--models", "srgnn=a.safetensors,srgnn=b.safetensors"]
        #expect(try CompareCommand.parse(two + ["--reference", "SR-GNN (b.safetensors)"]).referenceIndex() == 1)
        #expect(try CompareCommand.parse(two + ["--reference", "srgnn=b.safetensors"]).referenceIndex() == 1)
        do {
            _ = try CompareCommand.parse(["--data", "d", "--models", "pop,vsknn", "--reference", "nope"])
            Issue.record("--reference nope was accepted")
        } catch {
            #expect(CompareCommand.message(for: error).contains("--reference: no model 'nope' in --models; use one of POP, V-SKNN"))
        }
    }

    /// The baseline options start at the baselines' own defaults.
    @Test func baselineOptionDefaultsAreTheBaselines() throws {
        let options = try BaselineOptions.parse([])
        let fitters = options.fitters(threads: 3)
        let defaults = BaselineFitters()
        #expect(fitters.itemKNN.neighbours == defaults.itemKNN.neighbours && fitters.itemKNN.threads == 3)
        #expect(fitters.sessionKNN.k == defaults.sessionKNN.k && fitters.sessionKNN.sampleSize == defaults.sessionKNN.sampleSize)
        #expect(fitters.vectorSessionKNN.remind == defaults.vectorSessionKNN.remind)
        #expect(fitters.sequentialRules.pruning == defaults.sequentialRules.pruning)
    }
}
