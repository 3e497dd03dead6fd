// simd/act_neon.c: SiLU, GELU (erf), GELU (tanh) and SwiGLU with aarch64
// Advanced SIMD (4 lanes). Tails are copied through a small buffer so
// every element goes through the same vector code.
//
// Same formulas and approximations as simd/act_avx512.c (see there for
// the erfc construction); exp_neon applies 2^n in two steps as
// act_avx2.c does. vminq/vmaxq return NaN when either input is NaN.
#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

// ---- exp (same as norm_neon.c) ----
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

// ---- elementwise functions ----

// x * sigmoid(s) = (s > 0 ? x : x e) / (1 + e), e = exp(-|s|) (as
// act_scalar.c: no overflow, tiny negative results stay accurate).
static inline float32x4_t x_sigmoid_v(float32x4_t x, float32x4_t s) {
    float32x4_t e = exp_neon(vnegq_f32(vabsq_f32(s)));
    uint32x4_t pos = vcgtq_f32(s, vdupq_n_f32(0.0f));
    float32x4_t num = vbslq_f32(pos, x, vmulq_f32(x, e));
    return vdivq_f32(num, vaddq_f32(vdupq_n_f32(1.0f), e));
}

static inline float32x4_t silu_v(float32x4_t x) { return x_sigmoid_v(x, x); }

// 0.5 * erfc(t) for t >= 0 (or NaN); see act_avx512.c.
static inline float32x4_t erfc_half(float32x4_t t) {
    t = vminq_f32(t, vdupq_n_f32(10.5f));
    float32x4_t two = vdupq_n_f32(2.0f);
    float32x4_t u = vdivq_f32(vsubq_f32(t, two), vaddq_f32(t, two));
    float32x4_t p = vdupq_n_f32(-2.005547140e-05f);
    p = vfmaq_f32(vdupq_n_f32(6.294501509e-05f), p, u);
    p = vfmaq_f32(vdupq_n_f32(2.210450330e-04f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-3.567557724e-04f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-1.463582856e-03f), p, u);
    p = vfmaq_f32(vdupq_n_f32(1.216249308e-03f), p, u);
    p = vfmaq_f32(vdupq_n_f32(8.724423125e-03f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-8.018457331e-03f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-5.422024429e-02f), p, u);
    p = vfmaq_f32(vdupq_n_f32(1.640493572e-01f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-1.660303771e-01f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-9.276375920e-02f), p, u);
    p = vfmaq_f32(vdupq_n_f32(1.276978374e+00f), p, u);
    float32x4_t tt = vmulq_f32(t, t);
    float32x4_t te = vfmaq_f32(vnegq_f32(tt), t, t); // t^2 = tt + te exactly
    float32x4_t e = exp_neon(vnegq_f32(tt));
    e = vfmsq_f32(e, e, te);
    float32x4_t num = vmulq_f32(vmulq_n_f32(e, 0.5f), p);
    return vdivq_f32(num, vfmaq_f32(vdupq_n_f32(1.0f), two, t));
}

static inline float32x4_t gelu_v(float32x4_t x) {
    float32x4_t h = erfc_half(vmulq_n_f32(vabsq_f32(x), 0.70710678118654752f));
    uint32x4_t pos = vcgtq_f32(x, vdupq_n_f32(0.0f));
    float32x4_t phi = vbslq_f32(pos, vsubq_f32(vdupq_n_f32(1.0f), h), h);
    return vmulq_f32(x, phi);
}

// Same f32 steps as act_scalar.c (no FMA) for the exp argument.
static inline float32x4_t gelu_tanh_v(float32x4_t x) {
    float32x4_t c = vmulq_n_f32(x, 0.044715f);
    c = vmulq_f32(c, x);
    c = vmulq_f32(c, x);
    float32x4_t a = vaddq_f32(x, c);
    // s = 2y = 1.5957... * a; x_sigmoid_v needs only its sign and |s|.
    return x_sigmoid_v(x, vmulq_n_f32(a, 1.59576912160573071f));
}

// ---- kernels ----

static void silu_f32_neon(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, silu_v(vld1q_f32(x + i)));
    if (i < n) {
        float b[4] = {0};
        memcpy(b, x + i, (n - i) * sizeof(float));
        vst1q_f32(b, silu_v(vld1q_f32(b)));
        memcpy(y + i, b, (n - i) * sizeof(float));
    }
}

static void gelu_f32_neon(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, gelu_v(vld1q_f32(x + i)));
    if (i < n) {
        float b[4] = {0};
        memcpy(b, x + i, (n - i) * sizeof(float));
        vst1q_f32(b, gelu_v(vld1q_f32(b)));
        memcpy(y + i, b, (n - i) * sizeof(float));
    }
}

static void gelu_tanh_f32_neon(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, gelu_tanh_v(vld1q_f32(x + i)));
    if (i < n) {
        float b[4] = {0};
        memcpy(b, x + i, (n - i) * sizeof(float));
        vst1q_f32(b, gelu_tanh_v(vld1q_f32(b)));
        memcpy(y + i, b, (n - i) * sizeof(float));
    }
}

static void swiglu_f32_neon(size_t n, const float *gate, const float *up,
                            float *out) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, vmulq_f32(silu_v(vld1q_f32(gate + i)), vld1q_f32(up + i)));
    if (i < n) {
        float g[4] = {0}, u[4] = {0};
        memcpy(g, gate + i, (n - i) * sizeof(float));
        memcpy(u, up + i, (n - i) * sizeof(float));
        vst1q_f32(g, vmulq_f32(silu_v(vld1q_f32(g)), vld1q_f32(u)));
        memcpy(out + i, g, (n - i) * sizeof(float));
    }
}

void cpr_fill_act_neon(struct cpr_kernels *k) {
    k->silu_f32 = silu_f32_neon;
    k->gelu_f32 = gelu_f32_neon;
    k->gelu_tanh_f32 = gelu_tanh_f32_neon;
    k->swiglu_f32 = swiglu_f32_neon;
}
#endif
