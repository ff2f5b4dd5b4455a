/// POP: recommends the items clicked most often in training, whatever the session.
///
/// `score(i) = pop(i)`, the training click count of item i (repeats within a session count).
/// session-rec `baselines/pop.py` scores only its `top_n` (100) items; scoring every item ranks the
/// top 100 identically. Has no options.
public struct Popularity: SessionModelFitter {
    public var name: String { "POP" }
    public init() {}

    public func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> PopularityModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        PopularityModel(popularity: itemPopularity(of: sessions, itemCount: itemCount))
    }
}

/// A fitted ``Popularity``: the click counts.
public struct PopularityModel: SessionScorer {
    public var name: String { "POP" }
    public var itemCount: Int { scores.count }
    /// `popularity[id − 1]` = training click count of item `id`.
    public let popularity: [Int]
    private let scores: [Float]

    public init(popularity: [Int]) {
        self.popularity = popularity
        scores = popularity.map(Float.init)
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        _ = self.scores.withUnsafeBufferPointer { scores.update(fromContentsOf: $0) }
    }
}
