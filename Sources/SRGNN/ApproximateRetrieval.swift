import SessionData
import TensorCore

/// How `InferenceModel.select` finds a session's best items.
public enum Retrieval: Sendable, Equatable, CustomStringConvertible {
    /// Every item scored in fp32 (the default): the model's own ranking.
    case exact
    /// Every item scored from an int8 copy of the item matrix (a quarter of its bytes), then the
    /// best `candidates` of the items a request allows rescored in fp32 exactly as `exact`
    /// scores them: the answer is `exact`'s whenever its items are among those candidates.
    case approximate(candidates: Int)

    /// Candidates rescored per session by default: recall@20 against exact ranking ≥ 0.99 on
    /// an untrained model at 1 M items, the hardest case (`srgnn bench`, docs/PERFORMANCE.md).
    public static let defaultCandidates = 256
    /// The most candidates a request may rescore.
    public static let maximumCandidates = 100_000

    public var description: String {
        switch self {
        case .exact: "exact"
        case let .approximate(candidates): "approximate (\(candidates) candidates rescored)"
        }
    }
}

extension SRGNNModel {
    /// `recommend(sessions:selections:…)` by approximate retrieval: the int8 scan keeps each
    /// session's best `candidates` allowed items (per worker), which are then rescored in fp32 to
    /// the bits exact ranking gives them (from their rows, `srgnn_score_rows`; on blas in their
    /// panels) and ranked by those scores, ties to the lower id. `.candidates` selections skip the scan: their items are
    /// rescored directly, so their answer is exact.
    func approximateRecommend(
        sessions: [[Int32]], selections: [ItemSelection], candidates: Int, quantizedItems: Int8ItemMatrix,
        workspace ws: SRGNNWorkspace, threads: Int, packedItems: PackedItemEmbedding?,
        normalizedItems: NormalizedItemEmbedding?, rescoringItems: NormalizedItemEmbedding?, path: KernelPath
    ) throws -> [[ScoredItem<Int32>]] {
        precondition(selections.count == sessions.count, "one selection per session")
        precondition(quantizedItems.itemCount == configuration.itemCount, "quantised items of another model")
        for session in sessions { try validate(session: session) }
        if sessions.isEmpty { return [] }
        let batch = SessionBatch(sessions: sessions)
        let sessionEmbedding = forward(batch, workspace: ws, threads: threads)
        let scanned = scan(
            sessionEmbedding, rows: batch.sessionCount, selections: selections, keep: min(candidates, configuration.itemCount),
            quantizedItems: quantizedItems, threads: threads, path: path)
        return parameters.withPointers { w in
            func rescore(_ items: UnsafePointer<Float>, rows: UnsafePointer<Float>?) -> [[ScoredItem<Int32>]] {
                selections.enumerated().map { row, selection in
                    let (columns, k): ([Int], Int) =
                        switch selection {
                        case let .best(k, _): (scanned[row], k)
                        case let .candidates(ids, k): (ids.map { Int($0) - 1 }, k)
                        }
                    let exact = exactScores(
                        of: columns, session: sessionEmbedding + row * configuration.hiddenSize, items: items,
                        rows: rows, packedItems: packedItems, path: path)
                    // NaN (a diverged model) ranks last, as exact top-k never returns it first.
                    func key(_ value: Float) -> Float { value.isNaN ? -.infinity : value }
                    let ranked = zip(columns, exact).sorted { key($0.1) != key($1.1) ? key($0.1) > key($1.1) : $0.0 < $1.0 }
                    return ranked.prefix(k).map { ScoredItem(id: Int32($0.0 + 1), score: $0.1) }
                }
            }
            // The scored vectors: E, or a NISER model's Ê. On our kernel paths a candidate is rescored
            // from its row alone; on blas in its panel (packed items stand in for unpacked ones).
            return withScoredItems(w, normalizedItems: rescoringItems ?? normalizedItems, workspace: ws, threads: threads) { scored in
                rescore(packedItems != nil ? w.embedding : scored, rows: ScoreKernels.panelItems(path) == nil ? nil : scored)
            }
        }
    }

    /// The int8 scan: for each `.best` row, the columns of its best `keep` allowed items by the
    /// approximate scores (each worker keeps its own best; their union holds the overall best).
    private func scan(
        _ sessionEmbedding: UnsafePointer<Float>, rows b: Int, selections: [ItemSelection], keep: Int,
        quantizedItems: Int8ItemMatrix, threads: Int, path: KernelPath
    ) -> [[Int]] {
        let scoreLayer = layers().scoreLayer
        precondition(scoreLayer.tileItems % Int8ItemMatrix.panelItems == 0, "tiles must start on int8 panels")
        let scannedRows = selections.indices.filter { if case .best = selections[$0] { true } else { false } }
        guard !scannedRows.isEmpty else { return Array(repeating: [], count: b) }
        let queries = quantizedItems.quantize(queries: sessionEmbedding, rows: b)
        let workers = scoreLayer.workers(threads: threads), tile = scoreLayer.tileItems
        let buffers = UnsafeMutablePointer<Float>.allocate(capacity: workers * b * tile)
        defer { buffers.deallocate() }
        var parts = [RunningTopK](repeating: RunningTopK(rows: b, k: keep, path: path), count: workers)
        parts.withUnsafeMutableBufferPointer { parts in
            nonisolated(unsafe) let parts = parts  // each worker touches only its own running top-k and buffer
            scoreLayer.forEachTile(threads: threads) { worker, first, width in
                let buffer = buffers + worker * b * tile
                quantizedItems.scores(path, queries, first: first, width: width, into: buffer, ldo: width)
                for row in scannedRows {
                    guard case let .best(_, allowed) = selections[row] else { continue }
                    parts[worker].add(row: row, buffer + row * width, count: width, first: first, allowed: allowed)
                }
            }
        }
        var columns = [[Int]](repeating: [], count: b)
        for row in scannedRows {
            columns[row] = (0..<workers).flatMap { parts[$0].ranked(row: row).map(\.index) }
        }
        return columns
    }

    /// The fp32 scores of one session against the items at `columns` (item `j + 1` at column `j`),
    /// the bits exact ranking gives them: from `rows` (the scored vectors, row `j + 1` for column
    /// `j`) on our kernel paths, else each computed in its whole panel or group of 16.
    private func exactScores(
        of columns: [Int], session: UnsafePointer<Float>, items: UnsafePointer<Float>, rows: UnsafePointer<Float>?,
        packedItems: PackedItemEmbedding?, path: KernelPath
    ) -> [Float] {
        let scoreLayer = layers().scoreLayer, itemCount = configuration.itemCount
        if let rows {
            var scores = [Float](repeating: .nan, count: columns.count)
            let valid = columns.indices.filter { (0..<itemCount).contains(columns[$0]) }
            var valueOfValid = [Float](repeating: 0, count: valid.count)
            ScoreKernels.rowScores(
                path, session: session, hiddenSize: configuration.hiddenSize, items: rows,
                rows: valid.map { Int64(columns[$0] + 1) }, into: &valueOfValid)
            for (place, value) in zip(valid, valueOfValid) { scores[place] = value }
            return scores
        }
        let panel = packedItems.flatMap { ScoreKernels.panelItems($0.path) } ?? Int8ItemMatrix.panelItems
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: panel)
        defer { buffer.deallocate() }
        var scores = [Float](repeating: .nan, count: columns.count)
        // Columns grouped by panel: each panel is scored once.
        let valid = columns.indices.filter { (0..<itemCount).contains(columns[$0]) }
        for (p, places) in Dictionary(grouping: valid, by: { columns[$0] / panel }) {
            let first = p * panel
            scoreLayer.scoreTile(
                path, sessionEmbedding: session, batchSize: 1, embedding: items, packedItems: packedItems, first: first,
                width: min(panel, itemCount - first), into: buffer, ldc: panel)
            for place in places { scores[place] = buffer[columns[place] - first] }
        }
        return scores
    }
}
