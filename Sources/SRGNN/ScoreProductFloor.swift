import Foundation
import TensorCore

/// The floor of a training step, for `srgnn bench`: its three score products alone —
/// `[B, d] × [d, I]` and the two backward ones — over random weights, split over the threads as
/// the score layer splits them (BLAS single-threaded, `dE` written with beta 0 as the step writes it).
public final class ScoreProductFloor {
    let b: Int, d: Int, itemCount: Int, threads: Int
    let embedding: [Float], session: [Float]
    var scores: [Float], dEmbedding: [Float], dSession: [Float]

    public init(itemCount: Int, batchSize: Int, hiddenSize: Int, threads: Int) {
        (b, d, self.itemCount, self.threads) = (batchSize, hiddenSize, itemCount, threads)
        var generator = SeededGenerator(seed: 5)
        embedding = (0..<((itemCount + 1) * hiddenSize)).map { _ in generator.uniform(-0.1, 0.1) }
        session = (0..<(batchSize * hiddenSize)).map { _ in generator.uniform(-0.1, 0.1) }
        scores = [Float](repeating: 0, count: batchSize * itemCount)
        dEmbedding = [Float](repeating: 0, count: (itemCount + 1) * hiddenSize)
        dSession = [Float](repeating: 0, count: batchSize * hiddenSize)
    }

    /// Seconds for one round of the three products.
    public func run() -> Double {
        let (b, d, itemCount, threads) = (self.b, self.d, self.itemCount, self.threads)
        let start = DispatchTime.now()
        embedding.withUnsafeBufferPointer { e in
            session.withUnsafeBufferPointer { h in
                scores.withUnsafeMutableBufferPointer { s in
                    dEmbedding.withUnsafeMutableBufferPointer { de in
                        dSession.withUnsafeMutableBufferPointer { ds in
                            let e = e.baseAddress!, h = h.baseAddress!, s = s.baseAddress!
                            gemm(.none, .transposed, m: b, n: itemCount, k: d, h, lda: d, e + d, ldb: d, s, ldc: itemCount, threads: threads)
                            gemm(.transposed, .none, m: itemCount, n: d, k: b, s, lda: itemCount, h, ldb: d,
                                 de.baseAddress! + d, ldc: d, threads: threads)
                            gemm(.none, .none, m: b, n: d, k: itemCount, s, lda: itemCount, e + d, ldb: d,
                                 ds.baseAddress!, ldc: d, threads: threads)
                        }
                    }
                }
            }
        }
        return seconds(since: start)
    }
}
