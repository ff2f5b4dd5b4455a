import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct KernelTests {
    /// The fused softmax cross-entropy against a Double computation of the same row.
    @Test func softmaxCrossEntropyMatchesDouble() {
        var rng = SeededGenerator(seed: 3)
        let rows = 3, classes = 1_003  // not a multiple of the vector width
        var logits = (0..<(rows * classes)).map { _ in rng.uniform(-20, 20) }
        let original = logits
        let targets: [Int32] = [0, 500, 1_002]
        let loss = targets.withUnsafeBufferPointer { t in
            softmaxCrossEntropyInPlace(&logits, rows: rows, classes: classes, targets: t, scale: 0.5, threads: 2)
        }
        var expectedLoss = 0.0
        var expectedGradient = [Float]()
        for r in 0..<rows {
            let row = original[(r * classes)..<((r + 1) * classes)].map(Double.init)
            let maximum = row.max()!
            let sum = row.reduce(0) { $0 + exp($1 - maximum) }
            expectedLoss += log(sum) + maximum - row[Int(targets[r])]
            for j in 0..<classes {
                expectedGradient.append(Float(0.5 * (exp(row[j] - maximum) / sum - (j == Int(targets[r]) ? 1 : 0))))
            }
        }
        // float32 exponentials (~1 ulp) summed over 1,003 terms: ~1e-6 relative.
        #expect(abs(loss - expectedLoss) < 1e-5 * abs(expectedLoss))
        #expect(closenessViolation(logits, expectedGradient, absolute: 1e-8, relative: 1e-5) == nil)
    }

    @Test func topKAndRank() {
        let values: [Float] = [0.5, 2, -1, 2, 7, 0.5, 3]
        #expect(topK(values, count: values.count, k: 3) == [4, 6, 1])  // tie 2 vs 2: lower index first
        #expect(topK(values, count: values.count, k: 10) == [4, 6, 1, 3, 0, 5, 2])
        #expect(topK(values, count: values.count, k: 0) == [])
        #expect(countGreater(values, count: values.count, than: 2) == 2)
        #expect(countGreater(values, count: values.count, than: -5) == 7)
    }

    /// Top-k over many values (so whole blocks are skipped) against a full sort.
    @Test(arguments: [1, 20, 100]) func topKMatchesSorting(k: Int) {
        var rng = SeededGenerator(seed: UInt64(k))
        for count in [63, 64, 65, 1_000, 43_097] {
            // Coarse values so that ties occur and must go to the lower index.
            let values = (0..<count).map { _ in Float(Int(rng.uniform(0, 500))) }
            let expected = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }.prefix(k)
            #expect(topK(values, count: count, k: k) == Array(expected), "count \(count)")
        }
    }

    /// Splitting a product over threads gives the single call's result (up to BLAS's blocking).
    @Test func threadedGemmMatchesSingleCall() {
        var rng = SeededGenerator(seed: 9)
        for (m, n, k) in [(100, 4_000, 16), (3_000, 40, 16)] {
            let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
            let b = (0..<(n * k)).map { _ in rng.uniform(-1, 1) }
            var single = [Float](repeating: 0, count: m * n), split = single
            gemm(.none, .transposed, m: m, n: n, k: k, a, lda: k, b, ldb: k, &single, ldc: n)
            gemm(.none, .transposed, m: m, n: n, k: k, a, lda: k, b, ldb: k, &split, ldc: n, threads: 2)
            // Same k = 16 terms per element; only the kernel's blocking may differ.
            #expect(closenessViolation(split, single, absolute: 1e-6, relative: 1e-6) == nil)
        }
    }
}
