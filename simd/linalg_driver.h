// simd/linalg_driver.h: the portable loops of the SIMD linalg leaf kernels
// (unblocked Cholesky, triangular solve B L^-T, triangular inverse),
// included by linalg_avx2.c, linalg_avx512.c and linalg_neon.c the way
// select_common.h is: plain C, static inline, no ISA #ifs, each copy
// compiled with its file's ISA flags. The ISA file passes its leaves as
// function pointers to these always-inlined drivers; the pointers are
// constants at every call site, so the compiler inlines the leaves and no
// indirect call remains in the O(n^2) inner loops.
//
// Leaves (per ISA):
//   dot1(len, a, b)            sum_{p<len} a[p] b[p] in f32 (the ISA's lane
//                              order, fixed for a given len);
//   dot4(len, a0..a3, b, out)  four dot1's sharing b, each row's operations
//                              exactly those of dot1 (so a row's result does
//                              not depend on which rows ran with it);
//   trinv_seg(i, p0, a, lda, inv)
//                              row i of X = L^-1 at columns [p0, p0+SEG)
//                              (clipped to < i): X[i][p] = -inv *
//                              sum_{q=p}^{i-1} L[i][q] X[q][p], stored after
//                              the sum (it reads L[i][q] for q >= p0).
// The scalar reference (linalg_scalar.c, double sums) deliberately does not
// use this file. The blocked, threaded factorizations are core/linalg.c,
// on top of these leaf kernels and the GEMM slot.
#ifndef CPR_SIMD_LINALG_DRIVER_H
#define CPR_SIMD_LINALG_DRIVER_H

#include <assert.h>
#include <math.h>
#include <stddef.h>

#define CPR_LA_AI static inline __attribute__((always_inline))

typedef float (*cpr_la_dot1_fn)(size_t len, const float *a, const float *b);
typedef void (*cpr_la_dot4_fn)(size_t len, const float *a0, const float *a1,
                               const float *a2, const float *a3,
                               const float *b, float out[4]);
typedef void (*cpr_la_trinv_seg_fn)(size_t i, size_t p0, float *a, size_t lda,
                                    float inv);

// Cholesky-Crout, row oriented (see linalg_scalar.c): for each column j,
// d = A[j][j] - L[j][:j].L[j][:j], L[j][j] = sqrt(d), then the rows below
// in groups of four sharing the pivot row. Returns 0 or j+1 at the first
// pivot that is not > 0 (NaN included).
CPR_LA_AI int cpr_la_cholesky(size_t n, float *a, size_t lda,
                              cpr_la_dot1_fn dot1, cpr_la_dot4_fn dot4) {
    assert(n == 0 || (a && lda >= n));
    for (size_t j = 0; j < n; j++) {
        float *rj = a + j * lda;
        float d = rj[j] - dot1(j, rj, rj);
        if (!(d > 0.0f)) return (int)(j + 1);
        float ljj = sqrtf(d);
        rj[j] = ljj;
        size_t i = j + 1;
        for (; i + 4 <= n; i += 4) {
            float *r0 = a + i * lda;
            float s[4];
            dot4(j, r0, r0 + lda, r0 + 2 * lda, r0 + 3 * lda, rj, s);
            for (size_t r = 0; r < 4; r++) r0[r * lda + j] = (r0[r * lda + j] - s[r]) / ljj;
        }
        for (; i < n; i++) {
            float *ri = a + i * lda;
            ri[j] = (ri[j] - dot1(j, ri, rj)) / ljj;
        }
    }
    return 0;
}

// B := B L^-T: each row x of B solves L x^T = b^T by forward substitution,
// x_j = (b_j - L[j][:j].x[:j]) / L[j][j]; four rows share each L row.
CPR_LA_AI void cpr_la_trsm_rlt(size_t m, size_t n, const float *l, size_t ldl,
                               float *b, size_t ldb, cpr_la_dot1_fn dot1,
                               cpr_la_dot4_fn dot4) {
    assert(m == 0 || n == 0 || (l && b && ldl >= n && ldb >= n));
    size_t r = 0;
    for (; r + 4 <= m; r += 4) {
        float *x0 = b + r * ldb, *x1 = x0 + ldb, *x2 = x1 + ldb, *x3 = x2 + ldb;
        for (size_t j = 0; j < n; j++) {
            const float *lj = l + j * ldl;
            float s[4];
            dot4(j, x0, x1, x2, x3, lj, s);
            x0[j] = (x0[j] - s[0]) / lj[j];
            x1[j] = (x1[j] - s[1]) / lj[j];
            x2[j] = (x2[j] - s[2]) / lj[j];
            x3[j] = (x3[j] - s[3]) / lj[j];
        }
    }
    for (; r < m; r++) {
        float *x = b + r * ldb;
        for (size_t j = 0; j < n; j++) {
            const float *lj = l + j * ldl;
            x[j] = (x[j] - dot1(j, x, lj)) / lj[j];
        }
    }
}

// In-place L^-1, row by row, in column segments of `seg` (the leaf's
// width); every diagonal is checked first, so on failure a is unchanged.
CPR_LA_AI int cpr_la_trinv(size_t n, float *a, size_t lda, size_t seg,
                           cpr_la_trinv_seg_fn trinv_seg) {
    assert(n == 0 || (a && lda >= n));
    for (size_t j = 0; j < n; j++)
        if (a[j * lda + j] == 0.0f) return (int)(j + 1);
    for (size_t i = 0; i < n; i++) {
        float *ri = a + i * lda;
        float inv = 1.0f / ri[i];
        for (size_t p0 = 0; p0 < i; p0 += seg) trinv_seg(i, p0, a, lda, inv);
        ri[i] = inv;
    }
    return 0;
}

#endif
