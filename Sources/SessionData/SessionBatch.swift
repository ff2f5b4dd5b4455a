import TensorCore

/// A ragged batch of session graphs, stacked so that the whole batch is one node matrix.
///
/// The reference pads every session to the batch's longest one (and its unique-item count);
/// here session `b` owns nodes `nodeOffsets[b]..<nodeOffsets[b+1]` and click positions
/// `positionOffsets[b]..<positionOffsets[b+1]`, so no work is spent on padding. Edges are kept
/// as compressed rows (CSR) of the averaged adjacency: `inSources`/`inWeights` of node `v` are
/// the `u` with `A_in[v][u] ≠ 0`, `outTargets`/`outWeights` of node `u` the `v` with `A_out[u][v] ≠ 0`.
///
/// `fill(sessions:targets:)` reuses the arrays' capacity, so a training loop builds batches
/// without allocating once the largest batch has been seen.
public struct SessionBatch: Sendable {
    public private(set) var sessionCount = 0
    /// `[B + 1]` node ranges per session.
    public private(set) var nodeOffsets: [Int32] = [0]
    /// `[N]` item id of every stacked node.
    public private(set) var nodeItems: [Int32] = []
    /// `[B + 1]` click-position ranges per session.
    public private(set) var positionOffsets: [Int32] = [0]
    /// `[P]` stacked node index (global) of every click position: the reference's alias, offset.
    public private(set) var positionNodes: [Int32] = []
    /// CSR of `A_in`: `[N + 1]` row ranges, then `[E]` sources and weights.
    public private(set) var inOffsets: [Int32] = [0]
    public private(set) var inSources: [Int32] = []
    public private(set) var inWeights: [Float] = []
    /// CSR of `A_out`: `[N + 1]` row ranges, then `[E]` targets and weights.
    public private(set) var outOffsets: [Int32] = [0]
    public private(set) var outTargets: [Int32] = []
    public private(set) var outWeights: [Float] = []
    /// `[B]` next-item targets (item ids ≥ 1), or empty when scoring only.
    public private(set) var targets: [Int32] = []

    // Scratch reused across fills.
    private var sortScratch: [Int32] = []
    private var edgeScratch: [Int] = []
    private var degreeScratch: [Int32] = []

    public init() {}

    /// Builds a batch from sessions given as item-id collections.
    public init<C: Collection>(sessions: C, targets: [Int32] = []) where C.Element: Collection, C.Element.Element == Int32 {
        fill(sessions: sessions, targets: targets)
    }

    /// Total stacked nodes `N`.
    @inlinable public var nodeCount: Int { nodeItems.count }
    /// Total click positions `P`.
    @inlinable public var positionCount: Int { positionNodes.count }

    /// Global position index of the last click of session `b` (the reference's `h_t`).
    @inlinable public func lastPosition(of b: Int) -> Int { Int(positionOffsets[b + 1]) - 1 }

    /// Rebuilds this batch in place from `sessions` (each non-empty, item ids ≥ 1).
    public mutating func fill<C: Collection>(sessions: C, targets: [Int32] = []) where C.Element: Collection, C.Element.Element == Int32 {
        sessionCount = 0
        nodeOffsets.removeAll(keepingCapacity: true); nodeOffsets.append(0)
        positionOffsets.removeAll(keepingCapacity: true); positionOffsets.append(0)
        nodeItems.removeAll(keepingCapacity: true)
        positionNodes.removeAll(keepingCapacity: true)
        inOffsets.removeAll(keepingCapacity: true); inOffsets.append(0)
        outOffsets.removeAll(keepingCapacity: true); outOffsets.append(0)
        inSources.removeAll(keepingCapacity: true); inWeights.removeAll(keepingCapacity: true)
        outTargets.removeAll(keepingCapacity: true); outWeights.removeAll(keepingCapacity: true)
        self.targets.removeAll(keepingCapacity: true)
        self.targets.append(contentsOf: targets)
        for session in sessions { append(session: session) }
        precondition(targets.isEmpty || targets.count == sessionCount, "one target per session")
    }

    private mutating func append<S: Collection>(session: S) where S.Element == Int32 {
        precondition(!session.isEmpty, "empty session in a batch")
        let base = Int32(nodeItems.count)
        // Unique sorted nodes.
        sortScratch.removeAll(keepingCapacity: true)
        sortScratch.append(contentsOf: session)
        sortScratch.sort()
        var n = 0
        for index in sortScratch.indices where index == 0 || sortScratch[index] != sortScratch[n - 1] {
            sortScratch[n] = sortScratch[index]
            n += 1
        }
        nodeItems.append(contentsOf: sortScratch[0..<n])
        // Alias by binary search over the unique nodes.
        let firstPosition = positionNodes.count
        for item in session {
            var low = 0, high = n - 1
            while low < high {
                let middle = (low + high) >> 1
                if sortScratch[middle] < item { low = middle + 1 } else { high = middle }
            }
            positionNodes.append(base + Int32(low))
        }
        // Distinct edges as codes u·n + v (local indices), sorted: rows of A_out come out in order.
        edgeScratch.removeAll(keepingCapacity: true)
        if positionNodes.count - firstPosition > 1 {
            for p in firstPosition..<(positionNodes.count - 1) {
                let u = Int(positionNodes[p] - base), v = Int(positionNodes[p + 1] - base)
                edgeScratch.append(u * n + v)
            }
        }
        edgeScratch.sort()
        var edgeCount = 0
        for index in edgeScratch.indices where index == 0 || edgeScratch[index] != edgeScratch[edgeCount - 1] {
            edgeScratch[edgeCount] = edgeScratch[index]
            edgeCount += 1
        }
        // Out-degrees, then A_out rows (sorted by u, then v).
        degreeScratch.removeAll(keepingCapacity: true)
        degreeScratch.append(contentsOf: repeatElement(0, count: 2 * n))  // [0, n) out, [n, 2n) in
        for e in 0..<edgeCount {
            let code = edgeScratch[e]
            degreeScratch[code / n] += 1
            degreeScratch[n + code % n] += 1
        }
        var e = 0
        for u in 0..<n {
            let weight = 1 / Float(max(degreeScratch[u], 1))
            while e < edgeCount && edgeScratch[e] / n == u {
                outTargets.append(base + Int32(edgeScratch[e] % n))
                outWeights.append(weight)
                e += 1
            }
            outOffsets.append(Int32(outTargets.count))
        }
        // A_in rows: re-sort the codes by (v, u).
        for e in 0..<edgeCount {
            let code = edgeScratch[e]
            edgeScratch[e] = (code % n) * n + code / n
        }
        edgeScratch[0..<edgeCount].sort()
        e = 0
        for v in 0..<n {
            let weight = 1 / Float(max(degreeScratch[n + v], 1))
            while e < edgeCount && edgeScratch[e] / n == v {
                inSources.append(base + Int32(edgeScratch[e] % n))
                inWeights.append(weight)
                e += 1
            }
            inOffsets.append(Int32(inSources.count))
        }
        sessionCount += 1
        nodeOffsets.append(Int32(nodeItems.count))
        positionOffsets.append(Int32(positionNodes.count))
    }
}

extension SessionBatch {
    /// Runs `body(sessions)` on up to `threads` workers, each with a run of whole sessions holding
    /// about an equal share of the batch's nodes (`balancing` `\.nodeOffsets`) or click positions
    /// (`\.positionOffsets`): each boundary is the session start nearest to an equal split. On this
    /// thread alone under `minimumPerThread` nodes or positions a worker.
    public func forEachSessionShare(
        threads: Int, balancing offsets: KeyPath<SessionBatch, [Int32]> = \.nodeOffsets,
        minimumPerThread: Int = 32, _ body: (_ sessions: Range<Int>) -> Void
    ) {
        let sessions = sessionCount
        self[keyPath: offsets].withUnsafeBufferPointer { offsets in
            let total = Int(offsets[sessions]), workers = min(threads, sessions, total / max(1, minimumPerThread))
            guard workers > 1 else { return body(0..<sessions) }
            // The session whose start is nearest to total·w/workers, by bisection.
            func boundary(_ w: Int) -> Int {
                let target = total * w / workers
                var low = 0, high = sessions  // offsets[low] ≤ target < offsets[high]
                while high - low > 1 {
                    let middle = (low + high) / 2
                    if Int(offsets[middle]) <= target { low = middle } else { high = middle }
                }
                return target - Int(offsets[low]) <= Int(offsets[high]) - target ? low : high
            }
            parallelFor(workers, threads: workers) { w in body(boundary(w)..<(w + 1 == workers ? sessions : boundary(w + 1))) }
        }
    }

    /// The stacked nodes of `sessions`.
    public func nodes(of sessions: Range<Int>) -> Range<Int> {
        Int(nodeOffsets[sessions.lowerBound])..<Int(nodeOffsets[sessions.upperBound])
    }
}

/// Read-only view of one compressed-row adjacency of a batch (`A_in` or `A_out`); the gated graph
/// cell (module SRGNN) propagates along it.
public struct AdjacencyRows {
    public let offsets: UnsafePointer<Int32>
    public let neighbours: UnsafePointer<Int32>
    public let weights: UnsafePointer<Float>
}

extension SessionBatch {
    /// Runs `body` with views of `A_in` (rows: nodes, neighbours: sources) and `A_out`
    /// (rows: nodes, neighbours: targets).
    public func withAdjacency<R>(_ body: (_ incoming: AdjacencyRows, _ outgoing: AdjacencyRows) throws -> R) rethrows -> R {
        try inOffsets.withUnsafeBufferPointer { inOffsets in
            try inSources.withUnsafeBufferPointer { inSources in
                try inWeights.withUnsafeBufferPointer { inWeights in
                    try outOffsets.withUnsafeBufferPointer { outOffsets in
                        try outTargets.withUnsafeBufferPointer { outTargets in
                            try outWeights.withUnsafeBufferPointer { outWeights in
                                try body(
                                    AdjacencyRows(
                                        offsets: inOffsets.baseAddress!, neighbours: inSources.baseAddress!, weights: inWeights.baseAddress!
                                    ),
                                    AdjacencyRows(
                                        offsets: outOffsets.baseAddress!, neighbours: outTargets.baseAddress!,
                                        weights: outWeights.baseAddress!))
                            }
                        }
                    }
                }
            }
        }
    }
}
