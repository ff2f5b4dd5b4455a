/// The baselines by name: the one list that front ends parse (`srgnn compare --models pop,sr`) and
/// that tests iterate.
///
/// `Baseline.vsknn.fitter.fit(sessions:itemCount:)` returns `any SessionScorer`, which
/// ``Evaluator/evaluate(_:on:)`` accepts directly. ``BaselineFitters`` holds one configured fitter
/// per baseline when the defaults are not wanted.
public enum Baseline: String, Sendable, Codable, CaseIterable {
    case pop, spop, iknn, sr, sknn, vsknn, stan, vstan

    /// The fitter with default options.
    public var fitter: any SessionModelFitter { BaselineFitters().fitter(for: self) }

    /// The display name ("POP", "S-POP", "Item-KNN", "SR", "SKNN", "V-SKNN", "STAN", "VSTAN").
    public var displayName: String { fitter.name }
}

/// One configured fitter per ``Baseline``; each starts with its documented defaults.
public struct BaselineFitters: Sendable {
    public var popularity = Popularity()
    public var sessionPopularity = SessionPopularity()
    public var itemKNN = ItemKNN()
    public var sequentialRules = SequentialRules()
    public var sessionKNN = SessionKNN()
    public var vectorSessionKNN = VectorSessionKNN()
    public var stan = STAN()
    public var vstan = VSTAN()

    public init() {}

    /// The fitter that `baseline` names.
    public func fitter(for baseline: Baseline) -> any SessionModelFitter {
        switch baseline {
        case .pop: popularity
        case .spop: sessionPopularity
        case .iknn: itemKNN
        case .sr: sequentialRules
        case .sknn: sessionKNN
        case .vsknn: vectorSessionKNN
        case .stan: stan
        case .vstan: vstan
        }
    }
}
