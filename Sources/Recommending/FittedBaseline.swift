import Evaluation
import Foundation
import SessionData
import SRGNN
import TensorCore

/// A baseline from `srgnn fit` ready to serve: the file (vocabulary, parameters, sessions), the
/// index rebuilt from it, and the file's SHA-256, its identity as a checkpoint's is.
public struct FittedBaseline: Sendable {
    public let file: NeighbourhoodModelFile
    public let scorer: any SessionScorer
    public let sha256: String

    public init(file: NeighbourhoodModelFile, sha256: String) throws {
        self.file = file
        self.sha256 = sha256
        scorer = try file.scorer()
    }

    /// Reads `path` when it is a fitted baseline, `nil` when it is another safetensors file (an
    /// SR-GNN checkpoint). A damaged baseline file throws `ModelError` naming the path.
    public static func load(from path: String) throws -> FittedBaseline? {
        let tensors = try SafeTensorsFile(contentsOf: path)
        guard tensors.metadata[NeighbourhoodModelFile.metadataKey] != nil else { return nil }
        do {
            return try FittedBaseline(file: try NeighbourhoodModelFile(tensors, path: path), sha256: tensors.sha256 ?? "")
        } catch let error as NeighbourhoodModelError {
            throw ModelError.weightsFile(path: path, reason: error.description)
        }
    }

    public var itemCount: Int { file.itemCount }

    /// Each session's answer under its selection, best first, ties to the lower id: the baseline
    /// scores every item, then the same top-k pass as SR-GNN's picks among the allowed ones.
    public func select(sessions: [[Int32]], selections: [ItemSelection]) -> [[ScoredItem<Int32>]] {
        var scores = [Float](repeating: 0, count: itemCount)
        return zip(sessions, selections).map { session, selection in
            scores.withUnsafeMutableBufferPointer { scores in
                scorer.score(session: session[...], into: scores)
                switch selection {
                case let .best(k, allowed):
                    return topK(scores.baseAddress!, count: itemCount, k: k, allowed: allowed).map {
                        ScoredItem(id: Int32($0 + 1), score: scores[$0])
                    }
                case let .candidates(ids, k):
                    let ranked = ids.sorted { a, b in
                        let (sa, sb) = (scores[Int(a) - 1], scores[Int(b) - 1])
                        return sa != sb ? sa > sb : a < b
                    }
                    return ranked.prefix(k).map { ScoredItem(id: $0, score: scores[Int($0) - 1]) }
                }
            }
        }
    }
}
