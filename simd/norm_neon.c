// simd/norm_neon.c: RMSNorm, LayerNorm, softmax, log-softmax and logsumexp
// with aarch64 Advanced SIMD (4 f32 lanes; tails go through a small
// padded buffer so every element sees the same vector code).
//
// Numerics as simd/norm_avx512.c: f32-lane reductions for rmsnorm and
// layernorm, polynomial exp (exp_neon, same as act_neon.c) with softmax
// sums in double. Special values behave as norm_scalar.c documents.
#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <string.h>

// ---- exp ----
// As exp256 in norm_avx2.c: Cephes polynomial, Cody-Waite reduction, 2^n
// applied in two steps. vminq/vmaxq return NaN when either input is NaN.
static inline float32x4_t exp_neon(float32x4_t x) {
    x = vminq_f32(x, vdupq_n_f32(88.8f));
    x = vmaxq_f32(x, vdupq_n_f32(-104.0f));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(r, p, vmulq_f32(r, r));
    p = vaddq_f32(p, vdupq_n_f32(1.0f));
    int32x4_t ni = vcvtq_s32_f32(n); // integral already: exact
    int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, vdupq_n_s32(127)), 23));
    float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, vdupq_n_s32(127)), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

// ---- reductions ----

static float max_f32(size_t n, const float *x) {
    float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0;
    size_t i = 0;
    // vmaxnmq ignores a NaN operand, like the scalar reference's max.
    for (; i + 8 <= n; i += 8) {
        m0 = vmaxnmq_f32(m0, vld1q_f32(x + i));
        m1 = vmaxnmq_f32(m1, vld1q_f32(x + i + 4));
    }
    for (; i + 4 <= n; i += 4) m0 = vmaxnmq_f32(m0, vld1q_f32(x + i));
    float m = vmaxnmvq_f32(vmaxnmq_f32(m0, m1));
    for (; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

static inline float64x2_t acc_pd(float64x2_t s, float32x4_t e) {
    return vaddq_f64(vaddq_f64(s, vcvt_f64_f32(vget_low_f32(e))), vcvt_high_f64_f32(e));
}

// sum_i exp(x[i] - m) in double; stores the exponentials to y when
// y != NULL (y may alias x).
static double sum_exp(size_t n, const float *x, float m, float *y) {
    const float32x4_t vm = vdupq_n_f32(m);
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t e0 = exp_neon(vsubq_f32(vld1q_f32(x + i), vm));
        float32x4_t e1 = exp_neon(vsubq_f32(vld1q_f32(x + i + 4), vm));
        if (y) {
            vst1q_f32(y + i, e0);
            vst1q_f32(y + i + 4, e1);
        }
        s0 = acc_pd(s0, e0);
        s1 = acc_pd(s1, e1);
    }
    for (; i < n; i += 4) {
        size_t r = n - i >= 4 ? 4 : n - i;
        float buf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        memcpy(buf, x + i, r * sizeof(float));
        float32x4_t e = exp_neon(vsubq_f32(vld1q_f32(buf), vm));
        vst1q_f32(buf, e);
        for (size_t j = r; j < 4; j++) buf[j] = 0.0f; // lanes past n add 0
        if (y) memcpy(y + i, buf, r * sizeof(float));
        s0 = acc_pd(s0, vld1q_f32(buf));
    }
    return vaddvq_f64(vaddq_f64(s0, s1));
}

// sum_i x[i] (sq = 0) or sum_i (x[i] - c)^2 (sq = 1), f32 lanes.
static float sum_f32(size_t n, const float *x, int sq, float c) {
    const float32x4_t vc = vdupq_n_f32(c);
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float32x4_t d0 = vld1q_f32(x + i), d1 = vld1q_f32(x + i + 4);
        float32x4_t d2 = vld1q_f32(x + i + 8), d3 = vld1q_f32(x + i + 12);
        if (sq) {
            d0 = vsubq_f32(d0, vc);
            d1 = vsubq_f32(d1, vc);
            d2 = vsubq_f32(d2, vc);
            d3 = vsubq_f32(d3, vc);
            a0 = vfmaq_f32(a0, d0, d0);
            a1 = vfmaq_f32(a1, d1, d1);
            a2 = vfmaq_f32(a2, d2, d2);
            a3 = vfmaq_f32(a3, d3, d3);
        } else {
            a0 = vaddq_f32(a0, d0);
            a1 = vaddq_f32(a1, d1);
            a2 = vaddq_f32(a2, d2);
            a3 = vaddq_f32(a3, d3);
        }
    }
    for (; i + 4 <= n; i += 4) {
        float32x4_t d = vld1q_f32(x + i);
        if (sq) {
            d = vsubq_f32(d, vc);
            a0 = vfmaq_f32(a0, d, d);
        } else {
            a0 = vaddq_f32(a0, d);
        }
    }
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; i++) {
        float d = sq ? x[i] - c : x[i];
        s += sq ? d * d : d;
    }
    return s;
}

// ---- normalisation ----

static void rmsnorm_f32_neon(size_t n, const float *x, const float *w,
                             float eps, float *y) {
    if (n == 0) return;
    float ss = sum_f32(n, x, 1, 0.0f);
    float r = (float)(1.0 / sqrt((double)ss / (double)n + (double)eps));
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), r), vld1q_f32(w + i)));
    for (; i < n; i++) y[i] = (x[i] * r) * w[i];
}

static void layernorm_f32_neon(size_t n, const float *x, const float *gamma,
                               const float *beta, float eps, float *y) {
    if (n == 0) return;
    float mean = (float)((double)sum_f32(n, x, 0, 0.0f) / (double)n);
    float var = sum_f32(n, x, 1, mean);
    float rstd = (float)(1.0 / sqrt((double)var / (double)n + (double)eps));
    const float32x4_t vm = vdupq_n_f32(mean);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t t = vmulq_n_f32(vsubq_f32(vld1q_f32(x + i), vm), rstd);
        float32x4_t b = beta ? vld1q_f32(beta + i) : vdupq_n_f32(0.0f);
        vst1q_f32(y + i, vfmaq_f32(b, t, vld1q_f32(gamma + i)));
    }
    for (; i < n; i++)
        y[i] = fmaf((x[i] - mean) * rstd, gamma[i], beta ? beta[i] : 0.0f);
}

// ---- softmax family ----

static void softmax_f32_neon(size_t n, const float *x, float *y) {
    if (n == 0) return;
    double s = sum_exp(n, x, max_f32(n, x), y);
    float inv = (float)(1.0 / s);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(y + i), inv));
    for (; i < n; i++) y[i] *= inv;
}

// y = (x - m) - (float)log(s), as in norm_avx512.c.
static void logsoftmax_f32_neon(size_t n, const float *x, float *y) {
    if (n == 0) return;
    float m = max_f32(n, x);
    float ls = (float)log(sum_exp(n, x, m, NULL));
    const float32x4_t vm = vdupq_n_f32(m), vls = vdupq_n_f32(ls);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vsubq_f32(vsubq_f32(vld1q_f32(x + i), vm), vls));
    for (; i < n; i++) y[i] = (x[i] - m) - ls;
}

static double logsumexp_f32_neon(size_t n, const float *x) {
    float m = max_f32(n, x);
    if (isinf(m)) { // rare: see norm_scalar.c
        for (size_t i = 0; i < n; i++)
            if (isnan(x[i])) return NAN;
        return m;
    }
    return (double)m + log(sum_exp(n, x, m, NULL));
}

void cpr_fill_norm_neon(struct cpr_kernels *k) {
    k->rmsnorm_f32 = rmsnorm_f32_neon;
    k->layernorm_f32 = layernorm_f32_neon;
    k->softmax_f32 = softmax_f32_neon;
    k->logsoftmax_f32 = logsoftmax_f32_neon;
    k->logsumexp_f32 = logsumexp_f32_neon;
}
#endif
