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

#if defined(__x86_64__) && defined(__clang__) && !defined(__APPLE__)
#define SRGNN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SRGNN_CLONES
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

// Bit l set when values[l] > threshold, for l < 64 (NaN never). Inlined into its callers' clones.
static inline uint64_t srgnn_greater_mask64(const float *values, float threshold) {
    uint64_t mask = 0;
    for (int l = 0; l < 64; l++) mask |= (uint64_t)(values[l] > threshold) << l;
    return mask;
}

// Maximum of a piece of count ≥ 1 values.
SRGNN_CLONES
static float srgnn_piece_max(const float *values, int64_t count) { return srgnn_max(values, count); }

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

SRGNN_CLONES
void srgnn_gru_gates(const float *gi, const float *gh, const float *input_bias, const float *hidden_bias, const float *h,
                     int64_t rows, int64_t d, float *next, float *gates) {
    for (int64_t v = 0; v < rows; v++) {
        const float *gi_row = gi + v * 3 * d, *gh_row = gh + v * 3 * d, *h_row = h + v * d;
        float *next_row = next + v * d, *gate_row = gates + v * 4 * d;
        // Outputs never overlap inputs. One vector at a time with a masked tail: with the
        // default four-vector interleave, d = 100 left 36 elements to a scalar loop.
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < d; j++) {
            float reset = srgnn_sigmoid(gi_row[j] + input_bias[j] + gh_row[j] + hidden_bias[j]);
            float update = srgnn_sigmoid(gi_row[d + j] + input_bias[d + j] + gh_row[d + j] + hidden_bias[d + j]);
            float hidden_candidate = gh_row[2 * d + j] + hidden_bias[2 * d + j];
            float candidate = srgnn_tanh(gi_row[2 * d + j] + input_bias[2 * d + j] + reset * hidden_candidate);
            next_row[j] = candidate + update * (h_row[j] - candidate);
            gate_row[j] = reset;
            gate_row[d + j] = update;
            gate_row[2 * d + j] = candidate;
            gate_row[3 * d + j] = hidden_candidate;
        }
    }
}

// Each element as written, left to right, with no contraction into fused multiply-adds (the same
// bits on every target); in C so that it vectorises: as a Swift loop over pointers that may alias,
// it ran scalar.
SRGNN_CLONES
void srgnn_gru_gates_backward(const float *gates, const float *h, const float *d_next, int64_t rows, int64_t d,
                              float *d_input_gates, float *d_hidden_gates, float *d_hidden) {
#pragma clang fp contract(off)
    for (int64_t v = 0; v < rows; v++) {
        const float *gate_row = gates + v * 4 * d, *h_row = h + v * d, *d_next_row = d_next + v * d;
        float *dgi = d_input_gates + v * 3 * d, *dgh = d_hidden_gates + v * 3 * d, *dh = d_hidden + v * d;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < d; j++) {
            float reset = gate_row[j], update = gate_row[d + j], candidate = gate_row[2 * d + j];
            float hidden_candidate = gate_row[3 * d + j], d_out = d_next_row[j];
            float d_candidate = d_out * (1 - update);
            float d_update = d_out * (h_row[j] - candidate);
            dh[j] = d_out * update;
            float d_candidate_pre = d_candidate * (1 - candidate * candidate);
            float d_reset_pre = d_candidate_pre * hidden_candidate * reset * (1 - reset);
            float d_update_pre = d_update * update * (1 - update);
            dgi[j] = d_reset_pre;
            dgh[j] = d_reset_pre;
            dgi[d + j] = d_update_pre;
            dgh[d + j] = d_update_pre;
            dgi[2 * d + j] = d_candidate_pre;
            dgh[2 * d + j] = d_candidate_pre * reset;
        }
    }
}

SRGNN_CLONES
float srgnn_attention_activation(const float *query, float *row, const float *bias, const float *vector, int64_t d) {
#pragma clang fp reassociate(on)
    float coefficient = 0.0f;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
    for (int64_t j = 0; j < d; j++) {
        float activated = srgnn_sigmoid(query[j] + row[j] + bias[j]);
        row[j] = activated;
        coefficient += activated * vector[j];
    }
    return coefficient;
}

SRGNN_CLONES
float srgnn_attention_click_backward(const float *d_global, const float *h_row, float coefficient, float *dh_row, int64_t d) {
#pragma clang fp reassociate(on)
    float dot = 0.0f;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
    for (int64_t j = 0; j < d; j++) {
        dot += d_global[j] * h_row[j];
        dh_row[j] += coefficient * d_global[j];
    }
    return dot;
}

SRGNN_CLONES
void srgnn_attention_pre_backward(float d_coefficient, const float *vector, const float *sigma, float *d_pre_row, float *dq1,
                                  int64_t d) {
#pragma clang fp contract(off)
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
    for (int64_t j = 0; j < d; j++) {
        float value = d_coefficient * vector[j] * sigma[j] * (1 - sigma[j]);
        d_pre_row[j] = value;
        dq1[j] += value;
    }
}

SRGNN_CLONES
void srgnn_add_bias(float *y, int64_t rows, int64_t width, int64_t ld, const float *bias) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * ld;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < width; j++) row[j] += bias[j];
    }
}

SRGNN_CLONES
void srgnn_add_column_sums(const float *dy, int64_t rows, int64_t width, int64_t ld, float *sums) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = dy + r * ld;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < width; j++) sums[j] += row[j];
    }
}

SRGNN_CLONES
void srgnn_scatter_add_rows(const float *rows, int64_t width, const int32_t *indices, int64_t count, float *table) {
    for (int64_t i = 0; i < count; i++) {
        const float *source = rows + i * width;
        float *target = table + (int64_t)indices[i] * width;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < width; j++) target[j] += source[j];
    }
}

// Whole cache lines of dst written with non-temporal stores: no read of the old line first (a
// plain store reads it from memory), and the rows do not push the caller's working set out.
// Ends with a store fence, so that whatever synchronises with this thread afterwards sees them.
SRGNN_CLONES
void srgnn_stream_copy(float *restrict dst, const float *restrict src, int64_t count) {
    typedef float line __attribute__((ext_vector_type(16)));
    int64_t j = 0;
    while (j < count && ((uintptr_t)(dst + j) & 63) != 0) { dst[j] = src[j]; j++; }
    for (; j + 16 <= count; j += 16) {
        line value;
        memcpy(&value, src + j, sizeof value);
        __builtin_nontemporal_store(value, (line *)(dst + j));
    }
    for (; j < count; j++) dst[j] = src[j];
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_sfence();
#endif
}

SRGNN_CLONES
float srgnn_exp_shift_sum(float *x, int64_t count, float *maximum) {
#pragma clang fp reassociate(on)
    float m = count > 0 ? srgnn_max(x, count) : -INFINITY;
    float sum = 0.0f;
    for (int64_t j = 0; j < count; j++) {
        float e = srgnn_exp(x[j] - m);
        x[j] = e;
        sum += e;
    }
    *maximum = m;
    return sum;
}

// The row sums are reassociated (vector lanes), always the same way for a given d, so a row
// normalises to the same bits whether it comes alone (a graph input) or in the whole matrix.
// Outputs may be the inputs themselves (in place) but never partly overlap them, so the element
// loops are vectorised without the runtime overlap check that, failing in place, fell back to
// scalar code. Every loop over a row runs one vector at a time with a masked tail: the default
// four-vector stride left 36 of d = 100 to scalar code.
SRGNN_CLONES
void srgnn_normalize_rows(const float *x, int64_t rows, int64_t d, float scale, float *out, float *reciprocal_norms) {
#pragma clang fp reassociate(on)
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * d;
        float squares = 0.0f;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < d; j++) squares += row[j] * row[j];
        float norm = SRGNN_SQRT(squares);
        float reciprocal = 1.0f / (norm > 1e-12f ? norm : 1e-12f);
        float factor = scale * reciprocal;
        float *target = out + r * d;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < d; j++) target[j] = row[j] * factor;
        if (reciprocal_norms) reciprocal_norms[r] = reciprocal;
    }
}

SRGNN_CLONES
void srgnn_normalize_rows_backward(const float *dn, const float *n, const float *reciprocal_norms, int64_t rows, int64_t d,
                                   float *dx, int32_t accumulate) {
#pragma clang fp reassociate(on)
    for (int64_t r = 0; r < rows; r++) {
        const float *d_row = dn + r * d, *unit = n + r * d;
        float *target = dx + r * d;
        float projection = 0.0f;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < d; j++) projection += unit[j] * d_row[j];
        float reciprocal = reciprocal_norms[r];
        if (accumulate) {
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
            for (int64_t j = 0; j < d; j++) target[j] += (d_row[j] - unit[j] * projection) * reciprocal;
        } else {
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
            for (int64_t j = 0; j < d; j++) target[j] = (d_row[j] - unit[j] * projection) * reciprocal;
        }
    }
}

SRGNN_CLONES
void srgnn_adam(float *restrict theta, const float *restrict grad, float *restrict m, float *restrict v,
                int64_t count, float beta1, float beta2, float epsilon, float l2_penalty,
                float corrected_rate, float correction2_root) {
    // PyTorch divides √v by √(1 − β₂^t); one division per element fewer (the loop is bound by
    // divider and square-root throughput), at most an ulp apart.
    const float reciprocal_root = 1.0f / correction2_root;
    for (int64_t i = 0; i < count; i++) {
        float g = grad[i] + l2_penalty * theta[i];
        float mi = m[i] + (1.0f - beta1) * (g - m[i]);  // PyTorch: exp_avg.lerp_(grad, 1 - beta1)
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        float denominator = SRGNN_SQRT(vi) * reciprocal_root + epsilon;
        theta[i] -= corrected_rate * (mi / denominator);
        m[i] = mi;
        v[i] = vi;
    }
}

SRGNN_CLONES
int64_t srgnn_count_greater(const float *values, int64_t count, float threshold) {
#pragma clang fp reassociate(on)
    int64_t total = 0;
    for (int64_t j = 0; j < count; j++) total += values[j] > threshold;
    return total;
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

// The body of srgnn_top_k_add, the piece not yet ruled out by its maximum.
SRGNN_CLONES
static void srgnn_top_k_piece(const float *values, int64_t count, int64_t first, int64_t k, int64_t *indices, float *best,
                              int64_t *heapSize) {
    int64_t size = *heapSize, j = 0;
    // Filling the heap: against its rising root, ~80 values of a row's first tile of 1,024 enter
    // and most leave again (k = 20). Only values ≥ the piece's bound t can be among its best k,
    // and there are few (~1.2·k): offering just those, in order, leaves the same heap.
    float floor = -INFINITY;
    if (size < k && k <= 64 && count >= 4 * 64) {
        float t = srgnn_kth_block_max(values, count, k);
        if (t > -INFINITY) floor = nextafterf(t, -INFINITY);  // v ≥ t  ⇔  v > floor
    }
    if (floor > -INFINITY) {
        for (; j + 64 <= count; j += 64) {
            float threshold = size == k && best[0] > floor ? best[0] : floor;
            uint64_t above = srgnn_greater_mask64(values + j, threshold);
            while (above) {
                int64_t at = j + __builtin_ctzll(above);
                above &= above - 1;
                srgnn_heap_offer(values[at], first + at, best, indices, &size, k);
            }
        }
        for (; j < count; j++)
            if (values[j] > floor) srgnn_heap_offer(values[j], first + j, best, indices, &size, k);
        *heapSize = size;
        return;
    }
    while (j < count) {
        if (size == k && j + 64 <= count) {
            // A full heap: only the values of the block above its root can enter, found by one
            // vectorised comparison; the root only rises, so each is checked again in turn.
            uint64_t above = srgnn_greater_mask64(values + j, best[0]);
            while (above) {
                int64_t at = j + __builtin_ctzll(above);
                above &= above - 1;
                srgnn_heap_offer(values[at], first + at, best, indices, &size, k);
            }
            j += 64;
        } else {
            srgnn_heap_offer(values[j], first + j, best, indices, &size, k);
            j++;
        }
    }
    *heapSize = size;
}

void srgnn_top_k_add(const float *values, int64_t count, int64_t first, int64_t k, int64_t *indices, float *best,
                     int64_t *heapSize) {
    if (k <= 0) return;
    // O(count · log k). Once the heap is full most pieces (tiles of items) hold nothing better than
    // its root: one vectorised pass rules the whole piece out.
    if (*heapSize == k && count > 64 && srgnn_piece_max(values, count) <= best[0]) return;
    srgnn_top_k_piece(values, count, first, k, indices, best, heapSize);
}

void srgnn_top_k_add_rows(const float *values, int64_t rows, int64_t count, int64_t ld, int64_t first, int64_t k,
                          int64_t *indices, float *best, int64_t *sizes) {
    for (int64_t r = 0; r < rows; r++)
        srgnn_top_k_add(values + r * ld, count, first, k, indices + r * k, best + r * k, sizes + r);
}

void srgnn_top_k_sort(int64_t *indices, float *best, int64_t size) {
    // Pop the worst to the back until the heap is empty: best first.
    for (int64_t last = size - 1; last > 0; last--) {
        float v = best[0]; best[0] = best[last]; best[last] = v;
        int64_t x = indices[0]; indices[0] = indices[last]; indices[last] = x;
        srgnn_sift_down(best, indices, last, 0);
    }
}

int64_t srgnn_top_k(const float *values, int64_t count, int64_t k, int64_t *indices, float *best) {
    if (k > count) k = count;
    if (k <= 0) return 0;
    int64_t size = 0;
    srgnn_top_k_add(values, count, 0, k, indices, best, &size);
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
