// simd/stats_neon.c: per-column statistics (colstats_f32) with aarch64
// Advanced SIMD.
//
// Same scheme as stats_avx2.c: one double lane per column (8 columns per
// step in four float64x2 accumulators for sumsq and four for sum), rows
// added in order ROW_BLOCK (16) at a time, so results are bit-identical to
// stats_scalar.c (the f32 square is exact in double, so FMLA rounds once
// like the reference's add). Leftover columns use the scalar formula.
#include <assert.h>

#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

enum { ROW_BLOCK = 16 };

static inline void cols8(size_t nr, const float *x, size_t ldx, double *sumsq, double *sum) {
    float64x2_t q0 = vld1q_f64(sumsq), q1 = vld1q_f64(sumsq + 2);
    float64x2_t q2 = vld1q_f64(sumsq + 4), q3 = vld1q_f64(sumsq + 6);
    float64x2_t s0 = vdupq_n_f64(0), s1 = s0, s2 = s0, s3 = s0;
    if (sum) {
        s0 = vld1q_f64(sum), s1 = vld1q_f64(sum + 2);
        s2 = vld1q_f64(sum + 4), s3 = vld1q_f64(sum + 6);
    }
    for (size_t r = 0; r < nr; r++) {
        float32x4_t a = vld1q_f32(x + r * ldx), b = vld1q_f32(x + r * ldx + 4);
        float64x2_t v0 = vcvt_f64_f32(vget_low_f32(a)), v1 = vcvt_high_f64_f32(a);
        float64x2_t v2 = vcvt_f64_f32(vget_low_f32(b)), v3 = vcvt_high_f64_f32(b);
        q0 = vfmaq_f64(q0, v0, v0);
        q1 = vfmaq_f64(q1, v1, v1);
        q2 = vfmaq_f64(q2, v2, v2);
        q3 = vfmaq_f64(q3, v3, v3);
        s0 = vaddq_f64(s0, v0);
        s1 = vaddq_f64(s1, v1);
        s2 = vaddq_f64(s2, v2);
        s3 = vaddq_f64(s3, v3);
    }
    vst1q_f64(sumsq, q0);
    vst1q_f64(sumsq + 2, q1);
    vst1q_f64(sumsq + 4, q2);
    vst1q_f64(sumsq + 6, q3);
    if (sum) {
        vst1q_f64(sum, s0);
        vst1q_f64(sum + 2, s1);
        vst1q_f64(sum + 4, s2);
        vst1q_f64(sum + 6, s3);
    }
}

static void colstats_f32_neon(size_t rows, size_t cols, const float *x, size_t ldx,
                              double *sumsq, double *sum) {
    assert(rows == 0 || cols == 0 || (x && sumsq && ldx >= cols));
    for (size_t t = 0; t < rows; t += ROW_BLOCK) {
        size_t nr = rows - t < ROW_BLOCK ? rows - t : ROW_BLOCK;
        const float *xt = x + t * ldx;
        size_t j = 0;
        for (; j + 8 <= cols; j += 8)
            cols8(nr, xt + j, ldx, sumsq + j, sum ? sum + j : NULL);
        for (; j < cols; j++)
            for (size_t r = 0; r < nr; r++) {
                double v = (double)xt[r * ldx + j];
                sumsq[j] += v * v;
                if (sum) sum[j] += v;
            }
    }
}

void cpr_fill_stats_neon(struct cpr_kernels *k) { k->colstats_f32 = colstats_f32_neon; }
#endif
