#ifndef SRGNN_KERNELS_H
#define SRGNN_KERNELS_H
// Fused, vectorisable loops of the training and ranking hot paths, in C so that the compiler's
// loop vectoriser (and, on x86-64, an AVX2/FMA clone chosen at load time) handles them.
#include <stdint.h>

/// x <- exp(x - max(x)) in place over count values; stores max(x) in *maximum; returns the sum.
float srgnn_exp_shift_sum(float *x, int64_t count, float *maximum);

/// x <- factor * x over count values.
void srgnn_scale(float *x, int64_t count, float factor);

/// One Adam update of count elements (PyTorch semantics, the L2 penalty added to the gradient).
void srgnn_adam(float *theta, const float *grad, float *m, float *v, int64_t count,
                float beta1, float beta2, float epsilon, float l2_penalty,
                float corrected_rate, float correction2_root);

/// Number of values strictly greater than threshold.
int64_t srgnn_count_greater(const float *values, int64_t count, float threshold);

/// The k best (value, index) pairs of values, best first, ties to the lower index; returns how many.
/// indices and best (the values, scratch) hold k entries each, supplied by the caller.
int64_t srgnn_top_k(const float *values, int64_t count, int64_t k, int64_t *indices, float *best);


#endif
