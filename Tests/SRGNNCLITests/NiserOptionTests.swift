import ArgumentParser
import Experiments
import Foundation
import SRGNN
import Testing
import Training
@testable import SRGNNCLI

/// `--variant niser` and the flags it implies, for train and bench.
@Suite("srgnn NISER options")
struct NiserOptionTests {
    @Test func variantNiserSetsThePapersDefaults() throws {
        let configuration = try TrainingOptions.parse(["--variant", "niser"]).configuration()
        var expected = TrainingConfiguration()
        expected.apply(.niser)
        #expect(configuration == expected)
        #expect(
            configuration.normalize && configuration.scale == 16 && configuration.positionEmbeddingRows == 200
                && configuration.dropout == 0.1)
    }

    @Test func separateFlagsSetOnePartEach() throws {
        let configuration = try TrainingOptions.parse(["--normalize", "--scale", "12", "--dropout", "0.2"]).configuration()
        #expect(
            configuration.normalize && configuration.scale == 12 && configuration.positionEmbeddingRows == 0
                && configuration.dropout == 0.2)
        let positions = try TrainingOptions.parse(["--position-embeddings"]).configuration()
        #expect(!positions.normalize && positions.positionEmbeddingRows == 200)
        // A flag over the variant wins.
        #expect(try TrainingOptions.parse(["--variant", "niser", "--dropout", "0"]).configuration().dropout == 0)
    }

    @Test func authorsCodeIsOneFlagOverTheVariant() throws {
        let configuration = try TrainingOptions.parse(["--variant", "niser", "--authors-code"]).configuration()
        #expect(configuration.authorsCode && configuration.normalize && configuration.positionEmbeddingRows == 200)
        #expect(configuration.modelConfiguration(itemCount: 3).authorsCode)
        #expect(try !TrainingOptions.parse(["--variant", "niser"]).configuration().authorsCode, "the paper's text by default")
        let file = try ExperimentFile.parse(yaml: "variant: niser\nauthors-code: true\n", path: "run.yaml")
        #expect(file.settings.applied(to: TrainingConfiguration()).authorsCode)
        // A warm start keeps the parent's readout unless asked, and then must agree (the trainer refuses otherwise).
        var parent = SRGNNConfiguration(itemCount: 5)
        ModelVariant.niser.configure(&parent)
        parent.authorsCode = true
        #expect(TrainingOptions.configuration(try TrainingOptions.parse([]).settings(), warmStartingFrom: parent).authorsCode)
    }

    @Test func badNiserValuesNameTheirOption() {
        for (arguments, expected) in [
            (["--dropout", "1"], "--dropout: dropout must be in [0, 1)"),
            (["--normalize", "--scale", "0"], "--scale: the cosine scale σ must be in (0,"),
        ] {
            do {
                _ = try TrainCommand.parse(["--data", "d", "--out", "m"] + arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                let message = TrainCommand.message(for: error)
                #expect(message.contains(expected), "\(message)")
            }
        }
    }

    @Test func warmStartTakesTheParentsVariantUnlessGiven() throws {
        var parent = SRGNNConfiguration(itemCount: 5)
        ModelVariant.niser.configure(&parent)
        let taken = TrainingOptions.configuration(try TrainingOptions.parse([]).settings(), warmStartingFrom: parent)
        #expect(taken.modelConfiguration(itemCount: 5) == parent)
        let asked = TrainingOptions.configuration(try TrainingOptions.parse(["--variant", "srgnn"]).settings(), warmStartingFrom: parent)
        #expect(!asked.normalize, "a given variant is kept, for the warm start to refuse")
    }

    @Test func experimentFilesTakeTheNiserSettings() throws {
        let file = try ExperimentFile.parse(yaml: "normalize: true\nscale: 12\nposition-embeddings: true\ndropout: 0.2\n", path: "run.yaml")
        let configuration = file.settings.applied(to: TrainingConfiguration())
        #expect(
            configuration.normalize && configuration.scale == 12 && configuration.positionEmbeddingRows == 200
                && configuration.dropout == 0.2)
        // Flags override the file, as for every setting.
        let flags = try TrainingOptions.parse(["--dropout", "0"]).settings()
        #expect(file.settings.overridden(by: flags).applied(to: TrainingConfiguration()).dropout == 0)
    }

    @Test func compareTakesNiserCheckpoints() throws {
        let command = try CompareCommand.parse([
            "--data", "d", "--models", "srgnn=a.safetensors,niser=b.safetensors,niser=c.safetensors,pop",
        ])
        let entries = try command.entries()
        #expect(entries == [.srgnn(path: "a.safetensors"), .niser(path: "b.safetensors"), .niser(path: "c.safetensors"), .baseline(.pop)])
        #expect(
            entries.map { CompareCommand.displayName(of: $0, among: entries) }
                == ["SR-GNN", "NISER+ (b.safetensors)", "NISER+ (c.safetensors)", "POP"])
        #expect(try command.referenceIndex() == 0, "SR-GNN stays the default reference")
        #expect(
            try CompareCommand.parse(["--data", "d", "--models", "niser=b.safetensors,pop", "--reference", "niser=b.safetensors"])
                .referenceIndex() == 0)
    }

    @Test func benchTakesAVariant() throws {
        #expect(try BenchCommand.parse(["--variant", "niser"]).variant == .niser)
        #expect(try BenchCommand.parse([]).variant == .srgnn)
    }
}
