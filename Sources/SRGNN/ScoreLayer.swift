import Foundation
import TensorCore

/// The hook through which training updates rows of the item embedding inside the score layer's
/// backward pass, while each tile's rows and their gradient are still in cache (worth ~2–4 ms a
/// step at Diginetica size).
///
/// `apply(rows, embedding, gradient)` receives embedding rows `rows` whose gradient is final:
/// `embedding` points at row `rows.lowerBound` of the model's own (mutable) embedding and
/// `gradient` at that row's gradient, `d` floats per row. It is called from several workers at
/// once, always on disjoint rows, and never for the rows the graph network's backward still adds
/// to (row 0 and the batch's items; see `SRGNNModel.backward(_:workspace:gradient:threads:tileItems:updatingEmbeddingRows:)`).
public struct EmbeddingRowUpdate: Sendable {
    public typealias Apply =
        @Sendable (
            _ rows: Range<Int>, _ embedding: UnsafeMutablePointer<Float>,
            _ gradient: UnsafePointer<Float>
        ) -> Void
    let apply: Apply
    public init(_ apply: @escaping Apply) { self.apply = apply }
}

/// An `EmbeddingRowUpdate` with what the score layer needs to run it: the model's embedding, for
/// writing, and the rows it must hold back.
struct FusedEmbeddingUpdate {
    let hook: EmbeddingRowUpdate
    let embedding: UnsafeMutablePointer<Float>
    let heldBack: UnsafePointer<Bool>
    /// NISER: the scores read Ê, so a tile's rows go through the normalisation's backward before
    /// the hook (held-back rows are finished by the model).
    var normalization: ItemNormalizationBackward? = nil
}

/// Where the loss writes Ê = E / ‖E‖ (row-wise) tile by tile: from E into `normalizedItems`,
/// 1/‖e_j‖ into `reciprocalNorms`, row 0 first.
struct TileNormalization {
    let items: UnsafePointer<Float>
    let normalizedItems: UnsafeMutablePointer<Float>
    let reciprocalNorms: UnsafeMutablePointer<Float>
}

/// What the backward of `Ê = E / ‖E‖` (row-wise) needs: Ê and 1/‖e_j‖, row 0 first.
struct ItemNormalizationBackward {
    let normalizedItems: UnsafePointer<Float>
    let reciprocalNorms: UnsafePointer<Float>
}

/// The score layer: every item's score for every session, and in training the cross-entropy loss
/// and its backward pass.
///
///     scores = s_h · E[1...]^T                          [B, I]  (item j is row j of E; row 0 is padding)
///     loss   = (1/B) Σ_b logsumexp(scores_b) − scores_b[t_b]
///     dS     = (softmax(scores) − onehot(t)) / B
///     dE[1...] (+)= dS^T · s_h        ds_h = dS · E[1...]
///
/// Items are cut into tiles of `tileItems` that workers take as they finish one, and every score
/// is computed by one function, `scoreTile`, so training, evaluation and serving rank by the same
/// numbers.
/// The three products run on `ScoreKernels` (our register-blocked kernels for these shapes, or
/// BLAS), on the layer's `path` (its model's `kernelPath`), passed to every worker.
/// In training, `loss` computes a tile's scores and, while they are in cache, `e^(x − m_tile)` and
/// its row sums; the tiles' maxima and sums are then combined into each row's log-sum-exp.
/// `backward` runs the two backward products on each tile with every row's softmax factor
/// folded in, and adds the targets' one-hot part after them, so the `[B, I]` matrix is written
/// once and read once from memory.
///
/// Public for `srgnn bench`'s floor (the three products alone, tiled and dealt as here): the type,
/// its tiling (`tileCount`, `forEachTile`, `workers`, `readTile`) and `sumPartials`.
public struct ScoreLayer {
    public let hiddenSize: Int
    public let itemCount: Int
    public var tileItems = 1_024
    /// The instruction set of every product and loop of a pass.
    public let path: KernelPath

    public init(hiddenSize: Int, itemCount: Int, tileItems: Int = 1_024, path: KernelPath) {
        (self.hiddenSize, self.itemCount, self.tileItems, self.path) = (hiddenSize, itemCount, tileItems, path)
    }

    /// `scores[b, j] = s_h[b] · E[first + 1 + j]` for `j` in `0..<width`, rows `ldc` apart, by
    /// the kernel `path` (the layer's own, or the packed items' path).
    func scoreTile(
        _ path: KernelPath, sessionEmbedding: UnsafePointer<Float>, batchSize b: Int, embedding: UnsafePointer<Float>,
        first: Int, width: Int, into scores: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        ScoreKernels.scores(
            path, session: sessionEmbedding, rows: b, hiddenSize: hiddenSize,
            items: embedding + (first + 1) * hiddenSize, width: width, into: scores, ldc: ldc)
    }

    /// `scoreTile`, from `packedItems` when given (on its path, the same numbers without packing
    /// the tile's panels again; `first` a multiple of its panel size).
    func scoreTile(
        _ path: KernelPath, sessionEmbedding: UnsafePointer<Float>, batchSize b: Int, embedding: UnsafePointer<Float>,
        packedItems: PackedItemEmbedding?, first: Int, width: Int, into scores: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard let packedItems else {
            return scoreTile(
                path, sessionEmbedding: sessionEmbedding, batchSize: b, embedding: embedding, first: first, width: width,
                into: scores, ldc: ldc)
        }
        packedItems.panels.withUnsafeBufferPointer { panels in
            ScoreKernels.packedScores(
                packedItems.path, session: sessionEmbedding, rows: b, hiddenSize: hiddenSize,
                packedItems: panels.baseAddress!, first: first, width: width, into: scores, ldc: ldc)
        }
    }

    /// Tiles of `tileItems` items (the last one may be narrower).
    public var tileCount: Int { (itemCount + tileItems - 1) / tileItems }

    /// Runs `body(worker, first, width)` for every tile, each of `workers(threads:)` workers taking
    /// the next tile as it finishes one (`parallelTakeNext`). Dealt in turn, the two workers of a
    /// training pass on a 2-core VM finished 0.4–1.3 ms apart on average, one core slowed for a
    /// while by the host; taken this way, 0.06–0.16 ms. A tile's numbers must not depend on its worker.
    public func forEachTile(threads: Int, _ body: (_ worker: Int, _ first: Int, _ width: Int) -> Void) {
        parallelTakeNext(tileCount, workers: workers(threads: threads)) { worker, tile in
            let first = tile * tileItems
            body(worker, first, min(tileItems, itemCount - first))
        }
    }

    /// Workers that `forEachTile` uses.
    public func workers(threads: Int) -> Int { max(1, min(threads, tileCount)) }

    /// A tile's rows of the `[B, I]` matrix `scores` (columns `first..<first + width`) into
    /// `block` (`[B, width]`), in order: one stream at a time, which the prefetcher follows, where
    /// the products would read them as B streams at once.
    public func readTile(_ scores: UnsafePointer<Float>, rows b: Int, first: Int, width: Int, into block: UnsafeMutablePointer<Float>) {
        for row in 0..<b { (block + row * width).update(from: scores + row * itemCount + first, count: width) }
    }

    /// `sum = Σ_p partials[p]` over `parts` consecutive partial sums of `count` floats, added in
    /// order of p (the same bits for any number of threads), split over `threads` by element.
    public static func sumPartials(
        _ partials: UnsafePointer<Float>, parts: Int, count: Int, into sum: UnsafeMutablePointer<Float>,
        threads: Int, path: KernelPath
    ) {
        parallelChunks(count, threads: threads, minimumPerThread: 1 << 12) { chunk in
            (sum + chunk.lowerBound).update(repeating: 0, count: chunk.count)
            addColumnSums(
                partials + chunk.lowerBound, rows: parts, width: chunk.count, stride: count, into: sum + chunk.lowerBound, path: path)
        }
    }

    // MARK: Inference

    /// All scores `[B, I]` into `scores` (column `j` for item `j + 1`), from `packedItems` when
    /// given (the same numbers, without packing each panel per call).
    func scores(
        _ path: KernelPath, sessionEmbedding: UnsafePointer<Float>, batchSize b: Int, embedding: UnsafePointer<Float>,
        packedItems: PackedItemEmbedding?, into scores: UnsafeMutablePointer<Float>, threads: Int
    ) {
        forEachTile(threads: threads) { _, first, width in
            scoreTile(
                path, sessionEmbedding: sessionEmbedding, batchSize: b, embedding: embedding, packedItems: packedItems,
                first: first, width: width, into: scores + first, ldc: itemCount)
        }
    }

    /// Each session's answer from its `selections` entry (0-based columns and scores, best first,
    /// ties to the lower item), tile by tile: a worker scores a tile into its own cache-sized buffer,
    /// feeds every ranking row's running top-k (inside the row's mask, if any) and picks out the
    /// candidate rows' items, so the `[B, I]` matrix is never written; the workers' lists are
    /// merged at the end. The scores are `scores`'s, and the ranking is `topK`'s over them.
    func select(
        _ path: KernelPath, sessionEmbedding: UnsafePointer<Float>, batchSize b: Int, embedding: UnsafePointer<Float>,
        packedItems: PackedItemEmbedding?, selections: [ItemSelection], workspace ws: SRGNNWorkspace,
        threads: Int
    ) -> [[(index: Int, value: Float)]] {
        precondition(selections.count == b, "one selection per session")
        let workers = workers(threads: threads)
        let widest = selections.map { if case let .best(k, _) = $0 { min(k, itemCount) } else { 0 } }.max() ?? 0
        // Candidate scores, one slot per (row, candidate), each written by the worker of its tile.
        let candidateOffsets = selections.reduce(into: [0]) { offsets, selection in
            if case let .candidates(ids, _) = selection { offsets.append(offsets.last! + ids.count) } else { offsets.append(offsets.last!) }
        }
        var candidateScores = [Float](repeating: .nan, count: candidateOffsets.last!)
        // Runs of rows that rank every item (no mask): one top-k call a run and tile.
        var plainRuns = [Range<Int>](), otherRows = [Int]()
        for (row, selection) in selections.enumerated() {
            if case .best(_, nil) = selection {
                if let last = plainRuns.last, last.upperBound == row {
                    plainRuns[plainRuns.count - 1] = last.lowerBound..<(row + 1)
                } else {
                    plainRuns.append(row..<(row + 1))
                }
            } else {
                otherRows.append(row)
            }
        }
        let buffers = ws.workerTiles.pointer(workers * b * tileItems)
        var parts = [RunningTopK](repeating: RunningTopK(rows: b, k: widest, path: path), count: workers)
        parts.withUnsafeMutableBufferPointer { parts in
            candidateScores.withUnsafeMutableBufferPointer { candidateScores in
                // Each worker touches only its own running top-k and buffer, and its tile's candidates.
                nonisolated(unsafe) let parts = parts, candidateScores = candidateScores
                forEachTile(threads: threads) { worker, first, width in
                    let buffer = buffers + worker * b * tileItems
                    scoreTile(
                        path, sessionEmbedding: sessionEmbedding, batchSize: b, embedding: embedding, packedItems: packedItems,
                        first: first, width: width, into: buffer, ldc: width)
                    for run in plainRuns {
                        parts[worker].add(rows: run, buffer + run.lowerBound * width, stride: width, count: width, first: first)
                    }
                    for row in otherRows {
                        let values = buffer + row * width
                        switch selections[row] {
                        case let .best(_, allowed):
                            parts[worker].add(row: row, values, count: width, first: first, allowed: allowed)
                        case let .candidates(ids, _):
                            for (c, id) in ids.enumerated() where (first..<first + width).contains(Int(id) - 1) {
                                candidateScores[candidateOffsets[row] + c] = values[Int(id) - 1 - first]
                            }
                        }
                    }
                }
            }
        }
        func better(_ a: (index: Int, value: Float), _ b: (index: Int, value: Float)) -> Bool {
            a.value > b.value || (a.value == b.value && a.index < b.index)
        }
        return selections.enumerated().map { row, selection in
            switch selection {
            case let .best(k, _):
                if workers == 1 { return Array(parts[0].ranked(row: row).prefix(k)) }
                // Every item of a row's best k is among the best k of its worker's tiles.
                return Array((0..<workers).flatMap { parts[$0].ranked(row: row) }.sorted(by: better).prefix(k))
            case let .candidates(ids, k):
                // NaN (a diverged model) ranks last, as top-k never returns it first.
                let scored = ids.enumerated().map {
                    (index: Int($0.element) - 1, value: candidateScores[candidateOffsets[row] + $0.offset])
                }
                func key(_ value: Float) -> Float { value.isNaN ? -.infinity : value }
                return Array(
                    scored.sorted { key($0.value) != key($1.value) ? key($0.value) > key($1.value) : $0.index < $1.index }
                        .prefix(k))
            }
        }
    }

    /// The rank of each session's target among all items (1 = best): one plus the number of items
    /// scoring strictly higher, so a tie counts in the target's favour. No `[B, I]` matrix: each
    /// worker scores a tile into its own cache-sized buffer (from `packedItems` when given and the
    /// tiles start on its panels) and counts against the targets' scores.
    func ranks(
        _ path: KernelPath, sessionEmbedding: UnsafePointer<Float>, targets: UnsafeBufferPointer<Int32>, embedding: UnsafePointer<Float>,
        packedItems: PackedItemEmbedding? = nil, into ranks: UnsafeMutablePointer<Int32>, workspace ws: SRGNNWorkspace,
        threads: Int
    ) {
        let b = targets.count, d = hiddenSize, workers = workers(threads: threads)
        let packedItems = packedItems.flatMap { tileItems % ScoreKernels.panelItems($0.path)! == 0 ? $0 : nil }
        let path = packedItems?.path ?? path
        let targetScores = ws.targetScores.pointer(b)
        for row in 0..<b {
            // The target's own score, by the same product the tiles use (packed or not, the same bits on one path).
            let column = Int(targets[row]) - 1
            scoreTile(
                path, sessionEmbedding: sessionEmbedding + row * d, batchSize: 1, embedding: embedding, first: column, width: 1,
                into: targetScores + row, ldc: 1)
        }
        let buffers = ws.workerTiles.pointer(workers * b * tileItems)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: workers * b) { counts in
            counts.initialize(repeating: 0)
            forEachTile(threads: threads) { worker, first, width in
                let buffer = buffers + worker * b * tileItems, myCounts = counts.baseAddress! + worker * b
                scoreTile(
                    path, sessionEmbedding: sessionEmbedding, batchSize: b, embedding: embedding, packedItems: packedItems,
                    first: first, width: width, into: buffer, ldc: width)
                for row in 0..<b {
                    let values = buffer + row * width
                    var greater = countGreater(values, count: width, than: targetScores[row], path: path)
                    // The target never counts against itself, whatever rounding did.
                    let column = Int(targets[row]) - 1 - first
                    if column >= 0, column < width, values[column] > targetScores[row] { greater -= 1 }
                    myCounts[row] += greater
                }
            }
            for row in 0..<b {
                var total = 1
                for worker in 0..<workers { total += counts[worker * b + row] }
                ranks[row] = Int32(total)
            }
        }
    }

    // MARK: Training

    /// Scores every item, keeps them in `workspace.scores` with each tile's shifted exponentials,
    /// and returns the loss summed over the batch (the caller divides by B). With
    /// `normalization` (NISER), each tile's rows of E are first normalised into Ê, which
    /// `embedding` points at, so Ê is written once per step and scored from cache.
    func loss(
        sessionEmbedding: UnsafePointer<Float>, targets: UnsafeBufferPointer<Int32>,
        embedding: UnsafePointer<Float>, normalization: TileNormalization? = nil,
        workspace ws: SRGNNWorkspace, threads: Int
    ) -> Double {
        let b = targets.count, items = itemCount, tiles = tileCount
        let scores = ws.scores.pointer(b * items)
        let tileMaxima = ws.tileMaxima.pointer(tiles * b), tileSums = ws.tileSums.pointer(tiles * b)
        let targetScores = ws.targetScores.pointer(b)
        let buffers = ws.workerTiles.pointer(workers(threads: threads) * b * tileItems)
        forEachTile(threads: threads) { worker, first, width in
            // Scored into the worker's cache-sized buffer, then streamed into the [B, I] matrix:
            // stores straight into it read every line from memory first (~25 % of the pass).
            let tile = first / tileItems, buffer = buffers + worker * b * tileItems
            if let normalization {
                RowNormalization.forward(
                    normalization.items, rows: (first + 1)..<(first + 1 + width), width: hiddenSize,
                    into: normalization.normalizedItems, reciprocalNorms: normalization.reciprocalNorms, path: path)
            }
            scoreTile(
                path, sessionEmbedding: sessionEmbedding, batchSize: b, embedding: embedding, first: first, width: width,
                into: buffer, ldc: width)
            for row in 0..<b {
                let values = buffer + row * width
                let column = Int(targets[row]) - 1 - first
                if column >= 0 && column < width { targetScores[row] = values[column] }
                var maximum: Float = 0
                tileSums[tile * b + row] = expShiftSum(values, count: width, maximum: &maximum, path: path)
                tileMaxima[tile * b + row] = maximum
                streamCopy(values, count: width, to: scores + row * items + first, path: path)
            }
        }
        // logsumexp = M + log Σ_tiles sum·e^(m_tile − M); each tile's factor turns e^(x − m_tile) into dS.
        let tileScales = ws.tileScales.pointer(tiles * b)
        let scale = 1 / Float(b)
        var total = 0.0
        for row in 0..<b {
            var maximum = -Float.infinity
            for tile in 0..<tiles { maximum = max(maximum, tileMaxima[tile * b + row]) }
            var sum: Float = 0
            for tile in 0..<tiles { sum += tileSums[tile * b + row] * expf(tileMaxima[tile * b + row] - maximum) }
            total += Double(logf(sum)) - Double(targetScores[row] - maximum)
            for tile in 0..<tiles { tileScales[tile * b + row] = expf(tileMaxima[tile * b + row] - maximum) / sum * scale }
        }
        return total
    }

    /// Backward of `loss`: `ds_h` into `workspace.dSessionEmbedding` and `dE` into `g.embedding`,
    /// added (`accumulate`) or written; the kept exponentials are only read. With an `update`, a
    /// tile's `dE` rows go to a per-worker buffer and straight to `update` — except rows marked in
    /// `heldBack`, which are copied to `g.embedding` for later. Nothing reads a tile's weights
    /// after its two products, so the update may change them in place.
    func backward(
        sessionEmbedding: UnsafePointer<Float>, targets: UnsafeBufferPointer<Int32>,
        embedding: UnsafePointer<Float>, dEmbedding: UnsafeMutablePointer<Float>, accumulate: Bool,
        update: FusedEmbeddingUpdate?,
        workspace ws: SRGNNWorkspace, threads: Int
    ) {
        let b = targets.count, d = hiddenSize, items = itemCount, workers = workers(threads: threads)
        let tiles = tileCount
        let scores = ws.scores.pointer(b * items), tileScales = ws.tileScales.pointer(tiles * b)
        // Each tile's part of ds_h, added in tile order at the end: the same bits whichever worker took it.
        let partials = ws.dSessionEmbeddingPartials.pointer(tiles * b * d)
        let tileGradients = update == nil ? nil : ws.tileGradients.pointer(workers * tileItems * d)
        let buffers = ws.workerTiles.pointer(workers * b * tileItems)
        let targetShare = 1 / Float(b)
        forEachTile(threads: threads) { worker, first, width in
            // dS = diag(c) · P − onehot(t)/B, with P the tile's shifted exponentials and c its row
            // factors: c goes into the products, the one-hot part is added per target after them.
            let tile = first / tileItems, rowScale = tileScales + tile * b
            let block = buffers + worker * b * tileItems
            readTile(scores, rows: b, first: first, width: width, into: block)
            let tileGradient = tileGradients.map { $0 + worker * tileItems * d } ?? dEmbedding + (first + 1) * d
            let dSession = partials + tile * b * d
            dSession.update(repeating: 0, count: b * d)
            ScoreKernels.embeddingGradient(
                path, dScores: block, ldd: width, session: sessionEmbedding, rows: b,
                hiddenSize: d, width: width, into: tileGradient, accumulate: accumulate, rowScale: rowScale)
            ScoreKernels.sessionGradient(
                path, dScores: block, ldd: width, items: embedding + (first + 1) * d, rows: b,
                hiddenSize: d, width: width, adding: dSession, rowScale: rowScale)
            for row in 0..<b {
                let column = Int(targets[row]) - 1 - first
                guard column >= 0 && column < width else { continue }
                let itemGradient = tileGradient + column * d, session = sessionEmbedding + row * d
                let item = embedding + (first + 1 + column) * d, sessionGradient = dSession + row * d
                for k in 0..<d {
                    itemGradient[k] -= targetShare * session[k]
                    sessionGradient[k] -= targetShare * item[k]
                }
            }
            guard let update else { return }
            // Runs of rows that nothing else adds to are updated now; held-back rows wait.
            var start = 0
            while start < width {
                var end = start
                while end < width && !update.heldBack[first + 1 + end] { end += 1 }
                if end > start {
                    let row = first + 1 + start
                    if let normalization = update.normalization {
                        // ∂L/∂Ê → ∂L/∂E for the run, in place, while it is in cache.
                        let runGradient = tileGradient + start * d
                        RowNormalization.backward(
                            runGradient, normalized: normalization.normalizedItems + row * d,
                            reciprocalNorms: normalization.reciprocalNorms + row, rows: 0..<(end - start),
                            width: d, into: runGradient, accumulate: false, path: path)
                    }
                    update.hook.apply(row..<(first + 1 + end), update.embedding + row * d, tileGradient + start * d)
                }
                if end < width {
                    (dEmbedding + (first + 1 + end) * d).update(from: tileGradient + end * d, count: d)
                }
                start = end + 1
            }
        }
        ScoreLayer.sumPartials(
            partials, parts: tiles, count: b * d, into: ws.dSessionEmbedding.pointer(b * d), threads: threads, path: path)
    }
}
