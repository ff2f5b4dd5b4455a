import TensorCore
import Testing
import TestSupport

@Suite struct MatrixMultiplyTests {
    /// A general alpha and beta (our kernels through a temporary, or BLAS in a BLAS build) against
    /// the naive oracle, all four transpose combinations.
    @Test(arguments: [(Transpose.none, Transpose.none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)])
    func generalAlphaBetaMatchesNaive(transA: Transpose, transB: Transpose) {
        var rng = SeededGenerator(seed: 7)
        let m = 13, n = 17, k = 29
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        let start = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
        var fast = start, slow = start
        let lda = transA == .none ? k : m, ldb = transB == .none ? n : k
        gemm(transA, transB, m: m, n: n, k: k, alpha: 0.5, a, lda: lda, b, ldb: ldb, beta: 1, &fast, ldc: n, path: ScoreKernels.defaultPath)
        naiveGemm(transA, transB, m: m, n: n, k: k, alpha: 0.5, a, lda: lda, b, ldb: ldb, beta: 1, &slow, ldc: n)
        // float32 (FMA, blocked summation) vs a Double-accumulated loop over k = 29 terms.
        #expect(closenessViolation(fast, slow, absolute: 1e-5, relative: 1e-5) == nil)
    }

    /// The graph network's products (alpha 1, beta 0 or 1) through every kernel path this machine
    /// runs, all four transpose combinations, with widths that are not multiples of a vector. A
    /// transposed B is packed by register transposes when its rows are k apart and element by
    /// element when they are further apart (`paddedB`).
    @Test(
        arguments: [(Transpose.none, Transpose.none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)],
        ScoreKernels.supportedPaths)
    func kernelPathsMatchNaive(transposes: (Transpose, Transpose), kernel: KernelPath) {
        let (transA, transB) = transposes
        var rng = SeededGenerator(seed: 9)
        for paddedB in [false, true] {
            for (m, n, k) in [(4, 1, 1), (13, 17, 29), (7, 300, 3), (100, 101, 200)] {
                let lda = transA == .none ? k : m, ldb = (transB == .none ? n : k) + (paddedB ? 5 : 0)
                let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
                let b = (0..<((transB == .none ? k : n) * ldb)).map { _ in rng.uniform(-1, 1) }
                let start = (0..<(m * (n + 3))).map { _ in rng.uniform(-1, 1) }
                for beta: Float in [0, 1] {
                    var fast = start, slow = start
                    gemm(transA, transB, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, beta: beta, &fast, ldc: n + 3, path: kernel)
                    naiveGemm(transA, transB, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, beta: beta, &slow, ldc: n + 3)
                    // float32 FMAs over ≤ 200 terms of size ≤ 1 vs Double.
                    #expect(
                        closenessViolation(fast, slow, absolute: 1e-4, relative: 1e-5) == nil,
                        "\(kernel) \(m)×\(n)×\(k) beta \(beta) ldb \(ldb)")
                }
            }
        }
    }

    /// On our kernels each row of C is the same whatever m is (1, 2, 3 rows as well as many), so
    /// a session's activations do not depend on the batch it is stacked in.
    @Test(
        arguments: [(Transpose.none, Transpose.none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)],
        ScoreKernels.supportedPaths.filter { $0 != .blas })
    func rowsDoNotDependOnTheRowCount(transposes: (Transpose, Transpose), kernel: KernelPath) {
        let (transA, transB) = transposes
        var rng = SeededGenerator(seed: 10)
        let m = 9, n = 37, k = 23
        let lda = transA == .none ? k : m, ldb = transB == .none ? n : k
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        var all = [Float](repeating: 0, count: m * n)
        gemm(transA, transB, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, &all, ldc: n, path: kernel)
        for rows in 1...3 {
            for first in 0...(m - rows) {
                var part = [Float](repeating: 0, count: rows * n)
                a.withUnsafeBufferPointer { a in
                    // Row i of op(A) starts at a + i·lda, or at a + i when A is stored transposed.
                    let start = a.baseAddress! + (transA == .none ? first * lda : first)
                    gemm(transA, transB, m: rows, n: n, k: k, start, lda: lda, b, ldb: ldb, &part, ldc: n, path: kernel)
                }
                #expect(part == Array(all[(first * n)..<((first + rows) * n)]), "\(kernel) rows \(first)..<\(first + rows)")
            }
        }
    }

    /// Products deeper than one kernel call (`kernelGemmMaximumDepth`, 4,096 terms) are summed in
    /// slices on every path, with beta 0 and 1: the graph network's weight gradients sum over a
    /// batch's nodes, which a large batch makes that deep, and no BLAS is there to take them.
    @Test(arguments: ScoreKernels.supportedPaths)
    func deepProductsMatchNaive(kernel: KernelPath) {
        var rng = SeededGenerator(seed: 11)
        let m = 5, n = 19, k = 9_001
        // op(A) = Aᵀ and op(B) = B, as the weight gradients dW = dYᵀ · X are stored.
        let a = (0..<(k * m)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        let start = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
        for beta: Float in [0, 1] {
            var fast = start, slow = start
            gemm(.transposed, .none, m: m, n: n, k: k, a, lda: m, b, ldb: n, beta: beta, &fast, ldc: n, path: kernel)
            naiveGemm(.transposed, .none, m: m, n: n, k: k, a, lda: m, b, ldb: n, beta: beta, &slow, ldc: n)
            // float32 sums of 9,001 terms of size ≤ 1 (|sum| ~ 55) vs Double.
            #expect(closenessViolation(fast, slow, absolute: 1e-3, relative: 1e-4) == nil, "\(kernel) beta \(beta)")
        }
    }

    /// A single row (gemv on the BLAS path); same contract.
    @Test(arguments: [(Transpose.none, Transpose.none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)])
    func singleRowMatchesNaive(transA: Transpose, transB: Transpose) {
        var rng = SeededGenerator(seed: 8)
        let n = 37, k = 23
        let lda = transA == .none ? k : 3  // a column of a [k, 3] matrix when transposed
        let a = (0..<(k * 3)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        let start = (0..<n).map { _ in rng.uniform(-1, 1) }
        var fast = start, slow = start
        let ldb = transB == .none ? n : k
        gemm(transA, transB, m: 1, n: n, k: k, alpha: 2, a, lda: lda, b, ldb: ldb, beta: 0.5, &fast, ldc: n, path: ScoreKernels.defaultPath)
        naiveGemm(transA, transB, m: 1, n: n, k: k, alpha: 2, a, lda: lda, b, ldb: ldb, beta: 0.5, &slow, ldc: n)
        #expect(closenessViolation(fast, slow, absolute: 1e-5, relative: 1e-5) == nil)
    }
}
