// simd/linalg_avx2.c: the AVX2 + FMA leaves (dot1, dot4, trinv_seg) of the
// portable Cholesky / triangular solve / triangular inverse loops in
// simd/linalg_driver.h; single-threaded.
//
// Same structure as linalg_avx512.c with 8-lane registers; tails use
// vmaskmovps loads. Error ~ n*eps relative to the magnitudes involved (f32
// FMA accumulation). A row's result never depends on which other rows were
// processed with it, so callers may split rows across threads freely.
#include "simd/kernels.h"
#include "simd/linalg_driver.h"

#if defined(__x86_64__)
#include <assert.h>
#include <immintrin.h>
#include <math.h>

// Lane mask with the first r (0..8) lanes set.
static inline __m256i tail_mask8(size_t r) {
    static const int32_t t[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                  0,  0,  0,  0,  0,  0,  0,  0};
    return _mm256_loadu_si256((const __m256i *)(t + 8 - r));
}

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float dot1(size_t len, const float *a, const float *b) {
    __m256 acc = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + 8 <= len; p += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + p), _mm256_loadu_ps(b + p), acc);
    if (p < len) {
        __m256i m = tail_mask8(len - p);
        acc = _mm256_fmadd_ps(_mm256_maskload_ps(a + p, m), _mm256_maskload_ps(b + p, m), acc);
    }
    return hsum8(acc);
}

// Four dots sharing b; each row's operations are exactly those of dot1.
static inline void dot4(size_t len, const float *a0, const float *a1,
                        const float *a2, const float *a3, const float *b,
                        float out[4]) {
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
    __m256 c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + 8 <= len; p += 8) {
        __m256 vb = _mm256_loadu_ps(b + p);
        c0 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + p), vb, c0);
        c1 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + p), vb, c1);
        c2 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + p), vb, c2);
        c3 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + p), vb, c3);
    }
    if (p < len) {
        __m256i m = tail_mask8(len - p);
        __m256 vb = _mm256_maskload_ps(b + p, m);
        c0 = _mm256_fmadd_ps(_mm256_maskload_ps(a0 + p, m), vb, c0);
        c1 = _mm256_fmadd_ps(_mm256_maskload_ps(a1 + p, m), vb, c1);
        c2 = _mm256_fmadd_ps(_mm256_maskload_ps(a2 + p, m), vb, c2);
        c3 = _mm256_fmadd_ps(_mm256_maskload_ps(a3 + p, m), vb, c3);
    }
    out[0] = hsum8(c0);
    out[1] = hsum8(c1);
    out[2] = hsum8(c2);
    out[3] = hsum8(c3);
}

// Valid lanes of the 8-wide segment at column c in row q (columns <= q).
static inline __m256i lower_mask8(size_t q, size_t c) {
    if (q < c) return _mm256_setzero_si256();
    return tail_mask8(q - c >= 7 ? 8 : q - c + 1);
}

// See linalg_avx512.c: row i of L^-1 in 32-column segments, axpy form.
// Row i of L^-1 at columns [p0, p0+32), axpy form (see linalg_avx512.c).
static inline void trinv_seg(size_t i, size_t p0, float *a, size_t lda,
                             float inv) {
    float *ri = a + i * lda;
    __m256 vneg = _mm256_set1_ps(-inv);
    __m256 c[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps(), _mm256_setzero_ps()};
    size_t q = p0;
    for (; q < i && q < p0 + 31; q++) { // the triangular corner
        const float *xq = a + q * lda + p0;
        __m256 l = _mm256_set1_ps(ri[q]);
        for (size_t s = 0; s < 4; s++)
            c[s] = _mm256_fmadd_ps(l, _mm256_maskload_ps(xq + 8 * s, lower_mask8(q, p0 + 8 * s)), c[s]);
    }
    for (; q < i; q++) {
        const float *xq = a + q * lda + p0;
        __m256 l = _mm256_set1_ps(ri[q]);
        c[0] = _mm256_fmadd_ps(l, _mm256_loadu_ps(xq), c[0]);
        c[1] = _mm256_fmadd_ps(l, _mm256_loadu_ps(xq + 8), c[1]);
        c[2] = _mm256_fmadd_ps(l, _mm256_loadu_ps(xq + 16), c[2]);
        c[3] = _mm256_fmadd_ps(l, _mm256_loadu_ps(xq + 24), c[3]);
    }
    size_t w = i - p0 < 32 ? i - p0 : 32;
    for (size_t s = 0; s < 4 && 8 * s < w; s++) {
        size_t cnt = w - 8 * s < 8 ? w - 8 * s : 8;
        _mm256_maskstore_ps(ri + p0 + 8 * s, tail_mask8(cnt), _mm256_mul_ps(c[s], vneg));
    }
}

static int cholesky_f32_avx2(size_t n, float *a, size_t lda) {
    return cpr_la_cholesky(n, a, lda, dot1, dot4);
}

static void trsm_rlt_f32_avx2(size_t m, size_t n, const float *l, size_t ldl,
                              float *b, size_t ldb) {
    cpr_la_trsm_rlt(m, n, l, ldl, b, ldb, dot1, dot4);
}

static int trinv_f32_avx2(size_t n, float *a, size_t lda) {
    return cpr_la_trinv(n, a, lda, 32, trinv_seg);
}

void cpr_fill_linalg_avx2(struct cpr_kernels *k) {
    k->cholesky_f32 = cholesky_f32_avx2;
    k->trsm_rlt_f32 = trsm_rlt_f32_avx2;
    k->trinv_f32 = trinv_f32_avx2;
}
#endif
