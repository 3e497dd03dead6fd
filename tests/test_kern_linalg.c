// tests/test_kern_linalg.c: cholesky / trsm_rlt / trinv for every ISA this
// machine runs, checked by residuals computed here in double (not against
// another kernel), at the standard sizes plus larger ones, with padded
// strides and misaligned pointers. The strict upper triangle is filled
// with NaN: a kernel that reads it fails the check.
//
// Tolerances (relative, u = 2^-24):
//   Cholesky   ||L L^T - A||_F <= CHOL_C * n * u * ||A||_F
//   trsm       |X L^T - B|_ij <= RES_C * n * u * (|X| |L|^T)_ij + tiny
//   trinv      |X L - I|_ij   <= RES_C * n * u * (|X| |L|)_ij + tiny
// which are the standard backward-error forms of these algorithms.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

#define U32 (1.0 / 16777216.0)
#define CHOL_C 2.0
#define RES_C 2.0

static const size_t EXTRA[] = {200, 301};
#define N_EXTRA (sizeof EXTRA / sizeof EXTRA[0])

static size_t size_at(size_t si) {
    return si < cpr_test_n_sizes ? cpr_test_sizes[si] : EXTRA[si - cpr_test_n_sizes];
}

// SPD A = G G^T / n + 0.1 I (computed in double), lower triangle in a with
// stride lda, strict upper = NaN.
static void make_spd(struct cpr_rng *r, size_t n, float *a, size_t lda) {
    double *g = malloc((n * n + 1) * sizeof *g);
    for (size_t i = 0; i < n * n; i++) g[i] = cpr_rng_normal(r);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < lda; j++) {
            if (j > i) {
                a[i * lda + j] = NAN;
                continue;
            }
            double s = 0;
            for (size_t p = 0; p < n; p++) s += g[i * n + p] * g[j * n + p];
            a[i * lda + j] = (float)(s / (double)n + (i == j ? 0.1 : 0.0));
        }
    free(g);
}

static void test_cholesky(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 21);
    for (size_t si = 0; si < cpr_test_n_sizes + N_EXTRA; si++) {
        size_t n = size_at(si), lda = n + si % 3, mis = si % 5;
        float *a0 = cpr_test_alloc_offset(n * lda + 1, 0);
        float *a = cpr_test_alloc_offset(n * lda + 1, mis);
        make_spd(&r, n, a0, lda);
        for (size_t ti = 0; ti < nt; ti++) {
            memcpy(a, a0, n * lda * sizeof *a);
            int rc = tabs[ti].cholesky_f32(n, a, lda);
            CPR_CHECK(t, rc == 0, "%s cholesky n=%zu returned %d", cpr_isa_name(isas[ti]), n, rc);
            double num = 0, den = 0;
            int upper_ok = 1;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) {
                    if (j > i) {
                        upper_ok &= isnan(a[i * lda + j]);
                        continue;
                    }
                    double s = 0;
                    for (size_t p = 0; p <= j; p++) s += (double)a[i * lda + p] * a[j * lda + p];
                    double d = s - a0[i * lda + j];
                    num += (i == j ? 1 : 2) * d * d;
                    den += (i == j ? 1 : 2) * (double)a0[i * lda + j] * a0[i * lda + j];
                }
            double rel = n ? sqrt(num / den) : 0;
            CPR_CHECK(t, rel <= CHOL_C * (double)n * U32 && !isnan(rel),
                      "%s cholesky n=%zu: ||LL^T-A||/||A|| = %.3g > %.3g",
                      cpr_isa_name(isas[ti]), n, rel, CHOL_C * (double)n * U32);
            CPR_CHECK(t, upper_ok, "%s cholesky n=%zu touched the upper triangle",
                      cpr_isa_name(isas[ti]), n);
        }
        cpr_test_free_offset(a0, 0);
        cpr_test_free_offset(a, mis);
    }
}

// Non-SPD input: the returned pivot is the first bad one.
static void test_cholesky_fail(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 22);
    const size_t n = 40;
    float *a0 = malloc(n * n * sizeof *a0), *a = malloc(n * n * sizeof *a);
    make_spd(&r, n, a0, n);
    static const struct { size_t j; float v; } cases[] = {
        {0, 0.0f}, {7, 0.0f}, {7, -1.0f}, {23, NAN}, {39, -1e-3f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t ti = 0; ti < nt; ti++) {
            memcpy(a, a0, n * n * sizeof *a);
            // A[j][j] below sum_p L[j][p]^2 (or NaN) breaks exactly pivot j
            a[cases[c].j * n + cases[c].j] = cases[c].v;
            int rc = tabs[ti].cholesky_f32(n, a, n);
            CPR_CHECK(t, rc == (int)cases[c].j + 1, "%s cholesky bad pivot %zu: returned %d",
                      cpr_isa_name(isas[ti]), cases[c].j, rc);
        }
    free(a0);
    free(a);
}

static void test_trsm(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 23);
    for (size_t si = 0; si < cpr_test_n_sizes + N_EXTRA; si++) {
        size_t n = size_at(si), ldl = n + 1, m = (si * 7) % 13 + (n > 100 ? 50 : 1);
        size_t ldb = n + si % 4, mis = si % 6;
        float *l = malloc((n * ldl + 1) * sizeof *l);
        make_spd(&r, n, l, ldl);
        CPR_CHECK(t, tabs[0].cholesky_f32(n, l, ldl) == 0, "setup cholesky");
        float *b0 = malloc((m * ldb + 1) * sizeof *b0), *b = cpr_test_alloc_offset(m * ldb + 1, mis);
        cpr_test_fill_normal(&r, b0, m * ldb, 1.0f);
        for (size_t ti = 0; ti < nt; ti++) {
            memcpy(b, b0, m * ldb * sizeof *b);
            tabs[ti].trsm_rlt_f32(m, n, l, ldl, b, ldb);
            double worst = 0;
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) { // (X L^T)_ij = sum_p X_ip L_jp
                    double s = 0, mag = 0;
                    for (size_t p = 0; p <= j; p++) {
                        s += (double)b[i * ldb + p] * l[j * ldl + p];
                        mag += fabs((double)b[i * ldb + p] * l[j * ldl + p]);
                    }
                    double e = fabs(s - b0[i * ldb + j]) / (RES_C * (double)n * U32 * mag + 1e-30);
                    if (!(e <= worst)) worst = e;
                }
            CPR_CHECK(t, worst <= 1.0, "%s trsm m=%zu n=%zu: residual %.3g x tolerance",
                      cpr_isa_name(isas[ti]), m, n, worst);
            for (size_t i = 0; i < m; i++) // padding columns untouched
                for (size_t j = n; j < ldb; j++)
                    CPR_CHECK(t, b[i * ldb + j] == b0[i * ldb + j], "%s trsm wrote padding",
                              cpr_isa_name(isas[ti]));
        }
        free(l);
        free(b0);
        cpr_test_free_offset(b, mis);
    }
}

static void test_trinv(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 24);
    for (size_t si = 0; si < cpr_test_n_sizes + N_EXTRA; si++) {
        size_t n = size_at(si), lda = n + si % 3, mis = si % 5;
        float *l = malloc((n * lda + 1) * sizeof *l), *x = cpr_test_alloc_offset(n * lda + 1, mis);
        make_spd(&r, n, l, lda);
        CPR_CHECK(t, tabs[0].cholesky_f32(n, l, lda) == 0, "setup cholesky");
        for (size_t ti = 0; ti < nt; ti++) {
            memcpy(x, l, n * lda * sizeof *x);
            int rc = tabs[ti].trinv_f32(n, x, lda);
            CPR_CHECK(t, rc == 0, "%s trinv n=%zu returned %d", cpr_isa_name(isas[ti]), n, rc);
            double worst = 0;
            int upper_ok = 1;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) { // (X L)_ij = sum_{j<=p<=i} X_ip L_pj
                    if (j > i) {
                        upper_ok &= isnan(x[i * lda + j]);
                        continue;
                    }
                    double s = 0, mag = 0;
                    for (size_t p = j; p <= i; p++) {
                        s += (double)x[i * lda + p] * l[p * lda + j];
                        mag += fabs((double)x[i * lda + p] * l[p * lda + j]);
                    }
                    double e = fabs(s - (i == j)) / (RES_C * (double)n * U32 * mag + 1e-30);
                    if (!(e <= worst)) worst = e;
                }
            CPR_CHECK(t, worst <= 1.0, "%s trinv n=%zu: residual %.3g x tolerance",
                      cpr_isa_name(isas[ti]), n, worst);
            CPR_CHECK(t, upper_ok, "%s trinv n=%zu touched the upper triangle",
                      cpr_isa_name(isas[ti]), n);
        }
        // a zero diagonal is reported and leaves the matrix unchanged
        if (n >= 3) {
            for (size_t ti = 0; ti < nt; ti++) {
                memcpy(x, l, n * lda * sizeof *x);
                x[2 * lda + 2] = 0.0f;
                int rc = tabs[ti].trinv_f32(n, x, lda);
                CPR_CHECK(t, rc == 3, "%s trinv zero pivot: returned %d", cpr_isa_name(isas[ti]), rc);
                CPR_CHECK(t, x[lda] == l[lda], "%s trinv changed a on failure", cpr_isa_name(isas[ti]));
            }
        }
        free(l);
        cpr_test_free_offset(x, mis);
    }
}

const struct cpr_test cpr_tests_kern_linalg[] = {
    {"cholesky", test_cholesky, 0},
    {"cholesky_bad_pivot", test_cholesky_fail, 0},
    {"trsm_rlt", test_trsm, 0},
    {"trinv", test_trinv, 0},
    {0},
};
