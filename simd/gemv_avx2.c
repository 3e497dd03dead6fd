// simd/gemv_avx2.c: the leaf of the m <= 4 (decode) path of the AVX2 gemm
// slots (contract in simd/gemv_small.h; the tiling is the portable driver's,
// simd/gemv_small.c): W rows streamed once, no packing.
//
// Per pass: 4 W rows x up to 2 x rows = 8 ymm accumulators, 4 widened W
// vectors and one x vector (13 of the 16 ymm registers). Each k step
// takes 8 values: W as f32 (loadu), bf16 (vpmovzxwd + shift: exact) or
// f16 (F16C vcvtph2ps: exact); the tail (k % 8) goes through a zero-padded
// 8-element copy so no load reads past a row. An element's sum is its
// 8-lane FMA chain over k, then the fixed tree (lo128 + hi128, then
// lanes 0+2 / 1+3, then 0+1).
#include "simd/gemv_small.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define CPR_AI static inline __attribute__((always_inline))
#if defined(__clang__)
#define CPR_UNROLL _Pragma("unroll")
#else
#define CPR_UNROLL _Pragma("GCC unroll 16")
#endif

enum { WROWS = CPR_GEMV_WROWS, XROWS = CPR_GEMV_XROWS };

// 8 values of a W row at element offset p as f32; cnt < 8 reads only cnt
// values (the rest are zero).
CPR_AI __m256 load_w8(enum cpr_gemm_wtype wt, const void *row, size_t p,
                      size_t cnt) {
    if (wt == CPR_GEMM_W_F32) {
        const float *r = (const float *)row + p;
        if (cnt == 8) return _mm256_loadu_ps(r);
        float b[8] = {0};
        memcpy(b, r, cnt * sizeof(float));
        return _mm256_loadu_ps(b);
    }
    const uint16_t *r = (const uint16_t *)row + p;
    __m128i h;
    if (cnt == 8) {
        h = _mm_loadu_si128((const __m128i *)r);
    } else {
        uint16_t b[8] = {0};
        memcpy(b, r, cnt * sizeof(uint16_t));
        h = _mm_loadu_si128((const __m128i *)b);
    }
    if (wt == CPR_GEMM_W_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

CPR_AI __m256 load_x8(const float *x, size_t cnt) {
    if (cnt == 8) return _mm256_loadu_ps(x);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cnt),
                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(x, m); // masked lanes are not read
}

CPR_AI float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// One k step of cnt values at offset p for mr x rows and nw W rows.
CPR_AI void step(enum cpr_gemm_wtype wt, const int mr, size_t p, size_t cnt,
                 const float *x, size_t ldx, const char *w, size_t wrow,
                 size_t nw, __m256 acc[XROWS][WROWS]) {
    __m256 wv[WROWS];
    CPR_UNROLL
    for (size_t q = 0; q < WROWS; q++)
        wv[q] = q < nw ? load_w8(wt, w + q * wrow, p, cnt) : _mm256_setzero_ps();
    CPR_UNROLL
    for (int i = 0; i < mr; i++) {
        __m256 xv = load_x8(x + (size_t)i * ldx + p, cnt);
        CPR_UNROLL
        for (int q = 0; q < WROWS; q++) acc[i][q] = _mm256_fmadd_ps(xv, wv[q], acc[i][q]);
    }
}

// The dot products of mr x rows with nw W rows (the leaf's contract).
CPR_AI void tile(enum cpr_gemm_wtype wt, const int mr, size_t nw, size_t k,
                 const float *x, size_t ldx, const char *w, size_t wrow,
                 float dots[XROWS][WROWS]) {
    __m256 acc[XROWS][WROWS];
    CPR_UNROLL
    for (int i = 0; i < XROWS; i++)
        for (int q = 0; q < WROWS; q++) acc[i][q] = _mm256_setzero_ps();
    size_t k8 = k & ~(size_t)7;
    for (size_t p = 0; p < k8; p += 8) step(wt, mr, p, 8, x, ldx, w, wrow, nw, acc);
    if (k8 < k) step(wt, mr, k8, k - k8, x, ldx, w, wrow, nw, acc);
    for (int i = 0; i < mr; i++)
        for (size_t q = 0; q < nw; q++) dots[i][q] = hsum8(acc[i][q]);
}

// The leaf: one copy of the loops per weight type and x-row count, so wt
// and mr are constants inside them.
static void dots_avx2(enum cpr_gemm_wtype wt, int mr, size_t nw, size_t k,
                      const float *x, size_t ldx, const char *w, size_t wrow,
                      float dots[XROWS][WROWS]) {
    switch (wt) {
    case CPR_GEMM_W_F32:
        if (mr == 2) tile(CPR_GEMM_W_F32, 2, nw, k, x, ldx, w, wrow, dots);
        else tile(CPR_GEMM_W_F32, 1, nw, k, x, ldx, w, wrow, dots);
        break;
    case CPR_GEMM_W_BF16:
        if (mr == 2) tile(CPR_GEMM_W_BF16, 2, nw, k, x, ldx, w, wrow, dots);
        else tile(CPR_GEMM_W_BF16, 1, nw, k, x, ldx, w, wrow, dots);
        break;
    default:
        if (mr == 2) tile(CPR_GEMM_W_F16, 2, nw, k, x, ldx, w, wrow, dots);
        else tile(CPR_GEMM_W_F16, 1, nw, k, x, ldx, w, wrow, dots);
        break;
    }
}

void cpr_gemv_small_avx2(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                         float alpha, const float *x, size_t ldx, const void *w,
                         size_t ldw, float beta, float *y, size_t ldy) {
    cpr_gemv_small_drive(dots_avx2, wt, m, n, k, alpha, x, ldx, w, ldw, beta,
                         y, ldy);
}
#endif
