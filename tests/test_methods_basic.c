// tests/test_methods_basic.c: the method interface (options, registry,
// targets, errors), hand-worked cases for magnitude, Wanda and SparseGPT,
// global magnitude against brute force, an independent double-precision
// SparseGPT reference, and identity of results for 1 vs 2 threads and
// across ISAs.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/rng.h"
#include "methods/magnitude.h"
#include "methods/registry.h"
#include "tests/harness.h"
#include "tests/method_testutil.h"

// ---- helpers ----
static void *state_of(struct cpr_test_ctx *t, const struct cpr_method *m,
                      const char *opts) {
    void *s = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, m->init(&s, &err), CPR_OK, &err, NULL);
    if (s && opts)
        CPR_CHECK_STATUS(t, m->parse_opts(s, opts, &err), CPR_OK, &err, NULL);
    return s;
}

// Run method `name` with options on a copy of w (rows, cols); fills out
// (pruned weights) and mask.
static enum cpr_status run(const char *name, const char *opts, size_t rows,
                           size_t cols, const float *w, const float *sr,
                           const float *h, struct cpr_prune_target tg,
                           struct cpr_pool *pool, const struct cpr_kernels *k,
                           float *out, uint8_t *mask, struct cpr_err *err) {
    const struct mt_stats in = {.sr = sr, .h = h};
    return mt_run(name, "test", opts, rows, cols, w, &in, tg, pool, k, out,
                  mask, err);
}

// ---- interface ----
static void test_options(struct cpr_test_ctx *t) {
    const struct cpr_method *m = cpr_method_find("sparsegpt");
    CPR_CHECK(t, m && m->abi_version == CPR_METHOD_ABI_VERSION, "sparsegpt");
    CPR_CHECK(t, cpr_method_find("nope") == NULL, "unknown method found");
    CPR_CHECK(t, cpr_method_find("magnitude") && cpr_method_find("wanda"),
              "registry");
    void *s = state_of(t, m, "blocksize=64,percdamp=0.1");
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, m->parse_opts(s, "blocksz=3", &err), CPR_ERR_ARG,
                     &err, "known: blocksize, percdamp");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "blocksize=0", &err), CPR_ERR_ARG,
                     &err, "found '0'");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "blocksize=12x", &err), CPR_ERR_ARG,
                     &err, "12x");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "percdamp", &err), CPR_ERR_ARG, &err,
                     "name=value");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "percdamp=-1", &err), CPR_ERR_ARG,
                     &err, "percdamp");
    m->free(s);
    const struct cpr_method *mg = cpr_method_find("magnitude");
    s = state_of(t, mg, "group=row,min_density=0.25");
    CPR_CHECK(t, cpr_magnitude_group(s) == CPR_MAG_GROUP_ROW, "group");
    CPR_CHECK(t, cpr_magnitude_min_density(s) == 0.25, "min_density");
    CPR_CHECK_STATUS(t, mg->parse_opts(s, "group=rows", &err), CPR_ERR_ARG,
                     &err, "matrix|row|global");
    mg->free(s);
    char buf[64];
    CPR_CHECK(t, !strcmp(cpr_method_needs_str(CPR_NEED_COLSUMSQ |
                                                  CPR_NEED_HESSIAN,
                                              buf, sizeof buf),
                         "colsumsq,hessian"), "needs: %s", buf);
    CPR_CHECK(t, !strcmp(cpr_method_needs_str(0, buf, sizeof buf), "none"),
              "needs none");
}

static void test_errors(struct cpr_test_ctx *t) {
    float w[2 * 10] = {0}, out[2 * 10], sr[10] = {1};
    uint8_t mask[20];
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, run("wanda", "", 2, 10, w, NULL, NULL, mt_unstr(0.5),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "scaler_row");
    CPR_CHECK_STATUS(t, run("magnitude", "", 2, 10, w, NULL, NULL, mt_nm(2, 4),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "multiple of 4");
    CPR_CHECK_STATUS(t, run("magnitude", "", 2, 10, w, NULL, NULL, mt_nm(4, 4),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "0 < N < M");
    CPR_CHECK_STATUS(t, run("wanda", "", 2, 10, w, sr, NULL, mt_unstr(1.5),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "[0, 1]");
    CPR_CHECK_STATUS(t, run("sparsegpt", "", 2, 10, w, NULL, NULL,
                            mt_unstr(0.5), NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "Hessian");
    float h[8 * 8] = {0};
    for (int i = 0; i < 8; i++) h[i * 9] = 1.0f;
    CPR_CHECK_STATUS(t, run("sparsegpt", "blocksize=6", 2, 8, w, NULL, h,
                            mt_nm(2, 4), NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "blocksize 6");
    CPR_CHECK_STATUS(t, run("magnitude", "group=global", 2, 8, w, NULL, NULL,
                            mt_unstr(0.5), NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "global");
    // Not SPD (negative diagonal): a numeric error, not a crash.
    for (int i = 0; i < 8; i++) h[i * 9] = -1.0f;
    CPR_CHECK_STATUS(t, run("sparsegpt", "", 2, 8, w, NULL, h, mt_unstr(0.5),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_NUMERIC, &err, NULL);
}

// ---- hand-worked ----
static const float W28[16] = {0.5f, -1, 0.25f, 2, -0.25f, 3, 1, -0.5f,
                              4, 0.1f, -0.1f, 0.3f, 5, -6, 0.2f, 0.1f};

static void test_magnitude_hand(struct cpr_test_ctx *t) {
    float out[16];
    uint8_t mask[16];
    struct cpr_err err = {0};
    // s = 0.5: sorted |W|[int(16*0.5) = 8] = 0.5 and |W| <= 0.5 prunes 9:
    // the reference's rule prunes int(numel*s)+1 entries plus ties.
    static const uint8_t want_mat[16] = {1, 0, 1, 0, 1, 0, 0, 1,
                                         0, 1, 1, 1, 0, 0, 1, 1};
    CPR_CHECK_STATUS(t, run("magnitude", "", 2, 8, W28, NULL, NULL,
                            mt_unstr(0.5), NULL, NULL, out, mask, &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "magnitude matrix", mask, want_mat, 16);
    for (int i = 0; i < 16; i++)
        CPR_CHECK(t, out[i] == (mask[i] ? 0.0f : W28[i]), "weight %d", i);
    // group=row: exactly 4 per row, ties (0.1 x3 in row 1) by lower index.
    static const uint8_t want_row[16] = {1, 0, 1, 0, 1, 0, 0, 1,
                                         0, 1, 1, 0, 0, 0, 1, 1};
    run("magnitude", "group=row", 2, 8, W28, NULL, NULL, mt_unstr(0.5), NULL,
        NULL, out, mask, &err);
    mt_check_mask(t, "magnitude row", mask, want_row, 16);
    static const uint8_t want_24[16] = {1, 0, 1, 0, 1, 0, 0, 1,
                                        0, 1, 1, 0, 0, 0, 1, 1};
    run("magnitude", "", 2, 8, W28, NULL, NULL, mt_nm(2, 4), NULL, NULL, out,
        mask, &err);
    mt_check_mask(t, "magnitude 2:4", mask, want_24, 16);
    // s = 0: untouched (the reference skips pruning).
    run("magnitude", "", 2, 8, W28, NULL, NULL, mt_unstr(0.0), NULL, NULL, out,
        mask, &err);
    CPR_CHECK(t, !memcmp(out, W28, sizeof out), "s=0 changed weights");
}

// Per-matrix magnitude (a two-level radix select on the bits of |w|)
// against the scalar reference kth_smallest_f32 on |W|: matrices with many
// ties, +-0, NaN, denormals and +-Inf, at several sparsities, with no pool
// and a 2-thread pool (the mask is the same).
static void test_magnitude_radix(struct cpr_test_ctx *t) {
    struct cpr_kernels ks;
    cpr_kernels_build(&ks, CPR_ISA_SCALAR);
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 2, &err), CPR_OK, &err, NULL);
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 91);
    static const double ss[] = {0.1, 0.5, 0.7, 0.9, 0.999};
    for (int kind = 0; kind < 4; kind++) {
        const size_t rows = 37, cols = 53, n = rows * cols;
        float *w = malloc(n * sizeof *w), *a = malloc(n * sizeof *a);
        float *o1 = malloc(n * sizeof *o1), *o2 = malloc(n * sizeof *o2);
        uint8_t *m1 = malloc(n), *m2 = malloc(n);
        uint32_t *scr = malloc(n * sizeof *scr);
        for (size_t i = 0; i < n; i++) {
            float v = (float)cpr_rng_normal(&rng);
            if (kind == 1) v = (float)(int)(v * 4) / 4; // many ties, +-0
            if (kind == 2 && i % 17 == 0) v = NAN;
            if (kind == 2 && i % 23 == 0) v = -0.0f;
            if (kind == 3) v *= i % 3 ? 1e-39f : 1e30f; // denormals, big
            if (kind == 3 && i % 29 == 0) v = i % 2 ? INFINITY : -INFINITY;
            w[i] = v;
            a[i] = fabsf(v);
        }
        for (size_t si = 0; si < sizeof ss / sizeof *ss; si++) {
            size_t idx = (size_t)((double)n * ss[si]);
            float th = ks.kth_smallest_f32(n, idx + 1, a, scr);
            size_t want_pruned = 0;
            for (size_t i = 0; i < n; i++) want_pruned += a[i] <= th;
            CPR_CHECK_STATUS(t, run("magnitude", "", rows, cols, w, NULL, NULL,
                                    mt_unstr(ss[si]), NULL, NULL, o1, m1, &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK_STATUS(t, run("magnitude", "", rows, cols, w, NULL, NULL,
                                    mt_unstr(ss[si]), pool, NULL, o2, m2, &err),
                             CPR_OK, &err, NULL);
            size_t got = 0, bad = 0;
            for (size_t i = 0; i < n; i++) {
                got += m1[i];
                bad += m1[i] != (a[i] <= th);
            }
            CPR_CHECK(t, bad == 0 && got == want_pruned,
                      "kind %d s %g: %zu mask entries differ from |w| <= "
                      "kth (%g); pruned %zu, want %zu", kind, ss[si], bad,
                      (double)th, got, want_pruned);
            CPR_CHECK(t, !memcmp(m1, m2, n), "kind %d s %g: 1 vs 2 threads",
                      kind, ss[si]);
        }
        free(w), free(a), free(o1), free(o2), free(m1), free(m2), free(scr);
    }
    cpr_pool_free(pool);
}

static void test_wanda_hand(struct cpr_test_ctx *t) {
    // sqrt(scaler_row) = {2, 1, 4, 1, 1, 0.5, 1, 2} exactly.
    static const float sr[8] = {4, 1, 16, 1, 1, 0.25f, 1, 4};
    float out[16];
    uint8_t mask[16];
    struct cpr_err err = {0};
    // Row 0: S = {1, 1, 1, 2, 0.25, 1.5, 1, 1}: 0.25 then the three
    // lowest-index 1s. Row 1: S = {8, .1, .4, .3, 5, 3, .2, .2}.
    static const uint8_t want[16] = {1, 1, 1, 0, 1, 0, 0, 0,
                                     0, 1, 0, 1, 0, 0, 1, 1};
    CPR_CHECK_STATUS(t, run("wanda", "", 2, 8, W28, sr, NULL, mt_unstr(0.5),
                            NULL, NULL, out, mask, &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "wanda", mask, want, 16);
    for (int i = 0; i < 16; i++)
        CPR_CHECK(t, out[i] == (mask[i] ? 0.0f : W28[i]), "weight %d", i);
    // 2:4: row 0 groups {1,1,1,2} -> idx 0,1; {.25,1.5,1,1} -> 4,6.
    static const uint8_t want24[16] = {1, 1, 0, 0, 1, 0, 1, 0,
                                       0, 1, 0, 1, 0, 0, 1, 1};
    run("wanda", "", 2, 8, W28, sr, NULL, mt_nm(2, 4), NULL, NULL, out, mask,
        &err);
    mt_check_mask(t, "wanda 2:4", mask, want24, 16);
}

static void test_sparsegpt_hand(struct cpr_test_ctx *t) {
    // One row, H = [[2,1],[1,2]], no damping. H^-1 = [[2,-1],[-1,2]]/3.
    // s = 0.25: tmp = w^2/Hinv_ii^2 = {1/(2/3), 4/(1/2)} = {1.5, 8},
    // threshold sorted[int(0.5)=0] = 1.5 prunes w0; OBS moves w1 by
    // -w0 * H^-1[0][1] / H^-1[0][0] = +0.5: W = {0, 2.5}.
    float w[2] = {1, 2}, h[4] = {2, 1, 1, 2}, out[2];
    uint8_t mask[2];
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, run("sparsegpt", "percdamp=0", 1, 2, w, NULL, h,
                            mt_unstr(0.25), NULL, NULL, out, mask, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, out[0] == 0.0f && fabsf(out[1] - 2.5f) < 1e-5f,
              "got {%g, %g}, expected {0, 2.5}", out[0], out[1]);
    CPR_CHECK(t, mask[0] == 1 && mask[1] == 0, "mask {%d,%d}", mask[0],
              mask[1]);
    // s = 0.5 on 2 entries: the reference's sorted[1] threshold with <=
    // prunes both.
    run("sparsegpt", "percdamp=0", 1, 2, w, NULL, h, mt_unstr(0.5), NULL, NULL,
        out, mask, &err);
    CPR_CHECK(t, out[0] == 0.0f && out[1] == 0.0f, "s=0.5: {%g, %g}", out[0],
              out[1]);
    // H = 2I with damping 0.01: Hinv diagonal, no error feedback, so this
    // is magnitude per 4-column block across the 4 rows; kept weights
    // stay bit-identical and a dead input (H[3][3] = 0) zeroes column 3.
    float w4[16], h4[16] = {0}, o4[16];
    uint8_t m4[16];
    for (int i = 0; i < 16; i++) w4[i] = (float)((i * 7) % 16) - 7.5f;
    for (int i = 0; i < 3; i++) h4[i * 5] = 2.0f;
    run("sparsegpt", "blocksize=4", 4, 4, w4, NULL, h4, mt_unstr(0.5), NULL,
        NULL, o4, m4, &err);
    // Column 3 is dead -> 0 (tmp 0, pruned first); remaining 12 entries
    // have distinct |w| (ties only between +-x, with the same diagonal
    // only within columns 0..2, which all have d = 1/sqrt(2.02)).
    size_t pruned = 0;
    for (int i = 0; i < 16; i++) {
        pruned += m4[i];
        if (!m4[i])
            CPR_CHECK(t, o4[i] == w4[i], "kept weight %d changed", i);
        else
            CPR_CHECK(t, o4[i] == 0.0f, "pruned weight %d = %g", i, o4[i]);
        if (i % 4 == 3) CPR_CHECK(t, m4[i] == 1, "dead column kept (%d)", i);
    }
    CPR_CHECK(t, pruned >= 9, "pruned %zu, expected >= int(16*.5)+1", pruned);
}

// ---- global magnitude ----
static void test_global(struct cpr_test_ctx *t) {
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 7);
    enum { NM = 3 };
    size_t rows[NM] = {8, 16, 4}, cols[NM] = {32, 24, 40};
    float scale[NM] = {1.0f, 0.05f, 3.0f};
    float *w[NM];
    struct cpr_matrix mats[NM];
    for (int i = 0; i < NM; i++) {
        w[i] = malloc(rows[i] * cols[i] * sizeof(float));
        cpr_test_fill_normal(&rng, w[i], rows[i] * cols[i], scale[i]);
        mats[i] = (struct cpr_matrix){"g", w[i], rows[i], cols[i], cols[i], CPR_MATRIX_GROUP_UNKNOWN};
    }
    float thr[NM];
    size_t cap[NM];
    struct cpr_err err = {0};
    for (int pass = 0; pass < 2; pass++) {
        double md = pass ? 0.3 : 0.0;
        CPR_CHECK_STATUS(t, cpr_magnitude_global_plan(NULL, NM, mats, 0.5, md,
                                                      thr, cap, &err),
                         CPR_OK, &err, NULL);
        // Brute force: capped count at thr >= K and < K just below.
        size_t total = 0, at = 0, below = 0;
        float prev = nextafterf(thr[0], -1.0f);
        for (int i = 0; i < NM; i++) {
            size_t n = rows[i] * cols[i], c1 = 0, c0 = 0;
            total += n;
            for (size_t j = 0; j < n; j++) {
                c1 += fabsf(w[i][j]) <= thr[0];
                c0 += fabsf(w[i][j]) <= prev;
            }
            at += c1 < cap[i] ? c1 : cap[i];
            below += c0 < cap[i] ? c0 : cap[i];
        }
        size_t want = (size_t)((double)total * 0.5);
        CPR_CHECK(t, at >= want && below < want,
                  "md %g: capped count %zu at tau, %zu below, K %zu", md, at,
                  below, want);
    }
    // Apply with the floor: the small-scale matrix keeps >= 30%.
    for (int i = 0; i < NM; i++) {
        size_t n = rows[i] * cols[i];
        uint8_t *mk = malloc(n);
        CPR_CHECK_STATUS(t, cpr_magnitude_global_apply(&mats[i], thr[i],
                                                       cap[i], mk, NULL, NULL,
                                                       &err),
                         CPR_OK, &err, NULL);
        size_t p = 0;
        for (size_t j = 0; j < n; j++) p += mk[j];
        CPR_CHECK(t, p <= cap[i], "matrix %d pruned %zu > cap %zu", i, p,
                  cap[i]);
        if (i == 1) CPR_CHECK(t, p == cap[i], "floor matrix pruned %zu", p);
        free(mk);
    }
    CPR_CHECK_STATUS(t, cpr_magnitude_global_plan(NULL, NM, mats, 0.9, 0.5,
                                                  thr, cap, &err),
                     CPR_ERR_ARG, &err, "min_density");
    for (int i = 0; i < NM; i++) free(w[i]);
}

// ---- double-precision SparseGPT reference (independent of core/linalg) ----
// Plain textbook steps in double: damped H, Gauss-Jordan inverse, upper
// Cholesky of the inverse, then the block loop. Unstructured only; the
// selection uses qsort on doubles rounded to float for the threshold.
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sgpt_ref(size_t rows, size_t n, double *W, const float *h0,
                     double s, size_t bs, double percdamp) {
    double *H = calloc(n * n, sizeof *H), *I = calloc(n * n, sizeof *I);
    double *U = calloc(n * n, sizeof *U);
    for (size_t i = 0; i < n * n; i++) H[i] = h0[i];
    double mean = 0;
    for (size_t d = 0; d < n; d++) {
        if (H[d * n + d] == 0) {
            H[d * n + d] = 1;
            for (size_t r = 0; r < rows; r++) W[r * n + d] = 0;
        }
        mean += H[d * n + d] / (double)n;
    }
    for (size_t d = 0; d < n; d++) H[d * n + d] += percdamp * mean;
    for (size_t i = 0; i < n; i++) I[i * n + i] = 1;
    for (size_t c = 0; c < n; c++) { // Gauss-Jordan (SPD: no pivoting)
        double p = H[c * n + c];
        for (size_t j = 0; j < n; j++) {
            H[c * n + j] /= p;
            I[c * n + j] /= p;
        }
        for (size_t r = 0; r < n; r++) {
            if (r == c) continue;
            double f = H[r * n + c];
            for (size_t j = 0; j < n; j++) {
                H[r * n + j] -= f * H[c * n + j];
                I[r * n + j] -= f * I[c * n + j];
            }
        }
    }
    for (size_t i = 0; i < n; i++) { // U^T U = I (upper Cholesky)
        double d = I[i * n + i];
        for (size_t k = 0; k < i; k++) d -= U[k * n + i] * U[k * n + i];
        U[i * n + i] = sqrt(d);
        for (size_t j = i + 1; j < n; j++) {
            double v = I[i * n + j];
            for (size_t k = 0; k < i; k++) v -= U[k * n + i] * U[k * n + j];
            U[i * n + j] = v / U[i * n + i];
        }
    }
    double *tmp = malloc(rows * bs * sizeof *tmp), *srt = malloc(rows * bs * sizeof *srt);
    for (size_t i1 = 0; i1 < n; i1 += bs) {
        size_t i2 = i1 + bs < n ? i1 + bs : n, cnt = i2 - i1;
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < cnt; j++) {
                double w = W[r * n + i1 + j], d = U[(i1 + j) * n + i1 + j];
                tmp[r * cnt + j] = srt[r * cnt + j] = w * w / (d * d);
            }
        qsort(srt, rows * cnt, sizeof *srt, cmp_d);
        double th = srt[(size_t)((double)(rows * cnt) * s)];
        for (size_t r = 0; r < rows; r++)
            for (size_t i = i1; i < n; i++) {
                if (i >= i2) break;
                double w = W[r * n + i], d = U[i * n + i];
                double q = tmp[r * cnt + i - i1] <= th ? 0 : w;
                double e = (w - q) / d;
                for (size_t j = i + 1; j < n; j++) W[r * n + j] -= e * U[i * n + j];
                W[r * n + i] = q;
            }
    }
    free(H);
    free(I);
    free(U);
    free(tmp);
    free(srt);
}

static void make_hessian(struct cpr_rng *rng, size_t n, size_t tok, float *h) {
    float *x = malloc(tok * n * sizeof *x);
    cpr_test_fill_normal(rng, x, tok * n, 1.0f);
    for (size_t i = 0; i < tok; i++) x[i * n + 1] *= 10.0f; // uneven scales
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double a = 0;
            for (size_t k = 0; k < tok; k++) a += (double)x[k * n + i] * x[k * n + j];
            h[i * n + j] = (float)(2.0 * a / 4.0);
        }
    free(x);
}

static void test_sparsegpt_ref(struct cpr_test_ctx *t) {
    enum { R = 12, N = 40, TOK = 64 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 11);
    float w[R * N], h[N * N], out[R * N];
    double wd[R * N];
    uint8_t mask[R * N];
    cpr_test_fill_normal(&rng, w, R * N, 1.0f);
    make_hessian(&rng, N, TOK, h);
    for (size_t i = 0; i < R * N; i++) wd[i] = w[i];
    sgpt_ref(R, N, wd, h, 0.5, 16, 0.01);
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, run("sparsegpt", "blocksize=16", R, N, w, NULL, h,
                            mt_unstr(0.5), NULL, NULL, out, mask, &err),
                     CPR_OK, &err, NULL);
    double maxerr = 0, maxw = 0;
    size_t flips = 0;
    for (size_t i = 0; i < R * N; i++) {
        flips += (out[i] == 0.0f) != (wd[i] == 0.0);
        maxerr = fmax(maxerr, fabs(out[i] - wd[i]));
        maxw = fmax(maxw, fabs(wd[i]));
    }
    // f32 vs f64 on a well-conditioned 40x40 H: errors ~1e-5 relative.
    CPR_CHECK(t, flips == 0 && maxerr <= 1e-4 * maxw,
              "vs f64 reference: %zu mask flips, max |diff| %g (max |w| %g)",
              flips, maxerr, maxw);
}

// ---- threads and ISAs ----
static void test_threads_isas(struct cpr_test_ctx *t) {
    enum { R = 96, N = 256 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 3);
    float *w = malloc(R * N * sizeof *w), *sr = malloc(N * sizeof *sr);
    float *h = malloc(N * N * sizeof *h);
    float *o1 = malloc(R * N * sizeof *o1), *o2 = malloc(R * N * sizeof *o2);
    uint8_t *m1 = malloc(R * N), *m2 = malloc(R * N);
    cpr_test_fill_normal(&rng, w, R * N, 1.0f);
    for (size_t i = 0; i < R * N; i += 5) w[i] = roundf(w[i] * 2) / 2; // ties
    for (size_t j = 0; j < N; j++) sr[j] = (float)(j % 7) * 0.5f;
    make_hessian(&rng, N, 300, h);
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 2, &err), CPR_OK, &err, NULL);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    static const struct {
        const char *m, *o;
        double s;
        unsigned n, mm;
    } cases[] = {
        {"magnitude", "", 0.5, 0, 0},      {"magnitude", "group=row", 0.7, 0, 0},
        {"magnitude", "", 0, 2, 4},        {"wanda", "", 0.5, 0, 0},
        {"wanda", "", 0, 4, 8},            {"wanda", "variant=1", 0.5, 0, 0},
        {"sparsegpt", "", 0.5, 0, 0},      {"sparsegpt", "blocksize=32", 0, 2, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct cpr_prune_target tg = {cases[c].s, cases[c].n, cases[c].mm};
        run(cases[c].m, cases[c].o, R, N, w, sr, h, tg, NULL, &tabs[0], o1,
            m1, &err);
        for (size_t ti = 0; ti < nt; ti++) {
            for (int threads = 1; threads <= 2; threads++) {
                if (ti == 0 && threads == 1) continue;
                CPR_CHECK_STATUS(t, run(cases[c].m, cases[c].o, R, N, w, sr,
                                        h, tg, threads == 2 ? pool : NULL,
                                        &tabs[ti], o2, m2, &err),
                                 CPR_OK, &err, NULL);
                int sgpt = !strcmp(cases[c].m, "sparsegpt");
                if (!sgpt || ti == 0) {
                    // Exact: every method on one ISA; magnitude/Wanda on all.
                    CPR_CHECK(t, !memcmp(m1, m2, R * N) &&
                                     !memcmp(o1, o2, R * N * sizeof *o1),
                              "%s %s: %s, %d threads differ from scalar/1",
                              cases[c].m, cases[c].o, cpr_isa_name(isas[ti]),
                              threads);
                }
            }
        }
        // Exact counts: per-row for magnitude-row / wanda, N:M per group.
        if (cases[c].mm)
            for (size_t r = 0; r < R; r++)
                for (size_t g = 0; g < N; g += cases[c].mm) {
                    unsigned z = 0;
                    for (size_t j = 0; j < cases[c].mm; j++)
                        z += o1[r * N + g + j] == 0.0f;
                    CPR_CHECK(t, z >= cases[c].n, "%s N:M row %zu group %zu: "
                              "%u zeros", cases[c].m, r, g, z);
                }
        if (!cases[c].mm && (!strcmp(cases[c].o, "group=row") ||
                             (!strcmp(cases[c].m, "wanda") && !cases[c].o[0])))
            for (size_t r = 0; r < R; r++) {
                size_t p = 0;
                for (size_t j = 0; j < N; j++) p += m1[r * N + j];
                CPR_CHECK(t, p == (size_t)(N * cases[c].s), "%s row %zu: %zu "
                          "pruned", cases[c].m, r, p);
            }
    }
    // Wanda variant: matrix sparsity near the target.
    {
        struct cpr_prune_target tg = {0.5, 0, 0};
        run("wanda", "variant=1", R, N, w, sr, h, tg, NULL, NULL, o1, m1, &err);
        size_t p = 0;
        for (size_t i = 0; i < R * N; i++) p += m1[i];
        CPR_CHECK(t, fabs((double)p / (R * N) - 0.5) < 0.01,
                  "variant sparsity %g", (double)p / (R * N));
    }
    cpr_pool_free(pool);
    free(w);
    free(sr);
    free(h);
    free(o1);
    free(o2);
    free(m1);
    free(m2);
}

const struct cpr_test cpr_tests_methods_basic[] = {
    {"options_registry", test_options, 0},
    {"errors", test_errors, 0},
    {"magnitude_hand", test_magnitude_hand, 0},
    {"magnitude_radix_vs_kth", test_magnitude_radix, 0},
    {"wanda_hand", test_wanda_hand, 0},
    {"sparsegpt_hand", test_sparsegpt_hand, 0},
    {"global_magnitude", test_global, 0},
    {"sparsegpt_vs_f64", test_sparsegpt_ref, 0},
    {"threads_isas", test_threads_isas, 0},
    {0},
};
