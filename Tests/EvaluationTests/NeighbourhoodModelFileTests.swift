import Evaluation
import Foundation
import SessionData
import SRGNN
import Testing
import TestSupport

/// `srgnn fit`'s file: a round trip keeps the model's answers, and a damaged file is refused with
/// the reason.
@Suite struct NeighbourhoodModelFileTests {
    let vocabulary = ItemVocabulary(rawIDs: ["a", "b", "c", "d", "e"])

    func file(times: [Int64]? = [0, 86_400, 172_800, 259_200]) -> NeighbourhoodModelFile {
        var fitters = BaselineFitters()
        fitters.vstan = VSTAN(k: 3, sampleSize: 0, recencyDecayDays: 1)
        return NeighbourhoodModelFile(
            baseline: .vstan, fitters: fitters, sessions: SessionList(tinySessions), times: times, vocabulary: vocabulary,
            dataset: "tiny")
    }

    @Test func aRoundTripScoresAsTheFittedModel() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.path + "/vstan.safetensors"
        let written = file()
        try written.write(to: path)
        let read = try NeighbourhoodModelFile(contentsOf: path)
        #expect(read == written)
        #expect(read.header.parameters["k"] == .number(3) && read.header.parameters["lambda-snh"] == .number(1))
        let fitted = VSTAN(k: 3, sampleSize: 0, recencyDecayDays: 1)
            .fit(sessions: tinySessions, times: [0, 86_400, 172_800, 259_200], itemCount: 5)
        for session: [Int32] in [[1, 2], [3], [4, 5, 4]] {
            #expect(try read.scorer().scores(for: session) == fitted.scores(for: session))
        }
        #expect(read.header.recentPopularity != nil)
    }

    /// Each damage named: not a fitted baseline, an id outside the vocabulary, offsets that do
    /// not span the clicks, times of another length, a newer format.
    @Test func damagedFilesAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.path + "/bad.safetensors"
        func refusal(_ change: (inout SafeTensorsFile) throws -> Void) throws -> String {
            var tensors = try file().safeTensors()
            try change(&tensors)
            try tensors.write(to: path)
            do {
                _ = try NeighbourhoodModelFile(contentsOf: path)
                return "loaded"
            } catch let error as NeighbourhoodModelError {
                return error.description
            }
        }
        func int32s(_ values: [Int32]) -> Data { values.withUnsafeBytes { Data($0) } }
        func int64s(_ values: [Int64]) -> Data { values.withUnsafeBytes { Data($0) } }
        #expect(try refusal { $0.metadata = [:] }.contains("not a fitted baseline"))
        #expect(
            try refusal { $0.entries["session_items"] = .init(dtype: .i32, shape: [11], data: int32s([1, 2, 3, 2, 3, 4, 1, 3, 4, 9, 4])) }
                .contains("item 9, outside the vocabulary's 1...5"))
        #expect(
            try refusal { $0.entries["session_offsets"] = .init(dtype: .i64, shape: [5], data: int64s([0, 3, 2, 8, 11])) }
                .contains("session_offsets must rise"))
        #expect(
            try refusal { $0.entries["session_times"] = .init(dtype: .i64, shape: [2], data: int64s([0, 1])) }
                .contains("session_times has 2 entries for 4 sessions"))
        #expect(
            try refusal {
                $0.metadata[NeighbourhoodModelFile.metadataKey] = $0.metadata[NeighbourhoodModelFile.metadataKey]!
                    .replacingOccurrences(of: "\"version\":1", with: "\"version\":2")
            }.contains("written by a newer srgnn"))
        #expect(try refusal { _ in }.contains("loaded"))
    }
}
