// The score layer's three products (see kernels.h), once per instruction set, chosen at run time.
#include "kernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Per-thread scratch for packed panels and padded rows: grown when a call needs more and kept for
// the thread's next call, so a training step allocates nothing per tile. Calls on one thread never
// nest, so one buffer serves them all; it lives as long as its thread (the workers are long-lived).
// Cache-line aligned, so that the kernels' whole-vector loads of panels and padded rows (whose
// rows are whole vectors apart) never straddle two lines. NULL when the memory cannot be had
// (the thread keeps its old buffer): every caller then returns SRGNN_ERROR_OUT_OF_MEMORY before
// touching anything.
static float *srgnn_scratch(size_t count) {
    static _Thread_local float *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (count == 0) count = 1;  // never NULL for an empty request: NULL means failure
    if (count > capacity) {
        void *memory = NULL;
        if (count > SIZE_MAX / sizeof(float) || posix_memalign(&memory, 64, count * sizeof(float)) != 0) return NULL;
        free(buffer);
        buffer = memory;
        capacity = count;
    }
    return buffer;
}

// Shuffle indices as one macro argument.
#define SK_MASK(...) __VA_ARGS__

// Portable: Clang's vector types at 4 floats (SSE2 on x86-64, NEON on aarch64, scalar elsewhere).
#define SK_NAME(x) srgnn_portable_##x
#define SK_V SRGNN_PORTABLE_V
#define SK_MR SRGNN_PORTABLE_MR
#define SK_NV SRGNN_PORTABLE_NV
#include "score_kernels_body.h"
#undef SK_NAME
#undef SK_V
#undef SK_MR
#undef SK_NV

#if defined(__aarch64__)
// NEON is part of every aarch64 CPU: 32 registers of 4 floats, so a wider block than portable's.
#define SK_NAME(x) srgnn_neon_##x
#define SK_V SRGNN_NEON_V
#define SK_MR SRGNN_NEON_MR
#define SK_NV SRGNN_NEON_NV
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
#define SK_V SRGNN_AVX2_V
#define SK_MR SRGNN_AVX2_MR
#define SK_NV SRGNN_AVX2_NV
#include "score_kernels_body.h"
#undef SK_NAME
#undef SK_V
#undef SK_MR
#undef SK_NV
#pragma clang attribute pop

// AVX-512F (implies FMA): 32 registers of 16 floats; a 6 × 64 block (24 accumulators).
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#define SK_NAME(x) srgnn_avx512_##x
#define SK_V SRGNN_AVX512_V
#define SK_MR SRGNN_AVX512_MR
#define SK_NV SRGNN_AVX512_NV
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
    // The levels the element-wise loops' copies are compiled for (kernels.c), which include what
    // the products need (AVX2 + FMA, AVX-512F).
#if __clang_major__ >= 18
    case SRGNN_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("x86-64-v3");
    case SRGNN_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("x86-64-v4");
#else
    case SRGNN_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
    case SRGNN_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
#endif
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
// The same for the kernels that return a status (those that use scratch).
#ifdef SRGNN_X86_PATHS
#define SRGNN_X86_STATUS_CASES(call) \
    case SRGNN_KERNEL_AVX512: return srgnn_avx512_##call; \
    case SRGNN_KERNEL_AVX2: return srgnn_avx2_##call;
#else
#define SRGNN_X86_STATUS_CASES(call)
#endif
#if defined(__aarch64__)
#define SRGNN_NEON_STATUS_CASES(call) case SRGNN_KERNEL_NEON: return srgnn_neon_##call;
#else
#define SRGNN_NEON_STATUS_CASES(call)
#endif
#define SRGNN_DISPATCH_STATUS(path, call) \
    switch (path) { SRGNN_X86_STATUS_CASES(call) SRGNN_NEON_STATUS_CASES(call) default: return srgnn_portable_##call; }

int srgnn_score_tile(int path, const float *s, int64_t rows, int64_t d, const float *e, int64_t width,
                     float *c, int64_t ldc) {
    SRGNN_DISPATCH_STATUS(path, score_tile(s, rows, d, e, width, c, ldc))
}

int64_t srgnn_kernel_panel_items(int path) {
    switch (path) {
#ifdef SRGNN_X86_PATHS
    case SRGNN_KERNEL_AVX512: return SRGNN_AVX512_V * SRGNN_AVX512_NV;
    case SRGNN_KERNEL_AVX2: return SRGNN_AVX2_V * SRGNN_AVX2_NV;
#endif
#if defined(__aarch64__)
    case SRGNN_KERNEL_NEON: return SRGNN_NEON_V * SRGNN_NEON_NV;
#endif
    default: return SRGNN_PORTABLE_V * SRGNN_PORTABLE_NV;
    }
}

void srgnn_pack_items(int path, const float *e, int64_t count, int64_t d, float *panels) {
    SRGNN_DISPATCH(path, pack_items(e, count, d, panels))
}

void srgnn_score_packed(int path, const float *s, int64_t rows, int64_t d, const float *panels, int64_t first,
                        int64_t width, float *c, int64_t ldc) {
    SRGNN_DISPATCH(path, score_packed(s, rows, d, panels, first, width, c, ldc))
}

void srgnn_score_rows(int path, const float *s, int64_t d, const float *e, const int64_t *rows, int64_t count, float *out) {
    SRGNN_DISPATCH(path, score_rows(s, d, e, rows, count, out))
}

int srgnn_score_embedding_gradient(int path, const float *ds, int64_t lds, const float *s, int64_t rows, int64_t d,
                                   int64_t width, float *de, int beta, const float *row_scale) {
    SRGNN_DISPATCH_STATUS(path, embedding_gradient(ds, lds, s, rows, d, width, de, beta, row_scale))
}

int srgnn_score_session_gradient(int path, const float *ds, int64_t lds, const float *e, int64_t rows, int64_t d,
                                 int64_t width, float *dsh, const float *row_scale) {
    SRGNN_DISPATCH_STATUS(path, session_gradient(ds, lds, e, rows, d, width, dsh, row_scale))
}

int srgnn_gemm(int path, int transA, int transB, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
               const float *b, int64_t ldb, int beta, float *c, int64_t ldc) {
    SRGNN_DISPATCH_STATUS(path, gemm(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc))
}
