import TensorCore
/// A fitted session recommender: scores every item 1...itemCount as the next click of a session.
///
/// One harness ranks them all: SR-GNN and the baselines (POP, S-POP, Item-KNN, SKNN, V-SKNN, STAN, VSTAN, SR)
/// conform, and ``Evaluator`` only sees this protocol. A scorer is an immutable value: `score` may be
/// called from several threads at once and must not mutate shared state.
public protocol SessionScorer: Sendable {
    /// A short display name, e.g. "SR-GNN", "V-SKNN".
    var name: String { get }
    /// Number of items n; scores cover item ids 1...n.
    var itemCount: Int { get }
    /// Sessions per call of ``score(sessions:into:)`` that the scorer works best with (a model
    /// scoring a batch with one matrix product wants ~100; the baselines want 1).
    var preferredBatchSize: Int { get }

    /// Writes the score of item `id` into `scores[id − 1]` for every id in 1...itemCount (higher is
    /// better). `session` is the clicked prefix in time order, non-empty. Every entry is written.
    func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>)

    /// Batched scoring, row-major: the scores of `sessions[b]` go to
    /// `scores[b · itemCount ..< (b + 1) · itemCount]`. The default calls ``score(session:into:)``
    /// once per session.
    func score(sessions: [ArraySlice<Int32>], into scores: UnsafeMutableBufferPointer<Float>)

    /// Where each session's target stands among all items (`positions[b]` for `sessions[b]` and
    /// `targets[b]`), for accuracy without top-K lists. The default scores every item with
    /// ``score(sessions:into:)`` and counts; a model may count without materialising the scores.
    func targetPositions(sessions: [ArraySlice<Int32>], targets: [Int32], into positions: UnsafeMutableBufferPointer<TargetPosition>)
}

extension SessionScorer {
    public var preferredBatchSize: Int { 1 }

    public func score(sessions: [ArraySlice<Int32>], into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count >= sessions.count * itemCount, "score buffer smaller than sessions × itemCount")
        for (b, session) in sessions.enumerated() {
            score(session: session, into: UnsafeMutableBufferPointer(rebasing: scores[(b * itemCount)..<((b + 1) * itemCount)]))
        }
    }

    public func targetPositions(
        sessions: [ArraySlice<Int32>], targets: [Int32],
        into positions: UnsafeMutableBufferPointer<TargetPosition>
    ) {
        var scores = [Float](repeating: 0, count: sessions.count * itemCount)
        scores.withUnsafeMutableBufferPointer { scores in
            score(sessions: sessions, into: scores)
            for b in sessions.indices {
                positions[b] = targetPosition(
                    of: targets[b], scores: UnsafeBufferPointer(rebasing: scores[(b * itemCount)..<((b + 1) * itemCount)]))
            }
        }
    }

    /// Convenience (tests, small tools): the scores of one session as an array `[itemCount]`.
    public func scores(for session: some Collection<Int32>) -> [Float] {
        var scores = [Float](repeating: 0, count: itemCount)
        let prefix = ArraySlice(session)
        scores.withUnsafeMutableBufferPointer { score(session: prefix, into: $0) }
        return scores
    }

    /// Convenience: the `k` best item ids for one session, best first (ties: lower id first).
    public func recommend(for session: some Collection<Int32>, k: Int) -> [Int32] {
        let scores = scores(for: session)
        return scores.withUnsafeBufferPointer { topK($0.baseAddress!, count: itemCount, k: k) }.map { Int32($0 + 1) }
    }
}

/// Something that learns a ``SessionScorer`` from training sessions (a baseline's options, or a
/// model's configuration): `fit` is the only training step a baseline has.
///
/// `sessions` are the training sessions, each a list of item ids in 1...itemCount in click order;
/// the collection is in time order (later sessions are more recent), which recency-sampling
/// neighbourhood methods rely on.
public protocol SessionModelFitter: Sendable {
    associatedtype Model: SessionScorer
    /// The display name of the models it fits.
    var name: String { get }
    func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> Model
    where Sessions.Element: Collection, Sessions.Element.Element == Int32
    /// The same with each training session's time (unix seconds of its last click, aligned with
    /// `sessions`; `nil` when the data has none), for models that weigh neighbours by recency
    /// (STAN, VSTAN). The default ignores the times.
    func fit<Sessions: Collection>(sessions: Sessions, times: [Int64]?, itemCount: Int) -> Model
    where Sessions.Element: Collection, Sessions.Element.Element == Int32
}

extension SessionModelFitter {
    public func fit<Sessions: Collection>(sessions: Sessions, times: [Int64]?, itemCount: Int) -> Model
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        fit(sessions: sessions, itemCount: itemCount)
    }
}

/// A scorer shown under another name (a tuned baseline beside its defaults in one comparison).
public struct RenamedScorer: SessionScorer {
    public let base: any SessionScorer
    public let name: String
    public var itemCount: Int { base.itemCount }
    public var preferredBatchSize: Int { base.preferredBatchSize }

    public init(_ base: any SessionScorer, name: String) {
        self.base = base
        self.name = name
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        base.score(session: session, into: scores)
    }

    public func score(sessions: [ArraySlice<Int32>], into scores: UnsafeMutableBufferPointer<Float>) {
        base.score(sessions: sessions, into: scores)
    }

    public func targetPositions(
        sessions: [ArraySlice<Int32>], targets: [Int32], into positions: UnsafeMutableBufferPointer<TargetPosition>
    ) {
        base.targetPositions(sessions: sessions, targets: targets, into: positions)
    }
}
