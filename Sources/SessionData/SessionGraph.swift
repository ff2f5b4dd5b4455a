/// The graph of one session, exactly as the reference builds it.
///
/// Nodes are the session's unique items in ascending order; `alias[i]` is the node index of the
/// `i`-th click. A directed edge `u → v` exists when `v` directly follows `u` somewhere in the
/// session (a repeated transition counts once). With `E[u][v] ∈ {0, 1}`:
///
///     A_in[v][u]  = E[u][v] / indeg(v)      A_out[u][v] = E[u][v] / outdeg(u)
///
/// (a zero degree counts as 1), so each row averages over in- or out-neighbours.
/// The reference also counts the padding id 0 as a node when a session is zero-padded in its
/// batch; that node has no edges and is masked, so it changes nothing and is left out here.
public struct SessionGraph: Sendable, Equatable {
    /// Unique items of the session, sorted ascending.
    public var nodes: [Int32]
    /// `alias[i]` is the index in `nodes` of the session's `i`-th click.
    public var alias: [Int32]
    /// Distinct edges `(u, v)` as node indices, sorted by `(u, v)`.
    public var edges: [(from: Int32, to: Int32)]

    public static func == (lhs: SessionGraph, rhs: SessionGraph) -> Bool {
        lhs.nodes == rhs.nodes && lhs.alias == rhs.alias
            && lhs.edges.map { [$0.from, $0.to] } == rhs.edges.map { [$0.from, $0.to] }
    }

    /// `A_in` and `A_out` as `(row, column, weight)` entries.
    private var inEntries: [(row: Int, column: Int, weight: Float)]
    private var outEntries: [(row: Int, column: Int, weight: Float)]

    /// Builds the graph of `session` (item ids ≥ 1, non-empty) with the same code that builds the
    /// model's batches (`SessionBatch`), so checking this graph checks what the model sees.
    public init<S: Collection>(session: S) where S.Element == Int32 {
        precondition(!session.isEmpty, "a session graph needs at least one click")
        let batch = SessionBatch(sessions: [Array(session)])
        nodes = batch.nodeItems
        alias = batch.positionNodes
        var edges: [(from: Int32, to: Int32)] = []
        var outEntries: [(row: Int, column: Int, weight: Float)] = []
        var inEntries: [(row: Int, column: Int, weight: Float)] = []
        for u in 0..<nodes.count {
            for e in Int(batch.outOffsets[u])..<Int(batch.outOffsets[u + 1]) {
                edges.append((Int32(u), batch.outTargets[e]))  // rows in order, targets ascending
                outEntries.append((u, Int(batch.outTargets[e]), batch.outWeights[e]))
            }
            for e in Int(batch.inOffsets[u])..<Int(batch.inOffsets[u + 1]) {
                inEntries.append((u, Int(batch.inSources[e]), batch.inWeights[e]))
            }
        }
        self.edges = edges
        self.inEntries = inEntries
        self.outEntries = outEntries
    }

    /// Dense `A_in` `[n, n]`, row-major: `A_in[v][u] = E[u][v] / indeg(v)`.
    public var adjacencyIn: [[Float]] { dense(inEntries) }

    /// Dense `A_out` `[n, n]`, row-major: `A_out[u][v] = E[u][v] / outdeg(u)`.
    public var adjacencyOut: [[Float]] { dense(outEntries) }

    private func dense(_ entries: [(row: Int, column: Int, weight: Float)]) -> [[Float]] {
        var matrix = [[Float]](repeating: [Float](repeating: 0, count: nodes.count), count: nodes.count)
        for entry in entries { matrix[entry.row][entry.column] = entry.weight }
        return matrix
    }
}
