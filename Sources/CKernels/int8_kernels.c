// Approximate retrieval's scan (see kernels.h): items quantised to int8 once, a session's vector
// per call, and int32 dot products, by AVX-512 VNNI where the CPU has it, else portable C. Both
// give the same int32 sums and the same float products, so the same approximate scores.
#include "kernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define SRGNN_INT8_VNNI 1
#if __clang_major__ >= 18
#define SRGNN_VNNI_FEATURES "avx512f,avx512bw,avx512vnni,evex512"
#else
#define SRGNN_VNNI_FEATURES "avx512f,avx512bw,avx512vnni"
#endif
#endif

enum { P = SRGNN_INT8_PANEL_ITEMS };

int64_t srgnn_int8_panel_bytes(int64_t d) { return (d + 3) / 4 * 4 * P; }

// round(x / scale) in [-127, 127]; 0 for NaN (whose score the exact rescoring then gives).
static int8_t quantize(float x, float scale) {
    float q = nearbyintf(x / scale);
    if (!(q == q)) return 0;
    return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

// max |x| / 127 over count values, 1 for an all-zero (or non-finite) row.
static float row_scale(const float *x, int64_t count) {
    float largest = 0;
    for (int64_t k = 0; k < count; k++) largest = fmaxf(largest, fabsf(x[k]));
    return largest > 0 && isfinite(largest) ? largest / 127 : 1;
}

void srgnn_int8_pack_items(const float *e, int64_t count, int64_t d, int8_t *panels, float *scales, int32_t *sums) {
    int64_t panel_bytes = srgnn_int8_panel_bytes(d), padded = (count + P - 1) / P * P;
    memset(panels, 0, (size_t)(padded / P * panel_bytes));
    for (int64_t j = 0; j < padded; j++) {
        scales[j] = 0;
        sums[j] = 0;
    }
    for (int64_t j = 0; j < count; j++) {
        const float *row = e + j * d;
        float scale = row_scale(row, d);
        int8_t *panel = panels + j / P * panel_bytes;
        int64_t lane = j % P;
        int32_t sum = 0;
        for (int64_t k = 0; k < d; k++) {
            int8_t q = quantize(row[k], scale);
            panel[k / 4 * 4 * P + lane * 4 + k % 4] = q;
            sum += q;
        }
        scales[j] = scale;
        sums[j] = sum;
    }
}

float srgnn_int8_quantize_query(const float *h, int64_t d, uint8_t *q) {
    float scale = row_scale(h, d);
    int64_t padded = (d + 3) / 4 * 4;
    for (int64_t k = 0; k < padded; k++) q[k] = (uint8_t)((k < d ? quantize(h[k], scale) : 0) + 128);
    return scale;
}

// Σ_k (q_k + 128) e_k − 128 Σ_k e_k = Σ_k q_k e_k exactly, then scaled back to a float score.
static void int8_scores_portable(const uint8_t *queries, const float *query_scales, int64_t rows, int64_t d,
                                 const int8_t *panels, const float *scales, const int32_t *sums, int64_t first,
                                 int64_t width, float *out, int64_t ldo) {
    int64_t groups = (d + 3) / 4, panel_bytes = srgnn_int8_panel_bytes(d);
    for (int64_t start = first; start < first + width; start += P) {
        const int8_t *panel = panels + start / P * panel_bytes;
        int64_t lanes = first + width - start < P ? first + width - start : P;
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *q = queries + r * groups * 4;
            int32_t acc[P] = {0};
            for (int64_t g = 0; g < groups; g++) {
                const int8_t *block = panel + g * 4 * P;
                for (int i = 0; i < P; i++) {
                    acc[i] += (int32_t)q[4 * g] * block[4 * i] + (int32_t)q[4 * g + 1] * block[4 * i + 1] +
                              (int32_t)q[4 * g + 2] * block[4 * i + 2] + (int32_t)q[4 * g + 3] * block[4 * i + 3];
                }
            }
            for (int64_t i = 0; i < lanes; i++) {
                int64_t j = start + i;
                out[r * ldo + j - first] = (float)(acc[i] - 128 * sums[j]) * (scales[j] * query_scales[r]);
            }
        }
    }
}

#ifdef SRGNN_INT8_VNNI
// vpdpbusd: 16 items × 4 dimensions (unsigned query bytes × signed item bytes) per instruction.
__attribute__((target(SRGNN_VNNI_FEATURES)))
static void int8_scores_vnni(const uint8_t *queries, const float *query_scales, int64_t rows, int64_t d,
                             const int8_t *panels, const float *scales, const int32_t *sums, int64_t first,
                             int64_t width, float *out, int64_t ldo) {
    int64_t groups = (d + 3) / 4, panel_bytes = srgnn_int8_panel_bytes(d);
    for (int64_t start = first; start < first + width; start += P) {
        const int8_t *panel = panels + start / P * panel_bytes;
        int64_t lanes = first + width - start < P ? first + width - start : P;
        __mmask16 mask = (__mmask16)((1u << lanes) - 1);
        __m512i correction = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(sums + start)), 7);
        __m512 item_scales = _mm512_loadu_ps(scales + start);
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *q = queries + r * groups * 4;
            __m512i acc = _mm512_setzero_si512();
            for (int64_t g = 0; g < groups; g++) {
                int32_t four;
                memcpy(&four, q + 4 * g, 4);
                acc = _mm512_dpbusd_epi32(acc, _mm512_set1_epi32(four), _mm512_loadu_si512((const void *)(panel + g * 4 * P)));
            }
            __m512 value = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, correction));
            __m512 scale = _mm512_mul_ps(item_scales, _mm512_set1_ps(query_scales[r]));
            _mm512_mask_storeu_ps(out + r * ldo + start - first, mask, _mm512_mul_ps(value, scale));
        }
    }
}

static int vnni_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}
#endif

void srgnn_int8_scores(int path, const uint8_t *queries, const float *query_scales, int64_t rows, int64_t d,
                       const int8_t *panels, const float *scales, const int32_t *sums, int64_t first, int64_t width,
                       float *out, int64_t ldo) {
#ifdef SRGNN_INT8_VNNI
    if (path == SRGNN_KERNEL_AVX512 && vnni_supported()) {
        int8_scores_vnni(queries, query_scales, rows, d, panels, scales, sums, first, width, out, ldo);
        return;
    }
#endif
    int8_scores_portable(queries, query_scales, rows, d, panels, scales, sums, first, width, out, ldo);
}
