import CKernels
import Foundation
#if SRGNN_BLAS
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
#endif

/// An implementation of the score layer's three products (`ScoreKernels`).
///
/// `avx512`, `avx2` and `portable` (and `neon` on aarch64) are our register-blocked C kernels
/// (`Sources/CKernels/score_kernels.c`); `blas` is `gemm`, i.e. whatever kernel the BLAS library
/// picked for the CPU it detected, and exists only in a build with `SRGNN_BLAS=1` (the benchmark's
/// opponent; elsewhere `isSupported` is false).
public enum KernelPath: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case avx512, avx2, neon, portable, blas

    public var description: String { rawValue }

    /// The C kernels' number for the path (nil for `blas`).
    @usableFromInline var cValue: Int32? {
        switch self {
        case .portable: Int32(SRGNN_KERNEL_PORTABLE)
        case .avx2: Int32(SRGNN_KERNEL_AVX2)
        case .avx512: Int32(SRGNN_KERNEL_AVX512)
        case .neon: Int32(SRGNN_KERNEL_NEON)
        case .blas: nil
        }
    }

    /// The C number of the element-wise loops' copy for the path: the path's own, or for `blas`
    /// (which has no loops of its own) that of the fastest C path, as before there were paths.
    @usableFromInline var loopKernel: Int32 { cValue ?? KernelPath.blasLoopKernel }

    @usableFromInline static let blasLoopKernel = Int32(srgnn_kernel_best())

    /// Whether this machine (and this build, for `blas`) can run the path.
    public var isSupported: Bool { cValue.map { srgnn_kernel_supported($0) != 0 } ?? BLASInfo.isLinked }

    /// Why `blas` is refused in a build without BLAS.
    public static let blasMissingMessage =
        "the blas kernel path needs a build with BLAS (SRGNN_BLAS=1 swift build …); this build links none"
}

/// The score layer's three products on a tile of items, by the path chosen for the machine:
///
///     scores      C[B, W]  = S[B, d] · E[W, d]^T                   (rows of C ldc apart)
///     dE          dE[W, d] (=, +=) dS[B, W]^T · S[B, d]            (rows of dS ldd apart)
///     dS_h        dS_h[B, d] += dS[B, W] · E[W, d]
///
/// d is the hidden size (~100, not a multiple of the vector width), B the batch (1 when serving),
/// W a tile of items (~1,024, the last one partial). Our kernels do not depend on the BLAS
/// library recognising the CPU: Debian's OpenBLAS 0.3.21 runs its generic (Prescott) kernels on a
/// Sapphire Rapids, ~4× slower than its SkylakeX ones, while `avx512` is at least as fast as those.
///
/// The path is `ScoreKernels.defaultPath` — the environment's `SRGNN_KERNEL`
/// (`avx512|avx2|neon|portable|blas`) when set to a path this CPU runs, else the fastest
/// supported — and a model holds the path it runs on (`SRGNNModel.kernelPath`; tests set it to
/// run the model through every path). Every C loop, products and element-wise loops alike, takes
/// its path as an argument, passed down from that owner to every worker: there is no ambient
/// default that a worker thread could miss.
public enum ScoreKernels {
    /// The paths this machine runs, fastest first; `blas` is always last.
    public static let supportedPaths: [KernelPath] = [.avx512, .avx2, .neon, .portable, .blas].filter(\.isSupported)

    /// Our fastest kernel on this machine.
    public static let best: KernelPath = supportedPaths[0]

    /// The path a model or optimizer starts with (`SRGNNModel.kernelPath`): `SRGNN_KERNEL` when it
    /// names a supported path, else `best`. Every pass then passes its owner's path explicitly,
    /// to each worker thread and each C loop.
    public static let defaultPath: KernelPath = {
        guard let name = ProcessInfo.processInfo.environment["SRGNN_KERNEL"], !name.isEmpty else { return best }
        if KernelPath(rawValue: name.lowercased()) == .blas, !BLASInfo.isLinked {
            FileHandle.standardError.write(Data("srgnn: SRGNN_KERNEL=\(name): \(KernelPath.blasMissingMessage); using \(best)\n".utf8))
            return best
        }
        guard let path = KernelPath(rawValue: name.lowercased()), path.isSupported else {
            FileHandle.standardError.write(
                Data(
                    "srgnn: SRGNN_KERNEL=\(name) is not a kernel this CPU runs (\(supportedPaths.map(\.rawValue).joined(separator: ", "))); using \(best)\n"
                        .utf8))
            return best
        }
        return path
    }()

    /// `C[r, j] = S[r, :] · E[j, :]` for `r < rows`, `j < width`; rows of `C` `ldc` apart. On our
    /// kernels a row's scores do not depend on `rows` (one session scores the same alone or in a
    /// batch); `blas` gives no such promise.
    public static func scores(
        _ path: KernelPath, session s: UnsafePointer<Float>, rows: Int, hiddenSize d: Int,
        items e: UnsafePointer<Float>, width: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if let kernel = path.cValue {
            checkKernelStatus(srgnn_score_tile(kernel, s, Int64(rows), Int64(d), e, Int64(width), c, Int64(ldc)), "score tile")
        } else {
            gemm(.none, .transposed, m: rows, n: width, k: d, s, lda: d, e, ldb: d, c, ldc: ldc, path: .blas)
        }
    }

    /// Items per panel of `packItems` on `path` (nil for `blas`, which does not pack).
    public static func panelItems(_ path: KernelPath) -> Int? {
        path.cValue.map { Int(srgnn_kernel_panel_items($0)) }
    }

    /// `E[count, d]` packed for `packedScores` on `path` (a C kernel path): panels of
    /// `panelItems(path)` items, k-major, zeros past the last item.
    public static func packItems(_ path: KernelPath, items e: UnsafePointer<Float>, count: Int, hiddenSize d: Int) -> [Float] {
        let panel = panelItems(path)!
        let size = (count + panel - 1) / panel * panel * d
        return [Float](unsafeUninitializedCapacity: size) { buffer, initialized in
            // Read whole by every lone session's ranking: huge pages, before the first write.
            adviseHugePages(UnsafeMutableRawPointer(buffer.baseAddress!), bytes: size * MemoryLayout<Float>.size)
            srgnn_pack_items(path.cValue!, e, Int64(count), Int64(d), buffer.baseAddress!)
            initialized = size
        }
    }

    /// `out[i] = s · E[rows[i], :]` (`E` row-major, `d` wide) on a C kernel path: for each item the
    /// very bits `scores` and `packedScores` give it on that path, reading only its row.
    public static func rowScores(
        _ path: KernelPath, session s: UnsafePointer<Float>, hiddenSize d: Int, items e: UnsafePointer<Float>, rows: [Int64],
        into out: UnsafeMutablePointer<Float>
    ) {
        srgnn_score_rows(path.cValue!, s, Int64(d), e, rows, Int64(rows.count), out)
    }

    /// `C[r, j] = S[r, :] · E[first + j, :]` from items packed by `packItems` on the same path;
    /// `first` a multiple of the panel size. Bit for bit the scores `scores` gives on that path.
    public static func packedScores(
        _ path: KernelPath, session s: UnsafePointer<Float>, rows: Int, hiddenSize d: Int,
        packedItems panels: UnsafePointer<Float>, first: Int, width: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(first % panelItems(path)! == 0, "packed scores start at a panel boundary")
        srgnn_score_packed(path.cValue!, s, Int64(rows), Int64(d), panels, Int64(first), Int64(width), c, Int64(ldc))
    }

    /// `dE[j, :] (=, +=) Σ_r dS[r, j] · g_r · S[r, :]` over a `[width, d]` `dE` (`accumulate` adds),
    /// with `g = rowScale`, or 1 when nil: the score layer passes each row's softmax factor here
    /// rather than writing the scaled `dS` back into the `[B, I]` matrix.
    public static func embeddingGradient(
        _ path: KernelPath, dScores ds: UnsafePointer<Float>, ldd: Int,
        session s: UnsafePointer<Float>, rows: Int, hiddenSize d: Int, width: Int,
        into de: UnsafeMutablePointer<Float>, accumulate: Bool,
        rowScale: UnsafePointer<Float>? = nil
    ) {
        if let kernel = path.cValue {
            checkKernelStatus(
                srgnn_score_embedding_gradient(
                    kernel, ds, Int64(ldd), s, Int64(rows), Int64(d), Int64(width), de,
                    accumulate ? 1 : 0, rowScale), "embedding gradient")
        } else if let rowScale {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * d) { scaled in
                for r in 0..<rows { for k in 0..<d { scaled[r * d + k] = s[r * d + k] * rowScale[r] } }
                gemm(
                    .transposed, .none, m: width, n: d, k: rows, ds, lda: ldd, scaled.baseAddress!, ldb: d,
                    beta: accumulate ? 1 : 0, de, ldc: d, path: .blas)
            }
        } else {
            gemm(.transposed, .none, m: width, n: d, k: rows, ds, lda: ldd, s, ldb: d, beta: accumulate ? 1 : 0, de, ldc: d, path: .blas)
        }
    }

    /// `dS_h[r, :] += g_r · Σ_j dS[r, j] · E[j, :]` over a `[rows, d]` `dS_h`, `g` as in `embeddingGradient`.
    public static func sessionGradient(
        _ path: KernelPath, dScores ds: UnsafePointer<Float>, ldd: Int,
        items e: UnsafePointer<Float>, rows: Int, hiddenSize d: Int, width: Int,
        adding dsh: UnsafeMutablePointer<Float>, rowScale: UnsafePointer<Float>? = nil
    ) {
        if let kernel = path.cValue {
            checkKernelStatus(
                srgnn_score_session_gradient(kernel, ds, Int64(ldd), e, Int64(rows), Int64(d), Int64(width), dsh, rowScale),
                "session gradient")
        } else if let rowScale {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * d) { sums in
                gemm(.none, .none, m: rows, n: d, k: width, ds, lda: ldd, e, ldb: d, sums.baseAddress!, ldc: d, path: .blas)
                for r in 0..<rows { for k in 0..<d { dsh[r * d + k] += rowScale[r] * sums[r * d + k] } }
            }
        } else {
            gemm(.none, .none, m: rows, n: d, k: width, ds, lda: ldd, e, ldb: d, beta: 1, dsh, ldc: d, path: .blas)
        }
    }
}

/// Stops the process with a clear message when a C kernel reports that its per-thread scratch
/// memory could not be had (`SRGNN_ERROR_OUT_OF_MEMORY`; it wrote nothing). An out-of-memory in
/// the middle of a product, on a worker thread of a parallel region, cannot be recovered from
/// there, and threading a thrown error through every product of the model would cost every
/// caller a `try` for a case that ends the run anyway: so a checked stop, never a NULL dereference.
@inlinable @inline(__always)
public func checkKernelStatus(_ status: Int32, _ operation: StaticString) {
    if status != Int32(SRGNN_OK) { kernelFailed(status, operation) }
}

@usableFromInline @inline(never)
func kernelFailed(_ status: Int32, _ operation: StaticString) -> Never {
    if status == Int32(SRGNN_ERROR_OUT_OF_MEMORY) {
        fatalError("srgnn: out of memory: the \(operation) kernel could not allocate its scratch buffer")
    }
    fatalError("srgnn: the \(operation) kernel failed with status \(status)")
}

/// What `srgnn bench` reports about the machine's linear algebra.
public enum BLASInfo {
    /// Whether this build links a BLAS library (`SRGNN_BLAS=1` at build time): the `blas` path.
    public static var isLinked: Bool {
        #if SRGNN_BLAS
        return true
        #else
        return false
        #endif
    }

    /// The BLAS library: `OpenBLAS <config>` on Linux, `Accelerate` on Apple platforms, `none`
    /// in a build without BLAS (the default).
    public static var library: String {
        #if !SRGNN_BLAS
        return "none"
        #elseif canImport(Accelerate)
        return "Accelerate"
        #else
        return openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        #endif
    }

    /// The CPU core the BLAS library detected and runs kernels for (OpenBLAS's `Prescott`,
    /// `SkylakeX`, …); `nil` where the library does not say or none is linked.
    public static var detectedCore: String? {
        #if SRGNN_BLAS && !canImport(Accelerate)
        return openblas_get_corename().map { String(cString: $0) }
        #else
        return nil
        #endif
    }
}
