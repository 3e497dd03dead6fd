// core/linalg.c: blocked, threaded Cholesky, triangular inverse, SPD
// inverse and SparseGPT's inverse-Cholesky (see core/linalg.h).
//
// Every parallel phase is a list of tasks whose shapes depend only on n and
// the block constants below, never on the thread count. Each thread walks
// the whole list, adds up task costs, and runs the tasks whose cost
// midpoint falls in its share (a static partition, HOUSE_STYLE C.7). A
// task is a fixed sequence of kernel calls, so the result does not depend
// on which thread ran it: output is identical for 1 and N threads.
#include "core/linalg.h"

#include <stdlib.h>
#include <string.h>

enum {
    NB = 256, // Cholesky / inverse block (the GEMM inner dimension)
    SB = 32,  // sub-block of panel solves and diagonal triangles
    RC = 64,  // row chunk of the row-parallel phases
    CW = 512, // column chunk of trailing-update tasks
};

// Does the task with costs [before, before + cost) of total belong to
// thread ith of nth? (its midpoint decides)
static int mine(double before, double cost, double total, size_t ith,
                size_t nth) {
    if (total <= 0) return ith == 0;
    double mid = (before + 0.5 * cost) / total * (double)nth;
    size_t owner = mid >= (double)nth ? nth - 1 : (size_t)mid;
    return owner == ith;
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static enum cpr_status check_args(size_t n, const float *a, size_t lda,
                                  const char *what, struct cpr_err *err) {
    if (n > 0 && !a)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: matrix pointer is NULL (n=%zu)", what, n);
    if (n > 0 && lda < n)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: row stride %zu < n=%zu", what, lda, n);
    if (n > (size_t)1 << 20)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: n=%zu too large (max 2^20)", what, n);
    return CPR_OK;
}

// ---- Cholesky ----
struct chol_ctx {
    const struct cpr_kernels *k;
    size_t n, lda, j0, jb;
    float *a;
};

// Panel solve: rows [j0+jb, n), columns [j0, j0+jb): X := B L11^-T in
// SB-column sub-blocks, X_s = (B_s - X_{<s} L_{s,<s}^T) L_ss^-T.
static void chol_panel(void *vctx, size_t ith, size_t nth) {
    const struct chol_ctx *c = vctx;
    const struct cpr_kernels *k = c->k;
    size_t lda = c->lda, j0 = c->j0, jb = c->jb, r0 = j0 + jb;
    float *a = c->a;
    double total = (double)(c->n - r0), before = 0;
    for (size_t r = r0; r < c->n; r += RC) {
        size_t rc = min_sz(RC, c->n - r);
        if (mine(before, (double)rc, total, ith, nth)) {
            for (size_t s0 = 0; s0 < jb; s0 += SB) {
                size_t sb = min_sz(SB, jb - s0);
                float *y = a + r * lda + j0 + s0;
                if (s0 > 0)
                    k->gemm_f32(rc, sb, s0, -1.0f, a + r * lda + j0, lda,
                                a + (j0 + s0) * lda + j0, lda, 1.0f, y, lda);
                k->trsm_rlt_f32(rc, sb, a + (j0 + s0) * lda + j0 + s0, lda, y, lda);
            }
        }
        before += (double)rc;
    }
}

// Lower triangle of the square block rows/cols [d0, d1) of a:
// A -= X X^T with X = a[d0..d1][x0 .. x0+kk). Done through a small copy so
// the strict upper triangle of a is never written.
static void diag_tri_update(const struct cpr_kernels *k, float *a, size_t lda,
                            size_t d0, size_t d1, size_t x0, size_t kk) {
    float tmp[SB * SB];
    size_t m = d1 - d0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) tmp[i * SB + j] = j <= i ? a[(d0 + i) * lda + d0 + j] : 0.0f;
    k->gemm_f32(m, m, kk, -1.0f, a + d0 * lda + x0, lda, a + d0 * lda + x0, lda, 1.0f, tmp, SB);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j <= i; j++) a[(d0 + i) * lda + d0 + j] = tmp[i * SB + j];
}

// Trailing update A22 -= L21 L21^T (lower part), rows [t0, n) in block rows
// of NB: tasks are CW-wide column chunks left of the diagonal block, and the
// diagonal block itself (SB strips: a rectangle plus a small triangle).
static void chol_update(void *vctx, size_t ith, size_t nth) {
    const struct chol_ctx *c = vctx;
    const struct cpr_kernels *k = c->k;
    size_t n = c->n, lda = c->lda, j0 = c->j0, jb = c->jb, t0 = j0 + jb;
    float *a = c->a;
    double total = 0;
    for (size_t r0 = t0; r0 < n; r0 += NB) {
        double rows = (double)min_sz(NB, n - r0);
        total += rows * (double)(r0 - t0) + 0.5 * rows * rows;
    }
    double before = 0;
    for (size_t r0 = t0; r0 < n; r0 += NB) {
        size_t r1 = min_sz(r0 + NB, n), rows = r1 - r0;
        for (size_t c0 = t0; c0 < r0; c0 += CW) {
            size_t cols = min_sz(CW, r0 - c0);
            double cost = (double)rows * (double)cols;
            if (mine(before, cost, total, ith, nth))
                k->gemm_f32(rows, cols, jb, -1.0f, a + r0 * lda + j0, lda,
                            a + c0 * lda + j0, lda, 1.0f, a + r0 * lda + c0, lda);
            before += cost;
        }
        double cost = 0.5 * (double)rows * (double)rows;
        if (mine(before, cost, total, ith, nth)) {
            for (size_t s0 = r0; s0 < r1; s0 += SB) {
                size_t s1 = min_sz(s0 + SB, r1);
                if (s0 > r0)
                    k->gemm_f32(s1 - s0, s0 - r0, jb, -1.0f, a + s0 * lda + j0, lda,
                                a + r0 * lda + j0, lda, 1.0f, a + s0 * lda + r0, lda);
                diag_tri_update(k, a, lda, s0, s1, j0, jb);
            }
        }
        before += cost;
    }
}

// The blocked factorization; returns 0 or 1 + the first bad pivot.
static size_t chol_blocked(struct cpr_pool *pool, const struct cpr_kernels *k,
                           size_t n, float *a, size_t lda) {
    struct chol_ctx c = {.k = k, .n = n, .lda = lda, .a = a};
    for (size_t j0 = 0; j0 < n; j0 += NB) {
        size_t jb = min_sz(NB, n - j0);
        int rc = k->cholesky_f32(jb, a + j0 * lda + j0, lda);
        if (rc) return j0 + (size_t)rc;
        c.j0 = j0;
        c.jb = jb;
        if (j0 + jb < n) {
            cpr_pool_run(pool, chol_panel, &c);
            cpr_pool_run(pool, chol_update, &c);
        }
    }
    return 0;
}

enum cpr_status cpr_cholesky(struct cpr_pool *pool, const struct cpr_kernels *k,
                             size_t n, float *a, size_t lda,
                             struct cpr_err *err) {
    CPR_TRY(check_args(n, a, lda, "cholesky", err));
    if (!k) k = cpr_kernels_get();
    size_t bad = chol_blocked(pool, k, n, a, lda);
    if (bad) {
        size_t p = bad - 1;
        return cpr_err_set(err, CPR_ERR_NUMERIC,
                           "cholesky: pivot %zu of %zu is not positive (%g after "
                           "elimination): matrix not positive definite; add "
                           "damping to the diagonal", p, n, (double)a[p * lda + p]);
    }
    return CPR_OK;
}

// ---- triangular inverse (transposed) ----
struct tinv_ctx {
    const struct cpr_kernels *k;
    size_t n, ldl, ldy, i0, ib;
    const float *l;
    float *y;
};

// Column block I = [i0, i0+ib) of Y for all rows above it, in RC-row
// chunks (a chunk never straddles a block row J, whose start J0 fixes the
// gemm's inner range [J0, I0)).
static void tinv_col(void *vctx, size_t ith, size_t nth) {
    const struct tinv_ctx *c = vctx;
    const struct cpr_kernels *k = c->k;
    size_t i0 = c->i0, ib = c->ib, ldl = c->ldl, ldy = c->ldy;
    double total = 0, before = 0;
    for (size_t r = 0; r < i0; r += RC) total += (double)min_sz(RC, i0 - r) * (double)(i0 - r / NB * NB + ib);
    for (size_t r = 0; r < i0; r += RC) {
        size_t rc = min_sz(RC, i0 - r), jj0 = r / NB * NB;
        double cost = (double)rc * (double)(i0 - jj0 + ib);
        if (mine(before, cost, total, ith, nth)) {
            float *dst = c->y + r * ldy + i0;
            k->gemm_f32(rc, ib, i0 - jj0, -1.0f, c->y + r * ldy + jj0, ldy,
                        c->l + i0 * ldl + jj0, ldl, 0.0f, dst, ldy);
            k->trsm_rlt_f32(rc, ib, c->l + i0 * ldl + i0, ldl, dst, ldy);
        }
        before += cost;
    }
}

enum cpr_status cpr_tri_inverse_t(struct cpr_pool *pool,
                                  const struct cpr_kernels *k, size_t n,
                                  const float *l, size_t ldl, float *y,
                                  size_t ldy, struct cpr_err *err) {
    CPR_TRY(check_args(n, l, ldl, "triangular inverse (L)", err));
    CPR_TRY(check_args(n, y, ldy, "triangular inverse (Y)", err));
    if (!k) k = cpr_kernels_get();
    for (size_t j = 0; j < n; j++)
        if (l[j * ldl + j] == 0.0f)
            return cpr_err_set(err, CPR_ERR_NUMERIC,
                               "triangular inverse: diagonal %zu of %zu is zero", j, n);
    for (size_t i = 0; i < n; i++) memset(y + i * ldy, 0, i * sizeof *y);
    struct tinv_ctx c = {.k = k, .n = n, .ldl = ldl, .ldy = ldy, .l = l, .y = y};
    for (size_t i0 = 0; i0 < n; i0 += NB) {
        size_t ib = min_sz(NB, n - i0);
        // diagonal block: Y_II = (L_II^-1)^T, built in place in y
        float *d = y + i0 * ldy + i0;
        for (size_t i = 0; i < ib; i++)
            memcpy(d + i * ldy, l + (i0 + i) * ldl + i0, (i + 1) * sizeof *d);
        if (k->trinv_f32(ib, d, ldy) != 0)
            return cpr_err_set(err, CPR_ERR_INTERNAL, "triangular inverse: block %zu", i0);
        for (size_t i = 0; i < ib; i++)
            for (size_t j = 0; j < i; j++) {
                d[j * ldy + i] = d[i * ldy + j];
                d[i * ldy + j] = 0.0f;
            }
        c.i0 = i0;
        c.ib = ib;
        if (i0 > 0) cpr_pool_run(pool, tinv_col, &c);
    }
    return CPR_OK;
}

// ---- SPD inverse ----
struct gram_ctx {
    const struct cpr_kernels *k;
    size_t n, ldy, lda;
    const float *y;
    float *a;
};

// Lower blocks of A^-1 = Y Y^T with Y upper: A^-1[i][j] = sum_{p >= I0}
// Y[i][p] Y[j][p] for i in block row I (Y[i][p] = 0 for p < i). Tasks are
// RC-row chunks of one block row against all columns [0, I0 + ib).
static void gram_lower(void *vctx, size_t ith, size_t nth) {
    const struct gram_ctx *c = vctx;
    size_t n = c->n;
    double total = 0, before = 0;
    for (size_t r = 0; r < n; r += RC) {
        size_t bi0 = r / NB * NB, be = min_sz(bi0 + NB, n);
        total += (double)min_sz(RC, n - r) * (double)be * (double)(n - bi0);
    }
    for (size_t r = 0; r < n; r += RC) {
        size_t rc = min_sz(RC, n - r), bi0 = r / NB * NB, be = min_sz(bi0 + NB, n);
        double cost = (double)rc * (double)be * (double)(n - bi0);
        if (mine(before, cost, total, ith, nth))
            c->k->gemm_f32(rc, be, n - bi0, 1.0f, c->y + r * c->ldy + bi0, c->ldy,
                           c->y + bi0, c->ldy, 0.0f, c->a + r * c->lda, c->lda);
        before += cost;
    }
}

static enum cpr_status alloc_square(size_t n, float **out, const char *what,
                                    struct cpr_err *err) {
    *out = malloc((n * n + 1) * sizeof **out);
    if (!*out)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: cannot allocate %zu x %zu f32 scratch "
                           "(%.1f MiB)", what, n, n, (double)n * n * 4 / 1048576.0);
    return CPR_OK;
}

enum cpr_status cpr_spd_inverse(struct cpr_pool *pool,
                                const struct cpr_kernels *k, size_t n,
                                float *a, size_t lda, struct cpr_err *err) {
    CPR_TRY(check_args(n, a, lda, "spd inverse", err));
    if (n == 0) return CPR_OK;
    if (!k) k = cpr_kernels_get();
    float *y = NULL;
    enum cpr_status s = alloc_square(n, &y, "spd inverse", err);
    if (s != CPR_OK) goto fail;
    s = cpr_cholesky(pool, k, n, a, lda, err);
    if (s != CPR_OK) goto fail;
    s = cpr_tri_inverse_t(pool, k, n, a, lda, y, n, err);
    if (s != CPR_OK) goto fail;
    struct gram_ctx g = {.k = k, .n = n, .ldy = n, .lda = lda, .y = y, .a = a};
    // gram_lower writes, for block row I, the columns [0, I0 + ib): the
    // whole lower triangle plus the upper part of the diagonal blocks.
    // The mirror below makes the result exactly symmetric.
    cpr_pool_run(pool, gram_lower, &g);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) a[j * lda + i] = a[i * lda + j];
fail:
    free(y);
    return s;
}

// ---- SparseGPT inverse-Cholesky ----
enum cpr_status cpr_inverse_chol_upper(struct cpr_pool *pool,
                                       const struct cpr_kernels *k, size_t n,
                                       float *a, size_t lda,
                                       struct cpr_err *err) {
    CPR_TRY(check_args(n, a, lda, "inverse cholesky", err));
    if (n == 0) return CPR_OK;
    if (!k) k = cpr_kernels_get();
    float *y = NULL;
    enum cpr_status s = alloc_square(n, &y, "inverse cholesky", err);
    if (s != CPR_OK) goto fail;
    // a := J A J on the lower triangle: (i, j) <-> (n-1-i, n-1-j) maps the
    // lower triangle onto itself.
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            size_t i2 = n - 1 - i, j2 = n - 1 - j; // j2 >= i2
            if (j2 < i || (j2 == i && i2 <= j)) continue; // visit each pair once
            float t = a[i * lda + j];
            a[i * lda + j] = a[j2 * lda + i2];
            a[j2 * lda + i2] = t;
        }
    size_t bad = chol_blocked(pool, k, n, a, lda);
    if (bad) { // pivot bad-1 of J H J is row n-bad of H
        s = cpr_err_set(err, CPR_ERR_NUMERIC,
                        "inverse cholesky: H is not positive definite (elimination "
                        "from the last row fails at H index %zu of %zu); add "
                        "damping to the diagonal", n - bad, n);
        goto fail;
    }
    s = cpr_tri_inverse_t(pool, k, n, a, lda, y, n, err);
    if (s != CPR_OK) goto fail;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            a[i * lda + j] = j >= i ? y[(n - 1 - j) * n + (n - 1 - i)] : 0.0f;
fail:
    free(y);
    return s;
}
