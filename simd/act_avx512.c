// simd/act_avx512.c: SiLU, GELU (erf), GELU (tanh) and SwiGLU with
// AVX-512F (16 lanes, masked tails).
//
// Same formulas as simd/act_scalar.c, with vector exp and erfc:
// - exp512: Cephes expf polynomial after Cody-Waite reduction, 2^n applied
//   by vscalefps (overflow -> +Inf, correctly rounded subnormals, NaN
//   propagates); within a few ulp of expf (measured in test_kern_act.c).
// - erfc for t >= 0 (gelu_erfc_half): 0.5 erfc(t) = 0.5 exp(-t^2) P(u) /
//   (1 + 2t), u = (t - 2)/(t + 2) in [-1, 1) for all t >= 0, so a single
//   degree-12 polynomial P covers [0, Inf) (the mapping of Weideman's erfc
//   expansion). P was fitted here (Chebyshev least squares in mpmath,
//   relative error 1.2e-8 in double with these f32 coefficients); exp(-t^2)
//   carries the exact rounding error of t^2 (FMA), so the result is good to
//   a few ulp relative even where erfc is tiny. gelu(x) = x * Phi(x) with
//   Phi = 1 - h for x > 0 and h for x <= 0, h = 0.5 erfc(|x|/sqrt2): no
//   cancellation anywhere.
// Divisions are true divisions (vdivps), not reciprocal estimates.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline __mmask16 tail_mask(size_t r) {
    return (__mmask16)((1u << r) - 1u);
}

// ---- exp (same as norm_avx512.c) ----
static inline __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(88.8f), x); // NaN: 2nd operand, kept
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    __m512 n = _mm512_roundscale_ps(
        _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// ---- elementwise functions ----

// x * sigmoid(s) = (s > 0 ? x : x e) / (1 + e), e = exp(-|s|) (as
// act_scalar.c: no overflow, tiny negative results stay accurate).
static inline __m512 x_sigmoid512(__m512 x, __m512 s) {
    __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(s)));
    __mmask16 pos = _mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_GT_OQ);
    __m512 num = _mm512_mask_mov_ps(_mm512_mul_ps(x, e), pos, x);
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

static inline __m512 silu512(__m512 x) { return x_sigmoid512(x, x); }

// 0.5 * erfc(t) for t >= 0 (or NaN). t is clamped to 10.5, past which the
// result is below half the smallest subnormal anyway.
static inline __m512 erfc_half(__m512 t) {
    t = _mm512_min_ps(_mm512_set1_ps(10.5f), t);
    __m512 two = _mm512_set1_ps(2.0f);
    __m512 u = _mm512_div_ps(_mm512_sub_ps(t, two), _mm512_add_ps(t, two));
    __m512 p = _mm512_set1_ps(-2.005547140e-05f);
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(6.294501509e-05f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(2.210450330e-04f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-3.567557724e-04f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-1.463582856e-03f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(1.216249308e-03f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(8.724423125e-03f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-8.018457331e-03f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-5.422024429e-02f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(1.640493572e-01f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-1.660303771e-01f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-9.276375920e-02f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(1.276978374e+00f));
    // exp(-t^2) with t^2 = tt + te exactly: exp(-tt) * (1 - te).
    __m512 tt = _mm512_mul_ps(t, t);
    __m512 te = _mm512_fmsub_ps(t, t, tt);
    __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), tt));
    e = _mm512_fnmadd_ps(e, te, e);
    __m512 num = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), e), p);
    return _mm512_div_ps(num, _mm512_fmadd_ps(two, t, _mm512_set1_ps(1.0f)));
}

static inline __m512 gelu512(__m512 x) {
    __m512 t = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
    __m512 h = erfc_half(t);
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
    __m512 phi = _mm512_mask_sub_ps(h, pos, _mm512_set1_ps(1.0f), h);
    return _mm512_mul_ps(x, phi);
}

// Same f32 steps as act_scalar.c (no FMA) for the exp argument.
static inline __m512 gelu_tanh512(__m512 x) {
    __m512 c = _mm512_mul_ps(_mm512_set1_ps(0.044715f), x);
    c = _mm512_mul_ps(c, x);
    c = _mm512_mul_ps(c, x);
    __m512 a = _mm512_add_ps(x, c);
    // s = 2y = 1.5957... * a; x_sigmoid512 needs only its sign and |s|.
    return x_sigmoid512(x, _mm512_mul_ps(_mm512_set1_ps(1.59576912160573071f), a));
}

// ---- kernels ----

static void silu_f32_avx512(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, silu512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

static void gelu_f32_avx512(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gelu512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, gelu512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

static void gelu_tanh_f32_avx512(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gelu_tanh512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, gelu_tanh512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

static void swiglu_f32_avx512(size_t n, const float *gate, const float *up,
                              float *out) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, _mm512_mul_ps(silu512(_mm512_loadu_ps(gate + i)),
                                                _mm512_loadu_ps(up + i)));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(out + i, k,
                              _mm512_mul_ps(silu512(_mm512_maskz_loadu_ps(k, gate + i)),
                                            _mm512_maskz_loadu_ps(k, up + i)));
    }
}

void cpr_fill_act_avx512(struct cpr_kernels *k) {
    k->silu_f32 = silu_f32_avx512;
    k->gelu_f32 = gelu_f32_avx512;
    k->gelu_tanh_f32 = gelu_tanh_f32_avx512;
    k->swiglu_f32 = swiglu_f32_avx512;
}
#endif
