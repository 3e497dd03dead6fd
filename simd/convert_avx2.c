// simd/convert_avx2.c: bf16/f16 <-> f32 with AVX2 + F16C.
//
// bf16 is the top half of an f32, so both directions are integer work:
// widening shifts left by 16; narrowing adds 0x7fff plus the lowest kept
// bit (round to nearest even; a carry into the exponent is the correct
// overflow to Inf) and keeps the top half, with NaNs made quiet instead.
// f16 uses the F16C instructions vcvtph2ps / vcvtps2ph (round to nearest
// even, immediate rounding mode, so MXCSR does not matter). vcvtps2ph
// matches the scalar spec on all 2^32 inputs; vcvtph2ps quiets signaling
// NaNs, which the spec widens bit-exactly, so their quiet bit is put back.
// Tails go through a small stack buffer so they take the vector path too.
//
// Not here: AVX512-BF16's vcvtneps2bf16, which flushes f32 subnormal
// inputs to zero and therefore disagrees with the spec.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

// ---- bf16 ----
static inline __m256 bf16x8_widen(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// Eight f32 rounded to bf16, each in the low half of a 32-bit lane.
static inline __m256i bf16x8_round(__m256 v) {
    const __m256i x = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    // NaN: (x | quiet bit) >> 16 keeps the sign and top payload bits.
    const __m256i q = _mm256_or_si256(x, _mm256_set1_epi32(0x00400000));
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_srli_epi32(_mm256_blendv_epi8(r, q, nan), 16);
}

// Sixteen f32 to sixteen bf16. packus is per 128-bit lane, hence the
// permute; values are <= 0xffff so the unsigned saturation never bites.
static inline __m256i bf16x16_narrow(__m256 a, __m256 b) {
    __m256i p = _mm256_packus_epi32(bf16x8_round(a), bf16x8_round(b));
    return _mm256_permute4x64_epi64(p, 0xd8);
}

static void bf16_to_f32_avx2(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_ps(dst + i, bf16x8_widen(_mm256_castsi256_si128(h)));
        _mm256_storeu_ps(dst + i + 8, bf16x8_widen(_mm256_extracti128_si256(h, 1)));
    }
    for (; i < n; i += 8) {
        uint16_t hb[8] = {0};
        float fb[8];
        size_t r = n - i < 8 ? n - i : 8;
        memcpy(hb, src + i, r * sizeof *hb);
        _mm256_storeu_ps(fb, bf16x8_widen(_mm_loadu_si128((const __m128i *)hb)));
        memcpy(dst + i, fb, r * sizeof *fb);
    }
}

static void f32_to_bf16_avx2(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            bf16x16_narrow(_mm256_loadu_ps(src + i),
                                           _mm256_loadu_ps(src + i + 8)));
    if (i < n) {
        float fb[16] = {0};
        uint16_t hb[16];
        size_t r = n - i;
        memcpy(fb, src + i, r * sizeof *fb);
        _mm256_storeu_si256((__m256i *)hb,
                            bf16x16_narrow(_mm256_loadu_ps(fb), _mm256_loadu_ps(fb + 8)));
        memcpy(dst + i, hb, r * sizeof *hb);
    }
}

// ---- f16 ----
static inline __m256 f16x8_widen(__m128i h) {
    const __m256i f = _mm256_castps_si256(_mm256_cvtph_ps(h));
    // For exponent-all-ones inputs (Inf, NaN) the exact result has bit 22
    // equal to bit 9 of the half; vcvtph2ps forces it to 1 for NaNs.
    const __m256i h32 = _mm256_cvtepu16_epi32(h);
    const __m256i e = _mm256_set1_epi32(0x7c00);
    const __m256i special = _mm256_cmpeq_epi32(_mm256_and_si256(h32, e), e);
    const __m256i fixed = _mm256_or_si256(
        _mm256_andnot_si256(_mm256_set1_epi32(0x00400000), f),
        _mm256_slli_epi32(_mm256_and_si256(h32, _mm256_set1_epi32(0x200)), 13));
    return _mm256_castsi256_ps(_mm256_blendv_epi8(f, fixed, special));
}

#define F16_RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

static void f16_to_f32_avx2(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(dst + i, f16x8_widen(_mm_loadu_si128((const __m128i *)(src + i))));
        _mm256_storeu_ps(dst + i + 8,
                         f16x8_widen(_mm_loadu_si128((const __m128i *)(src + i + 8))));
    }
    for (; i < n; i += 8) {
        uint16_t hb[8] = {0};
        float fb[8];
        size_t r = n - i < 8 ? n - i : 8;
        memcpy(hb, src + i, r * sizeof *hb);
        _mm256_storeu_ps(fb, f16x8_widen(_mm_loadu_si128((const __m128i *)hb)));
        memcpy(dst + i, fb, r * sizeof *fb);
    }
}

static void f32_to_f16_avx2(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), F16_RNE));
        _mm_storeu_si128((__m128i *)(dst + i + 8),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i + 8), F16_RNE));
    }
    for (; i < n; i += 8) {
        float fb[8] = {0};
        uint16_t hb[8];
        size_t r = n - i < 8 ? n - i : 8;
        memcpy(fb, src + i, r * sizeof *fb);
        _mm_storeu_si128((__m128i *)hb, _mm256_cvtps_ph(_mm256_loadu_ps(fb), F16_RNE));
        memcpy(dst + i, hb, r * sizeof *hb);
    }
}

void cpr_fill_convert_avx2(struct cpr_kernels *k) {
    k->bf16_to_f32 = bf16_to_f32_avx2;
    k->f32_to_bf16 = f32_to_bf16_avx2;
    k->f16_to_f32 = f16_to_f32_avx2;
    k->f32_to_f16 = f32_to_f16_avx2;
}
#endif
