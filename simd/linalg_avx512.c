// simd/linalg_avx512.c: the AVX-512F leaves (dot1, dot4, trinv_seg) of the
// portable Cholesky / triangular solve / triangular inverse loops in
// simd/linalg_driver.h; single-threaded.
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
#include "simd/linalg_driver.h"

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
// Row i of X = L^-1 at columns [p0, p0+64):
//   acc[p] = sum_{q=p}^{i-1} L[i][q] X[q][p], X[i][p] = -acc[p] / L[i][i].
// Row q of X contributes only at columns p <= q (lower_mask); the segment
// is stored after its sum, so the L[i][q] it reads are still intact.
static inline void trinv_seg(size_t i, size_t p0, float *a, size_t lda,
                             float inv) {
    float *ri = a + i * lda;
    __m512 vneg = _mm512_set1_ps(-inv);
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

static int cholesky_f32_avx512(size_t n, float *a, size_t lda) {
    return cpr_la_cholesky(n, a, lda, dot1, dot4);
}

static void trsm_rlt_f32_avx512(size_t m, size_t n, const float *l, size_t ldl,
                                float *b, size_t ldb) {
    cpr_la_trsm_rlt(m, n, l, ldl, b, ldb, dot1, dot4);
}

static int trinv_f32_avx512(size_t n, float *a, size_t lda) {
    return cpr_la_trinv(n, a, lda, 64, trinv_seg);
}

void cpr_fill_linalg_avx512(struct cpr_kernels *k) {
    k->cholesky_f32 = cholesky_f32_avx512;
    k->trsm_rlt_f32 = trsm_rlt_f32_avx512;
    k->trinv_f32 = trinv_f32_avx512;
}
#endif
