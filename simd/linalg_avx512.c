// simd/linalg_avx512.c: Cholesky, triangular solve and triangular inverse
// with AVX-512F, single-threaded.
//
// Same algorithms as linalg_scalar.c with f32 FMA accumulation in 16 lanes
// (error ~ n*eps relative to the magnitudes involved, vs the scalar double
// sums). Cholesky and trsm are row-oriented dot products; four rows share
// each load of the pivot row. trinv accumulates whole 64-lane row segments
// (axpy form) so its loads are contiguous. These serve the panels and
// diagonal blocks of core/linalg.c; the bulk of a large factorization runs
// in the GEMM slot.
//
// Reproducibility: a row's result never depends on which other rows were
// processed with it (the 4-row and 1-row paths use the same per-row
// operation order), so callers may split rows across threads freely.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <assert.h>
#include <immintrin.h>
#include <math.h>

static inline __mmask16 tail_mask(size_t r) {
    return (__mmask16)((1u << r) - 1u);
}

// sum_{p<len} a[p]*b[p] with one 16-lane accumulator (per-row order fixed).
static inline float dot1(size_t len, const float *a, const float *b) {
    __m512 acc = _mm512_setzero_ps();
    size_t p = 0;
    for (; p + 16 <= len; p += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + p), _mm512_loadu_ps(b + p), acc);
    if (p < len) {
        __mmask16 m = tail_mask(len - p);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + p),
                              _mm512_maskz_loadu_ps(m, b + p), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

// Four dots sharing b: out[r] = sum_p a_r[p]*b[p]; each row's operations
// are exactly those of dot1.
static inline void dot4(size_t len, const float *a0, const float *a1,
                        const float *a2, const float *a3, const float *b,
                        float out[4]) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
    __m512 c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
    size_t p = 0;
    for (; p + 16 <= len; p += 16) {
        __m512 vb = _mm512_loadu_ps(b + p);
        c0 = _mm512_fmadd_ps(_mm512_loadu_ps(a0 + p), vb, c0);
        c1 = _mm512_fmadd_ps(_mm512_loadu_ps(a1 + p), vb, c1);
        c2 = _mm512_fmadd_ps(_mm512_loadu_ps(a2 + p), vb, c2);
        c3 = _mm512_fmadd_ps(_mm512_loadu_ps(a3 + p), vb, c3);
    }
    if (p < len) {
        __mmask16 m = tail_mask(len - p);
        __m512 vb = _mm512_maskz_loadu_ps(m, b + p);
        c0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a0 + p), vb, c0);
        c1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a1 + p), vb, c1);
        c2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a2 + p), vb, c2);
        c3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a3 + p), vb, c3);
    }
    out[0] = _mm512_reduce_add_ps(c0);
    out[1] = _mm512_reduce_add_ps(c1);
    out[2] = _mm512_reduce_add_ps(c2);
    out[3] = _mm512_reduce_add_ps(c3);
}

static int cholesky_f32_avx512(size_t n, float *a, size_t lda) {
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
            for (int r = 0; r < 4; r++) r0[(size_t)r * lda + j] = (r0[(size_t)r * lda + j] - s[r]) / ljj;
        }
        for (; i < n; i++) {
            float *ri = a + i * lda;
            ri[j] = (ri[j] - dot1(j, ri, rj)) / ljj;
        }
    }
    return 0;
}

static void trsm_rlt_f32_avx512(size_t m, size_t n, const float *l, size_t ldl,
                                float *b, size_t ldb) {
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

// Lanes of the 16-wide segment starting at column c that are valid in row q
// of a lower-triangular matrix (columns <= q).
static inline __mmask16 lower_mask(size_t q, size_t c) {
    if (q < c) return 0;
    if (q - c >= 15) return (__mmask16)0xffff;
    return tail_mask(q - c + 1);
}

// Row i of X = L^-1 in segments of 64 columns [p0, p0+64):
//   acc[p] = sum_{q=p}^{i-1} L[i][q] X[q][p], X[i][p] = -acc[p] / L[i][i].
// Row q of X contributes only at columns p <= q (lower_mask); the segment
// is stored after its sum, so the L[i][q] it reads are still intact.
static int trinv_f32_avx512(size_t n, float *a, size_t lda) {
    assert(n == 0 || (a && lda >= n));
    for (size_t j = 0; j < n; j++)
        if (a[j * lda + j] == 0.0f) return (int)(j + 1);
    for (size_t i = 0; i < n; i++) {
        float *ri = a + i * lda;
        float inv = 1.0f / ri[i];
        __m512 vneg = _mm512_set1_ps(-inv);
        for (size_t p0 = 0; p0 < i; p0 += 64) {
            __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
            __m512 c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
            size_t q = p0;
            for (; q < i && q < p0 + 63; q++) { // the triangular corner
                const float *xq = a + q * lda + p0;
                __m512 l = _mm512_set1_ps(ri[q]);
                c0 = _mm512_fmadd_ps(l, _mm512_maskz_loadu_ps(lower_mask(q, p0), xq), c0);
                c1 = _mm512_fmadd_ps(l, _mm512_maskz_loadu_ps(lower_mask(q, p0 + 16), xq + 16), c1);
                c2 = _mm512_fmadd_ps(l, _mm512_maskz_loadu_ps(lower_mask(q, p0 + 32), xq + 32), c2);
                c3 = _mm512_fmadd_ps(l, _mm512_maskz_loadu_ps(lower_mask(q, p0 + 48), xq + 48), c3);
            }
            for (; q < i; q++) { // full rows below the corner
                const float *xq = a + q * lda + p0;
                __m512 l = _mm512_set1_ps(ri[q]);
                c0 = _mm512_fmadd_ps(l, _mm512_loadu_ps(xq), c0);
                c1 = _mm512_fmadd_ps(l, _mm512_loadu_ps(xq + 16), c1);
                c2 = _mm512_fmadd_ps(l, _mm512_loadu_ps(xq + 32), c2);
                c3 = _mm512_fmadd_ps(l, _mm512_loadu_ps(xq + 48), c3);
            }
            size_t w = i - p0 < 64 ? i - p0 : 64; // columns p0..p0+w-1 < i
            __m512 acc[4] = {c0, c1, c2, c3};
            for (size_t s = 0; s < 4 && 16 * s < w; s++) {
                size_t cnt = w - 16 * s < 16 ? w - 16 * s : 16;
                _mm512_mask_storeu_ps(ri + p0 + 16 * s, tail_mask(cnt),
                                      _mm512_mul_ps(acc[s], vneg));
            }
        }
        ri[i] = inv;
    }
    return 0;
}

void cpr_fill_linalg_avx512(struct cpr_kernels *k) {
    k->cholesky_f32 = cholesky_f32_avx512;
    k->trsm_rlt_f32 = trsm_rlt_f32_avx512;
    k->trinv_f32 = trinv_f32_avx512;
}
#endif
