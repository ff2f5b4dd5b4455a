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

    /// Builds the graph of `session` (item ids ≥ 1, non-empty).
    public init<S: Collection>(session: S) where S.Element == Int32 {
        precondition(!session.isEmpty, "a session graph needs at least one click")
        var nodes = Array(session)
        nodes.sort()
        var unique = 0
        for index in nodes.indices where index == 0 || nodes[index] != nodes[unique - 1] {
            nodes[unique] = nodes[index]
            unique += 1
        }
        nodes.removeLast(nodes.count - unique)
        let alias = session.map { item -> Int32 in
            // Binary search: nodes are sorted and unique.
            var low = 0, high = nodes.count - 1
            while low < high {
                let middle = (low + high) / 2
                if nodes[middle] < item { low = middle + 1 } else { high = middle }
            }
            return Int32(low)
        }
        var codes = [Int]()
        codes.reserveCapacity(max(0, alias.count - 1))
        let n = nodes.count
        for i in 0..<(alias.count - 1) {
            codes.append(Int(alias[i]) * n + Int(alias[i + 1]))
        }
        codes.sort()
        var edges: [(from: Int32, to: Int32)] = []
        edges.reserveCapacity(codes.count)
        for (index, code) in codes.enumerated() where index == 0 || code != codes[index - 1] {
            edges.append((Int32(code / n), Int32(code % n)))
        }
        self.nodes = nodes
        self.alias = alias
        self.edges = edges
    }

    /// In-degree of every node (a zero degree counts as 1, as in the reference).
    public var inDegrees: [Int] {
        var degrees = [Int](repeating: 0, count: nodes.count)
        for edge in edges { degrees[Int(edge.to)] += 1 }
        return degrees.map { max($0, 1) }
    }

    /// Out-degree of every node (a zero degree counts as 1).
    public var outDegrees: [Int] {
        var degrees = [Int](repeating: 0, count: nodes.count)
        for edge in edges { degrees[Int(edge.from)] += 1 }
        return degrees.map { max($0, 1) }
    }

    /// Dense `A_in` `[n, n]`, row-major: `A_in[v][u] = E[u][v] / indeg(v)`.
    public var adjacencyIn: [[Float]] {
        let degrees = inDegrees
        var matrix = [[Float]](repeating: [Float](repeating: 0, count: nodes.count), count: nodes.count)
        for edge in edges { matrix[Int(edge.to)][Int(edge.from)] = 1 / Float(degrees[Int(edge.to)]) }
        return matrix
    }

    /// Dense `A_out` `[n, n]`, row-major: `A_out[u][v] = E[u][v] / outdeg(u)`.
    public var adjacencyOut: [[Float]] {
        let degrees = outDegrees
        var matrix = [[Float]](repeating: [Float](repeating: 0, count: nodes.count), count: nodes.count)
        for edge in edges { matrix[Int(edge.from)][Int(edge.to)] = 1 / Float(degrees[Int(edge.from)]) }
        return matrix
    }
}
