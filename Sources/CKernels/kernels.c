#include "kernels.h"
#include <math.h>
#include <string.h>

// No errno-setting libm call in a hot loop, so no -fno-math-errno is needed (a package that
// others depend on may not use unsafe compiler flags).
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define SRGNN_SQRT(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef SRGNN_SQRT
#define SRGNN_SQRT(x) sqrtf(x)
#endif


// Cephes expf: e^x = 2^n · p(r), r = x − n ln2 (in two parts), |r| ≤ ln2/2; about 1 ulp.
static inline float srgnn_exp(float x) {
    x = x < -87.33654f ? -87.33654f : (x > 88.37626f ? 88.37626f : x);
    float n = floorf(x * 1.44269504f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// Maximum of count ≥ 1 values (NaN-free input), 64 running lanes: several vector accumulators,
// so that the loop is not bound by the latency of one chain of max instructions (with 8 lanes
// it took half of the softmax pass).
static inline __attribute__((always_inline)) float srgnn_max(const float *values, int64_t count) {
    float lanes[64];
    for (int l = 0; l < 64; l++) lanes[l] = values[0];
    int64_t j = 0;
    for (; j + 64 <= count; j += 64)
        for (int l = 0; l < 64; l++) lanes[l] = values[j + l] > lanes[l] ? values[j + l] : lanes[l];
    for (int width = 32; width >= 1; width /= 2)  // halving, so that it vectorises too
        for (int l = 0; l < width; l++) lanes[l] = lanes[l + width] > lanes[l] ? lanes[l + width] : lanes[l];
    float maximum = lanes[0];
    for (; j < count; j++) maximum = values[j] > maximum ? values[j] : maximum;
    return maximum;
}

// Bit l set when values[l] > threshold, for l < 64 (NaN never). Inlined into each instruction set's copy of its callers.
static inline uint64_t srgnn_greater_mask64(const float *values, float threshold) {
    uint64_t mask = 0;
    for (int l = 0; l < 64; l++) mask |= (uint64_t)(values[l] > threshold) << l;
    return mask;
}
















// 1 / (1 + e^-x), by srgnn_exp (so that it vectorises; libm's expf is a call per element).
static inline float srgnn_sigmoid(float x) { return 1.0f / (1.0f + srgnn_exp(-x)); }

// Cephes tanhf: an odd polynomial below |x| = 0.625, 1 − 2 / (e^2|x| + 1) above; both are
// computed and one selected, so that it vectorises.
static inline float srgnn_tanh(float x) {
    float z = x < 0 ? -x : x;
    float large = 1.0f - 2.0f / (srgnn_exp(z + z) + 1.0f);
    large = x < 0 ? -large : large;
    float x2 = x * x;
    float p = -5.70498872745e-3f;
    p = p * x2 + 2.06390887954e-2f;
    p = p * x2 - 5.37397155531e-2f;
    p = p * x2 + 1.33314422036e-1f;
    p = p * x2 - 3.33332819422e-1f;
    float small = p * x2 * x + x;
    return z >= 0.625f ? large : small;
}

// "a is worse than b" in the ranking: a lower value, or the same value at a higher index.
static inline int srgnn_worse(float va, int64_t ia, float vb, int64_t ib) { return va < vb || (va == vb && ia > ib); }

static void srgnn_sift_down(float *best, int64_t *indices, int64_t size, int64_t i) {
    for (;;) {
        int64_t worst = i, left = 2 * i + 1, right = left + 1;
        if (left < size && srgnn_worse(best[left], indices[left], best[worst], indices[worst])) worst = left;
        if (right < size && srgnn_worse(best[right], indices[right], best[worst], indices[worst])) worst = right;
        if (worst == i) return;
        float v = best[i]; best[i] = best[worst]; best[worst] = v;
        int64_t x = indices[i]; indices[i] = indices[worst]; indices[worst] = x;
        i = worst;
    }
}

// Offers a value at index j to the heap of the k best so far (worst at the root; size grows to k).
// Values come in index order, so a later value enters a full heap only if strictly greater than the root.
static inline void srgnn_heap_offer(float value, int64_t j, float *best, int64_t *indices, int64_t *size, int64_t k) {
    if (value != value) return;  // NaN never enters
    if (*size < k) {
        int64_t i = (*size)++;
        best[i] = value; indices[i] = j;
        while (i > 0) {
            int64_t parent = (i - 1) / 2;
            if (!srgnn_worse(best[i], indices[i], best[parent], indices[parent])) break;
            float v = best[i]; best[i] = best[parent]; best[parent] = v;
            int64_t x = indices[i]; indices[i] = indices[parent]; indices[parent] = x;
            i = parent;
        }
    } else if (value > best[0]) {
        best[0] = value; indices[0] = j;
        srgnn_sift_down(best, indices, *size, 0);
    }
}

// A lower bound t on the k-th best of values[0..<count] (k ≤ 64 ≤ count): the k-th largest of the
// maxima of the 64 strided blocks {values[l + 64·m]} (vertical, vectorised maxima). k blocks have
// a maximum ≥ t, so k values are ≥ t, and a value below t is never among the k best. -inf when
// that says nothing (NaN blocks have maximum -inf).
static inline float srgnn_kth_block_max(const float *values, int64_t count, int64_t k) {
    float maxima[64];
    for (int l = 0; l < 64; l++) maxima[l] = -INFINITY;
    int64_t j = 0;
    for (; j + 64 <= count; j += 64)
        for (int l = 0; l < 64; l++) maxima[l] = values[j + l] > maxima[l] ? values[j + l] : maxima[l];
    for (int l = 0; j + l < count; l++) maxima[l] = values[j + l] > maxima[l] ? values[j + l] : maxima[l];
    // The k-th largest maximum: the greatest one with at least k maxima ≥ it (64² comparisons,
    // vectorised; cheaper than sorting with a branch each).
    float t = -INFINITY;
    for (int i = 0; i < 64; i++) {
        int atLeast = 0;
        for (int l = 0; l < 64; l++) atLeast += maxima[l] >= maxima[i];
        t = atLeast >= k && maxima[i] > t ? maxima[i] : t;
    }
    return t;
}


// The element-wise loops (kernels_body.h), one copy per instruction set: the baseline target's
// (the portable and neon paths), and on x86-64 the x86-64-v3 (avx2) and x86-64-v4 (avx512) ones.
// The caller names the path, as for the products; each public function below dispatches once.
#define SRGNN_EW(x) srgnn_base_##x
#include "kernels_body.h"
#undef SRGNN_EW

#if defined(__x86_64__) && defined(__clang__)
#define SRGNN_EW_X86 1
// The levels' features spelled out rather than target("arch=x86-64-v4"), which would also tune
// for that CPU model (256-bit vectors preferred) and change the code: these are the features the
// target_clones these copies replace compiled for, tuned generically, so the loops keep their bits.
#define SRGNN_X86_64_V3 "avx,avx2,bmi,bmi2,crc32,cx16,f16c,fma,lzcnt,movbe,popcnt,sahf,sse3,sse4.1,sse4.2,ssse3,xsave"
#if __clang_major__ >= 18
#define SRGNN_X86_64_V4 "avx,avx2,avx512bw,avx512cd,avx512dq,avx512f,avx512vl,bmi,bmi2,crc32,cx16,evex512,f16c,fma,lzcnt,movbe,popcnt,sahf,sse3,sse4.1,sse4.2,ssse3,xsave"
#else  // before evex512 existed
#define SRGNN_X86_64_V4 "avx,avx2,avx512bw,avx512cd,avx512dq,avx512f,avx512vl,bmi,bmi2,crc32,cx16,f16c,fma,lzcnt,movbe,popcnt,sahf,sse3,sse4.1,sse4.2,ssse3,xsave"
#endif
#pragma clang attribute push(__attribute__((target(SRGNN_X86_64_V3))), apply_to = function)
#define SRGNN_EW(x) srgnn_v3_##x
#include "kernels_body.h"
#undef SRGNN_EW
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target(SRGNN_X86_64_V4))), apply_to = function)
#define SRGNN_EW(x) srgnn_v4_##x
#include "kernels_body.h"
#undef SRGNN_EW
#pragma clang attribute pop
#endif

// `return` the path's copy of call (RETURN) or run it (RUN); an unknown path runs the baseline.
#ifdef SRGNN_EW_X86
#define SRGNN_EW_RETURN(path, call) \
    switch (path) { \
    case SRGNN_KERNEL_AVX512: return srgnn_v4_##call; \
    case SRGNN_KERNEL_AVX2: return srgnn_v3_##call; \
    default: return srgnn_base_##call; \
    }
#define SRGNN_EW_RUN(path, call) \
    switch (path) { \
    case SRGNN_KERNEL_AVX512: srgnn_v4_##call; return; \
    case SRGNN_KERNEL_AVX2: srgnn_v3_##call; return; \
    default: srgnn_base_##call; return; \
    }
#else
#define SRGNN_EW_RETURN(path, call) return srgnn_base_##call;
#define SRGNN_EW_RUN(path, call) srgnn_base_##call;
#endif

float srgnn_exp_shift_sum(int path, float *x, int64_t count, float *maximum) {
    SRGNN_EW_RETURN(path, exp_shift_sum(x, count, maximum))
}

void srgnn_gru_gates(int path, const float *gi, const float *gh, const float *input_bias, const float *hidden_bias,
                     const float *h, int64_t rows, int64_t d, float *next, float *gates) {
    SRGNN_EW_RUN(path, gru_gates(gi, gh, input_bias, hidden_bias, h, rows, d, next, gates))
}

void srgnn_gru_gates_backward(int path, const float *gates, const float *h, const float *d_next, int64_t rows, int64_t d,
                              float *d_input_gates, float *d_hidden_gates, float *d_hidden) {
    SRGNN_EW_RUN(path, gru_gates_backward(gates, h, d_next, rows, d, d_input_gates, d_hidden_gates, d_hidden))
}

float srgnn_attention_activation(int path, const float *query, float *row, const float *bias, const float *vector, int64_t d) {
    SRGNN_EW_RETURN(path, attention_activation(query, row, bias, vector, d))
}

float srgnn_attention_click_backward(int path, const float *d_global, const float *h_row, float coefficient, float *dh_row,
                                     int64_t d) {
    SRGNN_EW_RETURN(path, attention_click_backward(d_global, h_row, coefficient, dh_row, d))
}

void srgnn_attention_pre_backward(int path, float d_coefficient, const float *vector, const float *sigma, float *d_pre_row,
                                  float *dq1, int64_t d) {
    SRGNN_EW_RUN(path, attention_pre_backward(d_coefficient, vector, sigma, d_pre_row, dq1, d))
}

void srgnn_add_bias(int path, float *y, int64_t rows, int64_t width, int64_t ld, const float *bias) {
    SRGNN_EW_RUN(path, add_bias(y, rows, width, ld, bias))
}

void srgnn_add_column_sums(int path, const float *dy, int64_t rows, int64_t width, int64_t ld, float *sums) {
    SRGNN_EW_RUN(path, add_column_sums(dy, rows, width, ld, sums))
}

void srgnn_scatter_add_rows(int path, const float *rows, int64_t width, const int32_t *indices, int64_t count, float *table) {
    SRGNN_EW_RUN(path, scatter_add_rows(rows, width, indices, count, table))
}

void srgnn_stream_copy(int path, float *dst, const float *src, int64_t count) {
    SRGNN_EW_RUN(path, stream_copy(dst, src, count))
}

void srgnn_adam(int path, float *theta, const float *grad, float *m, float *v, int64_t count, float beta1, float beta2,
                float epsilon, float l2_penalty, float corrected_rate, float correction2_root) {
    SRGNN_EW_RUN(path, adam(theta, grad, m, v, count, beta1, beta2, epsilon, l2_penalty, corrected_rate, correction2_root))
}

void srgnn_normalize_rows(int path, const float *x, int64_t rows, int64_t d, float scale, float *out, float *reciprocal_norms) {
    SRGNN_EW_RUN(path, normalize_rows(x, rows, d, scale, out, reciprocal_norms))
}

void srgnn_normalize_rows_backward(int path, const float *dn, const float *n, const float *reciprocal_norms, int64_t rows,
                                   int64_t d, float *dx, int32_t accumulate) {
    SRGNN_EW_RUN(path, normalize_rows_backward(dn, n, reciprocal_norms, rows, d, dx, accumulate))
}

int64_t srgnn_count_greater(int path, const float *values, int64_t count, float threshold) {
    SRGNN_EW_RETURN(path, count_greater(values, count, threshold))
}

static float srgnn_piece_max(int path, const float *values, int64_t count) {
    SRGNN_EW_RETURN(path, piece_max(values, count))
}

static void srgnn_top_k_piece(int path, const float *values, int64_t count, int64_t first, int64_t k, int64_t *indices,
                              float *best, int64_t *heapSize) {
    SRGNN_EW_RUN(path, top_k_piece(values, count, first, k, indices, best, heapSize))
}

void srgnn_top_k_add(int path, const float *values, int64_t count, int64_t first, int64_t k, int64_t *indices, float *best,
                     int64_t *heapSize) {
    if (k <= 0) return;
    // O(count · log k). Once the heap is full most pieces (tiles of items) hold nothing better than
    // its root: one vectorised pass rules the whole piece out.
    if (*heapSize == k && count > 64 && srgnn_piece_max(path, values, count) <= best[0]) return;
    srgnn_top_k_piece(path, values, count, first, k, indices, best, heapSize);
}

void srgnn_top_k_add_rows(int path, const float *values, int64_t rows, int64_t count, int64_t ld, int64_t first, int64_t k,
                          int64_t *indices, float *best, int64_t *sizes) {
    for (int64_t r = 0; r < rows; r++)
        srgnn_top_k_add(path, values + r * ld, count, first, k, indices + r * k, best + r * k, sizes + r);
}

void srgnn_top_k_sort(int64_t *indices, float *best, int64_t size) {
    // Pop the worst to the back until the heap is empty: best first.
    for (int64_t last = size - 1; last > 0; last--) {
        float v = best[0]; best[0] = best[last]; best[last] = v;
        int64_t x = indices[0]; indices[0] = indices[last]; indices[last] = x;
        srgnn_sift_down(best, indices, last, 0);
    }
}

int64_t srgnn_top_k(int path, const float *values, int64_t count, int64_t k, int64_t *indices, float *best) {
    if (k > count) k = count;
    if (k <= 0) return 0;
    int64_t size = 0;
    srgnn_top_k_add(path, values, count, 0, k, indices, best, &size);
    srgnn_top_k_sort(indices, best, size);
    return size;
}

void srgnn_top_k_add_masked(const float *values, int64_t count, int64_t first, const uint64_t *allowed, int64_t k,
                            int64_t *indices, float *best, int64_t *heapSize) {
    if (k <= 0 || count <= 0) return;
    // Only the allowed indices are visited, word by word: a filter that keeps 1 % of the items
    // costs a pass over count / 64 words plus the allowed values.
    int64_t size = *heapSize, end = first + count;
    for (int64_t base = first / 64 * 64; base < end; base += 64) {
        uint64_t bits = allowed[base / 64];
        if (base < first) bits &= ~(uint64_t)0 << (first - base);
        if (base + 64 > end) bits &= ~(uint64_t)0 >> (base + 64 - end);
        while (bits) {
            int64_t j = base + __builtin_ctzll(bits);
            bits &= bits - 1;
            srgnn_heap_offer(values[j - first], j, best, indices, &size, k);
        }
    }
    *heapSize = size;
}

int64_t srgnn_top_k_masked(const float *values, int64_t count, const uint64_t *allowed, int64_t k, int64_t *indices, float *best) {
    int64_t size = 0;
    srgnn_top_k_add_masked(values, count, 0, allowed, k, indices, best, &size);
    srgnn_top_k_sort(indices, best, size);
    return size;
}
