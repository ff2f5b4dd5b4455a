// The score layer's three products (see kernels.h), once per instruction set, chosen at run time.
#include "kernels.h"
#include <stdlib.h>
#include <string.h>

// Per-thread scratch for packed panels and padded rows: grown when a call needs more and kept for
// the thread's next call, so a training step allocates nothing per tile. Calls on one thread never
// nest, so one buffer serves them all; it lives as long as its thread (the workers are long-lived).
// Cache-line aligned, so that the kernels' whole-vector loads of panels and padded rows (whose
// rows are whole vectors apart) never straddle two lines.
static float *srgnn_scratch(size_t count) {
    static _Thread_local float *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (count > capacity) {
        free(buffer);
        void *memory = NULL;
        buffer = posix_memalign(&memory, 64, count * sizeof(float)) == 0 ? memory : NULL;
        capacity = buffer ? count : 0;
    }
    return buffer;
}

// Shuffle indices as one macro argument.
#define SK_MASK(...) __VA_ARGS__

// Portable: Clang's vector types at 4 floats (SSE2 on x86-64, NEON on aarch64, scalar elsewhere).
#define SK_NAME(x) srgnn_portable_##x
#define SK_V 4
#define SK_MR 4
#define SK_NV 2
#include "score_kernels_body.h"
#undef SK_NAME
#undef SK_V
#undef SK_MR
#undef SK_NV

#if defined(__aarch64__)
// NEON is part of every aarch64 CPU: 32 registers of 4 floats, so a wider block than portable's.
#define SK_NAME(x) srgnn_neon_##x
#define SK_V 4
#define SK_MR 6
#define SK_NV 4
#include "score_kernels_body.h"
#undef SK_NAME
#undef SK_V
#undef SK_MR
#undef SK_NV
#endif

#if defined(__x86_64__) && defined(__clang__)
#define SRGNN_X86_PATHS 1
// AVX2 + FMA: 16 registers of 8 floats; a 6 × 16 block (12 accumulators).
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define SK_NAME(x) srgnn_avx2_##x
#define SK_V 8
#define SK_MR 6
#define SK_NV 2
#include "score_kernels_body.h"
#undef SK_NAME
#undef SK_V
#undef SK_MR
#undef SK_NV
#pragma clang attribute pop

// AVX-512F (implies FMA): 32 registers of 16 floats; a 6 × 64 block (24 accumulators).
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#define SK_NAME(x) srgnn_avx512_##x
#define SK_V 16
#define SK_MR 6
#define SK_NV 4
#include "score_kernels_body.h"
#undef SK_NAME
#undef SK_V
#undef SK_MR
#undef SK_NV
#pragma clang attribute pop
#endif

int srgnn_kernel_supported(int path) {
    switch (path) {
    case SRGNN_KERNEL_PORTABLE: return 1;
#if defined(__aarch64__)
    case SRGNN_KERNEL_NEON: return 1;
#endif
#ifdef SRGNN_X86_PATHS
    case SRGNN_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SRGNN_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

int srgnn_kernel_best(void) {
    if (srgnn_kernel_supported(SRGNN_KERNEL_AVX512)) return SRGNN_KERNEL_AVX512;
    if (srgnn_kernel_supported(SRGNN_KERNEL_AVX2)) return SRGNN_KERNEL_AVX2;
    if (srgnn_kernel_supported(SRGNN_KERNEL_NEON)) return SRGNN_KERNEL_NEON;
    return SRGNN_KERNEL_PORTABLE;
}

#ifdef SRGNN_X86_PATHS
#define SRGNN_X86_CASES(call) \
    case SRGNN_KERNEL_AVX512: srgnn_avx512_##call; return; \
    case SRGNN_KERNEL_AVX2: srgnn_avx2_##call; return;
#else
#define SRGNN_X86_CASES(call)
#endif
#if defined(__aarch64__)
#define SRGNN_NEON_CASES(call) case SRGNN_KERNEL_NEON: srgnn_neon_##call; return;
#else
#define SRGNN_NEON_CASES(call)
#endif
// An unsupported path falls back to portable (the Swift side only passes supported ones).
#define SRGNN_DISPATCH(path, call) \
    switch (path) { SRGNN_X86_CASES(call) SRGNN_NEON_CASES(call) default: srgnn_portable_##call; return; }

void srgnn_score_tile(int path, const float *s, int64_t rows, int64_t d, const float *e, int64_t width,
                      float *c, int64_t ldc) {
    SRGNN_DISPATCH(path, score_tile(s, rows, d, e, width, c, ldc))
}

int64_t srgnn_kernel_panel_items(int path) {
    switch (path) {
#ifdef SRGNN_X86_PATHS
    case SRGNN_KERNEL_AVX512: return 16 * 4;
    case SRGNN_KERNEL_AVX2: return 8 * 2;
#endif
#if defined(__aarch64__)
    case SRGNN_KERNEL_NEON: return 4 * 4;
#endif
    default: return 4 * 2;
    }
}

void srgnn_pack_items(int path, const float *e, int64_t count, int64_t d, float *panels) {
    SRGNN_DISPATCH(path, pack_items(e, count, d, panels))
}

void srgnn_score_packed(int path, const float *s, int64_t rows, int64_t d, const float *panels, int64_t first,
                        int64_t width, float *c, int64_t ldc) {
    SRGNN_DISPATCH(path, score_packed(s, rows, d, panels, first, width, c, ldc))
}

void srgnn_score_embedding_gradient(int path, const float *ds, int64_t lds, const float *s, int64_t rows, int64_t d,
                                    int64_t width, float *de, int beta, const float *row_scale) {
    SRGNN_DISPATCH(path, embedding_gradient(ds, lds, s, rows, d, width, de, beta, row_scale))
}

void srgnn_score_session_gradient(int path, const float *ds, int64_t lds, const float *e, int64_t rows, int64_t d,
                                  int64_t width, float *dsh, const float *row_scale) {
    SRGNN_DISPATCH(path, session_gradient(ds, lds, e, rows, d, width, dsh, row_scale))
}

void srgnn_gemm(int path, int transA, int transB, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                const float *b, int64_t ldb, int beta, float *c, int64_t ldc) {
    SRGNN_DISPATCH(path, gemm(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc))
}
