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
#define SRGNN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
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

// Maximum of count ≥ 1 values, eight running lanes so that it vectorises (NaN-free input).
static inline float srgnn_max(const float *values, int64_t count) {
    float lanes[8];
    for (int l = 0; l < 8; l++) lanes[l] = values[0];
    int64_t j = 0;
    for (; j + 8 <= count; j += 8)
        for (int l = 0; l < 8; l++) lanes[l] = values[j + l] > lanes[l] ? values[j + l] : lanes[l];
    float maximum = lanes[0];
    for (int l = 1; l < 8; l++) maximum = lanes[l] > maximum ? lanes[l] : maximum;
    for (; j < count; j++) maximum = values[j] > maximum ? values[j] : maximum;
    return maximum;
}

// Maximum of 64 consecutive values.
SRGNN_CLONES
static float srgnn_block_max(const float *values) { return srgnn_max(values, 64); }

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

SRGNN_CLONES
void srgnn_scale(float *x, int64_t count, float factor) {
    for (int64_t j = 0; j < count; j++) x[j] *= factor;
}

double srgnn_softmax_xent_row(float *x, int64_t count, int64_t target, float scale) {
    float target_logit = x[target];
    float maximum;
    float sum = srgnn_exp_shift_sum(x, count, &maximum);
    srgnn_scale(x, count, scale / sum);
    x[target] -= scale;
    return log((double)sum) - (double)(target_logit - maximum);
}

SRGNN_CLONES
void srgnn_adam(float *restrict theta, const float *restrict grad, float *restrict m, float *restrict v,
                int64_t count, float beta1, float beta2, float epsilon, float weight_decay,
                float step_size, float correction2_root) {
    for (int64_t i = 0; i < count; i++) {
        float g = grad[i] + weight_decay * theta[i];
        float mi = m[i] + (1.0f - beta1) * (g - m[i]);  // PyTorch: exp_avg.lerp_(grad, 1 - beta1)
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        float denominator = SRGNN_SQRT(vi) / correction2_root + epsilon;
        theta[i] -= step_size * (mi / denominator);
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

int64_t srgnn_top_k(const float *values, int64_t count, int64_t k, int64_t *indices) {
    if (k > count) k = count;
    if (k <= 0) return 0;
    // A small sorted list filled by insertion. Once it is full, blocks of 64 values whose maximum
    // does not beat the current k-th best are skipped with one vectorised pass.
    float best[k];
    int64_t size = 0;
    int64_t j = 0;
    while (j < count) {
        if (size == k && j + 64 <= count && srgnn_block_max(values + j) <= best[k - 1]) { j += 64; continue; }
        int64_t end = (size == k && j + 64 <= count) ? j + 64 : j + 1;
        for (; j < end; j++) {
            float value = values[j];
            if (size == k && !(value > best[k - 1])) continue;
            int64_t position = size < k ? size : k - 1;
            while (position > 0 && value > best[position - 1]) {
                best[position] = best[position - 1];
                indices[position] = indices[position - 1];
                position--;
            }
            best[position] = value;
            indices[position] = j;
            if (size < k) size++;
        }
    }
    return size;
}
