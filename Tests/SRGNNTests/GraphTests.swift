import SessionData
import SRGNN
import TensorCore
import Testing

@Suite struct GraphTests {
    /// The seed documents' example: out-edges 1→2 (1), 2→3 (1/2), 2→4 (1/2), 3→2 (1);
    /// in-edges of 2 from 1 and 3 (1/2 each), of 3 from 2 (1), of 4 from 2 (1).
    @Test func seedDocumentExample() {
        let graph = SessionGraph(session: [1, 2, 3, 2, 4])
        #expect(graph.nodes == [1, 2, 3, 4])
        #expect(graph.alias == [0, 1, 2, 1, 3])
        #expect(
            graph.adjacencyOut == [
                [0, 1, 0, 0],
                [0, 0, 0.5, 0.5],
                [0, 1, 0, 0],
                [0, 0, 0, 0],
            ])
        #expect(
            graph.adjacencyIn == [
                [0, 0, 0, 0],
                [0.5, 0, 0.5, 0],
                [0, 1, 0, 0],
                [0, 1, 0, 0],
            ])
    }

    /// The stacked batch holds the same graphs as the per-session ones, offset.
    @Test func batchStacksSessionGraphs() {
        let sessions: [[Int32]] = [[1, 2, 3, 2, 4], [7], [5, 5, 6]]
        let batch = SessionBatch(sessions: sessions, targets: [1, 2, 3])
        #expect(batch.nodeItems == [1, 2, 3, 4, 7, 5, 6])
        #expect(batch.positionNodes == [0, 1, 2, 1, 3, 4, 5, 5, 6])
        #expect(batch.lastPosition(of: 0) == 4 && batch.lastPosition(of: 1) == 5 && batch.lastPosition(of: 2) == 8)
        // A_out of node 1 (item 2): to items 3 and 4 with 1/2 each.
        #expect(Array(batch.outTargets[Int(batch.outOffsets[1])..<Int(batch.outOffsets[2])]) == [2, 3])
        #expect(Array(batch.outWeights[Int(batch.outOffsets[1])..<Int(batch.outOffsets[2])]) == [0.5, 0.5])
        // A_in of node 5 (item 5, session 3): a self-loop 5→5, and item 6 has in-edge from 5 only.
        #expect(Array(batch.inSources[Int(batch.inOffsets[5])..<Int(batch.inOffsets[6])]) == [5])
        #expect(Array(batch.inSources[Int(batch.inOffsets[6])..<Int(batch.inOffsets[7])]) == [5])
        #expect(batch.inOffsets[4] == batch.inOffsets[5], "a single click has no edges")
    }
}
