// tests/test_methods_sparsegpt.c: SparseGPT's blocked column loop
// (methods/sparsegpt.c: RB-row tasks, SB-column sub-blocks whose error is
// applied to the rest of the block by the gemm kernel, one nm_mask call
// per group start and task, the lazy update split over columns) on shapes
// that exercise several row tasks with a ragged last one, a ragged last
// block and sub-block, and N:M widths that do not divide SB:
//   - against a double-precision reference that applies the reference's
//     per-column rank-1 updates one by one (sparsegpt.py fasterprune);
//   - bit identity for 1, 2 and 3 threads on every ISA.
// The Hessian comes from cpr_site_stats (methods/stats.h), as in the
// pipeline. The hand-worked and PyTorch-oracle cases are in
// test_methods_basic.c and test_methods_oracle.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "methods/registry.h"
#include "methods/stats.h"
#include "tests/harness.h"

// f32 vs the double reference on a well-conditioned H (tokens >> n, 1%
// damping): weights agree to ~1e-5 relative; a near-tie at a block
// threshold or inside an N:M group may flip, so a few flips are allowed.
#define SGPT_REL_TOL 1e-4
#define SGPT_MAX_FLIP_FRAC 1e-3

enum { R = 300, N = 204, TOK = 1024, NSEQ = 8 };

// ---- double reference ----
// (n smallest of m, ties to the lower index) on g[0..m).
static void nm_ref(const double *g, unsigned m, unsigned np, uint8_t *mk) {
    for (unsigned i = 0; i < m; i++) {
        unsigned rank = 0;
        for (unsigned j = 0; j < m; j++) rank += g[j] < g[i] || (g[j] == g[i] && j < i);
        mk[i] = rank < np;
    }
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// fasterprune in double on W (rows, n) with H (n, n), blocksize bs.
static void sgpt_ref(size_t rows, size_t n, double *W, const float *h0, double s,
                     unsigned np, unsigned m, size_t bs) {
    double *H = malloc(n * n * sizeof *H), *A = calloc(n * n, sizeof *A);
    double *U = calloc(n * n, sizeof *U), *E = malloc(rows * bs * sizeof *E);
    double *tmp = malloc(rows * bs * sizeof *tmp), *srt = malloc(rows * bs * sizeof *srt);
    uint8_t *mk = malloc(rows * bs);
    double mean = 0;
    for (size_t i = 0; i < n * n; i++) H[i] = h0[i];
    for (size_t d = 0; d < n; d++) {
        if (H[d * n + d] == 0) {
            H[d * n + d] = 1;
            for (size_t r = 0; r < rows; r++) W[r * n + d] = 0;
        }
        mean += H[d * n + d] / (double)n;
    }
    for (size_t d = 0; d < n; d++) H[d * n + d] += 0.01 * mean;
    // H = L L^T (lower, in place); A = H^-1 column by column.
    for (size_t j = 0; j < n; j++) {
        for (size_t p = 0; p < j; p++) H[j * n + j] -= H[j * n + p] * H[j * n + p];
        H[j * n + j] = sqrt(H[j * n + j]);
        for (size_t i = j + 1; i < n; i++) {
            for (size_t p = 0; p < j; p++) H[i * n + j] -= H[i * n + p] * H[j * n + p];
            H[i * n + j] /= H[j * n + j];
        }
    }
    double *y = malloc(n * sizeof *y);
    for (size_t c = 0; c < n; c++) {
        for (size_t i = 0; i < n; i++) { // L y = e_c
            double v = i == c;
            for (size_t p = 0; p < i; p++) v -= H[i * n + p] * y[p];
            y[i] = v / H[i * n + i];
        }
        for (size_t i = n; i-- > 0;) { // L^T x = y
            double v = y[i];
            for (size_t p = i + 1; p < n; p++) v -= H[p * n + i] * A[p * n + c];
            A[i * n + c] = v / H[i * n + i];
        }
    }
    // U upper with U^T U = A: U = chol_lower(A)^T.
    for (size_t j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (size_t p = 0; p < j; p++) d -= U[p * n + j] * U[p * n + j];
        U[j * n + j] = sqrt(d);
        for (size_t i = j + 1; i < n; i++) {
            double v = A[i * n + j];
            for (size_t p = 0; p < j; p++) v -= U[p * n + i] * U[p * n + j];
            U[j * n + i] = v / U[j * n + j];
        }
    }
    for (size_t i1 = 0; i1 < n; i1 += bs) {
        size_t i2 = i1 + bs < n ? i1 + bs : n, cnt = i2 - i1;
        if (m == 0) {
            for (size_t r = 0; r < rows; r++)
                for (size_t j = 0; j < cnt; j++) {
                    double w = W[r * n + i1 + j], d = U[(i1 + j) * n + i1 + j];
                    tmp[r * cnt + j] = srt[r * cnt + j] = w * w / (d * d);
                }
            qsort(srt, rows * cnt, sizeof *srt, cmp_d);
            double th = srt[(size_t)((double)(rows * cnt) * s)];
            for (size_t e = 0; e < rows * cnt; e++) mk[e] = tmp[e] <= th;
        } else {
            memset(mk, 0, rows * cnt);
        }
        for (size_t i = 0; i < cnt; i++) {
            if (m && i % m == 0)
                for (size_t r = 0; r < rows; r++) {
                    double g[64];
                    for (unsigned j = 0; j < m; j++) {
                        double w = W[r * n + i1 + i + j], d = U[(i1 + i + j) * n + i1 + i + j];
                        g[j] = w * w / (d * d);
                    }
                    nm_ref(g, m, np, mk + r * cnt + i);
                }
            double d = U[(i1 + i) * n + i1 + i];
            for (size_t r = 0; r < rows; r++) {
                double w = W[r * n + i1 + i], q = mk[r * cnt + i] ? 0.0 : w, e = (w - q) / d;
                for (size_t j = i + 1; j < cnt; j++) W[r * n + i1 + j] -= e * U[(i1 + i) * n + i1 + j];
                W[r * n + i1 + i] = q;
                E[r * bs + i] = e;
            }
        }
        for (size_t r = 0; r < rows; r++)
            for (size_t j = i2; j < n; j++) {
                double a = 0;
                for (size_t i = 0; i < cnt; i++) a += E[r * bs + i] * U[(i1 + i) * n + j];
                W[r * n + j] -= a;
            }
    }
    free(H);
    free(A);
    free(U);
    free(E);
    free(tmp);
    free(srt);
    free(mk);
    free(y);
}

// ---- the C method ----
static enum cpr_status run(const char *opts, const float *w, const float *h,
                           struct cpr_prune_target tg, struct cpr_pool *pool,
                           const struct cpr_kernels *k, float *out, uint8_t *mask,
                           float *hc, struct cpr_err *err) {
    const struct cpr_method *me = cpr_method_find("sparsegpt");
    void *st = NULL;
    enum cpr_status s = me->init(&st, err);
    if (s == CPR_OK) s = me->parse_opts(st, opts, err);
    memcpy(out, w, (size_t)R * N * sizeof *out);
    memcpy(hc, h, (size_t)N * N * sizeof *hc);
    struct cpr_matrix mat = {"w", out, R, N, N, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats ls = {N, NSEQ, NULL, hc, NULL, NULL, NULL, NULL};
    if (s == CPR_OK) s = me->prune_matrix(st, &mat, &ls, &tg, mask, pool, k, err);
    me->free(st);
    return s;
}

static const struct {
    const char *opts;
    double s;
    unsigned n, m;
    size_t bs;
} CASES[] = {
    {"", 0.5, 0, 0, 128},               // blocks 128 + 76, sub-blocks of 16
    {"blocksize=40", 0.6, 0, 0, 40},    // sub-blocks 16, 16, 8
    {"", 0.0, 2, 4, 128},               // 2:4
    {"blocksize=96", 0.0, 2, 6, 96},    // 2:6: sub-blocks of 12
    {"blocksize=102", 0.0, 3, 34, 102}, // M > SB: one group per sub-block
};

static void make_inputs(float *w, float *h) {
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 17);
    cpr_test_fill_normal(&rng, w, (size_t)R * N, 1.0f);
    float *x = malloc((size_t)TOK * N * sizeof *x);
    cpr_test_fill_normal(&rng, x, (size_t)TOK * N, 1.0f);
    for (size_t t = 0; t < TOK; t++) {
        x[t * N + 5] *= 8.0f; // uneven scales
        x[t * N + 77] = 0.0f; // a dead input
    }
    struct cpr_site_stats st;
    struct cpr_err err = {0};
    struct cpr_linear_stats ls;
    if (cpr_site_stats_init(&st, N, CPR_NEED_HESSIAN, 0, &err) == CPR_OK &&
        cpr_site_stats_add(&st, x, TOK, N, NSEQ, NULL, NULL, &err) == CPR_OK)
        cpr_site_stats_finish(&st, NULL, h, NULL, NULL, &ls, &err);
    cpr_site_stats_free(&st);
    free(x);
}

static void test_vs_reference(struct cpr_test_ctx *t) {
    float *w = malloc((size_t)R * N * sizeof *w), *h = malloc((size_t)N * N * sizeof *h);
    float *out = malloc((size_t)R * N * sizeof *out), *hc = malloc((size_t)N * N * sizeof *hc);
    double *wd = malloc((size_t)R * N * sizeof *wd);
    uint8_t *mask = malloc((size_t)R * N);
    make_inputs(w, h);
    struct cpr_err err = {0};
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        struct cpr_prune_target tg = {CASES[c].s, CASES[c].n, CASES[c].m};
        CPR_CHECK_STATUS(t, run(CASES[c].opts, w, h, tg, NULL, NULL, out, mask, hc, &err),
                         CPR_OK, &err, NULL);
        for (size_t i = 0; i < (size_t)R * N; i++) wd[i] = w[i];
        sgpt_ref(R, N, wd, h, CASES[c].s, CASES[c].n, CASES[c].m, CASES[c].bs);
        size_t flips = 0, masked_nonzero = 0;
        double maxerr = 0, maxw = 0;
        for (size_t i = 0; i < (size_t)R * N; i++) {
            int z = out[i] == 0.0f, zr = wd[i] == 0.0;
            flips += z != zr;
            masked_nonzero += mask[i] && !z;
            if (!z && !zr) maxerr = fmax(maxerr, fabs(out[i] - wd[i]));
            maxw = fmax(maxw, fabs(wd[i]));
        }
        if (t->verbose)
            printf("    %-14s %u:%u s=%.1f flips %zu, max|diff| %.3g (max|w| %.3g)\n",
                   CASES[c].opts, CASES[c].n, CASES[c].m, CASES[c].s, flips, maxerr, maxw);
        CPR_CHECK(t, flips <= SGPT_MAX_FLIP_FRAC * R * N && maxerr <= SGPT_REL_TOL * maxw &&
                         masked_nonzero == 0,
                  "case %zu (%s %u:%u): %zu flips, max |diff| %g (max |w| %g), %zu masked "
                  "non-zeros", c, CASES[c].opts, CASES[c].n, CASES[c].m, flips, maxerr, maxw,
                  masked_nonzero);
        if (CASES[c].m) { // exact N:M counts
            size_t bad = 0;
            for (size_t r = 0; r < R; r++)
                for (size_t g = 0; g < N; g += CASES[c].m) {
                    unsigned z = 0;
                    for (size_t j = 0; j < CASES[c].m; j++) z += mask[r * N + g + j];
                    bad += z != CASES[c].n;
                }
            CPR_CHECK(t, bad == 0, "case %zu: %zu groups without exactly %u pruned", c, bad,
                      CASES[c].n);
        }
    }
    free(w);
    free(h);
    free(out);
    free(hc);
    free(wd);
    free(mask);
}

static void test_threads_isas(struct cpr_test_ctx *t) {
    float *w = malloc((size_t)R * N * sizeof *w), *h = malloc((size_t)N * N * sizeof *h);
    float *o1 = malloc((size_t)R * N * sizeof *o1), *o2 = malloc((size_t)R * N * sizeof *o2);
    float *hc = malloc((size_t)N * N * sizeof *hc);
    uint8_t *m1 = malloc((size_t)R * N), *m2 = malloc((size_t)R * N);
    make_inputs(w, h);
    struct cpr_err err = {0};
    struct cpr_pool *pools[3] = {NULL, NULL, NULL};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pools[1], 2, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_pool_init(&pools[2], 3, &err), CPR_OK, &err, NULL);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        struct cpr_prune_target tg = {CASES[c].s, CASES[c].n, CASES[c].m};
        for (size_t ti = 0; ti < nt; ti++) {
            CPR_CHECK_STATUS(t, run(CASES[c].opts, w, h, tg, NULL, &tabs[ti], o1, m1, hc, &err),
                             CPR_OK, &err, NULL);
            for (int p = 1; p < 3; p++) {
                CPR_CHECK_STATUS(t, run(CASES[c].opts, w, h, tg, pools[p], &tabs[ti], o2, m2,
                                        hc, &err),
                                 CPR_OK, &err, NULL);
                CPR_CHECK(t, !memcmp(o1, o2, (size_t)R * N * sizeof *o1) &&
                                 !memcmp(m1, m2, (size_t)R * N),
                          "case %zu (%s %u:%u), %s: %d threads differ from 1", c,
                          CASES[c].opts, CASES[c].n, CASES[c].m, cpr_isa_name(isas[ti]),
                          p + 1);
            }
        }
    }
    cpr_pool_free(pools[1]);
    cpr_pool_free(pools[2]);
    free(w);
    free(h);
    free(o1);
    free(o2);
    free(hc);
    free(m1);
    free(m2);
}

const struct cpr_test cpr_tests_methods_sparsegpt[] = {
    {"vs_f64_reference", test_vs_reference, 0},
    {"threads_isas", test_threads_isas, 0},
    {0},
};
