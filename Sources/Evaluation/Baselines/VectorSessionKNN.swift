import Foundation

/// V-SKNN, vector multiplication session kNN (Ludewig & Jannach 2018; session-rec `knn/vsknn.py`,
/// `VMContextKNN` with `similarity='vec'`): SKNN whose current session favours its recent clicks.
///
/// Let the current session be `s_1 … s_L` (with repeats), `C` its distinct items, and for `i ∈ C`
/// `p(i)` the 1-based position of its *last* click. Then:
///
/// 1. candidates: the `sampleSize` most recent training sessions sharing an item with `C`;
/// 2. `sim(C, N) = Σ_{i ∈ C ∩ N} w(p(i), L) / |C|`, the dot product of the position-weighted current
///    vector with the neighbour's binary vector, divided by `|C|` (session-rec `vec`);
///    default `w(p, L) = p / L` (`weighting='div'`);
/// 3. neighbours: the `k` most similar (ties: the more recent session first);
/// 4. each neighbour N votes with `sim(C, N) · decay(t)`, where `t = L − max_{i ∈ C ∩ N} p(i) + 1` is
///    how many clicks back the most recent shared item was (t = 1: the last click); default
///    `decay(t) = 1/t` (`weighting_score='div_score'`): `score(i) = Σ_{N ∋ i} sim(C, N) · decay(t_N)`.
///    With `remind = false` the current session's items get score 0.
///
/// Defaults: `k = 100`, `sampleSize = 500`, `weighting = .div`, `decay = .div`, `remind = true`
/// (session-rec's defaults apart from k/sample size, which follow its Diginetica configuration).
/// session-rec's idf, dwelling-time and time weighting options are not implemented.
public struct VectorSessionKNN: SessionModelFitter {
    /// Weight `w(p, L)` of the current session's click at 1-based position p of L (session-rec `weighting`).
    public enum PositionWeighting: String, Sendable, Codable, CaseIterable {
        /// 1
        case same
        /// p / L (the default)
        case div
        /// max(0, 1 − 0.1·(L − p)): the last 10 clicks, linearly. session-rec writes
        /// `1 − 0.1·(L − p) if p ≤ 10 else 0`, which zeroes the recent clicks of long sessions; we
        /// take the evident intent.
        case linear
        /// 1 / log10(L − p + 1.7)
        case log
        /// (p / L)²
        case quadratic

        public func weight(position p: Int, length l: Int) -> Float {
            let (p, l) = (Double(p), Double(l))
            switch self {
            case .same: return 1
            case .div: return Float(p / l)
            case .linear: return Float(max(0, 1 - 0.1 * (l - p)))
            case .log: return Float(1 / log10(l - p + 1.7))
            case .quadratic: return Float((p / l) * (p / l))
            }
        }
    }

    /// Decay `decay(t)` of a neighbour's vote by how many clicks back (t ≥ 1) its most recent shared
    /// item is (session-rec `weighting_score`, the `*_score` functions).
    public enum RecencyDecay: String, Sendable, Codable, CaseIterable {
        /// 1
        case same
        /// 1/t (the default)
        case div
        /// max(0, 1 − 0.1·t) (session-rec: `1 − 0.1·t` for t ≤ 100, negative past 10; we clamp at 0)
        case linear
        /// 1 / log10(t + 1.7)
        case log
        /// 1/t²
        case quadratic

        public func decay(step t: Int) -> Float {
            let t = Double(t)
            switch self {
            case .same: return 1
            case .div: return Float(1 / t)
            case .linear: return Float(max(0, 1 - 0.1 * t))
            case .log: return Float(1 / log10(t + 1.7))
            case .quadratic: return Float(1 / (t * t))
            }
        }
    }

    public var name: String { "V-SKNN" }
    /// Neighbour sessions that vote (session-rec `k`). Default 100.
    public var k: Int
    /// Most recent candidate sessions considered; 0 = all (session-rec `sample_size`). Default 500.
    public var sampleSize: Int
    /// Position weighting of the current session (session-rec `weighting`). Default `.div`, p/L.
    public var weighting: PositionWeighting
    /// Decay of a neighbour's vote (session-rec `weighting_score`). Default `.div`, 1/t.
    public var decay: RecencyDecay
    /// Whether items already in the current session may be recommended (session-rec `remind`). Default true.
    public var remind: Bool

    public init(
        k: Int = 100, sampleSize: Int = 500, weighting: PositionWeighting = .div,
        decay: RecencyDecay = .div, remind: Bool = true
    ) {
        precondition(k > 0 && sampleSize >= 0, "k must be positive and sampleSize non-negative")
        self.k = k
        self.sampleSize = sampleSize
        self.weighting = weighting
        self.decay = decay
        self.remind = remind
    }

    public func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> VectorSessionKNNModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        VectorSessionKNNModel(options: self, index: SessionIndex(sessions: sessions, itemCount: itemCount))
    }
}

/// A fitted ``VectorSessionKNN``: the options and the training sessions' item/session indexes.
public struct VectorSessionKNNModel: SessionScorer {
    public var name: String { "V-SKNN" }
    public var itemCount: Int { index.itemCount }
    public let options: VectorSessionKNN
    let index: SessionIndex

    /// The neighbour sessions (training list indices) of a session, most similar first, with their
    /// similarity and their vote weight `sim · decay(t)`.
    public func neighbours(of session: ArraySlice<Int32>) -> [(session: Int32, similarity: Float, vote: Float)] {
        let length = session.count
        // Distinct items with the 1-based position of their last click.
        var current: [Int32] = [], lastPosition: [Int] = []
        for (offset, item) in session.enumerated() where item >= 1 && Int(item) <= itemCount {
            if let u = current.firstIndex(of: item) {
                lastPosition[u] = offset + 1
            } else {
                current.append(item); lastPosition.append(offset + 1)
            }
        }
        let weights = lastPosition.map { options.weighting.weight(position: $0, length: length) }
        let distinctCount = Float(current.count)
        var candidates: [(session: Int32, similarity: Float, vote: Float)] = []
        candidates.reserveCapacity(options.sampleSize)
        index.forEachRecentSession(containingAnyOf: current, sampleSize: options.sampleSize) { neighbour, matched in
            var sum: Float = 0, newest = 0
            for u in matched { sum += weights[u]; newest = max(newest, lastPosition[u]) }
            let similarity = sum / distinctCount
            // session-rec keeps only neighbours with a positive similarity.
            if similarity > 0 {
                candidates.append((neighbour, similarity, similarity * options.decay.decay(step: length - newest + 1)))
            }
        }
        best(&candidates, k: options.k, by: { $0.similarity }, tieBreak: { $0.session })
        return candidates
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        scores.update(repeating: 0)
        for neighbour in neighbours(of: session) {
            for item in index.items(ofSession: Int(neighbour.session)) { scores[Int(item) - 1] += neighbour.vote }
        }
        if !options.remind {
            for item in session where item >= 1 && Int(item) <= itemCount { scores[Int(item) - 1] = 0 }
        }
    }
}
