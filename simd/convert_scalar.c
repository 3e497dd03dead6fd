// simd/convert_scalar.c: reference bf16/f16 <-> f32 conversions (the spec).
//
// Bit-level, no _Float16. Widening is exact, bit for bit: a signaling NaN
// stays signaling (hardware converters quiet it; the SIMD files undo that).
// Narrowing rounds to nearest,
// ties to even; NaN stays NaN with the quiet bit set (payload truncated),
// Inf stays Inf, finite values past the largest representable round to Inf
// as IEEE 754 prescribes (bf16: by the same carry; f16: at >= 65520),
// and f16 results below 2^-14 become subnormals (or signed zero).
#include <string.h>

#include "simd/kernels.h"

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void bf16_to_f32_scalar(size_t n, const uint16_t *src, float *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = bits_f32((uint32_t)src[i] << 16);
}

static void f32_to_bf16_scalar(size_t n, const float *src, uint16_t *dst) {
    for (size_t i = 0; i < n; i++) {
        uint32_t x = f32_bits(src[i]);
        if ((x & 0x7fffffffu) > 0x7f800000u) // NaN: keep sign, force quiet
            dst[i] = (uint16_t)((x >> 16) | 0x0040u);
        else // round to nearest even; a carry into the exponent is correct
            dst[i] = (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
    }
}

static void f16_to_f32_scalar(size_t n, const uint16_t *src, float *dst) {
    for (size_t i = 0; i < n; i++) {
        uint16_t h = src[i];
        uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
        uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
        if (exp == 0x1f) {
            u = sign | 0x7f800000u | (man << 13);
        } else if (exp != 0) {
            u = sign | ((exp + 112u) << 23) | (man << 13);
        } else if (man == 0) {
            u = sign;
        } else { // subnormal man * 2^-24: normalize
            uint32_t e = 113;
            while (!(man & 0x400u)) {
                man <<= 1;
                e--;
            }
            u = sign | (e << 23) | ((man & 0x3ffu) << 13);
        }
        dst[i] = bits_f32(u);
    }
}

static uint16_t f32_to_f16_one(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) // Inf, or NaN made quiet
        return x == 0x7f800000u ? (uint16_t)(sign | 0x7c00u)
                                : (uint16_t)(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
    if (x >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); // >= 65520 -> Inf
    if (x >= 0x38800000u) { // normal half: rebias and round at bit 13
        uint32_t r = x + 0xfffu + ((x >> 13) & 1u);
        return (uint16_t)(sign | ((r - (112u << 23)) >> 13));
    }
    // subnormal half (or zero): value = mant * 2^(e - 150), unit 2^-24
    uint32_t e = x >> 23;
    if (e < 102) return sign; // below 2^-25: rounds to zero
    uint32_t mant = (x & 0x7fffffu) | 0x800000u, shift = 126 - e;
    uint32_t r = mant >> shift, rem = mant & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) r++; // may reach 0x400: normal
    return (uint16_t)(sign | r);
}

static void f32_to_f16_scalar(size_t n, const float *src, uint16_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_f16_one(src[i]);
}

void cpr_fill_convert_scalar(struct cpr_kernels *k) {
    k->bf16_to_f32 = bf16_to_f32_scalar;
    k->f32_to_bf16 = f32_to_bf16_scalar;
    k->f16_to_f32 = f16_to_f32_scalar;
    k->f32_to_f16 = f32_to_f16_scalar;
}
