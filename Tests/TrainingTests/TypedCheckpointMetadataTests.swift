import Evaluation
import Foundation
import SessionData
import SRGNN
import Testing
import Training

/// Issue 30: checkpoint metadata typed where its owner can decode it, the bytes unchanged.
@Suite struct TypedCheckpointMetadataTests {
    static func metadata(training: JSONValue?, history: JSONValue?) -> CheckpointMetadata {
        CheckpointMetadata(
            model: SRGNNConfiguration(itemCount: 3, hiddenSize: 4), vocabulary: .identity(count: 3), epoch: 0, metrics: [:],
            training: training, history: history)
    }

    @Test("the training configuration and history read back typed from a written checkpoint's JSON")
    func typedFieldsRoundTrip() throws {
        var configuration = TrainingConfiguration()
        configuration.decayInterval = 4
        configuration.l2Penalty = 0.25
        configuration.validationSplit = .latest
        let history = [EpochRecord(epoch: 0, loss: 1.5, learningRate: 0.001, seconds: 2, validation: ["HR@20": 10], test: nil)]
        let written = Self.metadata(training: configuration.jsonValue, history: try JSONValue(encoding: history))
        let read = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(try JSONText.string(written).utf8))
        #expect(read.trainingConfiguration == configuration)
        #expect(read.trainingHistory == history)
        // The stored JSON is the configuration's own encoding: typed reading changes no byte.
        #expect(try JSONText.string(read.training) == JSONText.string(configuration))
    }

    @Test("an older checkpoint's configuration (old key names, no validation split) reads typed; none reads as nil")
    func olderAndMissingConfigurations() throws {
        let old = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"l2": 0.5, "decayEvery": 2, "step": 3}"#.utf8))
        var expected = TrainingConfiguration()
        expected.l2Penalty = 0.5
        expected.decayInterval = 2
        expected.propagationSteps = 3
        expected.validationSplit = .examples
        #expect(Self.metadata(training: old, history: nil).trainingConfiguration == expected)
        #expect(Self.metadata(training: nil, history: nil).trainingConfiguration == nil)
        #expect(Self.metadata(training: .string("not a configuration"), history: nil).trainingConfiguration == nil)
    }
}
