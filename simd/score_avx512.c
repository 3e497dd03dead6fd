// simd/score_avx512.c: absmul / count_zeros with AVX-512F.
//
// absmul clears the sign bit and does one multiply per element, as the
// scalar spec does, so results are identical. count_zeros compares with
// 0.0 (ordered: NaN never equal; -0 == +0) into a mask and adds 1 to the
// selected 32-bit lanes; lane counters are folded into the size_t total
// every CHUNK elements so they cannot overflow. Tails use masks.
#include <assert.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { CHUNK = 1 << 20 }; // elements per lane-counter flush

static inline __mmask16 tail_mask(size_t r) {
    return (__mmask16)((1u << r) - 1u);
}

static void absmul_f32_avx512(size_t n, const float *w, const float *s, float *out) {
    assert(n == 0 || (w && s && out));
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m512 a = _mm512_abs_ps(_mm512_loadu_ps(w + j));
        __m512 b = _mm512_abs_ps(_mm512_loadu_ps(w + j + 16));
        _mm512_storeu_ps(out + j, _mm512_mul_ps(a, _mm512_loadu_ps(s + j)));
        _mm512_storeu_ps(out + j + 16, _mm512_mul_ps(b, _mm512_loadu_ps(s + j + 16)));
    }
    for (; j < n; j += 16) {
        __mmask16 m = n - j < 16 ? tail_mask(n - j) : (__mmask16)0xffff;
        __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(m, w + j));
        _mm512_mask_storeu_ps(out + j, m, _mm512_mul_ps(a, _mm512_maskz_loadu_ps(m, s + j)));
    }
}

static size_t count_zeros_f32_avx512(size_t n, const float *x) {
    assert(n == 0 || x);
    const __m512 zero = _mm512_setzero_ps();
    const __m512i one = _mm512_set1_epi32(1);
    size_t total = 0, i = 0;
    while (i < n) {
        size_t end = n - i > CHUNK ? i + CHUNK : n;
        __m512i c0 = _mm512_setzero_si512(), c1 = c0;
        for (; i + 32 <= end; i += 32) {
            __mmask16 z0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), zero, _CMP_EQ_OQ);
            __mmask16 z1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i + 16), zero, _CMP_EQ_OQ);
            c0 = _mm512_mask_add_epi32(c0, z0, c0, one);
            c1 = _mm512_mask_add_epi32(c1, z1, c1, one);
        }
        for (; i < end; i += 16) { // at most two partial steps, at the very end
            __mmask16 m = end - i < 16 ? tail_mask(end - i) : (__mmask16)0xffff;
            __mmask16 z = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, x + i), zero,
                                                  _CMP_EQ_OQ);
            c0 = _mm512_mask_add_epi32(c0, z, c0, one);
        }
        total += (size_t)(uint32_t)_mm512_reduce_add_epi32(_mm512_add_epi32(c0, c1));
    }
    return total;
}

void cpr_fill_score_avx512(struct cpr_kernels *k) {
    k->absmul_f32 = absmul_f32_avx512;
    k->count_zeros_f32 = count_zeros_f32_avx512;
}
#endif
