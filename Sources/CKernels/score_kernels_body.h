// The three score-layer products for one instruction set, included once per path by
// score_kernels.c with these macros defined:
//   SK_NAME(x)  the path's function name for x        SK_V   floats per vector
//   SK_MR       rows of the register block             SK_NV  vectors per register block row
// Every function below is compiled for the path's target (see the #pragma clang attribute in
// score_kernels.c). Written with Clang's portable vector types; FMA contraction is on, so
// `acc + a * b` becomes one fused multiply-add where the target has one.

typedef float SK_NAME(vec) __attribute__((ext_vector_type(SK_V)));
#define SK_VEC SK_NAME(vec)
#define SK_NR (SK_V * SK_NV)

static inline __attribute__((always_inline)) SK_VEC SK_NAME(load)(const float *p) {
    SK_VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void SK_NAME(store)(float *p, SK_VEC v) { memcpy(p, &v, sizeof v); }

// The register block: c[i, n·V + l] (=, +=) Σ_p a[i·ia + p·pa] · b[p·bp + n·V + l] for i < rows,
// n < nv (constants after inlining, so the accumulators live in registers), over `depth` terms.
// Only c's first `cols` columns are written (the rest of the block is computed and dropped);
// beta is 0 (write) or 1 (add); with rs, row i's sums are multiplied by rs[i] before that.
// b must be readable for nv·V floats at every p.
static inline __attribute__((always_inline)) void SK_NAME(block)(
    const int rows, const int nv, int64_t depth,
    const float *a, int64_t ia, int64_t pa, const float *b, int64_t bp,
    float *c, int64_t ldc, int64_t cols, int beta, const float *rs) {
#pragma clang fp contract(fast)
    SK_VEC acc[SK_MR][SK_NV];
    for (int i = 0; i < rows; i++)
        for (int n = 0; n < nv; n++) acc[i][n] = (SK_VEC)0.0f;
    for (int64_t p = 0; p < depth; p++) {
        SK_VEC bv[SK_NV];
        for (int n = 0; n < nv; n++) bv[n] = SK_NAME(load)(b + p * bp + n * SK_V);
        for (int i = 0; i < rows; i++) {
            SK_VEC av = (SK_VEC)(a[i * ia + p * pa]);
            for (int n = 0; n < nv; n++) acc[i][n] = acc[i][n] + av * bv[n];
        }
    }
    if (rs)
        for (int i = 0; i < rows; i++)
            for (int n = 0; n < nv; n++) acc[i][n] = acc[i][n] * rs[i];
    if (cols == (int64_t)nv * SK_V) {
        for (int i = 0; i < rows; i++)
            for (int n = 0; n < nv; n++) {
                float *out = c + i * ldc + n * SK_V;
                SK_NAME(store)(out, beta ? SK_NAME(load)(out) + acc[i][n] : acc[i][n]);
            }
    } else {
        for (int i = 0; i < rows; i++) {
            float lanes[SK_NR];
            for (int n = 0; n < nv; n++) SK_NAME(store)(lanes + n * SK_V, acc[i][n]);
            float *out = c + i * ldc;
            for (int64_t j = 0; j < cols; j++) out[j] = beta ? out[j] + lanes[j] : lanes[j];
        }
    }
}

// The register block for a run-time rows (1...SK_MR) and nv (1...SK_NV): one specialisation each.
static void SK_NAME(block_any)(int rows, int nv, int64_t depth, const float *a, int64_t ia, int64_t pa,
                               const float *b, int64_t bp, float *c, int64_t ldc, int64_t cols, int beta, const float *rs) {
#define SK_CASE(R, N) \
    case (R) * 8 + (N): SK_NAME(block)(R, N, depth, a, ia, pa, b, bp, c, ldc, cols, beta, rs); return;
#if SK_NV == 4
#define SK_ROW(R) SK_CASE(R, 1) SK_CASE(R, 2) SK_CASE(R, 3) SK_CASE(R, 4)
#else
#define SK_ROW(R) SK_CASE(R, 1) SK_CASE(R, 2)
#endif
    switch (rows * 8 + nv) {
        SK_ROW(1) SK_ROW(2) SK_ROW(3) SK_ROW(4)
#if SK_MR == 6
        SK_ROW(5) SK_ROW(6)
#endif
    default: break;
    }
#undef SK_ROW
#undef SK_CASE
}

// A SK_V × SK_V block transposed in registers: row i of src (SK_V floats at src + i·ss) becomes
// column i of dst (row k at dst + k·ds). log2(SK_V) stages; the one with block size B swaps the
// off-diagonal B × B blocks of every 2B × 2B block (one two-source shuffle per row).
#define SK_TRANSPOSE_STAGE(B, LO, HI) \
    for (int i = 0; i < SK_V; i++) \
        if ((i / (B)) % 2 == 0) { \
            SK_VEC lower = r[i], upper = r[i + (B)]; \
            r[i] = __builtin_shufflevector(lower, upper, LO); \
            r[i + (B)] = __builtin_shufflevector(lower, upper, HI); \
        }
static inline __attribute__((always_inline)) void SK_NAME(transpose)(const float *src, int64_t ss, float *dst, int64_t ds) {
    SK_VEC r[SK_V];
    for (int i = 0; i < SK_V; i++) r[i] = SK_NAME(load)(src + i * ss);
#if SK_V == 16
    SK_TRANSPOSE_STAGE(8, SK_MASK(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                          SK_MASK(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31))
    SK_TRANSPOSE_STAGE(4, SK_MASK(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
                          SK_MASK(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31))
    SK_TRANSPOSE_STAGE(2, SK_MASK(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29),
                          SK_MASK(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31))
    SK_TRANSPOSE_STAGE(1, SK_MASK(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
                          SK_MASK(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31))
#elif SK_V == 8
    SK_TRANSPOSE_STAGE(4, SK_MASK(0, 1, 2, 3, 8, 9, 10, 11), SK_MASK(4, 5, 6, 7, 12, 13, 14, 15))
    SK_TRANSPOSE_STAGE(2, SK_MASK(0, 1, 8, 9, 4, 5, 12, 13), SK_MASK(2, 3, 10, 11, 6, 7, 14, 15))
    SK_TRANSPOSE_STAGE(1, SK_MASK(0, 8, 2, 10, 4, 12, 6, 14), SK_MASK(1, 9, 3, 11, 5, 13, 7, 15))
#elif SK_V == 4
    SK_TRANSPOSE_STAGE(2, SK_MASK(0, 1, 4, 5), SK_MASK(2, 3, 6, 7))
    SK_TRANSPOSE_STAGE(1, SK_MASK(0, 4, 2, 6), SK_MASK(1, 5, 3, 7))
#else
#error "no transpose for this vector width"
#endif
    for (int k = 0; k < SK_V; k++) SK_NAME(store)(dst + k * ds, r[k]);
}
#undef SK_TRANSPOSE_STAGE

// One panel of SK_NR items packed k-major ([d][SK_NR], zeros past `cols`), so that a k step of
// the register block loads SK_NV whole vectors. Whole SK_V × SK_V blocks of items × k are
// transposed in registers (element by element, the strided stores made packing a third of the
// score product's time); the k past the last whole block and the items past the last whole
// vector go one by one.
static inline void SK_NAME(pack_panel)(const float *e, int64_t cols, int64_t d, float *panel) {
    int64_t j = 0;
    for (; j + SK_V <= cols; j += SK_V) {
        int64_t k = 0;
        for (; k + SK_V <= d; k += SK_V) SK_NAME(transpose)(e + j * d + k, d, panel + k * SK_NR + j, SK_NR);
        for (; k < d; k++)
            for (int64_t i = j; i < j + SK_V; i++) panel[k * SK_NR + i] = e[i * d + k];
    }
    for (; j < cols; j++) {
        const float *item = e + j * d;
        for (int64_t k = 0; k < d; k++) panel[k * SK_NR + j] = item[k];
    }
    if (cols < SK_NR)
        for (int64_t k = 0; k < d; k++)
            for (int64_t i = cols; i < SK_NR; i++) panel[k * SK_NR + i] = 0;
}

// scores[r, j] for one packed panel: every row block reuses the panel from L1; rows of s are read
// in place (broadcast), d apart. Each score is one lane's chain of fused multiply-adds over
// k = 0..<d from zero, whatever the number of rows or the panel's position, so a session's
// scores do not depend on the batch it is scored in.
// While it runs, the `ahead` bytes from `next` (the items the next panel packs, or NULL) are
// prefetched into L2, a share per row block, so that packing them does not wait on memory.
static inline void SK_NAME(score_panel)(const float *s, int64_t rows, int64_t d, const float *panel, int64_t cols,
                                        float *c, int64_t ldc, const char *next, int64_t ahead) {
    int nv = (int)((cols + SK_V - 1) / SK_V);
    int64_t blocks = (rows + SK_MR - 1) / SK_MR, share = next ? (ahead + blocks - 1) / blocks : 0;
    for (int64_t r0 = 0, block = 0; r0 < rows; r0 += SK_MR, block++) {
        int mr = (int)(rows - r0 < SK_MR ? rows - r0 : SK_MR);
        for (int64_t byte = block * share; byte < (block + 1) * share && byte < ahead; byte += 64)
            __builtin_prefetch(next + byte, 0, 2);
        SK_NAME(block_any)(mr, nv, d, s + r0 * d, d, 1, panel, SK_NR, c + r0 * ldc, ldc, cols, 0, NULL);
    }
}

// scores[r, j] = Σ_k s[r, k] · e[j, k], each panel packed as it is reached.
static void SK_NAME(scores)(const float *s, int64_t rows, int64_t d, const float *e, int64_t width,
                            float *c, int64_t ldc, float *panel) {
    for (int64_t j0 = 0; j0 < width; j0 += SK_NR) {
        int64_t cols = width - j0 < SK_NR ? width - j0 : SK_NR;
        int64_t next = width - (j0 + cols) < SK_NR ? width - (j0 + cols) : SK_NR;
        SK_NAME(pack_panel)(e + j0 * d, cols, d, panel);
        SK_NAME(score_panel)(s, rows, d, panel, cols, c + j0, ldc, next > 0 ? (const char *)(e + (j0 + cols) * d) : NULL,
                             next * d * (int64_t)sizeof(float));
    }
}

void SK_NAME(pack_items)(const float *e, int64_t count, int64_t d, float *panels) {
    for (int64_t j0 = 0; j0 < count; j0 += SK_NR) {
        int64_t cols = count - j0 < SK_NR ? count - j0 : SK_NR;
        SK_NAME(pack_panel)(e + j0 * d, cols, d, panels + (j0 / SK_NR) * d * SK_NR);
    }
}

void SK_NAME(score_packed)(const float *s, int64_t rows, int64_t d, const float *panels, int64_t first, int64_t width,
                           float *c, int64_t ldc) {
    if (rows <= 0 || width <= 0) return;
    if (d <= 0) { for (int64_t r = 0; r < rows; r++) memset(c + r * ldc, 0, (size_t)width * sizeof(float)); return; }
    for (int64_t j0 = 0; j0 < width; j0 += SK_NR) {
        int64_t cols = width - j0 < SK_NR ? width - j0 : SK_NR;
        SK_NAME(score_panel)(s, rows, d, panels + ((first + j0) / SK_NR) * d * SK_NR, cols, c + j0, ldc, NULL, 0);
    }
}

// Items 0..<n of a tile of `width` rows of d floats whose whole vectors (dp floats from the row's
// start, running into the next rows) stay inside the tile: j·d + dp ≤ width·d. With d ≥ SK_V that
// is every item but the last; a small d leaves more items to the padded or scalar route.
static inline int64_t SK_NAME(in_place_items)(int64_t width, int64_t d, int64_t dp) {
    int64_t n = width * d >= dp ? (width * d - dp) / d + 1 : 0;
    return n < width ? n : width;
}

int SK_NAME(score_tile)(const float *s, int64_t rows, int64_t d, const float *e, int64_t width,
                        float *c, int64_t ldc) {
    if (rows <= 0 || width <= 0) return SRGNN_OK;
    if (d <= 0) { for (int64_t r = 0; r < rows; r++) memset(c + r * ldc, 0, (size_t)width * sizeof(float)); return SRGNN_OK; }
    float *panel = srgnn_scratch((size_t)d * SK_NR);
    if (!panel) return SRGNN_ERROR_OUT_OF_MEMORY;
    SK_NAME(scores)(s, rows, d, e, width, c, ldc, panel);
    return SRGNN_OK;
}

// dE[j, k] (=, +=) Σ_r dS[r, j] · rs[r] · s[r, k] (rs[r] = 1 without rs): a register block is
// SK_MR items × SK_NV vectors of k, summed over the rows r. s is copied once, each row times its
// rs, into rows padded to whole vectors (zeros), so a block never reads past it; dS is read in
// place (SK_MR neighbouring items of a row, lds apart).
int SK_NAME(embedding_gradient)(const float *ds, int64_t lds, const float *s, int64_t rows, int64_t d,
                                int64_t width, float *de, int beta, const float *rs) {
    if (width <= 0 || d <= 0) return SRGNN_OK;
    if (rows <= 0) { if (!beta) memset(de, 0, (size_t)(width * d) * sizeof(float)); return SRGNN_OK; }
    int64_t dp = (d + SK_V - 1) / SK_V * SK_V;
    float *padded = srgnn_scratch((size_t)rows * (size_t)dp);
    if (!padded) return SRGNN_ERROR_OUT_OF_MEMORY;
    for (int64_t r = 0; r < rows; r++) {
        if (rs)
            for (int64_t k = 0; k < d; k++) padded[r * dp + k] = s[r * d + k] * rs[r];
        else
            memcpy(padded + r * dp, s + r * d, (size_t)d * sizeof(float));
        for (int64_t k = d; k < dp; k++) padded[r * dp + k] = 0;
    }
    for (int64_t k0 = 0; k0 < d; k0 += SK_NR) {
        int64_t cols = d - k0 < SK_NR ? d - k0 : SK_NR;
        int nv = (int)((cols + SK_V - 1) / SK_V);
        for (int64_t j0 = 0; j0 < width; j0 += SK_MR) {
            int mr = (int)(width - j0 < SK_MR ? width - j0 : SK_MR);
            SK_NAME(block_any)(mr, nv, rows, ds + j0, 1, lds, padded + k0, dp, de + j0 * d + k0, d, cols, beta, NULL);
        }
    }
    return SRGNN_OK;
}

// dS_h[r, k] += rs[r] · Σ_j dS[r, j] · e[j, k] (rs[r] = 1 without rs): a register block is SK_MR
// rows × SK_NV vectors of k, summed over the tile's items j, e read in place (rows d apart). A
// block's last vector may run past column d into the next items' rows, whose lanes are dropped;
// the items whose vectors would
// run past the tile (the last one, or more when d is small) go through zero-padded copies.
int SK_NAME(session_gradient)(const float *ds, int64_t lds, const float *e, int64_t rows, int64_t d,
                              int64_t width, float *dsh, const float *rs) {
    if (width <= 0 || d <= 0 || rows <= 0) return SRGNN_OK;
    int64_t dp = (d + SK_V - 1) / SK_V * SK_V;
    int64_t inPlace = SK_NAME(in_place_items)(width, d, dp), copied = width - inPlace;
    float *tail = srgnn_scratch((size_t)copied * (size_t)dp);
    if (!tail) return SRGNN_ERROR_OUT_OF_MEMORY;
    for (int64_t j = 0; j < copied; j++) {
        memcpy(tail + j * dp, e + (inPlace + j) * d, (size_t)d * sizeof(float));
        for (int64_t k = d; k < dp; k++) tail[j * dp + k] = 0;
    }
    for (int64_t k0 = 0; k0 < d; k0 += SK_NR) {
        int64_t cols = d - k0 < SK_NR ? d - k0 : SK_NR;
        int nv = (int)((cols + SK_V - 1) / SK_V);
        for (int64_t r0 = 0; r0 < rows; r0 += SK_MR) {
            int mr = (int)(rows - r0 < SK_MR ? rows - r0 : SK_MR);
            if (inPlace > 0)
                SK_NAME(block_any)(mr, nv, inPlace, ds + r0 * lds, lds, 1, e + k0, d, dsh + r0 * d + k0, d, cols, 1,
                                   rs ? rs + r0 : NULL);
            if (copied > 0)
                SK_NAME(block_any)(mr, nv, copied, ds + r0 * lds + inPlace, lds, 1, tail + k0, dp, dsh + r0 * d + k0, d, cols, 1,
                                   rs ? rs + r0 : NULL);
        }
    }
    return SRGNN_OK;
}

// The general product c (=, +=) op(a) · op(b) (alpha 1, beta 0 or 1) for the graph network's
// small products: each panel of SK_NR columns of op(b) is packed k-major ([k][SK_NR], zeros past
// n) and every register block of rows reads op(a) in place.
int SK_NAME(gemm)(int transA, int transB, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                  const float *b, int64_t ldb, int beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0 || k <= 0) return SRGNN_OK;
    float *panel = srgnn_scratch((size_t)k * SK_NR);
    if (!panel) return SRGNN_ERROR_OUT_OF_MEMORY;
    int64_t ia = transA ? 1 : lda, pa = transA ? lda : 1;
    for (int64_t j0 = 0; j0 < n; j0 += SK_NR) {
        int64_t cols = n - j0 < SK_NR ? n - j0 : SK_NR;
        if (transB && ldb == k) {
            // A weight matrix stored [n, k] (x W^T): rows of k, packed as the items are, by register transposes.
            SK_NAME(pack_panel)(b + j0 * ldb, cols, k, panel);
        } else {
            for (int64_t p = 0; p < k; p++) {
                float *row = panel + p * SK_NR;
                int64_t j = 0;
                if (transB) {
                    for (; j < cols; j++) row[j] = b[(j0 + j) * ldb + p];
                } else {
                    memcpy(row, b + p * ldb + j0, (size_t)cols * sizeof(float));
                    j = cols;
                }
                for (; j < SK_NR; j++) row[j] = 0;
            }
        }
        int nv = (int)((cols + SK_V - 1) / SK_V);
        for (int64_t r0 = 0; r0 < m; r0 += SK_MR) {
            int mr = (int)(m - r0 < SK_MR ? m - r0 : SK_MR);
            SK_NAME(block_any)(mr, nv, k, a + r0 * ia, ia, pa, panel, SK_NR, c + r0 * ldc + j0, ldc, cols, beta, NULL);
        }
    }
    return SRGNN_OK;
}

#undef SK_VEC
#undef SK_NR

// out[i] = s · e[rows[i]] for i < count (e row-major, rows d apart): each score one chain of
// multiply-adds over k from zero, contracted as the block contracts them on this path, so bit for
// bit the score the products give that item (approximate retrieval's exact rescoring).
static void SK_NAME(score_rows)(const float *s, int64_t d, const float *e, const int64_t *rows, int64_t count, float *out) {
#pragma clang fp contract(fast)
    for (int64_t i = 0; i < count; i++) {
        const float *row = e + rows[i] * d;
        float acc = 0.0f;
        for (int64_t k = 0; k < d; k++) acc = acc + s[k] * row[k];
        out[i] = acc;
    }
}
