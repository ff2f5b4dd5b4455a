import SessionData
import TensorCore

/// Which training examples are held out for validation when the best epoch is chosen on them.
public enum ValidationSplit: String, Codable, Sendable, CaseIterable {
    /// A random share of the training *examples* (prefixes), as the reference's `split_validation`
    /// does: prefixes of one session can fall on both sides, so validation sees sessions that
    /// training has partly seen.
    case examples
    /// Whole training sessions at random: all prefixes of a session on one side.
    case sessions
    /// The most recent whole sessions, as a temporal split would hold out. Training sessions are
    /// stored in time order (preprocessing sorts them by session date; SR-GNN pickles are written
    /// in that order), and the data carries no times after preprocessing, so "latest" is "last in
    /// the file".
    case latest
}

extension Trainer {
    /// Splits the indices of `examples` into training and validation as `configuration` says. With
    /// `selectOn: .test` every example trains (the reference protocol).
    ///
    /// The validation side aims at `n − round(n · (1 − fraction))` examples. `.examples` takes
    /// exactly that many (the reference's split, bit-identical to earlier releases for the same
    /// seed). The session splits take whole sessions (``ExampleSet/sessionNumbers()``), in random
    /// or latest-first order, until they hold at least that many examples, so they overshoot by
    /// less than one session's examples. Both sides list their indices ascending.
    static func split(_ examples: ExampleSet, configuration: TrainingConfiguration) -> (train: [Int], validation: [Int]) {
        let count = examples.count
        guard configuration.selectOn == .validation else { return (Array(0..<count), []) }
        var generator = SeededGenerator(seed: configuration.seed ^ 0x5EED_0F_5B1D)
        let trainCount = Int((Double(count) * (1 - configuration.validationFraction)).rounded(.toNearestOrEven))
        switch configuration.validationSplit {
        case .examples:
            // Training keeps the shuffled order: each epoch's shuffle starts from it.
            var indices = Array(0..<count)
            indices.shuffle(using: &generator)
            return (Array(indices[..<trainCount]), Array(indices[trainCount...]))
        case .sessions, .latest:
            let sessionOfExample = examples.sessionNumbers()
            let sessionCount = Int(sessionOfExample.last ?? -1) + 1
            var examplesPerSession = [Int](repeating: 0, count: sessionCount)
            for session in sessionOfExample { examplesPerSession[Int(session)] += 1 }
            var order = Array(0..<sessionCount)
            if configuration.validationSplit == .sessions { order.shuffle(using: &generator) } else { order.reverse() }
            let wanted = count - trainCount
            var heldOut = [Bool](repeating: false, count: sessionCount)
            var taken = 0
            for session in order where taken < wanted {
                heldOut[session] = true
                taken += examplesPerSession[session]
            }
            var train = [Int](), validation = [Int]()
            train.reserveCapacity(count - taken)
            validation.reserveCapacity(taken)
            for index in 0..<count {
                if heldOut[Int(sessionOfExample[index])] { validation.append(index) } else { train.append(index) }
            }
            return (train, validation)
        }
    }
}
