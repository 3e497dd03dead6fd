// simd/norm_avx2.c: RMSNorm, LayerNorm, softmax, log-softmax and logsumexp
// with AVX2 + FMA (8 f32 lanes; tails use vmaskmovps loads and stores,
// which never touch memory past n).
//
// Numerics as simd/norm_avx512.c: f32-lane reductions for rmsnorm and
// layernorm, polynomial exp (exp256, same as act_avx2.c) with softmax sums
// in double. Special values behave as norm_scalar.c documents.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

// Lane mask with the first r (0..8) lanes set, for vmaskmovps.
static const int32_t mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                     0,  0,  0,  0,  0,  0,  0,  0};
static inline __m256i tail_mask(size_t r) {
    return _mm256_loadu_si256((const __m256i *)(mask_tab + 8 - r));
}

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// ---- exp ----
// As exp512 in norm_avx512.c (Cephes polynomial, Cody-Waite reduction),
// but 2^n is applied in two steps 2^(n/2) * 2^(n - n/2), each a normal
// float for n in [-150, 128], so overflow gives +Inf and subnormal results
// are rounded once, correctly. NaN passes the clamps (second operand).
static inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.8f), x);
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
    __m256i ni = _mm256_cvtps_epi32(n); // integral already: exact
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

// ---- reductions ----

static float max_f32(size_t n, const float *x) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
        m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
        m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    float m = hmax256(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

static inline void acc_pd(__m256 e, __m256d *s0, __m256d *s1) {
    *s0 = _mm256_add_pd(*s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    *s1 = _mm256_add_pd(*s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

// sum_i exp(x[i] - m) in double; stores the exponentials to y when
// y != NULL (y may alias x).
static double sum_exp(size_t n, const float *x, float m, float *y) {
    const __m256 vm = _mm256_set1_ps(m);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 e0 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        __m256 e1 = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm));
        if (y) {
            _mm256_storeu_ps(y + i, e0);
            _mm256_storeu_ps(y + i + 8, e1);
        }
        acc_pd(e0, &s0, &s1);
        acc_pd(e1, &s2, &s3);
    }
    for (; i < n; i += 8) {
        __m256i k = tail_mask(n - i >= 8 ? 8 : n - i);
        __m256 e = exp256(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(k)); // lanes past n add 0
        if (y) _mm256_maskstore_ps(y + i, k, e);
        acc_pd(e, &s0, &s1);
    }
    __m256d s = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

// sum_i x[i] (sq = 0) or sum_i (x[i] - c)^2 (sq = 1), f32 lanes.
static float sum_f32(size_t n, const float *x, int sq, float c) {
    const __m256 vc = _mm256_set1_ps(c);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 d0 = _mm256_loadu_ps(x + i), d1 = _mm256_loadu_ps(x + i + 8);
        __m256 d2 = _mm256_loadu_ps(x + i + 16), d3 = _mm256_loadu_ps(x + i + 24);
        if (sq) {
            d0 = _mm256_sub_ps(d0, vc);
            d1 = _mm256_sub_ps(d1, vc);
            d2 = _mm256_sub_ps(d2, vc);
            d3 = _mm256_sub_ps(d3, vc);
            a0 = _mm256_fmadd_ps(d0, d0, a0);
            a1 = _mm256_fmadd_ps(d1, d1, a1);
            a2 = _mm256_fmadd_ps(d2, d2, a2);
            a3 = _mm256_fmadd_ps(d3, d3, a3);
        } else {
            a0 = _mm256_add_ps(a0, d0);
            a1 = _mm256_add_ps(a1, d1);
            a2 = _mm256_add_ps(a2, d2);
            a3 = _mm256_add_ps(a3, d3);
        }
    }
    for (; i < n; i += 8) {
        __m256i k = tail_mask(n - i >= 8 ? 8 : n - i);
        __m256 d = _mm256_maskload_ps(x + i, k);
        if (sq) {
            d = _mm256_and_ps(_mm256_sub_ps(d, vc), _mm256_castsi256_ps(k));
            a0 = _mm256_fmadd_ps(d, d, a0);
        } else {
            a0 = _mm256_add_ps(a0, d);
        }
    }
    return hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// ---- normalisation ----

static void rmsnorm_f32_avx2(size_t n, const float *x, const float *w,
                             float eps, float *y) {
    if (n == 0) return;
    float ss = sum_f32(n, x, 1, 0.0f);
    __m256 r = _mm256_set1_ps((float)(1.0 / sqrt((double)ss / (double)n + (double)eps)));
    for (size_t i = 0; i < n; i += 8) {
        __m256i k = tail_mask(n - i >= 8 ? 8 : n - i);
        __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, k), r);
        _mm256_maskstore_ps(y + i, k, _mm256_mul_ps(v, _mm256_maskload_ps(w + i, k)));
    }
}

static void layernorm_f32_avx2(size_t n, const float *x, const float *gamma,
                               const float *beta, float eps, float *y) {
    if (n == 0) return;
    float mean = (float)((double)sum_f32(n, x, 0, 0.0f) / (double)n);
    float var = sum_f32(n, x, 1, mean);
    __m256 rstd = _mm256_set1_ps((float)(1.0 / sqrt((double)var / (double)n + (double)eps)));
    __m256 vm = _mm256_set1_ps(mean);
    for (size_t i = 0; i < n; i += 8) {
        __m256i k = tail_mask(n - i >= 8 ? 8 : n - i);
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), vm), rstd);
        __m256 b = beta ? _mm256_maskload_ps(beta + i, k) : _mm256_setzero_ps();
        _mm256_maskstore_ps(y + i, k, _mm256_fmadd_ps(t, _mm256_maskload_ps(gamma + i, k), b));
    }
}

// ---- softmax family ----

static void softmax_f32_avx2(size_t n, const float *x, float *y) {
    if (n == 0) return;
    double s = sum_exp(n, x, max_f32(n, x), y);
    __m256 inv = _mm256_set1_ps((float)(1.0 / s));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
    for (; i < n; i++) y[i] *= _mm256_cvtss_f32(inv);
}

// y = (x - m) - (float)log(s), as in norm_avx512.c.
static void logsoftmax_f32_avx2(size_t n, const float *x, float *y) {
    if (n == 0) return;
    float m = max_f32(n, x);
    float ls = (float)log(sum_exp(n, x, m, NULL));
    __m256 vls = _mm256_set1_ps(ls), vm = _mm256_set1_ps(m);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vls));
    for (; i < n; i++) y[i] = (x[i] - m) - ls;
}

static double logsumexp_f32_avx2(size_t n, const float *x) {
    float m = max_f32(n, x);
    if (isinf(m)) { // rare: see norm_scalar.c
        for (size_t i = 0; i < n; i++)
            if (isnan(x[i])) return NAN;
        return m;
    }
    return (double)m + log(sum_exp(n, x, m, NULL));
}

void cpr_fill_norm_avx2(struct cpr_kernels *k) {
    k->rmsnorm_f32 = rmsnorm_f32_avx2;
    k->layernorm_f32 = layernorm_f32_avx2;
    k->softmax_f32 = softmax_f32_avx2;
    k->logsoftmax_f32 = logsoftmax_f32_avx2;
    k->logsumexp_f32 = logsumexp_f32_avx2;
}
#endif
