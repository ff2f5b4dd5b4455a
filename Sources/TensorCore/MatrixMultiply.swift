import CKernels
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Whether an operand of `gemm` is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed
}

/// `C = alpha · op(A) · op(B) + beta · C` on row-major matrices.
///
/// `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`; `lda`, `ldb`, `ldc` are the row
/// strides of the matrices as stored; `path` defaults to `ScoreKernels.current`. The graph network's products (alpha 1, beta 0 or 1,
/// depth ≤ 4,096) run on our register-blocked kernel of `ScoreKernels.current` (`srgnn_gemm`),
/// so their speed does not depend on BLAS knowing the CPU, and each row of C is one chain of
/// multiply-adds whatever m is: a session's activations are the same alone (1–3 rows, once
/// BLAS's) or stacked in a batch, so `srgnn recommend` and a batch agree bit for bit. The rest, and every
/// product when the path is `blas`, go to `cblas_sgemm` / `cblas_sgemv`. This is the only
/// function in the package that calls BLAS's products.
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    path: KernelPath? = nil
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C untouched when k == 0 only if beta == 1; make the semantics explicit.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    if alpha == 1, beta == 0 || beta == 1, k <= 4_096, let kernel = (path ?? ScoreKernels.current).cValue {
        srgnn_gemm(kernel, transA == .transposed ? 1 : 0, transB == .transposed ? 1 : 0, Int64(m), Int64(n), Int64(k),
                   a, Int64(lda), b, Int64(ldb), beta == 1 ? 1 : 0, c, Int64(ldc))
        return
    }
    _ = blasIsSingleThreaded
    if m == 1 {
        // One row: a matrix-vector product, which BLAS streams faster than a 1-row gemm
        // (the single-session scoring path reads the whole embedding this way).
        let incX = transA == .none ? 1 : lda
        if transB == .transposed {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, Int32(incX), beta, c, 1)
        } else {
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, Int32(incX), beta, c, 1)
        }
        return
    }
    cblas_sgemm(
        CblasRowMajor,
        transA == .none ? CblasNoTrans : CblasTrans,
        transB == .none ? CblasNoTrans : CblasTrans,
        Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb),
        beta, c, Int32(ldc)
    )
}

/// The same contract as `gemm`, computed with three plain loops (accumulating in Double):
/// the test oracle for the BLAS path.
public func naiveGemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let aValue = transA == .none ? a[i * lda + p] : a[p * lda + i]
                let bValue = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                sum += Double(aValue) * Double(bValue)
            }
            let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * sum + previous)
        }
    }
}

/// BLAS runs single-threaded from its first product on: we split products over our own workers
/// (`gemm(threads:)`, the score layer's tiles), and OpenBLAS's threads would compete with them for
/// the cores and make the last bits of a product depend on how it split the work. A later
/// `setBLASThreads` still wins.
@usableFromInline let blasIsSingleThreaded: Bool = {
    setBLASThreads(1)
    return true
}()

/// Sets the number of threads BLAS uses (OpenBLAS); a no-op elsewhere.
public func setBLASThreads(_ count: Int) {
    #if !canImport(Accelerate)
    openblas_set_num_threads(Int32(max(1, count)))
    #endif
}

/// `gemm` split over `threads` workers, each calling single-threaded BLAS on a slice of `C`:
/// the larger of `m` (row blocks) and `n` (column blocks) is divided. Products under ~2 MFLOP run
/// inline, where a thread hand-off costs more than it saves.
///
/// We split ourselves instead of letting BLAS thread because OpenBLAS's idle workers spin for a
/// while after each call and would steal the cores from the fused loops (softmax, Adam, graph
/// propagation) that run between products; with BLAS at one thread (`setBLASThreads(1)`) every
/// core is ours. Each output element sums the same `k` terms as one `gemm` call would; only
/// BLAS's blocking of a slice may change the last bits. With `threads: 1` runs are bit-reproducible.
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    threads: Int, path: KernelPath? = nil
) {
    // Read on this thread: a task-local override (ScoreKernels.withPath) is invisible to workers.
    let path = path ?? ScoreKernels.current
    let workers = min(threads, max(m, n))
    if workers <= 1 || m * n * k < minimumParallelWork {
        gemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc, path: path)
        return
    }
    if n >= m {
        parallelChunks(n, threads: workers) { columns in
            let bSlice = transB == .none ? b + columns.lowerBound : b + columns.lowerBound * ldb
            gemm(transA, transB, m: m, n: columns.count, k: k, alpha: alpha, a, lda: lda, bSlice, ldb: ldb,
                 beta: beta, c + columns.lowerBound, ldc: ldc, path: path)
        }
    } else {
        parallelChunks(m, threads: workers) { rows in
            let aSlice = transA == .none ? a + rows.lowerBound * lda : a + rows.lowerBound
            gemm(transA, transB, m: rows.count, n: n, k: k, alpha: alpha, aSlice, lda: lda, b, ldb: ldb,
                 beta: beta, c + rows.lowerBound * ldc, ldc: ldc, path: path)
        }
    }
}
