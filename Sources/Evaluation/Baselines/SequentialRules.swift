import Foundation

/// SR, sequential rules (Ludewig & Jannach 2018; session-rec `baselines/sr.py`): item b is
/// recommended after item a when b followed a closely in training sessions.
///
/// For every training session s and positions p < q (0-based) with `d = q − p ≤ steps`:
///
///     w(s[p] → s[q]) += weighting(d)          (default weighting(d) = 1/d, session-rec `div`)
///
/// Rules are summed over sessions (a repeated item makes a rule a → a). Each source item keeps its
/// `pruning` heaviest rules (ties: lower target id; 0 keeps all). `score(b) = w(last → b)`, the
/// rule weight from the *last* item of the current session, 0 when there is no rule.
/// Defaults are session-rec's: `steps=10, weighting='div', pruning=20`.
public struct SequentialRules: SessionModelFitter {
    /// The weight of a rule between two items `d` positions apart (session-rec `sr.py`).
    public enum Weighting: String, Sendable, Codable, CaseIterable {
        /// 1
        case same
        /// 1/d (the default)
        case div
        /// max(0, 1 − 0.1·d) (session-rec writes `1 − 0.1·d` for d ≤ 100; we clamp at 0)
        case linear
        /// 1/log10(d + 1.7)
        case log
        /// 1/d²
        case quadratic

        public func weight(distance d: Int) -> Float {
            let d = Double(d)
            switch self {
            case .same: return 1
            case .div: return Float(1 / d)
            case .linear: return Float(max(0, 1 - 0.1 * d))
            case .log: return Float(1 / log10(d + 1.7))
            case .quadratic: return Float(1 / (d * d))
            }
        }
    }

    public var name: String { "SR" }
    /// Maximum distance `q − p` of a rule (session-rec `steps`). Default 10.
    public var steps: Int
    /// Weight of a rule by distance (session-rec `weighting`). Default `.div` (1/d).
    public var weighting: Weighting
    /// Rules kept per source item, heaviest first; 0 keeps all (session-rec `pruning`). Default 20.
    public var pruning: Int
    /// Fitting threads. Default: all active processors.
    public var threads: Int

    public init(steps: Int = 10, weighting: Weighting = .div, pruning: Int = 20, threads: Int? = nil) {
        precondition(steps > 0 && pruning >= 0, "steps must be positive and pruning non-negative")
        self.steps = steps
        self.weighting = weighting
        self.pruning = pruning
        self.threads = threads ?? defaultFitThreads
    }

    public func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> SequentialRulesModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        let weights = (0...steps).map { weighting.weight(distance: max(1, $0)) }
        // Pass 1: count raw (a → b, d) occurrences per source a; pass 2: fill them (CSR by source).
        func forEachRule(_ body: (_ source: Int32, _ target: Int32, _ distance: Int) -> Void) {
            var window: [Int32] = []
            for session in sessions {
                window.removeAll(keepingCapacity: true)
                for item in session where item >= 1 && Int(item) <= itemCount { window.append(item) }
                for q in window.indices.dropFirst() {
                    for p in max(0, q - steps)..<q { body(window[p], window[q], q - p) }
                }
            }
        }
        var rawOffsets = [Int](repeating: 0, count: itemCount + 1)
        forEachRule { source, _, _ in rawOffsets[Int(source)] += 1 }
        // Prefix sums: rawOffsets[a] = number of rules with source ≤ a, so source a owns
        // rawOffsets[a − 1] ..< rawOffsets[a].
        for i in 0..<itemCount { rawOffsets[i + 1] += rawOffsets[i] }
        var cursor = [Int](repeating: 0, count: itemCount + 1)
        for a in stride(from: 1, through: itemCount, by: 1) { cursor[a] = rawOffsets[a - 1] }
        var rawTargets = [Int32](repeating: 0, count: rawOffsets[itemCount])
        var rawWeights = [Float](repeating: 0, count: rawOffsets[itemCount])
        forEachRule { source, target, distance in
            rawTargets[cursor[Int(source)]] = target
            rawWeights[cursor[Int(source)]] = weights[distance]
            cursor[Int(source)] += 1
        }

        // Sum duplicates per source and prune; results go back into the source's own raw range
        // (distinct rules ≤ raw rules), with their count, then get compacted.
        var ruleCounts = [Int](repeating: 0, count: itemCount + 1)
        let pruning = self.pruning
        rawTargets.withUnsafeMutableBufferPointer { rawTargets in
            rawWeights.withUnsafeMutableBufferPointer { rawWeights in
                ruleCounts.withUnsafeMutableBufferPointer { ruleCounts in
                    // Each source's range and count are written by exactly one worker.
                    nonisolated(unsafe) let (rawTargets, rawWeights, ruleCounts) = (rawTargets, rawWeights, ruleCounts)
                    interleaved(itemCount, threads: threads) { sources in
                        var sums = [Float](repeating: 0, count: itemCount + 1)
                        var touched: [Int32] = []
                        var rules: [(item: Int32, weight: Float)] = []
                        for i in sources {
                            let a = i + 1
                            let range = rawOffsets[a - 1]..<rawOffsets[a]
                            for p in range {
                                // A zero-weight rule (linear weighting, d ≥ 10) is no rule.
                                if rawWeights[p] == 0 { continue }
                                let b = Int(rawTargets[p])
                                if sums[b] == 0 { touched.append(Int32(b)) }
                                sums[b] += rawWeights[p]
                            }
                            rules.removeAll(keepingCapacity: true)
                            for b in touched { rules.append((b, sums[Int(b)])); sums[Int(b)] = 0 }
                            touched.removeAll(keepingCapacity: true)
                            best(&rules, k: pruning == 0 ? rules.count : pruning, by: { $0.weight }, tieBreak: { -$0.item })
                            for (n, rule) in rules.enumerated() {
                                rawTargets[range.lowerBound + n] = rule.item
                                rawWeights[range.lowerBound + n] = rule.weight
                            }
                            ruleCounts[a] = rules.count
                        }
                    }
                }
            }
        }
        var offsets = [0], targets: [Int32] = [], ruleWeights: [Float] = []
        offsets.reserveCapacity(itemCount + 1)
        for a in stride(from: 1, through: itemCount, by: 1) {
            let start = rawOffsets[a - 1]
            targets.append(contentsOf: rawTargets[start..<(start + ruleCounts[a])])
            ruleWeights.append(contentsOf: rawWeights[start..<(start + ruleCounts[a])])
            offsets.append(targets.count)
        }
        return SequentialRulesModel(itemCount: itemCount, offsets: offsets, targets: targets, weights: ruleWeights)
    }
}

/// A fitted ``SequentialRules``: the rules of each source item, heaviest first.
public struct SequentialRulesModel: SessionScorer {
    public var name: String { "SR" }
    public var itemCount: Int { lists.itemCount }
    let lists: WeightedItemLists

    init(itemCount: Int, offsets: [Int], targets: [Int32], weights: [Float]) {
        lists = WeightedItemLists(itemCount: itemCount, offsets: offsets, items: targets, weights: weights)
    }

    /// The kept rules `source → target` with their weights, heaviest first.
    public func rules(from source: Int32) -> [(target: Int32, weight: Float)] {
        lists.list(of: source).map { ($0.item, $0.weight) }
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        lists.score(session: session, into: scores)
    }
}
