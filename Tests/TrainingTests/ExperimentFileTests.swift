import Experiments
import Foundation
import SessionData
import SRGNN
import Testing
import TestSupport
import Training

/// `srgnn train --config`: experiment files, their errors, overrides, and checkpoints as experiments.
@Suite struct ExperimentFileTests {
    @Test func anExperimentFileSetsWhatItNames() throws {
        let text = """
            data: data/diginetica
            hidden-size: 16
            lr: 0.005            # an alias
            l2-penalty: 0
            validation-split: sessions
            nonhybrid: true
            seed: 7
            """
        let file = try ExperimentFile.parse(yaml: text, path: "run.yaml")
        #expect(file.data == "data/diginetica")
        #expect(file.text == text)
        var expected = TrainingSettings()
        expected.hiddenSize = 16
        expected.learningRate = 0.005
        expected.l2Penalty = 0
        expected.validationSplit = .sessions
        expected.nonhybrid = true
        expected.seed = 7
        #expect(file.settings == expected)
        let configuration = file.settings.applied(to: TrainingConfiguration())
        #expect(configuration.hiddenSize == 16 && configuration.batchSize == TrainingConfiguration().batchSize)
    }

    @Test func flagsOverrideTheFile() throws {
        let file = try ExperimentFile.parse(yaml: "hidden-size: 16\nlearning-rate: 0.005\nnonhybrid: true\n", path: "run.yaml")
        var flags = TrainingSettings()
        flags.learningRate = 0.01
        flags.nonhybrid = false
        let configuration = file.settings.overridden(by: flags).applied(to: TrainingConfiguration())
        #expect(configuration.hiddenSize == 16, "the file's value where no flag is given")
        #expect(configuration.learningRate == 0.01, "the flag's value over the file's")
        #expect(configuration.nonhybrid == false, "a switch the file turned on, turned off by a flag")
    }

    /// `variant: niser` sets the paper's four parts wherever it stands; the file's own parts override it.
    @Test func theVariantSetsItsPartsAndTheFileOverridesThem() throws {
        let file = try ExperimentFile.parse(yaml: "dropout: 0.2\nvariant: niser\n", path: "run.yaml")
        let configuration = file.settings.applied(to: TrainingConfiguration())
        var niser = TrainingConfiguration()
        niser.apply(.niser)
        #expect(niser.normalize && niser.positionEmbeddingRows > 0 && niser.dropout > 0)
        #expect(configuration.normalize == niser.normalize && configuration.scale == niser.scale)
        #expect(configuration.positionEmbeddingRows == niser.positionEmbeddingRows)
        #expect(configuration.dropout == 0.2, "the file's dropout over the variant's")
        let plain = try ExperimentFile.parse(yaml: "variant: srgnn\n", path: "run.yaml").settings.applied(to: TrainingConfiguration())
        #expect(plain == TrainingConfiguration())
        do {
            _ = try ExperimentFile.parse(yaml: "epochs: 2\nvariant: nyser\n", path: "run.yaml")
            Issue.record("an unknown variant was accepted")
        } catch {
            #expect("\(error)" == "run.yaml:2: 'variant': expected one of srgnn, niser, got 'nyser'")
        }
    }

    @Test func badFilesNameTheFileTheLineAndTheSetting() {
        func error(_ text: String) -> String {
            do { _ = try ExperimentFile.parse(yaml: text, path: "run.yaml"); return "accepted" } catch { return "\(error)" }
        }
        #expect(
            error("data: d\nhiden-size: 8\n").hasPrefix(
                "run.yaml:2: unknown setting 'hiden-size'; the settings are data, variant and the long flags of srgnn train: "))
        #expect(error("hidden-size: eight\n") == "run.yaml:1: 'hidden-size': expected an integer, got 'eight'")
        #expect(error("epochs: 2\nnonhybrid: maybe\n") == "run.yaml:2: 'nonhybrid': expected true or false, got 'maybe'")
        #expect(error("validation-split: all\n") == "run.yaml:1: 'validation-split': expected one of examples, sessions, latest, got 'all'")
        #expect(error("\nstep: 0\n") == "run.yaml:2: 'step': propagation steps must be at least 1 (got 0)")
        #expect(error("out: model.safetensors\n") == "run.yaml:1: 'out' is not an experiment setting: give --out on the command line")
        #expect(error("lr: [0.1, 0.2]\n") == "run.yaml:1: 'lr': expected a number, got a list")
        #expect(error("- 1\n- 2\n") == "run.yaml:1: expected a mapping of settings (name: value) at the top level")
        #expect(error("epochs: 2\nepochs: 3\n") == "run.yaml:2: 'epochs' is given twice (first on line 1)")
        #expect(error("epochs: [2\n").hasPrefix("run.yaml:"), "a syntax error names its line")
    }

    /// A checkpoint records the effective configuration, the data path and the file's text; read
    /// back as an experiment it gives the same configuration.
    @Test func aCheckpointIsAnExperimentThatReproducesItsRun() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let text = "hidden-size: 8\nbatch-size: 32\nepochs: 1\nthreads: 1\nvalidation-split: latest\n"
        let path = try folder.file("run.yaml", text)
        let file = try ExperimentFile.load(from: path)
        let configuration = file.settings.applied(to: TrainingConfiguration())
        let checkpoint = folder.path + "/model.safetensors"
        let trainer = try Trainer(
            configuration: configuration, dataset: syntheticDataset(sessions: 200, items: 30),
            checkpointPath: checkpoint, datasetPath: "data/synthetic")
        trainer.experiment = file.source
        _ = try trainer.run()

        let metadata = try #require(try LoadedModel.load(from: checkpoint).metadata)
        #expect(metadata.experiment == ExperimentSource(file: path, text: text))
        let again = try ExperimentFile.load(from: checkpoint)
        #expect(again.data == "data/synthetic")
        #expect(again.text == text)
        #expect(again.settings.applied(to: TrainingConfiguration()) == configuration, "every setting, not only the file's")
    }
}
