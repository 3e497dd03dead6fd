// tests/test_linalg.c: the blocked, threaded factorizations of core/linalg.c
// (cpr_cholesky, cpr_tri_inverse_t, cpr_spd_inverse,
// cpr_inverse_chol_upper): residuals computed here in double, results
// bit-identical for 1 and 2 threads, the strict upper triangle untouched
// (NaN-filled), errors naming the failing pivot, bad arguments rejected.
// Sizes straddle the 256 block (1, 5, 255, 257, 520) with padded strides.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "tests/harness.h"

#define U32 (1.0 / 16777216.0)

static const size_t SIZES[] = {1, 5, 255, 257, 520};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])

// SPD A = G G^T / n + 0.1 I (double), lower triangle, strict upper = NaN.
static void make_spd(struct cpr_rng *r, size_t n, float *a, size_t lda) {
    double *g = malloc((n * n + 1) * sizeof *g);
    for (size_t i = 0; i < n * n; i++) g[i] = cpr_rng_normal(r);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < lda; j++) {
            double s = 0;
            if (j <= i)
                for (size_t p = 0; p < n; p++) s += g[i * n + p] * g[j * n + p];
            a[i * lda + j] = j > i ? NAN : (float)(s / (double)n + (i == j ? 0.1 : 0.0));
        }
    free(g);
}

static double sym(const float *a, size_t lda, size_t i, size_t j) {
    return i >= j ? a[i * lda + j] : a[j * lda + i];
}

struct fixture {
    struct cpr_pool *pool2;
    const struct cpr_kernels *k;
};

static int setup(struct cpr_test_ctx *t, struct fixture *f) {
    struct cpr_err err;
    f->k = cpr_kernels_get();
    enum cpr_status s = cpr_pool_init(&f->pool2, 2, &err);
    CPR_CHECK_STATUS(t, s, CPR_OK, &err, NULL);
    return s == CPR_OK;
}

static void test_cholesky(struct cpr_test_ctx *t) {
    struct fixture f;
    if (!setup(t, &f)) return;
    struct cpr_rng r;
    cpr_rng_seed(&r, 31);
    for (size_t si = 0; si < N_SIZES; si++) {
        size_t n = SIZES[si], lda = n + si % 3, bytes = n * lda * sizeof(float);
        float *a0 = malloc(bytes + 4), *a1 = malloc(bytes + 4), *a2 = malloc(bytes + 4);
        make_spd(&r, n, a0, lda);
        memcpy(a1, a0, bytes);
        memcpy(a2, a0, bytes);
        struct cpr_err err;
        CPR_CHECK_STATUS(t, cpr_cholesky(NULL, f.k, n, a1, lda, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_cholesky(f.pool2, f.k, n, a2, lda, &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, memcmp(a1, a2, bytes) == 0 || n == 0, "cholesky n=%zu: 1 vs 2 threads differ", n);
        double num = 0, den = 0;
        int upper_ok = 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                if (j > i) {
                    upper_ok &= isnan(a1[i * lda + j]);
                    continue;
                }
                double s = 0;
                for (size_t p = 0; p <= j; p++) s += (double)a1[i * lda + p] * a1[j * lda + p];
                double d = s - a0[i * lda + j], w = i == j ? 1 : 2;
                num += w * d * d;
                den += w * (double)a0[i * lda + j] * a0[i * lda + j];
            }
        double rel = sqrt(num / den);
        CPR_CHECK(t, rel <= 2.0 * (double)n * U32, "cholesky n=%zu: ||LL^T-A||/||A|| = %.3g", n, rel);
        CPR_CHECK(t, upper_ok, "cholesky n=%zu wrote the upper triangle", n);
        free(a0);
        free(a1);
        free(a2);
    }
    cpr_pool_free(f.pool2);
}

static void test_cholesky_errors(struct cpr_test_ctx *t) {
    struct fixture f;
    if (!setup(t, &f)) return;
    struct cpr_rng r;
    cpr_rng_seed(&r, 32);
    size_t n = 400;
    float *a = malloc(n * n * sizeof *a);
    struct cpr_err err;
    make_spd(&r, n, a, n);
    a[300 * n + 300] = -1.0f; // pivot 300 (in the second block) fails
    CPR_CHECK_STATUS(t, cpr_cholesky(f.pool2, f.k, n, a, n, &err), CPR_ERR_NUMERIC, &err,
                     "pivot 300 of 400");
    make_spd(&r, n, a, n);
    a[10 * n + 10] = NAN;
    CPR_CHECK_STATUS(t, cpr_cholesky(NULL, f.k, n, a, n, &err), CPR_ERR_NUMERIC, &err, "pivot 10 ");
    make_spd(&r, n, a, n);
    a[300 * n + 300] = -1.0f; // in J H J order, H row 300 is reached last-but-99
    CPR_CHECK_STATUS(t, cpr_inverse_chol_upper(f.pool2, f.k, n, a, n, &err), CPR_ERR_NUMERIC,
                     &err, "H index 300 of 400");
    CPR_CHECK_STATUS(t, cpr_cholesky(NULL, f.k, n, a, n - 1, &err), CPR_ERR_ARG, &err, "stride");
    CPR_CHECK_STATUS(t, cpr_spd_inverse(NULL, f.k, n, NULL, n, &err), CPR_ERR_ARG, &err, "NULL");
    CPR_CHECK_STATUS(t, cpr_cholesky(NULL, f.k, 0, NULL, 0, &err), CPR_OK, &err, NULL);
    free(a);
    cpr_pool_free(f.pool2);
}

// Y = L^-T: check (L^T Y)_ij = sum_p L[p][i] Y[p][j] = delta_ij.
static void test_tri_inverse(struct cpr_test_ctx *t) {
    struct fixture f;
    if (!setup(t, &f)) return;
    struct cpr_rng r;
    cpr_rng_seed(&r, 33);
    for (size_t si = 0; si < N_SIZES; si++) {
        size_t n = SIZES[si], ldl = n + 1, ldy = n + si % 2;
        float *l = malloc((n * ldl + 1) * sizeof *l);
        float *y1 = malloc((n * ldy + 1) * sizeof *y1), *y2 = malloc((n * ldy + 1) * sizeof *y2);
        make_spd(&r, n, l, ldl);
        struct cpr_err err;
        CPR_CHECK_STATUS(t, cpr_cholesky(NULL, f.k, n, l, ldl, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_tri_inverse_t(NULL, f.k, n, l, ldl, y1, ldy, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_tri_inverse_t(f.pool2, f.k, n, l, ldl, y2, ldy, &err), CPR_OK, &err, NULL);
        int same = 1;
        for (size_t i = 0; i < n; i++) same &= memcmp(y1 + i * ldy, y2 + i * ldy, n * 4) == 0;
        CPR_CHECK(t, same, "tri_inverse n=%zu: 1 vs 2 threads differ", n);
        double worst = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                if (j < i) {
                    CPR_CHECK(t, y1[i * ldy + j] == 0.0f, "tri_inverse lower not zero");
                    continue;
                }
                double s = 0, mag = 0;
                for (size_t p = i; p <= j; p++) {
                    s += (double)l[p * ldl + i] * y1[p * ldy + j];
                    mag += fabs((double)l[p * ldl + i] * y1[p * ldy + j]);
                }
                double e = fabs(s - (i == j)) / (4.0 * (double)n * U32 * mag + 1e-30);
                if (!(e <= worst)) worst = e;
            }
        CPR_CHECK(t, worst <= 1.0, "tri_inverse n=%zu: residual %.3g x tolerance", n, worst);
        free(l);
        free(y1);
        free(y2);
    }
    cpr_pool_free(f.pool2);
}

// A^-1 (full, symmetric) and U = chol(A^-1, upper): residuals and 1 vs 2
// threads; U is also compared with the slow route chol_lower(A^-1)^T.
static void test_inverses(struct cpr_test_ctx *t) {
    struct fixture f;
    if (!setup(t, &f)) return;
    struct cpr_rng r;
    cpr_rng_seed(&r, 34);
    for (size_t si = 0; si < N_SIZES; si++) {
        size_t n = SIZES[si], lda = n + si % 3, bytes = n * lda * sizeof(float);
        float *a0 = malloc(bytes + 4), *x1 = malloc(bytes + 4), *x2 = malloc(bytes + 4);
        float *u1 = malloc(bytes + 4), *u2 = malloc(bytes + 4);
        make_spd(&r, n, a0, lda);
        struct cpr_err err;
        memcpy(x1, a0, bytes);
        memcpy(x2, a0, bytes);
        memcpy(u1, a0, bytes);
        memcpy(u2, a0, bytes);
        CPR_CHECK_STATUS(t, cpr_spd_inverse(NULL, f.k, n, x1, lda, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_spd_inverse(f.pool2, f.k, n, x2, lda, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_inverse_chol_upper(NULL, f.k, n, u1, lda, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_inverse_chol_upper(f.pool2, f.k, n, u2, lda, &err), CPR_OK, &err, NULL);
        int same_x = 1, same_u = 1, symm = 1;
        for (size_t i = 0; i < n; i++) {
            same_x &= memcmp(x1 + i * lda, x2 + i * lda, n * 4) == 0;
            same_u &= memcmp(u1 + i * lda, u2 + i * lda, n * 4) == 0;
            for (size_t j = 0; j < i; j++) symm &= x1[i * lda + j] == x1[j * lda + i];
        }
        CPR_CHECK(t, same_x && same_u, "inverses n=%zu: 1 vs 2 threads differ", n);
        CPR_CHECK(t, symm, "spd_inverse n=%zu not exactly symmetric", n);
        // ||A X - I||_max <= c n u ||A||_2-ish * ||X||; cond(A) <= ~45 here
        double worst = 0, xmax = 0;
        for (size_t i = 0; i < n * lda; i++)
            if (i % lda < n && fabs(x1[i]) > xmax) xmax = fabs(x1[i]);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t p = 0; p < n; p++) s += sym(a0, lda, i, p) * x1[p * lda + j];
                double e = fabs(s - (i == j));
                if (!(e <= worst)) worst = e;
            }
        CPR_CHECK(t, worst <= 50.0 * (double)n * U32 * (1 + xmax),
                  "spd_inverse n=%zu: max|AX-I| = %.3g", n, worst);
        // slow route: chol_lower(A^-1)^T, from x1's lower triangle
        CPR_CHECK_STATUS(t, cpr_cholesky(NULL, f.k, n, x1, lda, &err), CPR_OK, &err, NULL);
        double du = 0, umax = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double want = j >= i ? x1[j * lda + i] : 0.0, got = u1[i * lda + j];
                if (j < i) CPR_CHECK(t, got == 0.0, "inverse_chol_upper lower not zero");
                if (fabs(want - got) > du) du = fabs(want - got);
                if (fabs(want) > umax) umax = fabs(want);
            }
        CPR_CHECK(t, du <= 100.0 * (double)n * U32 * umax,
                  "inverse_chol_upper n=%zu: max diff to chol(inv(A))^T %.3g (max %.3g)", n, du, umax);
        free(a0);
        free(x1);
        free(x2);
        free(u1);
        free(u2);
    }
    cpr_pool_free(f.pool2);
}

const struct cpr_test cpr_tests_linalg[] = {
    {"cholesky_blocked", test_cholesky, 0},
    {"errors", test_cholesky_errors, 0},
    {"tri_inverse_t", test_tri_inverse, 0},
    {"spd_inverse_and_inverse_chol_upper", test_inverses, 0},
    {0},
};
