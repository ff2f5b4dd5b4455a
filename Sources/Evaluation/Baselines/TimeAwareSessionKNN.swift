import Foundation

/// STAN, sequence and time aware neighbourhood (Garg, Gupta, Malhotra, Vig & Shroff, SIGIR 2019;
/// session-rec `knn/stan.py`): SKNN whose three weights say *which* clicks, *which* neighbours and
/// *which* of a neighbour's items count.
///
/// For the current session `s_1 … s_L` (with repeats) with distinct items `C`, `p(i)` the 1-based
/// position of item i's last click, a training session N with distinct items, clicks `n_1 … n_M`
/// and the time `t_N` of its last click:
///
/// 1. candidates: the `sampleSize` most recent training sessions sharing an item with `C`;
/// 2. position weights (paper Eq. 1, `λ_spw`): `w(i) = exp((p(i) − L) / λ_spw)`, so the last click
///    weighs 1;
/// 3. similarity (Eq. 2): `sim(C, N) = Σ_{i ∈ C∩N} w(i) / (√(Σ_{i ∈ C} w(i)²) · √|N|)`, the cosine of
///    the weighted current vector with N's binary vector;
/// 4. recency (Eq. 3, `λ_snh` in days): `sim · exp(−(t_now − t_N) / λ_snh)`, then the `k` most similar;
/// 5. item scores (Eq. 4, `λ_inh`): each neighbour adds `sim · exp(−|q(i) − q*| / λ_inh)` to each of
///    its distinct items i, where `q(i)` is the position of i's last click in N and `q*` the position
///    of N's last click on an item of C. (The paper measures from the most recent item of C that N
///    holds; session-rec's code, which we follow, from N's last click on any item of C.)
///
/// Any λ set to `nil` drops its weight (session-rec: `None`). `t_now` is the latest training
/// session's time: session-rec uses the current click's time, which multiplies every neighbour of
/// one session by the same factor and so changes no neighbour choice and no ranking.
///
/// Defaults are session-rec's: `k = 100`, `sampleSize = 5000`, `λ_spw = 1.02`, `λ_snh = 5` days,
/// `λ_inh = 2.05`; the papers tune them per dataset (`srgnn tune --model stan`).
public struct STAN: TimeAwareSessionKNNFitter {
    public var name: String { "STAN" }
    /// Neighbour sessions that vote (session-rec `k`).
    public var k: Int
    /// Most recent candidate sessions considered; 0 = all (session-rec `sample_size`).
    public var sampleSize: Int
    /// λ_spw (λ₁): position decay of the current session's clicks, in clicks; `nil`: all weigh 1.
    public var positionDecay: Double?
    /// λ_snh (λ₂): recency decay of neighbour sessions, in days; `nil`: no decay.
    public var recencyDecayDays: Double?
    /// λ_inh (λ₃): decay of a neighbour's items by their distance from its shared click, in clicks; `nil`: none.
    public var neighbourPositionDecay: Double?
    /// Whether items already in the current session may be recommended (session-rec `remind`).
    public var remind: Bool
    /// The clock of training sessions without times (SR-GNN pickle folders): the sessions, in date
    /// order, are taken as arriving at this rate (Diginetica has about 1,300 a day).
    public var sessionsPerDay: Double

    public init(
        k: Int = 100, sampleSize: Int = 5000, positionDecay: Double? = 1.02, recencyDecayDays: Double? = 5,
        neighbourPositionDecay: Double? = 2.05, remind: Bool = true, sessionsPerDay: Double = 1000
    ) {
        self.k = k
        self.sampleSize = sampleSize
        self.positionDecay = positionDecay
        self.recencyDecayDays = recencyDecayDays
        self.neighbourPositionDecay = neighbourPositionDecay
        self.remind = remind
        self.sessionsPerDay = sessionsPerDay
    }

    public var settings: TimeAwareSessionKNNSettings {
        TimeAwareSessionKNNSettings(
            name: name, k: k, sampleSize: sampleSize, similarity: .cosine, positionDecay: positionDecay,
            recencyDecayDays: recencyDecayDays, neighbourPositionDecay: neighbourPositionDecay,
            currentPositionDecay: nil, idfWeight: nil, remind: remind, sessionsPerDay: sessionsPerDay)
    }
}

/// VSTAN (Ludewig, Latifi, Jannach et al., "Empirical analysis of session-based recommendation
/// algorithms", UMUAI 2021; session-rec `knn/vstan.py`): STAN with V-SKNN's ideas added.
///
/// Steps 1–5 are STAN's (see ``STAN``), with two more factors on each neighbour's vote and an
/// optional similarity:
/// - `λ_ipw`: `exp((p* − L) / λ_ipw)`, where `p*` is the position in the *current* session of the
///   most recent click on an item N holds: V-SKNN's vote decay in STAN's exponential form;
/// - `λ_idf`: a vote for item i is multiplied by `1 + λ_idf · idf(i)`, `idf(i) = ln(#training
///   sessions / #training clicks on i)` (session-rec's V-SKNN `idf_weighting`);
/// - `similarity: .vector`: `Σ_{i ∈ C∩N} w(i) / |C|` (V-SKNN's `vec`) instead of the cosine.
/// VSTAN keeps only neighbours with a positive similarity.
///
/// Defaults: STAN's, `similarity = .cosine`, `λ_ipw = 1.02`, `λ_idf = 5` (session-rec's).
public struct VSTAN: TimeAwareSessionKNNFitter {
    public var name: String { "VSTAN" }
    public var k: Int
    public var sampleSize: Int
    public var similarity: TimeAwareSessionKNNSettings.Similarity
    public var positionDecay: Double?
    public var recencyDecayDays: Double?
    public var neighbourPositionDecay: Double?
    /// λ_ipw: decay of a neighbour's vote by how far back in the current session its shared click is, in clicks.
    public var currentPositionDecay: Double?
    /// λ_idf: weight of the items' inverse document frequency; `nil`: none.
    public var idfWeight: Double?
    public var remind: Bool
    public var sessionsPerDay: Double

    public init(
        k: Int = 100, sampleSize: Int = 5000, similarity: TimeAwareSessionKNNSettings.Similarity = .cosine,
        positionDecay: Double? = 1.02, recencyDecayDays: Double? = 5, neighbourPositionDecay: Double? = 2.05,
        currentPositionDecay: Double? = 1.02, idfWeight: Double? = 5, remind: Bool = true, sessionsPerDay: Double = 1000
    ) {
        self.k = k
        self.sampleSize = sampleSize
        self.similarity = similarity
        self.positionDecay = positionDecay
        self.recencyDecayDays = recencyDecayDays
        self.neighbourPositionDecay = neighbourPositionDecay
        self.currentPositionDecay = currentPositionDecay
        self.idfWeight = idfWeight
        self.remind = remind
        self.sessionsPerDay = sessionsPerDay
    }

    public var settings: TimeAwareSessionKNNSettings {
        TimeAwareSessionKNNSettings(
            name: name, k: k, sampleSize: sampleSize, similarity: similarity, positionDecay: positionDecay,
            recencyDecayDays: recencyDecayDays, neighbourPositionDecay: neighbourPositionDecay,
            currentPositionDecay: currentPositionDecay, idfWeight: idfWeight, remind: remind,
            sessionsPerDay: sessionsPerDay, positiveSimilarityOnly: true)
    }
}

/// STAN and VSTAN: options that come down to one ``TimeAwareSessionKNNSettings``, fitted the same way.
public protocol TimeAwareSessionKNNFitter: SessionModelFitter where Model == TimeAwareSessionKNNModel {
    var settings: TimeAwareSessionKNNSettings { get }
}

extension TimeAwareSessionKNNFitter {
    public func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> TimeAwareSessionKNNModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        fit(sessions: sessions, times: nil, itemCount: itemCount)
    }

    public func fit<Sessions: Collection>(sessions: Sessions, times: [Int64]?, itemCount: Int) -> TimeAwareSessionKNNModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        TimeAwareSessionKNNModel(settings: settings, sessions: sessions, times: times, itemCount: itemCount)
    }
}

/// STAN's and VSTAN's parameters in one place (VSTAN's extra factors are `nil` for STAN).
public struct TimeAwareSessionKNNSettings: Sendable, Equatable {
    public enum Similarity: String, Sendable, Codable, CaseIterable {
        /// `Σ_{C∩N} w / (√Σ_C w² · √|N|)` (STAN)
        case cosine
        /// `Σ_{C∩N} w / |C|` (V-SKNN's `vec`)
        case vector
    }
    public var name: String
    public var k: Int
    public var sampleSize: Int
    public var similarity: Similarity
    public var positionDecay: Double?
    public var recencyDecayDays: Double?
    public var neighbourPositionDecay: Double?
    public var currentPositionDecay: Double?
    public var idfWeight: Double?
    public var remind: Bool
    public var sessionsPerDay: Double
    public var positiveSimilarityOnly = false

    /// Why these settings cannot fit a model, or `nil` when they can.
    public var problem: String? {
        if k < 1 { return "\(name): k must be at least 1" }
        if sampleSize < 0 { return "\(name): the sample size must not be negative" }
        for (label, value) in [
            ("λ_spw", positionDecay), ("λ_snh", recencyDecayDays), ("λ_inh", neighbourPositionDecay),
            ("λ_ipw", currentPositionDecay),
        ] {
            if let value, !(value > 0 && value.isFinite) { return "\(name): \(label) must be a positive number (or off)" }
        }
        if let idfWeight, !(idfWeight >= 0 && idfWeight.isFinite) { return "\(name): λ_idf must not be negative" }
        if !(sessionsPerDay > 0 && sessionsPerDay.isFinite) { return "\(name): sessions per day must be positive" }
        return nil
    }
}

/// A fitted ``STAN`` or ``VSTAN``: the settings, the training sessions' indexes, their clicks in
/// order (for the neighbour positions), their times and, for VSTAN, the items' idf.
public struct TimeAwareSessionKNNModel: SessionScorer {
    public var name: String { settings.name }
    public var itemCount: Int { index.itemCount }
    public let settings: TimeAwareSessionKNNSettings
    let index: SessionIndex
    /// Session s's valid clicks in order: `clicks[clickOffsets[s] ..< clickOffsets[s + 1]]`.
    let clickOffsets: [Int]
    let clicks: [Int32]
    /// Each session's recency factor `exp(−(t_now − t_N) / λ_snh)`, or all 1 without λ_snh.
    let recency: [Double]
    /// `1 + λ_idf · idf(i)` at index i − 1, empty without λ_idf.
    let idfFactor: [Double]

    init<Sessions: Collection>(settings: TimeAwareSessionKNNSettings, sessions: Sessions, times: [Int64]?, itemCount: Int)
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        precondition(settings.problem == nil, settings.problem ?? "")
        precondition(times == nil || times!.count == sessions.count, "one time per training session")
        self.settings = settings
        index = SessionIndex(sessions: sessions, itemCount: itemCount)
        var clickOffsets = [0], clicks = [Int32]()
        clickOffsets.reserveCapacity(sessions.count + 1)
        var clickCounts = [Int](repeating: 0, count: itemCount + 1)
        for session in sessions {
            for item in session where item >= 1 && Int(item) <= itemCount {
                clicks.append(item)
                clickCounts[Int(item)] += 1
            }
            clickOffsets.append(clicks.count)
        }
        self.clickOffsets = clickOffsets
        self.clicks = clicks
        // Times in seconds: the dataset's, or the position clock.
        let seconds: [Double] =
            times.map { $0.map(Double.init) }
            ?? (0..<sessions.count).map { Double($0) * 86_400 / settings.sessionsPerDay }
        if let days = settings.recencyDecayDays, let now = seconds.max() {
            recency = seconds.map { exp(-(now - $0) / (days * 86_400)) }
        } else {
            recency = [Double](repeating: 1, count: sessions.count)
        }
        if let weight = settings.idfWeight {
            let sessionCount = Double(sessions.count)
            idfFactor = clickCounts.dropFirst().map { $0 == 0 ? 1 : 1 + weight * log(sessionCount / Double($0)) }
        } else {
            idfFactor = []
        }
    }

    /// The current session's distinct valid items, the 1-based position of each one's last click,
    /// and its length L (all clicks).
    private func currentItems(of session: ArraySlice<Int32>) -> (items: [Int32], lastPosition: [Int], length: Int) {
        var items: [Int32] = [], lastPosition: [Int] = []
        for (offset, item) in session.enumerated() where item >= 1 && Int(item) <= itemCount {
            if let u = items.firstIndex(of: item) {
                lastPosition[u] = offset + 1
            } else {
                items.append(item)
                lastPosition.append(offset + 1)
            }
        }
        return (items, lastPosition, session.count)
    }

    /// The neighbour sessions (training list indices), most similar first, with their similarity
    /// (recency included) and `p*`, the current session's position of its last click N holds.
    public func neighbours(of session: ArraySlice<Int32>) -> [(session: Int32, similarity: Double, sharedPosition: Int)] {
        let (items, lastPosition, length) = currentItems(of: session)
        let weights = lastPosition.map { p in settings.positionDecay.map { exp(Double(p - length) / $0) } ?? 1 }
        let denominator: Double =
            switch settings.similarity {
            case .cosine: weights.reduce(0) { $0 + $1 * $1 }.squareRoot()
            case .vector: Double(items.count)
            }
        var candidates: [(session: Int32, similarity: Double, sharedPosition: Int)] = []
        index.forEachRecentSession(containingAnyOf: items, sampleSize: settings.sampleSize) { neighbour, matched in
            var shared = 0.0, newest = 0
            for u in matched {
                shared += weights[u]
                newest = max(newest, lastPosition[u])
            }
            var similarity = shared / denominator
            if settings.similarity == .cosine {
                let size = index.sessionOffsets[Int(neighbour) + 1] - index.sessionOffsets[Int(neighbour)]
                similarity /= Double(size).squareRoot()
            }
            if settings.positiveSimilarityOnly && !(similarity > 0) { return }
            candidates.append((neighbour, similarity * recency[Int(neighbour)], newest))
        }
        // Ties go to the more recent session, as in the other kNN baselines.
        candidates.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.session > $1.session }
        if candidates.count > settings.k { candidates.removeLast(candidates.count - settings.k) }
        return candidates
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        scores.update(repeating: 0)
        let current = currentItems(of: session)
        var sums = [Int32: Double]()
        var seen: [Int32] = []
        for neighbour in neighbours(of: session) {
            let start = clickOffsets[Int(neighbour.session)], end = clickOffsets[Int(neighbour.session) + 1]
            // q*: the neighbour's last click on an item of the current session (1-based).
            var anchor = 0
            for q in stride(from: end - 1, through: start, by: -1) where current.items.contains(clicks[q]) {
                anchor = q - start + 1
                break
            }
            var vote = neighbour.similarity
            if let decay = settings.currentPositionDecay { vote *= exp(Double(neighbour.sharedPosition - current.length) / decay) }
            // Each distinct item once, at its last click: walk backwards and skip items already seen.
            seen.removeAll(keepingCapacity: true)
            for q in stride(from: end - 1, through: start, by: -1) {
                let item = clicks[q]
                if seen.contains(item) { continue }
                seen.append(item)
                if !settings.remind && current.items.contains(item) { continue }
                var value = vote
                if let decay = settings.neighbourPositionDecay { value *= exp(-Double(abs(q - start + 1 - anchor)) / decay) }
                if !idfFactor.isEmpty { value *= idfFactor[Int(item) - 1] }
                sums[item, default: 0] += value
            }
        }
        for (item, value) in sums { scores[Int(item) - 1] = Float(value) }
    }
}
