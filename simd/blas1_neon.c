// simd/blas1_neon.c: dot / axpy / scale with aarch64 Advanced SIMD.
#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

static float dot_f32_neon(size_t n, const float *x, const float *y) {
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0);
    float32x4_t a2 = vdupq_n_f32(0), a3 = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
        a1 = vfmaq_f32(a1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(x + i + 8), vld1q_f32(y + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
    float acc = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; i++) acc += x[i] * y[i];
    return acc;
}

static void axpy_f32_neon(size_t n, float a, const float *x, float *y) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    for (; i < n; i++) y[i] += a * x[i];
}

static void scale_f32_neon(size_t n, float a, float *x) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), a));
    for (; i < n; i++) x[i] *= a;
}

void cpr_fill_blas1_neon(struct cpr_kernels *k) {
    k->dot_f32 = dot_f32_neon;
    k->axpy_f32 = axpy_f32_neon;
    k->scale_f32 = scale_f32_neon;
}
#endif
