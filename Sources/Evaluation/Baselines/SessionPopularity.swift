/// S-POP: the items clicked most often in the *current* session, ties broken by global popularity.
///
/// `score(i) = c_s(i) + pop(i) / (pop_max + 1)`, with `c_s(i)` the number of clicks on i in the
/// current session and `pop(i)` the training click count; the second term lies in [0, 1), so it only
/// orders items with the same session count (items not in the session fall back to POP).
/// session-rec `baselines/spop.py` adds `pop/(pop + 1)` for its top 100 items instead; the order is
/// the same, and `pop/(pop_max + 1)` keeps Float resolution for large counts. Has no options.
public struct SessionPopularity: SessionModelFitter {
    public var name: String { "S-POP" }
    public init() {}

    public func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> SessionPopularityModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        SessionPopularityModel(popularity: itemPopularity(of: sessions, itemCount: itemCount))
    }
}

/// A fitted ``SessionPopularity``.
public struct SessionPopularityModel: SessionScorer {
    public var name: String { "S-POP" }
    public var itemCount: Int { tieBreak.count }
    /// `popularity[id − 1]` = training click count of item `id`.
    public let popularity: [Int]
    /// `pop(i) / (pop_max + 1)`.
    private let tieBreak: [Float]

    public init(popularity: [Int]) {
        self.popularity = popularity
        let denominator = Float((popularity.max() ?? 0) + 1)
        tieBreak = popularity.map { Float($0) / denominator }
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        _ = tieBreak.withUnsafeBufferPointer { scores.update(fromContentsOf: $0) }
        for item in session where item >= 1 && Int(item) <= itemCount { scores[Int(item) - 1] += 1 }
    }
}
