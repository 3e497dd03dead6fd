// simd/linalg_neon.c: the aarch64 Advanced SIMD leaves (dot1, dot4,
// trinv_seg) of the portable Cholesky / triangular solve / triangular
// inverse loops in simd/linalg_driver.h; single-threaded.
//
// Same structure as linalg_avx512.c with 4-lane registers and scalar tails.
// Error ~ n*eps relative to the magnitudes involved (f32 FMA accumulation).
// A row's result never depends on which other rows were processed with it.
#include "simd/kernels.h"
#include "simd/linalg_driver.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <assert.h>
#include <math.h>

// One 4-lane accumulator, reduced, then the scalar tail in order.
static inline float dot1(size_t len, const float *a, const float *b) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    size_t p = 0;
    for (; p + 4 <= len; p += 4) acc = vfmaq_f32(acc, vld1q_f32(a + p), vld1q_f32(b + p));
    float s = vaddvq_f32(acc);
    for (; p < len; p++) s += a[p] * b[p];
    return s;
}

// Four dots sharing b; each row's operations are exactly those of dot1.
static inline void dot4(size_t len, const float *a0, const float *a1,
                        const float *a2, const float *a3, const float *b,
                        float out[4]) {
    float32x4_t c0 = vdupq_n_f32(0.0f), c1 = c0, c2 = c0, c3 = c0;
    size_t p = 0;
    for (; p + 4 <= len; p += 4) {
        float32x4_t vb = vld1q_f32(b + p);
        c0 = vfmaq_f32(c0, vld1q_f32(a0 + p), vb);
        c1 = vfmaq_f32(c1, vld1q_f32(a1 + p), vb);
        c2 = vfmaq_f32(c2, vld1q_f32(a2 + p), vb);
        c3 = vfmaq_f32(c3, vld1q_f32(a3 + p), vb);
    }
    float s0 = vaddvq_f32(c0), s1 = vaddvq_f32(c1), s2 = vaddvq_f32(c2), s3 = vaddvq_f32(c3);
    for (; p < len; p++) {
        s0 += a0[p] * b[p];
        s1 += a1[p] * b[p];
        s2 += a2[p] * b[p];
        s3 += a3[p] * b[p];
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
}

// See linalg_avx512.c: row i of L^-1 in 16-column segments, axpy form. The
// triangular corner (rows q < p0+15, where only columns <= q count) is
// summed in scalar, the full rows below it in vectors.
// Row i of L^-1 at columns [p0, p0+16), axpy form (see linalg_avx512.c).
// The triangular corner (rows q < p0+15, where only columns <= q count) is
// summed in scalar, the full rows below it in vectors.
static inline void trinv_seg(size_t i, size_t p0, float *a, size_t lda,
                             float inv) {
    float *ri = a + i * lda;
    float corner[16] = {0};
    size_t q = p0;
    for (; q < i && q < p0 + 15; q++)
        for (size_t p = p0; p <= q; p++) corner[p - p0] += ri[q] * a[q * lda + p];
    float32x4_t c0 = vld1q_f32(corner), c1 = vld1q_f32(corner + 4);
    float32x4_t c2 = vld1q_f32(corner + 8), c3 = vld1q_f32(corner + 12);
    for (; q < i; q++) {
        const float *xq = a + q * lda + p0;
        float l = ri[q];
        c0 = vfmaq_n_f32(c0, vld1q_f32(xq), l);
        c1 = vfmaq_n_f32(c1, vld1q_f32(xq + 4), l);
        c2 = vfmaq_n_f32(c2, vld1q_f32(xq + 8), l);
        c3 = vfmaq_n_f32(c3, vld1q_f32(xq + 12), l);
    }
    float out[16];
    vst1q_f32(out, c0);
    vst1q_f32(out + 4, c1);
    vst1q_f32(out + 8, c2);
    vst1q_f32(out + 12, c3);
    size_t w = i - p0 < 16 ? i - p0 : 16;
    for (size_t p = 0; p < w; p++) ri[p0 + p] = out[p] * -inv;
}

static int cholesky_f32_neon(size_t n, float *a, size_t lda) {
    return cpr_la_cholesky(n, a, lda, dot1, dot4);
}

static void trsm_rlt_f32_neon(size_t m, size_t n, const float *l, size_t ldl,
                              float *b, size_t ldb) {
    cpr_la_trsm_rlt(m, n, l, ldl, b, ldb, dot1, dot4);
}

static int trinv_f32_neon(size_t n, float *a, size_t lda) {
    return cpr_la_trinv(n, a, lda, 16, trinv_seg);
}

void cpr_fill_linalg_neon(struct cpr_kernels *k) {
    k->cholesky_f32 = cholesky_f32_neon;
    k->trsm_rlt_f32 = trsm_rlt_f32_neon;
    k->trinv_f32 = trinv_f32_neon;
}
#endif
