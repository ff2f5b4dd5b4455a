/// The baselines by name, with their documented defaults, for front ends (`compare --baselines pop,sr`).
///
/// `Baseline.vsknn.fitter.fit(sessions:itemCount:)` returns `any SessionScorer`, which
/// ``Evaluator/evaluate(_:on:)`` accepts directly.
public enum Baseline: String, Sendable, Codable, CaseIterable {
    case pop, spop, iknn, sr, sknn, vsknn

    /// The fitter with default options.
    public var fitter: any SessionModelFitter {
        switch self {
        case .pop: Popularity()
        case .spop: SessionPopularity()
        case .iknn: ItemKNN()
        case .sr: SequentialRules()
        case .sknn: SessionKNN()
        case .vsknn: VectorSessionKNN()
        }
    }

    /// The display name ("POP", "S-POP", "Item-KNN", "SR", "SKNN", "V-SKNN").
    public var displayName: String { fitter.name }
}
