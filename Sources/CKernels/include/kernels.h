#ifndef SRGNN_KERNELS_H
#define SRGNN_KERNELS_H
// Fused, vectorisable loops of the training and ranking hot paths, in C so that the compiler's
// loop vectoriser handles them, and the score layer's register-blocked products.
//
// One way to choose the instruction set: every function that runs a loop takes `path`, one of the
// SRGNN_KERNEL_ values below, from its caller (the Swift side reads it once per call or parallel
// region and hands the same value to every worker). The element-wise loops run their x86-64-v4
// copy on avx512, x86-64-v3 on avx2, and the baseline target's on portable and neon.
#include <stdint.h>

/// The instruction sets ("paths"): srgnn_kernel_supported says which this CPU runs.
enum { SRGNN_KERNEL_PORTABLE = 0, SRGNN_KERNEL_AVX2 = 1, SRGNN_KERNEL_AVX512 = 2, SRGNN_KERNEL_NEON = 3 };

/// x <- exp(x - max(x)) in place over count values; stores max(x) in *maximum; returns the sum.
float srgnn_exp_shift_sum(int path, float *x, int64_t count, float *maximum);

/// The gated graph cell's gates for rows nodes (see GatedGraphCell): from gi, gh [rows, 3d] (reset,
/// update, candidate parts) and their biases [3d], next [rows, d] = c + z (h - c), and gates
/// [rows, 4d] = (r, z, c, gh_c + b_hh,c) for the backward pass. Sigmoid and tanh by Cephes'
/// polynomials (about 1 ulp from libm's), so that the loop vectorises.
void srgnn_gru_gates(int path, const float *gi, const float *gh, const float *input_bias, const float *hidden_bias, const float *h,
                     int64_t rows, int64_t d, float *next, float *gates);

/// Backward of srgnn_gru_gates for rows nodes: from gates [rows, 4d] (r, z, c, gh_c + b_hh,c), h and
/// dnext [rows, d], the gradients of gi and gh [rows, 3d] (reset, update, candidate parts) and
/// d_hidden = dnext * z [rows, d] (see GatedGraphCell). Outputs never overlap inputs.
void srgnn_gru_gates_backward(int path, const float *gates, const float *h, const float *d_next, int64_t rows, int64_t d,
                              float *d_input_gates, float *d_hidden_gates, float *d_hidden);

/// The attention readout's activation for one click: row[j] <- sigmoid(query[j] + row[j] + bias[j])
/// for j < d; returns sum_j row[j] * vector[j] (the click's coefficient; lanes summed reassociated).
float srgnn_attention_activation(int path, const float *query, float *row, const float *bias, const float *vector, int64_t d);

/// The attention readout's backward for one click: dh_row[j] += coefficient * d_global[j] for j < d;
/// returns sum_j d_global[j] * h_row[j] (the click's dα; lanes summed reassociated, as the forward's
/// coefficient). dh_row overlaps neither input.
float srgnn_attention_click_backward(int path, const float *d_global, const float *h_row, float coefficient, float *dh_row, int64_t d);

/// The attention readout's backward through σ for one click: d_pre_row[j] = d_coefficient * vector[j] *
/// sigma[j] * (1 - sigma[j]) (left to right, unfused) and dq1[j] += d_pre_row[j], for j < d. The outputs
/// overlap nothing else.
void srgnn_attention_pre_backward(int path, float d_coefficient, const float *vector, const float *sigma, float *d_pre_row, float *dq1,
                                  int64_t d);

/// y[r, j] += bias[j] for r < rows, j < width; rows of y ld apart (bias never inside y).
void srgnn_add_bias(int path, float *y, int64_t rows, int64_t width, int64_t ld, const float *bias);

/// sums[j] += sum_r dy[r, j] for j < width, rows of dy ld apart, r in order (sums never inside dy).
void srgnn_add_column_sums(int path, const float *dy, int64_t rows, int64_t width, int64_t ld, float *sums);

/// table[indices[i], :] += rows[i, :] for i < count, in order ([_, width] rows; rows never inside table).
void srgnn_scatter_add_rows(int path, const float *rows, int64_t width, const int32_t *indices, int64_t count, float *table);

/// dst[j] = src[j] for j < count by non-temporal stores (no read of dst's lines first), then a
/// store fence. dst and src do not overlap.
void srgnn_stream_copy(int path, float *dst, const float *src, int64_t count);

/// One Adam update of count elements (PyTorch semantics, the L2 penalty added to the gradient).
void srgnn_adam(int path, float *theta, const float *grad, float *m, float *v, int64_t count,
                float beta1, float beta2, float epsilon, float l2_penalty,
                float corrected_rate, float correction2_root);

/// Row-wise L2 normalisation (NISER): out[r] = scale * x[r] / max(|x[r]|, 1e-12) for rows rows of
/// width d (out may be x); reciprocal_norms[r] = 1 / max(|x[r]|, 1e-12) when not NULL.
void srgnn_normalize_rows(int path, const float *x, int64_t rows, int64_t d, float scale, float *out, float *reciprocal_norms);

/// Its backward (scale 1): dx[r] = (dn[r] - n[r] (n[r] . dn[r])) * reciprocal_norms[r], added to dx
/// when accumulate, else written; dx may be dn (in place).
void srgnn_normalize_rows_backward(int path, const float *dn, const float *n, const float *reciprocal_norms, int64_t rows, int64_t d,
                                   float *dx, int32_t accumulate);

/// Number of values strictly greater than threshold.
int64_t srgnn_count_greater(int path, const float *values, int64_t count, float threshold);

/// The k best (value, index) pairs of values, best first, ties to the lower index; returns how many.
/// indices and best (the values, scratch) hold k entries each, supplied by the caller.
int64_t srgnn_top_k(int path, const float *values, int64_t count, int64_t k, int64_t *indices, float *best);
/// The same over the indices whose bit is set in `allowed` (bit j of word j / 64); k may exceed
/// the allowed count, which is then what is returned.
int64_t srgnn_top_k_masked(const float *values, int64_t count, const uint64_t *allowed, int64_t k, int64_t *indices, float *best);

/// srgnn_top_k in pieces: adds values[0..<count], at indices first..<first + count, to a heap of at
/// most k entries (indices, best; *size entries so far). Pieces given in index order, then
/// srgnn_top_k_sort, give srgnn_top_k of their concatenation.
void srgnn_top_k_add(int path, const float *values, int64_t count, int64_t first, int64_t k, int64_t *indices, float *best,
                     int64_t *size);

/// srgnn_top_k_add for rows rows of a tile (one call instead of one per row): row r's values at
/// values + r·ld, its heap at indices + r·k, best + r·k, sizes[r].
void srgnn_top_k_add_rows(int path, const float *values, int64_t rows, int64_t count, int64_t ld, int64_t first, int64_t k,
                          int64_t *indices, float *best, int64_t *sizes);

/// srgnn_top_k_add restricted to the indices whose bit is set in allowed (bit j % 64 of word j / 64,
/// over all indices, not only this piece's).
void srgnn_top_k_add_masked(const float *values, int64_t count, int64_t first, const uint64_t *allowed, int64_t k,
                            int64_t *indices, float *best, int64_t *size);

/// Orders a heap of srgnn_top_k_add best first.
void srgnn_top_k_sort(int64_t *indices, float *best, int64_t size);

// MARK: Parallel regions (thread_pool.c)

typedef void (*srgnn_parallel_body)(void *context, int worker);

/// Runs body(context, w) for w in 0..<workers, w = 0 on the calling thread and the others on
/// pool threads that spin for a while between regions; returns once all are done. Returns 0
/// without running anything when the pool is in use (another caller, or a region inside a
/// region) or workers is out of range (2...64): the caller then runs the region another way.
int srgnn_parallel_run(int workers, srgnn_parallel_body body, void *context);

/// *counter before adding 1 to it, atomically (relaxed): the workers of a region taking the next
/// item of a shared list as each finishes one.
int64_t srgnn_take_next(int64_t *counter);

// MARK: The score layer's three products (score_kernels.c)
//
// Register-blocked kernels for the shapes of the score layer, one per instruction set; `path` is
// one of the SRGNN_KERNEL_ values (an unsupported one runs portable). Matrices are row-major:
// s [rows, d] and e [width, d] are contiguous (rows d apart); ds [rows, width] has rows lds apart.

// The register blocks of each path's products, defined once: floats per vector (V), rows of the
// block (MR) and vectors per block row (NV). A packed panel holds V · NV items
// (srgnn_kernel_panel_items; Swift reads it through ScoreKernels.panelItems).
#define SRGNN_PORTABLE_V 4
#define SRGNN_PORTABLE_MR 4
#define SRGNN_PORTABLE_NV 2
#define SRGNN_NEON_V 4
#define SRGNN_NEON_MR 6
#define SRGNN_NEON_NV 4
#define SRGNN_AVX2_V 8
#define SRGNN_AVX2_MR 6
#define SRGNN_AVX2_NV 2
#define SRGNN_AVX512_V 16
#define SRGNN_AVX512_MR 6
#define SRGNN_AVX512_NV 4

/// What the kernels that need scratch memory return: SRGNN_OK, or SRGNN_ERROR_OUT_OF_MEMORY when
/// the thread's scratch could not grow to the call's size (nothing was written then).
enum { SRGNN_OK = 0, SRGNN_ERROR_OUT_OF_MEMORY = 1 };

/// 1 if this CPU (and OS) can run `path`, else 0: avx512 needs the x86-64-v4 level (AVX-512 F,
/// BW, CD, DQ, VL), avx2 the x86-64-v3 level (AVX2, FMA, BMI1/2, …), as the element-wise loops'
/// copies are compiled for those levels.
int srgnn_kernel_supported(int path);

/// The fastest path this CPU supports.
int srgnn_kernel_best(void);

/// c[r, j] = s[r] · e[j] for r < rows, j < width; rows of c ldc apart. Each score is one chain of
/// (fused) multiply-adds over k from zero, so it does not depend on rows (a session scores the same
/// alone or in a batch). Returns SRGNN_OK, or SRGNN_ERROR_OUT_OF_MEMORY (c untouched) when the
/// d · panel floats of scratch it packs items into cannot be had.
int srgnn_score_tile(int path, const float *s, int64_t rows, int64_t d, const float *e, int64_t width,
                     float *c, int64_t ldc);

/// Items per packed panel on `path` (SK_V · SK_NV of its kernel).
int64_t srgnn_kernel_panel_items(int path);

/// Packs e [count, d] for `srgnn_score_packed`: panel p holds items p·P ..< p·P + P (P =
/// srgnn_kernel_panel_items(path)) k-major, [d][P], zeros past the last item; panels holds
/// ceil(count / P) · P · d floats.
void srgnn_pack_items(int path, const float *e, int64_t count, int64_t d, float *panels);

/// c[r, j] = s[r] · e[first + j] for r < rows, j < width, from items packed by srgnn_pack_items on
/// the same path; first must be a multiple of the panel size. Every score equals srgnn_score_tile's
/// for the same row and item, bit for bit, whatever rows, first and width are.
void srgnn_score_packed(int path, const float *s, int64_t rows, int64_t d, const float *panels, int64_t first,
                        int64_t width, float *c, int64_t ldc);

/// out[i] = s · e[rows[i]] for i < count (e [_, d] row-major): for each item the very bits
/// srgnn_score_tile and srgnn_score_packed give it on the same path (one chain of multiply-adds over
/// k from zero, contracted alike), reading only its row.
void srgnn_score_rows(int path, const float *s, int64_t d, const float *e, const int64_t *rows, int64_t count, float *out);

/// de[j, k] = (beta ? de[j, k] : 0) + Σ_r ds[r, j] · g[r] · s[r, k]   (de [width, d], beta 0 or 1;
/// g = row_scale, or 1 when row_scale is NULL). Returns a status, as srgnn_score_tile.
int srgnn_score_embedding_gradient(int path, const float *ds, int64_t lds, const float *s, int64_t rows, int64_t d,
                                   int64_t width, float *de, int beta, const float *row_scale);

/// dsh[r, k] += g[r] · Σ_j ds[r, j] · e[j, k]   (dsh [rows, d]; g = row_scale, or 1 when NULL).
/// Returns a status, as srgnn_score_tile.
int srgnn_score_session_gradient(int path, const float *ds, int64_t lds, const float *e, int64_t rows, int64_t d,
                                 int64_t width, float *dsh, const float *row_scale);

/// c = (beta ? c : 0) + op(a) · op(b), op(a) [m, k], op(b) [k, n], row-major with row strides
/// lda, ldb, ldc; transA / transB 1 when the operand is stored transposed; beta 0 or 1. Returns a
/// status, as srgnn_score_tile (op(b) is packed into k · panel floats of scratch).
int srgnn_gemm(int path, int transA, int transB, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
               const float *b, int64_t ldb, int beta, float *c, int64_t ldc);

// MARK: Approximate retrieval (int8_kernels.c)
//
// Items quantised to int8 once, row by row (scale = max |e_j| / 127), in panels of 16 items:
// panel p holds items 16p ..< 16p + 16 as groups of 4 dimensions, [ceil(d / 4)][16 items][4],
// zeros past d and past the last item. A query is quantised the same way and stored as unsigned
// bytes q + 128, so that a VNNI instruction multiplies 16 items by 4 dimensions at once; the
// item's sum of quantised values takes the 128 back out.

#define SRGNN_INT8_PANEL_ITEMS 16

/// Bytes of one panel for hidden size d.
int64_t srgnn_int8_panel_bytes(int64_t d);

/// Quantises e [count, d] for srgnn_int8_scores into panels (ceil(count / 16) panels), scales and
/// sums (each ceil(count / 16) · 16 entries; zero past count).
void srgnn_int8_pack_items(const float *e, int64_t count, int64_t d, int8_t *panels, float *scales, int32_t *sums);

/// Quantises one query h [d] into q (ceil(d / 4) · 4 bytes, q_k + 128); returns its scale.
float srgnn_int8_quantize_query(const float *h, int64_t d, uint8_t *q);

/// out[r, j − first] ≈ queries[r] · e[j] for r < rows, first <= j < first + width (first a multiple
/// of 16): the int8 product, exact in int32, times the item's and the query's scales. The same
/// values on every path (VNNI when path is avx512 and the CPU has it, else portable C).
void srgnn_int8_scores(int path, const uint8_t *queries, const float *query_scales, int64_t rows, int64_t d,
                       const int8_t *panels, const float *scales, const int32_t *sums, int64_t first, int64_t width,
                       float *out, int64_t ldo);

#endif
