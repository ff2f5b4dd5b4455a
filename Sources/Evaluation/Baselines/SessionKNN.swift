import Foundation

/// SKNN, session-based k-nearest neighbours (Jannach & Ludewig 2017; session-rec `knn/sknn.py`
/// with `similarity='cosine', sampling='recent'`).
///
/// With the current session's distinct items `C` and a training session's distinct items `N`:
///
/// 1. candidates: the `sampleSize` most recent training sessions that share at least one item with
///    `C` (time order = position in the training list);
/// 2. `sim(C, N) = |C ∩ N| / √(|C| · |N|)`, the cosine of binary item vectors;
/// 3. neighbours: the `k` most similar candidates (ties: the more recent session first);
/// 4. `score(i) = Σ_{neighbours N ∋ i} sim(C, N)`; items of the current session are scored too.
///
/// Defaults: `k = 100`, `sampleSize = 500` (session-rec's tuned values for Diginetica).
/// session-rec's final division of the scores by their maximum does not change the ranking and is
/// left out.
public struct SessionKNN: SessionModelFitter {
    public var name: String { "SKNN" }
    /// Neighbour sessions that vote (session-rec `k`). Default 100.
    public var k: Int
    /// Most recent candidate sessions considered; 0 = all (session-rec `sample_size`). Default 500.
    public var sampleSize: Int

    public init(k: Int = 100, sampleSize: Int = 500) {
        precondition(k > 0 && sampleSize >= 0, "k must be positive and sampleSize non-negative")
        self.k = k
        self.sampleSize = sampleSize
    }

    public func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> SessionKNNModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        SessionKNNModel(options: self, index: SessionIndex(sessions: sessions, itemCount: itemCount))
    }
}

/// A fitted ``SessionKNN``: the options and the training sessions' item/session indexes.
public struct SessionKNNModel: SessionScorer {
    public var name: String { "SKNN" }
    public var itemCount: Int { index.itemCount }
    public let options: SessionKNN
    let index: SessionIndex

    /// The neighbour sessions (training list indices) of a session with their similarities, most similar first.
    public func neighbours(of session: ArraySlice<Int32>) -> [(session: Int32, similarity: Float)] {
        let current = distinctItems(of: session, itemCount: itemCount)
        var candidates: [(session: Int32, similarity: Float)] = []
        candidates.reserveCapacity(options.sampleSize)
        let currentSize = Double(current.count)
        index.forEachRecentSession(containingAnyOf: current, sampleSize: options.sampleSize) { neighbour, matched in
            let neighbourSize = Double(index.sessionOffsets[Int(neighbour) + 1] - index.sessionOffsets[Int(neighbour)])
            candidates.append((neighbour, Float(Double(matched.count) / (currentSize * neighbourSize).squareRoot())))
        }
        best(&candidates, k: options.k, by: { $0.similarity }, tieBreak: { $0.session })
        return candidates
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        scores.update(repeating: 0)
        for (neighbour, similarity) in neighbours(of: session) {
            for item in index.items(ofSession: Int(neighbour)) { scores[Int(item) - 1] += similarity }
        }
    }
}
