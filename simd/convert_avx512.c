// simd/convert_avx512.c: bf16/f16 <-> f32 with AVX-512 F/BW/VL.
//
// Same methods as convert_avx2.c, 16 lanes wide: bf16 by integer shifts
// and round-to-nearest-even on the bits (vpmovdw packs the top halves);
// f16 by vcvtph2ps / vcvtps2ph with an immediate round-to-nearest-even,
// plus the fix that gives signaling NaNs back their exact bits when
// widening. Tails use masked loads and stores.
//
// Not here: AVX512-BF16's vcvtneps2bf16, which flushes f32 subnormal
// inputs to zero and therefore disagrees with the spec.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline __mmask16 tail_mask(size_t r) {
    return (__mmask16)((1u << r) - 1u);
}

// ---- bf16 ----
static inline __m512 bf16x16_widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static inline __m256i bf16x16_narrow(__m512 v) {
    const __m512i x = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
    const __m512i r = _mm512_add_epi32(x, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    // NaN: (x | quiet bit) >> 16 keeps the sign and top payload bits.
    const __m512i q = _mm512_or_si512(x, _mm512_set1_epi32(0x00400000));
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_mask_blend_epi32(nan, r, q), 16));
}

static void bf16_to_f32_avx512(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(dst + i, bf16x16_widen(_mm256_loadu_si256((const __m256i *)(src + i))));
        _mm512_storeu_ps(dst + i + 16,
                         bf16x16_widen(_mm256_loadu_si256((const __m256i *)(src + i + 16))));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i < 16 ? tail_mask(n - i) : (__mmask16)0xffff;
        _mm512_mask_storeu_ps(dst + i, m, bf16x16_widen(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}

static void f32_to_bf16_avx512(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm256_storeu_si256((__m256i *)(dst + i), bf16x16_narrow(_mm512_loadu_ps(src + i)));
        _mm256_storeu_si256((__m256i *)(dst + i + 16),
                            bf16x16_narrow(_mm512_loadu_ps(src + i + 16)));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i < 16 ? tail_mask(n - i) : (__mmask16)0xffff;
        _mm256_mask_storeu_epi16(dst + i, m, bf16x16_narrow(_mm512_maskz_loadu_ps(m, src + i)));
    }
}

// ---- f16 ----
static inline __m512 f16x16_widen(__m256i h) {
    const __m512i f = _mm512_castps_si512(_mm512_cvtph_ps(h));
    // Inf/NaN inputs: bit 22 of the result must equal bit 9 of the half;
    // vcvtph2ps forces it to 1 for NaNs (quieting), so put it back.
    const __m512i h32 = _mm512_cvtepu16_epi32(h);
    const __mmask16 special =
        _mm512_cmpeq_epi32_mask(_mm512_and_si512(h32, _mm512_set1_epi32(0x7c00)),
                                _mm512_set1_epi32(0x7c00));
    const __m512i fixed = _mm512_or_si512(
        _mm512_andnot_si512(_mm512_set1_epi32(0x00400000), f),
        _mm512_slli_epi32(_mm512_and_si512(h32, _mm512_set1_epi32(0x200)), 13));
    return _mm512_castsi512_ps(_mm512_mask_blend_epi32(special, f, fixed));
}

#define F16_RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

static void f16_to_f32_avx512(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(dst + i, f16x16_widen(_mm256_loadu_si256((const __m256i *)(src + i))));
        _mm512_storeu_ps(dst + i + 16,
                         f16x16_widen(_mm256_loadu_si256((const __m256i *)(src + i + 16))));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i < 16 ? tail_mask(n - i) : (__mmask16)0xffff;
        _mm512_mask_storeu_ps(dst + i, m, f16x16_widen(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}

static void f32_to_f16_avx512(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), F16_RNE));
        _mm256_storeu_si256((__m256i *)(dst + i + 16),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i + 16), F16_RNE));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i < 16 ? tail_mask(n - i) : (__mmask16)0xffff;
        _mm256_mask_storeu_epi16(dst + i, m,
                                 _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), F16_RNE));
    }
}

void cpr_fill_convert_avx512(struct cpr_kernels *k) {
    k->bf16_to_f32 = bf16_to_f32_avx512;
    k->f32_to_bf16 = f32_to_bf16_avx512;
    k->f16_to_f32 = f16_to_f32_avx512;
    k->f32_to_f16 = f32_to_f16_avx512;
}
#endif
