// The element-wise loops of kernels.c (see kernels.h), included once per instruction set with
// SRGNN_EW(x) naming the set's copy of x; kernels.c compiles each copy for its set (a
// #pragma clang attribute) and its public functions call the copy of the path they are given.

// Maximum of a piece of count ≥ 1 values.
static float SRGNN_EW(piece_max)(const float *values, int64_t count) { return srgnn_max(values, count); }

static void SRGNN_EW(gru_gates)(const float *gi, const float *gh, const float *input_bias, const float *hidden_bias, const float *h,
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
static void SRGNN_EW(gru_gates_backward)(const float *gates, const float *h, const float *d_next, int64_t rows, int64_t d,
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

static float SRGNN_EW(attention_activation)(const float *query, float *row, const float *bias, const float *vector, int64_t d) {
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

static float SRGNN_EW(attention_click_backward)(const float *d_global, const float *h_row, float coefficient, float *dh_row, int64_t d) {
#pragma clang fp reassociate(on)
    float dot = 0.0f;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
    for (int64_t j = 0; j < d; j++) {
        dot += d_global[j] * h_row[j];
        dh_row[j] += coefficient * d_global[j];
    }
    return dot;
}

static void SRGNN_EW(attention_pre_backward)(float d_coefficient, const float *vector, const float *sigma, float *d_pre_row, float *dq1,
                                  int64_t d) {
#pragma clang fp contract(off)
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
    for (int64_t j = 0; j < d; j++) {
        float value = d_coefficient * vector[j] * sigma[j] * (1 - sigma[j]);
        d_pre_row[j] = value;
        dq1[j] += value;
    }
}

static void SRGNN_EW(add_bias)(float *y, int64_t rows, int64_t width, int64_t ld, const float *bias) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * ld;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < width; j++) row[j] += bias[j];
    }
}

static void SRGNN_EW(add_column_sums)(const float *dy, int64_t rows, int64_t width, int64_t ld, float *sums) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = dy + r * ld;
#pragma clang loop vectorize(assume_safety) interleave_count(1) vectorize_predicate(enable)
        for (int64_t j = 0; j < width; j++) sums[j] += row[j];
    }
}

static void SRGNN_EW(scatter_add_rows)(const float *rows, int64_t width, const int32_t *indices, int64_t count, float *table) {
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
static void SRGNN_EW(stream_copy)(float *restrict dst, const float *restrict src, int64_t count) {
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

static float SRGNN_EW(exp_shift_sum)(float *x, int64_t count, float *maximum) {
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
static void SRGNN_EW(normalize_rows)(const float *x, int64_t rows, int64_t d, float scale, float *out, float *reciprocal_norms) {
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

static void SRGNN_EW(normalize_rows_backward)(const float *dn, const float *n, const float *reciprocal_norms, int64_t rows, int64_t d,
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

static void SRGNN_EW(adam)(float *restrict theta, const float *restrict grad, float *restrict m, float *restrict v,
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

static int64_t SRGNN_EW(count_greater)(const float *values, int64_t count, float threshold) {
#pragma clang fp reassociate(on)
    int64_t total = 0;
    for (int64_t j = 0; j < count; j++) total += values[j] > threshold;
    return total;
}

// The body of srgnn_top_k_add, the piece not yet ruled out by its maximum.
static void SRGNN_EW(top_k_piece)(const float *values, int64_t count, int64_t first, int64_t k, int64_t *indices, float *best,
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
