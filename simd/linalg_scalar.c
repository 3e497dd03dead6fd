// simd/linalg_scalar.c: reference Cholesky, triangular solve and triangular
// inverse (the executable spec of the linalg family).
//
// Plain loops; every inner product is accumulated in double in increasing
// index order and rounded to f32 once. These are single-threaded leaf
// kernels for panels and small matrices; core/linalg.c builds the blocked,
// threaded versions for large matrices on top of them and the GEMM slot.
#include <assert.h>
#include <math.h>

#include "simd/kernels.h"

// Cholesky-Crout, row oriented: for each column j,
//   d = A[j][j] - sum_{p<j} L[j][p]^2,  L[j][j] = sqrt(d),
//   L[i][j] = (A[i][j] - sum_{p<j} L[i][p] L[j][p]) / L[j][j]  for i > j.
// Reads and writes only the lower triangle. Fails at the first pivot d that
// is not > 0 (NaN included); a is then partly overwritten.
static int cholesky_f32_scalar(size_t n, float *a, size_t lda) {
    assert(n == 0 || (a && lda >= n));
    for (size_t j = 0; j < n; j++) {
        float *rj = a + j * lda;
        double d = rj[j];
        for (size_t p = 0; p < j; p++) d -= (double)rj[p] * rj[p];
        if (!(d > 0.0)) return (int)(j + 1);
        double ljj = sqrt(d);
        rj[j] = (float)ljj;
        for (size_t i = j + 1; i < n; i++) {
            float *ri = a + i * lda;
            double s = ri[j];
            for (size_t p = 0; p < j; p++) s -= (double)ri[p] * rj[p];
            ri[j] = (float)(s / ljj);
        }
    }
    return 0;
}

// Each row x of B solves x L^T = b, i.e. L x^T = b^T, by forward
// substitution: x_j = (b_j - sum_{p<j} L[j][p] x_p) / L[j][j].
static void trsm_rlt_f32_scalar(size_t m, size_t n, const float *l, size_t ldl,
                                float *b, size_t ldb) {
    assert(m == 0 || n == 0 || (l && b && ldl >= n && ldb >= n));
    for (size_t r = 0; r < m; r++) {
        float *x = b + r * ldb;
        for (size_t j = 0; j < n; j++) {
            const float *lj = l + j * ldl;
            double s = x[j];
            for (size_t p = 0; p < j; p++) s -= (double)lj[p] * x[p];
            x[j] = (float)(s / lj[j]);
        }
    }
}

// X = L^-1, row by row: X[i][i] = 1/L[i][i] and for p < i
//   X[i][p] = -(1/L[i][i]) * sum_{q=p}^{i-1} L[i][q] X[q][p].
// In place: X[i][p] needs L[i][q] only for q >= p, so computing p upward
// overwrites each L[i][p] after its last use. Every diagonal is checked
// first, so on failure a is unchanged.
static int trinv_f32_scalar(size_t n, float *a, size_t lda) {
    assert(n == 0 || (a && lda >= n));
    for (size_t j = 0; j < n; j++)
        if (a[j * lda + j] == 0.0f) return (int)(j + 1);
    for (size_t i = 0; i < n; i++) {
        float *ri = a + i * lda;
        double inv = 1.0 / ri[i];
        for (size_t p = 0; p < i; p++) {
            double s = 0.0;
            for (size_t q = p; q < i; q++) s += (double)ri[q] * a[q * lda + p];
            ri[p] = (float)(-s * inv);
        }
        ri[i] = (float)inv;
    }
    return 0;
}

void cpr_fill_linalg_scalar(struct cpr_kernels *k) {
    k->cholesky_f32 = cholesky_f32_scalar;
    k->trsm_rlt_f32 = trsm_rlt_f32_scalar;
    k->trinv_f32 = trinv_f32_scalar;
}
