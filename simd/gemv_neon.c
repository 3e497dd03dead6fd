// simd/gemv_neon.c: the leaf of the m <= 4 (decode) path of the NEON gemm
// slots (contract in simd/gemv_small.h; the tiling is the portable driver's,
// simd/gemv_small.c): W rows streamed once, no packing.
//
// Per pass: 4 W rows x up to 2 x rows, each element with two 4-lane
// accumulators (the low and high halves of an 8-value k step: two
// independent FMA chains), 16 of the 32 q registers. W is widened exactly:
// f32 as is, bf16 by a 16-bit left shift (vshll), f16 by vcvt; the tail
// (k % 8) goes through a zero-padded 8-element copy so no load reads past
// a row. An element's sum: its two chains over k, added (lo + hi), then
// vaddvq (a fixed across-lane order).
#include "simd/gemv_small.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#define CPR_AI static inline __attribute__((always_inline))
#if defined(__clang__)
#define CPR_UNROLL _Pragma("unroll")
#else
#define CPR_UNROLL _Pragma("GCC unroll 16")
#endif

enum { WROWS = CPR_GEMV_WROWS, XROWS = CPR_GEMV_XROWS };

struct v8 { float32x4_t lo, hi; };

// 8 values of a W row at element offset p as f32; cnt < 8 reads only cnt
// values (the rest are zero).
CPR_AI struct v8 load_w8(enum cpr_gemm_wtype wt, const void *row, size_t p,
                         size_t cnt) {
    struct v8 v;
    if (wt == CPR_GEMM_W_F32) {
        const float *r = (const float *)row + p;
        float b[8] = {0};
        if (cnt < 8) {
            memcpy(b, r, cnt * sizeof(float));
            r = b;
        }
        v.lo = vld1q_f32(r);
        v.hi = vld1q_f32(r + 4);
        return v;
    }
    const uint16_t *r = (const uint16_t *)row + p;
    uint16_t b[8] = {0};
    if (cnt < 8) {
        memcpy(b, r, cnt * sizeof(uint16_t));
        r = b;
    }
    uint16x8_t h = vld1q_u16(r);
    if (wt == CPR_GEMM_W_F16) {
        v.lo = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
        v.hi = vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h)));
    } else {
        v.lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        v.hi = vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16));
    }
    return v;
}

CPR_AI struct v8 load_x8(const float *x, size_t cnt) {
    float b[8] = {0};
    if (cnt < 8) {
        memcpy(b, x, cnt * sizeof(float));
        x = b;
    }
    struct v8 v = {vld1q_f32(x), vld1q_f32(x + 4)};
    return v;
}

// One k step of cnt values at offset p for mr x rows and nw W rows.
CPR_AI void step(enum cpr_gemm_wtype wt, const int mr, size_t p, size_t cnt,
                 const float *x, size_t ldx, const char *w, size_t wrow,
                 size_t nw, struct v8 acc[XROWS][WROWS]) {
    struct v8 wv[WROWS];
    CPR_UNROLL
    for (size_t q = 0; q < WROWS; q++) {
        if (q < nw) {
            wv[q] = load_w8(wt, w + q * wrow, p, cnt);
        } else {
            wv[q].lo = wv[q].hi = vdupq_n_f32(0.0f);
        }
    }
    CPR_UNROLL
    for (int i = 0; i < mr; i++) {
        struct v8 xv = load_x8(x + (size_t)i * ldx + p, cnt);
        CPR_UNROLL
        for (int q = 0; q < WROWS; q++) {
            acc[i][q].lo = vfmaq_f32(acc[i][q].lo, xv.lo, wv[q].lo);
            acc[i][q].hi = vfmaq_f32(acc[i][q].hi, xv.hi, wv[q].hi);
        }
    }
}

// The dot products of mr x rows with nw W rows (the leaf's contract).
CPR_AI void tile(enum cpr_gemm_wtype wt, const int mr, size_t nw, size_t k,
                 const float *x, size_t ldx, const char *w, size_t wrow,
                 float dots[XROWS][WROWS]) {
    struct v8 acc[XROWS][WROWS];
    CPR_UNROLL
    for (int i = 0; i < XROWS; i++)
        for (int q = 0; q < WROWS; q++) acc[i][q].lo = acc[i][q].hi = vdupq_n_f32(0.0f);
    size_t k8 = k & ~(size_t)7;
    for (size_t p = 0; p < k8; p += 8) step(wt, mr, p, 8, x, ldx, w, wrow, nw, acc);
    if (k8 < k) step(wt, mr, k8, k - k8, x, ldx, w, wrow, nw, acc);
    for (int i = 0; i < mr; i++)
        for (size_t q = 0; q < nw; q++)
            dots[i][q] = vaddvq_f32(vaddq_f32(acc[i][q].lo, acc[i][q].hi));
}

// The leaf: one copy of the loops per weight type and x-row count, so wt
// and mr are constants inside them.
static void dots_neon(enum cpr_gemm_wtype wt, int mr, size_t nw, size_t k,
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

void cpr_gemv_small_neon(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                         float alpha, const float *x, size_t ldx, const void *w,
                         size_t ldw, float beta, float *y, size_t ldy) {
    cpr_gemv_small_drive(dots_neon, wt, m, n, k, alpha, x, ldx, w, ldw, beta,
                         y, ldy);
}
#endif
