// simd/score_avx2.c: absmul / count_zeros with AVX2.
//
// absmul clears the sign bit and does one multiply per element, the same
// operation as the scalar spec, so results are identical. count_zeros
// compares with 0.0 (ordered: NaN never equal; -0 == +0) and subtracts the
// all-ones lane masks from 32-bit lane counters, which are folded into the
// size_t total every CHUNK elements so they cannot overflow.
#include <assert.h>
#include <math.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { CHUNK = 1 << 20 }; // elements per lane-counter flush (<< 2^32 * 8)

static void absmul_f32_avx2(size_t n, const float *w, const float *s, float *out) {
    assert(n == 0 || (w && s && out));
    const __m256 sign = _mm256_set1_ps(-0.0f);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(w + j));
        __m256 b = _mm256_andnot_ps(sign, _mm256_loadu_ps(w + j + 8));
        _mm256_storeu_ps(out + j, _mm256_mul_ps(a, _mm256_loadu_ps(s + j)));
        _mm256_storeu_ps(out + j + 8, _mm256_mul_ps(b, _mm256_loadu_ps(s + j + 8)));
    }
    for (; j < n; j++) out[j] = fabsf(w[j]) * s[j];
}

static inline size_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return (size_t)(uint32_t)_mm_cvtsi128_si32(s);
}

static size_t count_zeros_f32_avx2(size_t n, const float *x) {
    assert(n == 0 || x);
    const __m256 zero = _mm256_setzero_ps();
    size_t total = 0, i = 0;
    while (i + 32 <= n) {
        size_t end = n - i > CHUNK ? i + CHUNK : n;
        __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
        for (; i + 32 <= end; i += 32) {
            c0 = _mm256_sub_epi32(c0, _mm256_castps_si256(_mm256_cmp_ps(
                                          _mm256_loadu_ps(x + i), zero, _CMP_EQ_OQ)));
            c1 = _mm256_sub_epi32(c1, _mm256_castps_si256(_mm256_cmp_ps(
                                          _mm256_loadu_ps(x + i + 8), zero, _CMP_EQ_OQ)));
            c2 = _mm256_sub_epi32(c2, _mm256_castps_si256(_mm256_cmp_ps(
                                          _mm256_loadu_ps(x + i + 16), zero, _CMP_EQ_OQ)));
            c3 = _mm256_sub_epi32(c3, _mm256_castps_si256(_mm256_cmp_ps(
                                          _mm256_loadu_ps(x + i + 24), zero, _CMP_EQ_OQ)));
        }
        total += hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1),
                                             _mm256_add_epi32(c2, c3)));
    }
    for (; i < n; i++) total += x[i] == 0.0f;
    return total;
}

void cpr_fill_score_avx2(struct cpr_kernels *k) {
    k->absmul_f32 = absmul_f32_avx2;
    k->count_zeros_f32 = count_zeros_f32_avx2;
}
#endif
