// simd/norm_avx512.c: RMSNorm, LayerNorm, softmax, log-softmax and
// logsumexp with AVX-512F (16 f32 lanes, masked tails).
//
// Numerics (bounded against simd/norm_scalar.c by tests/test_kern_norm.c):
// - rmsnorm / layernorm reduce in f32 lanes (4 accumulators), not double:
//   relative error of the statistic ~ sqrt(n/64) * 2^-24, far below the
//   bf16 weights these rows meet.
// - exp is a Cephes-style polynomial (exp512 below, same as act_avx512.c),
//   within a few ulp of expf over the whole f32 range, subnormal results
//   included; the softmax sums are in double as in the scalar reference.
// Special values behave as norm_scalar.c documents.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

static inline __mmask16 tail_mask(size_t r) {
    return (__mmask16)((1u << r) - 1u);
}

// ---- exp ----
// exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n*ln2 in
// [-ln2/2, ln2/2] (Cody-Waite split of ln2, exact products for |n| <= 150),
// exp(r) by the Cephes expf polynomial; vscalefps applies 2^n with correct
// overflow to +Inf and correctly rounded subnormals. The clamps keep n in
// range; min/max take NaN from their second operand, so NaN propagates.
static inline __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(88.8f), x);
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

// ---- reductions ----

// Largest element (NaN handling as max_f32 in norm_scalar.c, except that a
// NaN may come out as the max; the callers' results are NaN either way).
static float max_f32(size_t n, const float *x) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
        m2 = _mm512_max_ps(m2, _mm512_loadu_ps(x + i + 32));
        m3 = _mm512_max_ps(m3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    if (i < n) m1 = _mm512_max_ps(m1, _mm512_mask_loadu_ps(ninf, tail_mask(n - i), x + i));
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

// Add the 16 lanes of e into two double accumulators.
static inline void acc_pd(__m512 e, __m512d *s0, __m512d *s1) {
    *s0 = _mm512_add_pd(*s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    *s1 = _mm512_add_pd(*s1, _mm512_cvtps_pd(
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
}

// sum_i exp(x[i] - m) in double; when y != NULL also stores the
// exponentials to y (y may alias x).
static double sum_exp(size_t n, const float *x, float m, float *y) {
    const __m512 vm = _mm512_set1_ps(m);
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 e0 = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
        __m512 e1 = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm));
        if (y) {
            _mm512_storeu_ps(y + i, e0);
            _mm512_storeu_ps(y + i + 16, e1);
        }
        acc_pd(e0, &s0, &s1);
        acc_pd(e1, &s2, &s3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
        if (y) _mm512_storeu_ps(y + i, e);
        acc_pd(e, &s0, &s1);
    }
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm));
        e = _mm512_maskz_mov_ps(k, e); // lanes past n add nothing
        if (y) _mm512_mask_storeu_ps(y + i, k, e);
        acc_pd(e, &s0, &s1);
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
}

// sum_i x[i] (sq = 0) or sum_i (x[i] - c)^2 (sq = 1), f32 lanes.
static float sum_f32(size_t n, const float *x, int sq, float c) {
    const __m512 vc = _mm512_set1_ps(c);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    if (sq) {
        for (; i + 64 <= n; i += 64) {
            __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), vc);
            __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vc);
            __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vc);
            __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vc);
            a0 = _mm512_fmadd_ps(d0, d0, a0);
            a1 = _mm512_fmadd_ps(d1, d1, a1);
            a2 = _mm512_fmadd_ps(d2, d2, a2);
            a3 = _mm512_fmadd_ps(d3, d3, a3);
        }
        for (; i < n; i += 16) {
            __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
            __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + i), vc);
            a0 = _mm512_fmadd_ps(d, d, a0);
        }
    } else {
        for (; i + 64 <= n; i += 64) {
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
            a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
            a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
        }
        for (; i < n; i += 16) {
            __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
            a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(k, x + i));
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

// ---- normalisation ----

static void rmsnorm_f32_avx512(size_t n, const float *x, const float *w,
                               float eps, float *y) {
    if (n == 0) return;
    float ss = sum_f32(n, x, 1, 0.0f);
    __m512 r = _mm512_set1_ps((float)(1.0 / sqrt((double)ss / (double)n + (double)eps)));
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), r),
                                              _mm512_loadu_ps(w + i)));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k,
                              _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), r),
                                            _mm512_maskz_loadu_ps(k, w + i)));
    }
}

static void layernorm_f32_avx512(size_t n, const float *x, const float *gamma,
                                 const float *beta, float eps, float *y) {
    if (n == 0) return;
    float mean = (float)((double)sum_f32(n, x, 0, 0.0f) / (double)n);
    float var = sum_f32(n, x, 1, mean);
    __m512 rstd = _mm512_set1_ps((float)(1.0 / sqrt((double)var / (double)n + (double)eps)));
    __m512 vm = _mm512_set1_ps(mean);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), rstd);
        __m512 b = beta ? _mm512_loadu_ps(beta + i) : _mm512_setzero_ps();
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(t, _mm512_loadu_ps(gamma + i), b));
    }
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm), rstd);
        __m512 b = beta ? _mm512_maskz_loadu_ps(k, beta + i) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(y + i, k, _mm512_fmadd_ps(t, _mm512_maskz_loadu_ps(k, gamma + i), b));
    }
}

// ---- softmax family ----

static void softmax_f32_avx512(size_t n, const float *x, float *y) {
    if (n == 0) return;
    double s = sum_exp(n, x, max_f32(n, x), y);
    __m512 inv = _mm512_set1_ps((float)(1.0 / s));
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), inv));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), inv));
    }
}

// y = (x - m) - (float)log(s): two f32 roundings instead of the
// reference's one, so |error| <= ~1.5 ulp of |x - m| + log(s).
static void logsoftmax_f32_avx512(size_t n, const float *x, float *y) {
    if (n == 0) return;
    float m = max_f32(n, x);
    __m512 ls = _mm512_set1_ps((float)log(sum_exp(n, x, m, NULL)));
    __m512 vm = _mm512_set1_ps(m);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), ls));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm);
        _mm512_mask_storeu_ps(y + i, k, _mm512_sub_ps(v, ls));
    }
}

static double logsumexp_f32_avx512(size_t n, const float *x) {
    float m = max_f32(n, x);
    if (isinf(m)) { // rare: see norm_scalar.c
        for (size_t i = 0; i < n; i++)
            if (isnan(x[i])) return NAN;
        return m;
    }
    return (double)m + log(sum_exp(n, x, m, NULL));
}

void cpr_fill_norm_avx512(struct cpr_kernels *k) {
    k->rmsnorm_f32 = rmsnorm_f32_avx512;
    k->layernorm_f32 = layernorm_f32_avx512;
    k->softmax_f32 = softmax_f32_avx512;
    k->logsoftmax_f32 = logsoftmax_f32_avx512;
    k->logsumexp_f32 = logsumexp_f32_avx512;
}
#endif
