// simd/convert_neon.c: bf16/f16 <-> f32 with aarch64 Advanced SIMD.
//
// bf16 by integer shifts: widening is a shift-left-long by 16; narrowing
// adds 0x7fff plus the lowest kept bit (round to nearest even; a carry into
// the exponent is the correct overflow to Inf), keeps NaNs quiet, and takes
// the top halves with a narrowing shift. f16 uses FCVT (vcvt_f32_f16 /
// vcvt_f16_f32), which rounds per FPCR: round-to-nearest-even with no
// flush-to-zero is the Linux default, assumed here. FCVT quiets signaling
// NaNs when widening, which the spec widens bit-exactly, so their quiet bit
// is put back. Tails go through a small stack buffer.
#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

// ---- bf16 ----
static inline uint16x4_t bf16x4_narrow(float32x4_t v) {
    const uint32x4_t x = vreinterpretq_u32_f32(v);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(x, 16), vdupq_n_u32(1));
    const uint32x4_t r = vaddq_u32(x, vaddq_u32(lsb, vdupq_n_u32(0x7fff)));
    // NaN: (x | quiet bit) >> 16 keeps the sign and top payload bits.
    const uint32x4_t q = vorrq_u32(x, vdupq_n_u32(0x00400000));
    const uint32x4_t ordered = vceqq_f32(v, v);
    return vshrn_n_u32(vbslq_u32(ordered, r, q), 16);
}

static inline void bf16x8_widen(uint16x8_t h, float *dst) {
    vst1q_f32(dst, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)));
    vst1q_f32(dst + 4, vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)));
}

static void bf16_to_f32_neon(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) bf16x8_widen(vld1q_u16(src + i), dst + i);
    if (i < n) {
        uint16_t hb[8] = {0};
        float fb[8];
        memcpy(hb, src + i, (n - i) * sizeof *hb);
        bf16x8_widen(vld1q_u16(hb), fb);
        memcpy(dst + i, fb, (n - i) * sizeof *fb);
    }
}

static inline uint16x8_t bf16x8_narrow(const float *src) {
    return vcombine_u16(bf16x4_narrow(vld1q_f32(src)), bf16x4_narrow(vld1q_f32(src + 4)));
}

static void f32_to_bf16_neon(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) vst1q_u16(dst + i, bf16x8_narrow(src + i));
    if (i < n) {
        float fb[8] = {0};
        uint16_t hb[8];
        memcpy(fb, src + i, (n - i) * sizeof *fb);
        vst1q_u16(hb, bf16x8_narrow(fb));
        memcpy(dst + i, hb, (n - i) * sizeof *hb);
    }
}

// ---- f16 ----
// Inf/NaN inputs: bit 22 of the result must equal bit 9 of the half; FCVT
// forces it to 1 for NaNs (quieting), so put it back.
static inline float32x4_t f16_fix(uint32x4_t f, uint16x4_t h) {
    const uint32x4_t h32 = vmovl_u16(h);
    const uint32x4_t e = vdupq_n_u32(0x7c00);
    const uint32x4_t special = vceqq_u32(vandq_u32(h32, e), e);
    const uint32x4_t fixed =
        vorrq_u32(vbicq_u32(f, vdupq_n_u32(0x00400000)),
                  vshlq_n_u32(vandq_u32(h32, vdupq_n_u32(0x200)), 13));
    return vreinterpretq_f32_u32(vbslq_u32(special, fixed, f));
}

static inline void f16x8_widen(uint16x8_t h, float *dst) {
    const float16x8_t hf = vreinterpretq_f16_u16(h);
    vst1q_f32(dst, f16_fix(vreinterpretq_u32_f32(vcvt_f32_f16(vget_low_f16(hf))),
                           vget_low_u16(h)));
    vst1q_f32(dst + 4, f16_fix(vreinterpretq_u32_f32(vcvt_high_f32_f16(hf)),
                               vget_high_u16(h)));
}

static void f16_to_f32_neon(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) f16x8_widen(vld1q_u16(src + i), dst + i);
    if (i < n) {
        uint16_t hb[8] = {0};
        float fb[8];
        memcpy(hb, src + i, (n - i) * sizeof *hb);
        f16x8_widen(vld1q_u16(hb), fb);
        memcpy(dst + i, fb, (n - i) * sizeof *fb);
    }
}

static inline uint16x8_t f16x8_narrow(const float *src) {
    float16x4_t lo = vcvt_f16_f32(vld1q_f32(src));
    return vreinterpretq_u16_f16(vcvt_high_f16_f32(lo, vld1q_f32(src + 4)));
}

static void f32_to_f16_neon(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) vst1q_u16(dst + i, f16x8_narrow(src + i));
    if (i < n) {
        float fb[8] = {0};
        uint16_t hb[8];
        memcpy(fb, src + i, (n - i) * sizeof *fb);
        vst1q_u16(hb, f16x8_narrow(fb));
        memcpy(dst + i, hb, (n - i) * sizeof *hb);
    }
}

void cpr_fill_convert_neon(struct cpr_kernels *k) {
    k->bf16_to_f32 = bf16_to_f32_neon;
    k->f32_to_bf16 = f32_to_bf16_neon;
    k->f16_to_f32 = f16_to_f32_neon;
    k->f32_to_f16 = f32_to_f16_neon;
}
#endif
