import Foundation

/// Item-KNN: recommends the items most similar to the *last* clicked item (session-rec
/// `knn/iknn.py`, after Sarwar et al. and the GRU4Rec paper's baseline).
///
/// With `S_i` the set of training sessions containing item i and `c(i, j) = |S_i ∩ S_j|`:
///
///     sim(i, j) = c(i, j) / ((|S_i| + λ)^α · (|S_j| + λ)^(1 − α))      for j ≠ i
///
/// λ = 0, α = 0.5 is the plain cosine `c / √(|S_i| |S_j|)` of binary session-occurrence vectors;
/// λ > 0 shrinks similarities of rarely seen items. Each item keeps its `neighbours` most similar
/// items (ties: lower id), and `score(j) = sim(last, j)` for those, 0 for the rest.
///
/// Defaults are session-rec's (`n_sims=100, lmbd=20, alpha=0.5`). One deviation: session-rec counts
/// clicks (a session with a repeated item counts twice); we count sessions, as `S_i` above does —
/// identical when sessions have no repeats.
public struct ItemKNN: SessionModelFitter {
    public var name: String { "Item-KNN" }
    /// Neighbours kept per item (session-rec `n_sims`). Default 100.
    public var neighbours: Int
    /// Regularisation λ added to both session counts (session-rec `lmbd`). Default 20.
    public var lambda: Double
    /// Exponent α of the first item's count; the second gets 1 − α (session-rec `alpha`). Default 0.5.
    public var alpha: Double
    /// Fitting threads. Default: all active processors.
    public var threads: Int

    public init(neighbours: Int = 100, lambda: Double = 20, alpha: Double = 0.5, threads: Int? = nil) {
        precondition(neighbours > 0 && lambda >= 0, "neighbours must be positive and lambda non-negative")
        self.neighbours = neighbours
        self.lambda = lambda
        self.alpha = alpha
        self.threads = threads ?? defaultFitThreads
    }

    public func fit<Sessions: Collection>(sessions: Sessions, itemCount: Int) -> ItemKNNModel
    where Sessions.Element: Collection, Sessions.Element.Element == Int32 {
        let index = SessionIndex(sessions: sessions, itemCount: itemCount)
        let slots = neighbours
        // Up to `slots` neighbours per item in fixed slots, compacted into CSR afterwards.
        var slotItems = [Int32](repeating: 0, count: itemCount * slots)
        var slotSims = [Float](repeating: 0, count: itemCount * slots)
        var slotCounts = [Int](repeating: 0, count: itemCount)
        let (lambda, alpha) = (self.lambda, self.alpha)
        // (|S_j| + λ)^(1 − α) for every j, and (|S_i| + λ)^α.
        let rightNorm = (1...max(1, itemCount)).map { pow(Double(index.sessionFrequency(of: Int32($0))) + lambda, 1 - alpha) }
        let leftNorm = (1...max(1, itemCount)).map { pow(Double(index.sessionFrequency(of: Int32($0))) + lambda, alpha) }
        slotItems.withUnsafeMutableBufferPointer { slotItems in
            slotSims.withUnsafeMutableBufferPointer { slotSims in
                slotCounts.withUnsafeMutableBufferPointer { slotCounts in
                    // Each item's slots are written by exactly one worker.
                    nonisolated(unsafe) let (slotItems, slotSims, slotCounts) = (slotItems, slotSims, slotCounts)
                    interleaved(itemCount, threads: threads) { items in
                        var cooccurrence = [Int32](repeating: 0, count: itemCount + 1)
                        var touched: [Int32] = []
                        var candidates: [(item: Int32, sim: Float)] = []
                        for i in items {
                            let item = Int32(i + 1)
                            // c(item, j) for every j sharing a session with item.
                            for p in index.itemOffsets[i]..<index.itemOffsets[i + 1] {
                                for j in index.items(ofSession: Int(index.itemSessions[p])) where j != item {
                                    if cooccurrence[Int(j)] == 0 { touched.append(j) }
                                    cooccurrence[Int(j)] += 1
                                }
                            }
                            candidates.removeAll(keepingCapacity: true)
                            for j in touched {
                                let norm = leftNorm[i] * rightNorm[Int(j) - 1]
                                candidates.append((j, Float(Double(cooccurrence[Int(j)]) / (norm == 0 ? 1 : norm))))
                                cooccurrence[Int(j)] = 0
                            }
                            touched.removeAll(keepingCapacity: true)
                            best(&candidates, k: slots, by: { $0.sim }, tieBreak: { -$0.item })
                            for (n, candidate) in candidates.enumerated() {
                                slotItems[i * slots + n] = candidate.item
                                slotSims[i * slots + n] = candidate.sim
                            }
                            slotCounts[i] = candidates.count
                        }
                    }
                }
            }
        }
        var offsets = [0], neighbourItems: [Int32] = [], similarities: [Float] = []
        offsets.reserveCapacity(itemCount + 1)
        for i in 0..<itemCount {
            neighbourItems.append(contentsOf: slotItems[(i * slots)..<(i * slots + slotCounts[i])])
            similarities.append(contentsOf: slotSims[(i * slots)..<(i * slots + slotCounts[i])])
            offsets.append(neighbourItems.count)
        }
        return ItemKNNModel(itemCount: itemCount, offsets: offsets, neighbourItems: neighbourItems, similarities: similarities)
    }
}

/// A fitted ``ItemKNN``: each item's nearest items, most similar first.
public struct ItemKNNModel: SessionScorer {
    public var name: String { "Item-KNN" }
    public var itemCount: Int { lists.itemCount }
    let lists: WeightedItemLists

    init(itemCount: Int, offsets: [Int], neighbourItems: [Int32], similarities: [Float]) {
        lists = WeightedItemLists(itemCount: itemCount, offsets: offsets, items: neighbourItems, weights: similarities)
    }

    /// The stored neighbours of `item` with their similarities, most similar first.
    public func neighbours(of item: Int32) -> [(item: Int32, similarity: Float)] {
        lists.list(of: item).map { ($0.item, $0.weight) }
    }

    public func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        lists.score(session: session, into: scores)
    }
}
