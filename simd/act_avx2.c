// simd/act_avx2.c: SiLU, GELU (erf), GELU (tanh) and SwiGLU with AVX2 + FMA
// (8 lanes). Tails are copied through a small buffer so every element
// goes through the same vector code.
//
// Same formulas and approximations as simd/act_avx512.c (see there for
// the erfc construction); exp256 applies 2^n in two steps instead of
// vscalefps, with the same results (overflow -> +Inf, correctly rounded
// subnormals, NaN propagates).
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

// ---- exp (same as norm_avx2.c) ----
static inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.8f), x); // NaN: 2nd operand, kept
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    // 2^n = 2^(n/2) * 2^(n - n/2): both factors normal for n in [-150, 128].
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

// ---- elementwise functions ----

// x * sigmoid(s) = (s > 0 ? x : x e) / (1 + e), e = exp(-|s|) (as
// act_scalar.c: no overflow, tiny negative results stay accurate).
static inline __m256 x_sigmoid256(__m256 x, __m256 s) {
    __m256 e = exp256(_mm256_or_ps(s, _mm256_set1_ps(-0.0f))); // -|s|
    __m256 pos = _mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_GT_OQ);
    __m256 num = _mm256_blendv_ps(_mm256_mul_ps(x, e), x, pos);
    return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline __m256 silu256(__m256 x) { return x_sigmoid256(x, x); }

// 0.5 * erfc(t) for t >= 0 (or NaN); see act_avx512.c.
static inline __m256 erfc_half(__m256 t) {
    t = _mm256_min_ps(_mm256_set1_ps(10.5f), t);
    __m256 two = _mm256_set1_ps(2.0f);
    __m256 u = _mm256_div_ps(_mm256_sub_ps(t, two), _mm256_add_ps(t, two));
    __m256 p = _mm256_set1_ps(-2.005547140e-05f);
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(6.294501509e-05f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(2.210450330e-04f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-3.567557724e-04f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-1.463582856e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.216249308e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(8.724423125e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-8.018457331e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-5.422024429e-02f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.640493572e-01f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-1.660303771e-01f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-9.276375920e-02f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.276978374e+00f));
    __m256 tt = _mm256_mul_ps(t, t);
    __m256 te = _mm256_fmsub_ps(t, t, tt); // t^2 = tt + te exactly
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), tt));
    e = _mm256_fnmadd_ps(e, te, e);
    __m256 num = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), e), p);
    return _mm256_div_ps(num, _mm256_fmadd_ps(two, t, _mm256_set1_ps(1.0f)));
}

static inline __m256 gelu256(__m256 x) {
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 h = erfc_half(_mm256_mul_ps(ax, _mm256_set1_ps(0.70710678118654752f)));
    __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
    __m256 phi = _mm256_blendv_ps(h, _mm256_sub_ps(_mm256_set1_ps(1.0f), h), pos);
    return _mm256_mul_ps(x, phi);
}

// Same f32 steps as act_scalar.c (no FMA) for the exp argument.
static inline __m256 gelu_tanh256(__m256 x) {
    __m256 c = _mm256_mul_ps(_mm256_set1_ps(0.044715f), x);
    c = _mm256_mul_ps(c, x);
    c = _mm256_mul_ps(c, x);
    __m256 a = _mm256_add_ps(x, c);
    // s = 2y = 1.5957... * a; x_sigmoid256 needs only its sign and |s|.
    return x_sigmoid256(x, _mm256_mul_ps(_mm256_set1_ps(1.59576912160573071f), a));
}

// ---- kernels ----

static void silu_f32_avx2(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, silu256(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float b[8] = {0};
        memcpy(b, x + i, (n - i) * sizeof(float));
        _mm256_storeu_ps(b, silu256(_mm256_loadu_ps(b)));
        memcpy(y + i, b, (n - i) * sizeof(float));
    }
}

static void gelu_f32_avx2(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu256(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float b[8] = {0};
        memcpy(b, x + i, (n - i) * sizeof(float));
        _mm256_storeu_ps(b, gelu256(_mm256_loadu_ps(b)));
        memcpy(y + i, b, (n - i) * sizeof(float));
    }
}

static void gelu_tanh_f32_avx2(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu_tanh256(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float b[8] = {0};
        memcpy(b, x + i, (n - i) * sizeof(float));
        _mm256_storeu_ps(b, gelu_tanh256(_mm256_loadu_ps(b)));
        memcpy(y + i, b, (n - i) * sizeof(float));
    }
}

static void swiglu_f32_avx2(size_t n, const float *gate, const float *up,
                            float *out) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu256(_mm256_loadu_ps(gate + i)),
                                                _mm256_loadu_ps(up + i)));
    if (i < n) {
        float g[8] = {0}, u[8] = {0};
        memcpy(g, gate + i, (n - i) * sizeof(float));
        memcpy(u, up + i, (n - i) * sizeof(float));
        _mm256_storeu_ps(g, _mm256_mul_ps(silu256(_mm256_loadu_ps(g)), _mm256_loadu_ps(u)));
        memcpy(out + i, g, (n - i) * sizeof(float));
    }
}

void cpr_fill_act_avx2(struct cpr_kernels *k) {
    k->silu_f32 = silu_f32_avx2;
    k->gelu_f32 = gelu_f32_avx2;
    k->gelu_tanh_f32 = gelu_tanh_f32_avx2;
    k->swiglu_f32 = swiglu_f32_avx2;
}
#endif
