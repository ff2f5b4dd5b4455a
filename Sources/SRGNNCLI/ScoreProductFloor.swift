import Foundation
import SRGNN
import TensorCore

/// The floor of a training step, for `srgnn bench`: its three score products alone —
/// `[B, d] × [d, I]` and the two backward ones — over random weights, with the fastest
/// implementation this machine has (`dE` written with beta 0 as the step writes it).
///
/// Our kernel (`ScoreKernels.best`) over tiles of 1,024 items dealt to the threads by the score
/// layer's own `forEachTile`; in a build with BLAS (`SRGNN_BLAS=1`) BLAS's `gemm` competes, each
/// product split over the threads (`gemm(threads:)`, BLAS single-threaded). `calibrate()` times the
/// candidates and keeps the faster, so a step compared with the floor is compared with the best
/// this build can do on the machine, whichever library that is.
public final class ScoreProductFloor {
    let b: Int, d: Int, itemCount: Int, threads: Int
    let embedding: [Float], session: [Float]
    var scores: [Float], dEmbedding: [Float], dSession: [Float]
    /// Tiles as the training step's score layer cuts and deals them.
    let scoreLayer: ScoreLayer
    /// Each worker's tile buffer and each tile's part of `dSession`, kept between runs as the step's
    /// workspace keeps them (allocating them per run timed page faults).
    var workerTiles: [Float], partials: [Float]

    /// The implementation `run()` times: `ScoreKernels.best` until `calibrate()` says otherwise.
    public private(set) var path: KernelPath = ScoreKernels.best

    public init(itemCount: Int, batchSize: Int, hiddenSize: Int, threads: Int) {
        (b, d, self.itemCount, self.threads) = (batchSize, hiddenSize, itemCount, threads)
        var generator = SeededGenerator(seed: 5)
        embedding = (0..<((itemCount + 1) * hiddenSize)).map { _ in generator.uniform(-0.1, 0.1) }
        session = (0..<(batchSize * hiddenSize)).map { _ in generator.uniform(-0.1, 0.1) }
        scores = [Float](repeating: 0, count: batchSize * itemCount)
        dEmbedding = [Float](repeating: 0, count: (itemCount + 1) * hiddenSize)
        dSession = [Float](repeating: 0, count: batchSize * hiddenSize)
        scoreLayer = ScoreLayer(hiddenSize: hiddenSize, itemCount: itemCount, tileItems: 1_024, path: ScoreKernels.best)
        let workers = scoreLayer.workers(threads: threads)
        workerTiles = [Float](repeating: 0, count: workers * batchSize * scoreLayer.tileItems)
        partials = [Float](repeating: 0, count: scoreLayer.tileCount * batchSize * hiddenSize)
    }

    /// Times our best kernel and BLAS (when linked) `rounds` times each, interleaved, and keeps the faster
    /// (by its best round) for `run()`. Returns the best seconds of each.
    @discardableResult
    public func calibrate(rounds: Int = 3) -> [KernelPath: Double] {
        var best: [KernelPath: Double] = [:]
        let candidates = ScoreKernels.best == .blas ? [KernelPath.blas] : [ScoreKernels.best, .blas].filter(\.isSupported)
        for _ in 0..<rounds {
            for candidate in candidates { best[candidate] = min(best[candidate] ?? .infinity, run(candidate)) }
        }
        path = candidates.min { best[$0]! < best[$1]! }!
        return best
    }

    /// Seconds for one round of the three products with `path`.
    public func run() -> Double { run(path) }

    func run(_ path: KernelPath) -> Double {
        let (b, d, itemCount, threads, scoreLayer) = (self.b, self.d, self.itemCount, self.threads, self.scoreLayer)
        let start = DispatchTime.now()
        embedding.withUnsafeBufferPointer { e in
            session.withUnsafeBufferPointer { h in
                scores.withUnsafeMutableBufferPointer { s in
                    dEmbedding.withUnsafeMutableBufferPointer { de in
                        dSession.withUnsafeMutableBufferPointer { ds in
                            let e = e.baseAddress!, h = h.baseAddress!, s = s.baseAddress!, de = de.baseAddress!, ds = ds.baseAddress!
                            if path == .blas {
                                gemm(
                                    .none, .transposed, m: b, n: itemCount, k: d, h, lda: d, e + d, ldb: d, s, ldc: itemCount,
                                    threads: threads, path: .blas)
                                gemm(
                                    .transposed, .none, m: itemCount, n: d, k: b, s, lda: itemCount, h, ldb: d,
                                    de + d, ldc: d, threads: threads, path: .blas)
                                gemm(
                                    .none, .none, m: b, n: d, k: itemCount, s, lda: itemCount, e + d, ldb: d,
                                    ds, ldc: d, threads: threads, path: .blas)
                                return
                            }
                            // As the score layer runs them: per tile, the scores in the forward
                            // pass (into a cache-sized buffer, streamed into the [B, I] matrix);
                            // the two backward products in the backward pass (on the tile's rows
                            // read in order into that buffer).
                            let tiles = scoreLayer.tileCount, tileItems = scoreLayer.tileItems
                            workerTiles.withUnsafeMutableBufferPointer { buffers in
                                partials.withUnsafeMutableBufferPointer { partials in
                                    let buffers = buffers.baseAddress!, partials = partials.baseAddress!
                                    scoreLayer.forEachTile(threads: threads) { worker, first, width in
                                        let buffer = buffers + worker * b * tileItems
                                        ScoreKernels.scores(
                                            path, session: h, rows: b, hiddenSize: d, items: e + (first + 1) * d,
                                            width: width, into: buffer, ldc: width)
                                        for row in 0..<b {
                                            streamCopy(buffer + row * width, count: width, to: s + row * itemCount + first, path: path)
                                        }
                                    }
                                    scoreLayer.forEachTile(threads: threads) { worker, first, width in
                                        let buffer = buffers + worker * b * tileItems, dSession = partials + first / tileItems * b * d
                                        dSession.update(repeating: 0, count: b * d)
                                        scoreLayer.readTile(s, rows: b, first: first, width: width, into: buffer)
                                        ScoreKernels.embeddingGradient(
                                            path, dScores: buffer, ldd: width, session: h, rows: b,
                                            hiddenSize: d, width: width, into: de + (first + 1) * d,
                                            accumulate: false)
                                        ScoreKernels.sessionGradient(
                                            path, dScores: buffer, ldd: width, items: e + (first + 1) * d,
                                            rows: b, hiddenSize: d, width: width, adding: dSession)
                                    }
                                    ScoreLayer.sumPartials(partials, parts: tiles, count: b * d, into: ds, threads: threads, path: path)
                                }
                            }
                        }
                    }
                }
            }
        }
        return seconds(since: start)
    }
}
