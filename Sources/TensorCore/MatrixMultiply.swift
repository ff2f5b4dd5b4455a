import CKernels
#if SRGNN_BLAS
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
#endif

/// Whether an operand of `gemm` is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed
}

/// `C = alpha · op(A) · op(B) + beta · C` on row-major matrices.
///
/// `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`; `lda`, `ldb`, `ldc` are the row
/// strides of the matrices as stored; `path` is the caller's kernel path. Every product runs
/// on our register-blocked kernel of `path` (`srgnn_gemm`, see `kernelGemm`), so its speed does not
/// depend on a BLAS library knowing the CPU, and each row of C is one chain of multiply-adds
/// whatever m is: a session's activations are the same alone (1–3 rows) or stacked in a batch, so
/// `srgnn recommend` and a batch agree bit for bit. Only the `blas` path (a build with
/// `SRGNN_BLAS=1`) goes to `cblas_sgemm` / `cblas_sgemv`; this is the only function in the package
/// that calls BLAS's products.
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    path: KernelPath
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C untouched when k == 0 only if beta == 1; make the semantics explicit.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    if let kernel = path.cValue {
        kernelGemm(kernel, transA, transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
        return
    }
    #if SRGNN_BLAS
    blasGemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
    #else
    preconditionFailure(KernelPath.blasMissingMessage)
    #endif
}

/// Depth of one `srgnn_gemm` call: the kernel packs `depth × panel` floats of op(B) into its
/// per-thread scratch, so a deeper product is summed in slices of this many terms (C += each).
@usableFromInline let kernelGemmMaximumDepth = 4_096

/// `gemm` on our C kernel `kernel`. alpha 1 and beta 0 or 1 (every product of the model) run as
/// they are; other alphas and betas (only tests use them) compute the product into a temporary
/// and combine it with C in one rounding.
@usableFromInline
func kernelGemm(
    _ kernel: Int32, _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int, alpha: Float,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard alpha == 1, beta == 0 || beta == 1 else {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m * n) { product in
            let product = product.baseAddress!
            kernelGemm(kernel, transA, transB, m: m, n: n, k: k, alpha: 1, a, lda: lda, b, ldb: ldb, beta: 0, product, ldc: n)
            for i in 0..<m {
                for j in 0..<n {
                    c[i * ldc + j] = alpha * product[i * n + j] + (beta == 0 ? 0 : beta * c[i * ldc + j])
                }
            }
        }
        return
    }
    var first = 0
    while first < k {
        let depth = min(kernelGemmMaximumDepth, k - first)
        // Terms first..<first + depth: columns of op(A), rows of op(B).
        let aSlice = transA == .none ? a + first : a + first * lda
        let bSlice = transB == .none ? b + first * ldb : b + first
        let status = srgnn_gemm(
            kernel, transA == .transposed ? 1 : 0, transB == .transposed ? 1 : 0, Int64(m), Int64(n),
            Int64(depth), aSlice, Int64(lda), bSlice, Int64(ldb), first == 0 && beta == 0 ? 0 : 1, c, Int64(ldc))
        checkKernelStatus(status, "matrix product")
        first += depth
    }
}

#if SRGNN_BLAS
/// `gemm` by BLAS (the `blas` path, a build with `SRGNN_BLAS=1`).
@usableFromInline
func blasGemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int, alpha: Float,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    _ = blasIsSingleThreaded
    if m == 1 {
        // One row: a matrix-vector product, which BLAS streams faster than a 1-row gemm.
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
#endif

/// The same contract as `gemm`, computed with three plain loops (accumulating in Double):
/// the test oracle for our kernels and the BLAS path.
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

#if SRGNN_BLAS
/// BLAS runs single-threaded from its first product on: we split products over our own workers
/// (`gemm(threads:)`, the score layer's tiles), and OpenBLAS's threads would compete with them for
/// the cores and make the last bits of a product depend on how it split the work. A later
/// `setBLASThreads` still wins.
@usableFromInline let blasIsSingleThreaded: Bool = {
    setBLASThreads(1)
    return true
}()
#endif

/// Sets the number of threads BLAS uses (OpenBLAS in a BLAS build); a no-op elsewhere.
public func setBLASThreads(_ count: Int) {
    #if SRGNN_BLAS && !canImport(Accelerate)
    openblas_set_num_threads(Int32(max(1, count)))
    #endif
}

/// `gemm` split over `threads` workers, each computing a slice of `C` single-threaded: the larger
/// of `m` (row blocks) and `n` (column blocks) is divided. Products under ~2 MFLOP run inline,
/// where a thread hand-off costs more than it saves.
///
/// Each output element sums the same `k` terms as one `gemm` call would, so on our kernels the
/// split changes no bit; on the `blas` path (single-threaded BLAS, whose idle workers would
/// otherwise spin and steal the cores from the fused loops between products) only BLAS's blocking
/// of a slice may change the last bits. With `threads: 1` runs are bit-reproducible.
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    threads: Int, path: KernelPath
) {
    let workers = min(threads, max(m, n))
    if workers <= 1 || m * n * k < minimumParallelWork {
        gemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc, path: path)
        return
    }
    if n >= m {
        parallelChunks(n, threads: workers) { columns in
            let bSlice = transB == .none ? b + columns.lowerBound : b + columns.lowerBound * ldb
            gemm(
                transA, transB, m: m, n: columns.count, k: k, alpha: alpha, a, lda: lda, bSlice, ldb: ldb,
                beta: beta, c + columns.lowerBound, ldc: ldc, path: path)
        }
    } else {
        parallelChunks(m, threads: workers) { rows in
            let aSlice = transA == .none ? a + rows.lowerBound * lda : a + rows.lowerBound
            gemm(
                transA, transB, m: rows.count, n: n, k: k, alpha: alpha, aSlice, lda: lda, b, ldb: ldb,
                beta: beta, c + rows.lowerBound * ldc, ldc: ldc, path: path)
        }
    }
}
