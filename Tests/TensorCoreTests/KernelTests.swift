import Foundation
import TensorCore
import Testing
import TestSupport

@Suite struct KernelTests {
    /// The score layer's shifted exponentials and their sum against Double, over a width that is
    /// not a multiple of the vector width, on every path's copy of the loop.
    @Test(arguments: ScoreKernels.supportedPaths)
    func expShiftSumMatchesDouble(path: KernelPath) {
        var rng = SeededGenerator(seed: 3)
        let count = 1_003
        var values = (0..<count).map { _ in rng.uniform(-20, 20) }
        let original = values.map(Double.init)
        var maximum: Float = 0
        let sum = expShiftSum(&values, count: count, maximum: &maximum, path: path)
        let expectedMaximum = original.max()!
        let expected = original.map { exp($0 - expectedMaximum) }
        #expect(Double(maximum) == expectedMaximum)
        // float32 exponentials (~1 ulp) summed over 1,003 terms: ~1e-6 relative.
        #expect(abs(Double(sum) - expected.reduce(0, +)) < 1e-5 * expected.reduce(0, +))
        #expect(closenessViolation(values, expected.map(Float.init), absolute: 1e-12, relative: 1e-6) == nil)
    }

    /// The path names the instruction set of the element-wise loops too, not only of the products:
    /// `portable` runs the baseline copy (no fused multiply-adds on x86-64), `avx2` the x86-64-v3
    /// one (fused where the compiler contracts), so some value of the exponentials or of the
    /// attention's coefficient rounds differently. Before, one copy chosen at load time ran
    /// whatever the path said. Each path's copy gives the same bits every time it is named.
    @Test(.enabled(if: KernelPath.avx2.isSupported, "needs an x86-64 CPU with AVX2"))
    func elementWiseLoopsFollowThePath() {
        var rng = SeededGenerator(seed: 12)
        let start = (0..<1_003).map { _ in rng.uniform(-20, 20) }
        let d = 100
        let query = (0..<d).map { _ in rng.uniform(-1, 1) }, bias = (0..<d).map { _ in rng.uniform(-1, 1) }
        let vector = (0..<d).map { _ in rng.uniform(-1, 1) }, row = (0..<d).map { _ in rng.uniform(-1, 1) }
        func run(_ path: KernelPath) -> (exponentials: [Float], activated: [Float], coefficient: Float) {
            var values = start, activated = row, maximum: Float = 0
            _ = expShiftSum(&values, count: values.count, maximum: &maximum, path: path)
            let coefficient = attentionActivation(query: query, row: &activated, bias: bias, vector: vector, width: d, path: path)
            return (values, activated, coefficient)
        }
        let portable = run(.portable), avx2 = run(.avx2), again = run(.portable)
        #expect(
            portable.exponentials != avx2.exponentials || portable.activated != avx2.activated
                || portable.coefficient != avx2.coefficient)
        #expect(
            again.exponentials == portable.exponentials && again.activated == portable.activated
                && again.coefficient == portable.coefficient)
    }

    /// A k far larger than any stack could hold works and gives the full order.
    @Test func topKWithHugeK() {
        var rng = SeededGenerator(seed: 4)
        let values = (0..<300_000).map { _ in rng.uniform(-1, 1) }
        let top = topK(values, count: values.count, k: 250_000)
        #expect(top.count == 250_000)
        #expect(zip(top, top.dropFirst()).allSatisfy { values[$0] >= values[$1] })
    }

    /// Values given in pieces (as tiles of items) rank exactly as the whole row: same indices,
    /// same values, ties to the lower index, across piece boundaries and blocks of 64.
    @Test func runningTopKEqualsTopKOfTheWholeRow() {
        var rng = SeededGenerator(seed: 21)
        for (count, k) in [(1, 1), (5, 9), (300, 20), (3_000, 64), (3_000, 1)] {
            // Rounded to tenths: many ties.
            let rows = (0..<3).map { _ in (0..<count).map { _ in (rng.uniform(-3, 3) * 10).rounded() / 10 } }
            var running = RunningTopK(rows: 3, k: min(k, count))
            for (row, values) in rows.enumerated() {
                var first = 0
                while first < count {
                    let width = min(count - first, 1 + Int(rng.uniform(0, 200)))
                    values.withUnsafeBufferPointer { running.add(row: row, $0.baseAddress! + first, count: width, first: first) }
                    first += width
                }
            }
            for (row, values) in rows.enumerated() {
                let ranked = running.ranked(row: row)
                #expect(ranked.map(\.index) == topK(values, count: count, k: k), "\(count) values, k \(k)")
                #expect(ranked.map(\.value) == ranked.map { values[$0.index] })
            }
        }
    }

    /// Whole tiles of rows at once rank as `topK` over each whole row: tiles wide enough for the
    /// bounded fill of an empty heap (and one just too narrow), k up to and past its limit of 64,
    /// many ties, NaN (never ranked) and -inf.
    @Test func runningTopKByTilesOfRowsEqualsTopK() {
        var rng = SeededGenerator(seed: 23)
        for (count, tile, k) in [
            (3_000, 1_024, 20), (3_000, 256, 1), (2_000, 300, 64), (2_000, 700, 65), (1_030, 1_024, 20), (600, 255, 20),
        ] {
            let rows = 5
            var values = (0..<(rows * count)).map { _ in (rng.uniform(-3, 3) * 10).rounded() / 10 }
            for r in 0..<rows where r % 2 == 1 { for j in stride(from: r, to: count, by: 7) { values[r * count + j] = .nan } }
            for j in 0..<count { values[4 * count + j] = j % 3 == 0 ? -.infinity : .nan }
            var running = RunningTopK(rows: rows, k: k)
            for first in stride(from: 0, to: count, by: tile) {
                let width = min(tile, count - first)
                var piece = [Float]()
                for r in 0..<rows { piece += values[(r * count + first)..<(r * count + first + width)] }
                piece.withUnsafeBufferPointer { piece in
                    running.add(rows: 0..<rows, piece.baseAddress!, stride: width, count: width, first: first)
                }
            }
            for r in 0..<rows {
                let row = Array(values[(r * count)..<((r + 1) * count)])
                let naive = row.indices.filter { !row[$0].isNaN }.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(k)
                let ranked = running.ranked(row: r)
                #expect(ranked.map(\.index) == Array(naive), "\(count) values in tiles of \(tile), k \(k), row \(r)")
                #expect(ranked.map(\.value) == ranked.map { row[$0.index] })
            }
        }
    }

    /// Masked pieces at any offset (not only whole words of the mask) rank as the masked top-k of
    /// the whole row, which ranks as the naive filter-then-sort.
    @Test func runningTopKWithAMaskEqualsTheMaskedTopK() {
        var rng = SeededGenerator(seed: 22)
        for (count, k, density) in [(1, 1, 1.0), (70, 9, 0.3), (300, 20, 0.05), (3_000, 64, 0.5), (3_000, 5, 0.01)] {
            let values = (0..<count).map { _ in (rng.uniform(-3, 3) * 10).rounded() / 10 }
            let mask = ItemMask(count: count, allowing: (1...count).filter { _ in Double(rng.uniform(0, 1)) < density }.map(Int32.init))
            var running = RunningTopK(rows: 1, k: k)
            var first = 0
            while first < count {
                let width = min(count - first, 1 + Int(rng.uniform(0, 150)))
                values.withUnsafeBufferPointer { running.add(row: 0, $0.baseAddress! + first, count: width, first: first, allowed: mask) }
                first += width
            }
            let allowed: [Int] = (0..<count).filter { mask.contains(Int32($0 + 1)) }
            let naive = allowed.sorted { (a: Int, b: Int) -> Bool in values[a] != values[b] ? values[a] > values[b] : a < b }.prefix(k)
            #expect(running.ranked(row: 0).map(\.index) == Array(naive), "\(count) values, k \(k)")
            #expect(topK(values, count: count, k: k, allowed: mask) == Array(naive))
        }
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
            gemm(.none, .transposed, m: m, n: n, k: k, a, lda: k, b, ldb: k, &single, ldc: n, path: ScoreKernels.defaultPath)
            gemm(.none, .transposed, m: m, n: n, k: k, a, lda: k, b, ldb: k, &split, ldc: n, threads: 2, path: ScoreKernels.defaultPath)
            // Same k = 16 terms per element; only the kernel's blocking may differ.
            #expect(closenessViolation(split, single, absolute: 1e-6, relative: 1e-6) == nil)
        }
    }
}
