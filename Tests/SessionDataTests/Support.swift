import Foundation
import TestSupport
import Testing
@testable import SessionData

/// Paths to the shared data and fixtures beside the clone (`../shared`), resolved from this file.
enum Shared {
    /// The package root: this file is `Tests/SessionDataTests/Support.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let root = packageRoot + "/../shared"

    static func data(_ relative: String) -> String { root + "/data/" + relative }
    static func fixture(_ relative: String) -> String { root + "/fixtures/" + relative }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static let digineticaSampleLog = data("diginetica/train-item-views.sample.csv")
    static let yoochooseSampleLog = data("yoochoose-raw-sample/yoochoose-clicks.sample.dat")
    static let digineticaFixture = fixture("preprocess/diginetica-sample")
    static let yoochooseFixture = fixture("preprocess/yoochoose-sample")
}

/// Compares two session lists session by session, click by click; reports the first difference.
func expectSameSessions(
    _ actual: SessionList, _ expected: SessionList, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): session count", sourceLocation: sourceLocation)
    for s in 0..<min(actual.count, expected.count) where !actual[s].elementsEqual(expected[s]) {
        Issue.record("\(what): session \(s) is \(Array(actual[s])), expected \(Array(expected[s]))", sourceLocation: sourceLocation)
        return
    }
}

/// Compares two example sets prefix by prefix and label by label; reports the first difference.
func expectSameExamples(
    _ actual: ExampleSet, _ expected: ExampleSet, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): example count", sourceLocation: sourceLocation)
    for i in 0..<min(actual.count, expected.count)
    where !actual.prefix(i).elementsEqual(expected.prefix(i)) || actual.targets[i] != expected.targets[i] {
        Issue.record(
            "\(what): example \(i) is \(Array(actual.prefix(i))) → \(actual.targets[i]), expected \(Array(expected.prefix(i))) → \(expected.targets[i])",
            sourceLocation: sourceLocation)
        return
    }
}

/// Runs `body`, expecting a `SessionDataError`, and returns it.
func expectDataError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> SessionDataError? {
    do {
        try body()
        Issue.record("expected a SessionDataError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as SessionDataError {
        return error
    } catch {
        Issue.record("expected a SessionDataError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
