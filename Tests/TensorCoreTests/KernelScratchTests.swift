import CKernels
@testable import TensorCore
import Testing

/// The C kernels that pack into per-thread scratch report a scratch they cannot get as
/// `SRGNN_ERROR_OUT_OF_MEMORY` (writing nothing) instead of dereferencing NULL, and the thread's
/// scratch still serves the next call. The sizes asked for here (2^48 bytes and more) exceed the
/// 47-bit user address space, so they fail however the system overcommits memory.
@Suite struct KernelScratchTests {
    static let huge: Int64 = 1 << 44

    @Test(arguments: ScoreKernels.supportedPaths.filter { $0 != .blas })
    func scratchThatCannotBeHadIsAnError(path: KernelPath) {
        let kernel = path.cValue!
        let one: [Float] = [2], other: [Float] = [3]
        var out: [Float] = [-1]
        let outOfMemory = Int32(SRGNN_ERROR_OUT_OF_MEMORY)
        // scores: d · panel floats of packed items.
        #expect(srgnn_score_tile(kernel, one, 1, Self.huge, other, 1, &out, 1) == outOfMemory)
        // gemm: k · panel floats of packed op(B).
        #expect(srgnn_gemm(kernel, 0, 0, 1, 1, Self.huge, one, Self.huge, other, 1, 0, &out, 1) == outOfMemory)
        // dE: rows · d (padded) floats of scaled session rows.
        #expect(srgnn_score_embedding_gradient(kernel, one, 1, other, Self.huge, 1, 1, &out, 0, nil) == outOfMemory)
        // dS_h: the items past the tile's end, padded (one item of almost 2^46 floats).
        #expect(srgnn_score_session_gradient(kernel, one, 1, other, 1, 4 * Self.huge - 1, 1, &out, nil) == outOfMemory)
        #expect(out == [-1], "nothing written")
        // The thread's scratch survives the failures.
        #expect(srgnn_score_tile(kernel, one, 1, 1, other, 1, &out, 1) == Int32(SRGNN_OK))
        #expect(out == [6])
        #expect(srgnn_gemm(kernel, 0, 0, 1, 1, 1, one, 1, other, 1, 1, &out, 1) == Int32(SRGNN_OK))
        #expect(out == [12])
    }
}
