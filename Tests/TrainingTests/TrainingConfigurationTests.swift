import Foundation
import Testing
import Training

/// The configuration's JSON: new names out, old names still in, missing keys defaulted.
@Suite("training configuration JSON")
struct TrainingConfigurationTests {
    /// A state file or checkpoint written before the renames (`l2`, `decayEvery`, `step`) loads.
    @Test func decodesOldKeyNames() throws {
        let json = """
            {"hiddenSize": 64, "batchSize": 50, "epochs": 7, "learningRate": 0.01, "decayFactor": 0.5, "decayEvery": 4,
             "referenceDecayTiming": false, "l2": 0.001, "step": 2, "nonhybrid": true, "patience": 3, "seed": 9,
             "threads": 2, "validationFraction": 0.2, "selectOn": "test", "cutoff": 10}
            """
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8))
        var expected = TrainingConfiguration()
        expected.hiddenSize = 64
        expected.batchSize = 50
        expected.epochs = 7
        expected.learningRate = 0.01
        expected.decayFactor = 0.5
        expected.decayInterval = 4
        expected.referenceDecayTiming = false
        expected.l2Penalty = 0.001
        expected.propagationSteps = 2
        expected.nonhybrid = true
        expected.patience = 3
        expected.seed = 9
        expected.threads = 2
        expected.validationFraction = 0.2
        expected.selectOn = .test
        expected.cutoff = 10
        expected.validationSplit = .examples  // written before the splits: random examples
        #expect(decoded == expected)
    }

    /// Keys that are absent take the defaults, except the validation split: a file without one was
    /// written before the splits existed, when every run held out random examples.
    @Test func missingKeysTakeDefaults() throws {
        var old = TrainingConfiguration()
        old.validationSplit = .examples
        #expect(TrainingConfiguration().validationSplit == .sessions)
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: Data("{}".utf8)) == old)
        let partial = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(#"{"propagationSteps": 3}"#.utf8))
        var expected = old
        expected.propagationSteps = 3
        #expect(partial == expected)
        let current = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(TrainingConfiguration()))
        #expect(current == TrainingConfiguration())
    }

    /// Encoding writes the new names only, and decodes back to the same value.
    @Test func encodesNewNamesAndRoundTrips() throws {
        var configuration = TrainingConfiguration()
        configuration.l2Penalty = 0
        configuration.decayInterval = 5
        configuration.propagationSteps = 2
        let data = try JSONEncoder().encode(configuration)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["l2Penalty"] != nil && object["decayInterval"] != nil && object["propagationSteps"] != nil)
        #expect(object["l2"] == nil && object["decayEvery"] == nil && object["step"] == nil)
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: data) == configuration)
    }

    /// A bad value names the field it came from, so front ends can name their own option.
    @Test func validationNamesTheField() {
        var configuration = TrainingConfiguration()
        configuration.decayInterval = 0
        let error = #expect(throws: TrainingError.self) { try configuration.validate() }
        guard case .invalidSetting(let key, let message)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(key == .decayInterval)
        #expect(message.contains("decay interval must be at least 1"))
    }
}
