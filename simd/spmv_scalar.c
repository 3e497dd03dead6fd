// simd/spmv_scalar.c: reference compressed-weight x vector products (the
// executable spec of the spmv family; layouts in core/weight.h).
//
// Each row's sum runs over the stored values in storage order (column
// order) and accumulates in double; the result is rounded to f32 once
// (plus beta * y in double when beta != 0). The SIMD versions accumulate
// in f32 lanes and must agree within atol + rtol * sum|w x|.
#include <assert.h>
#include <string.h>

#include "simd/kernels.h"
#include "simd/spmv_common.h"

// ---- widening (exact, bit-level) ----

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float f16_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ffu;
    if (e == 0x1f) return bits_f32(sign | 0x7f800000u | (m << 13));
    if (e != 0) return bits_f32(sign | ((e + 112) << 23) | (m << 13));
    if (m == 0) return bits_f32(sign);
    // Subnormal: value m * 2^-24, exact in f32.
    float v = (float)m * bits_f32(0x33800000u); // 2^-24
    return sign ? -v : v;
}

static inline double val(enum vt t, const void *vals, size_t i) {
    if (t == VT_F32) {
        float f;
        memcpy(&f, (const char *)vals + 4 * i, 4);
        return f;
    }
    uint16_t h = ((const uint16_t *)vals)[i];
    return t == VT_BF16 ? bits_f32((uint32_t)h << 16) : f16_f32(h);
}

static inline void store(float beta, float *y, double acc) {
    *y = beta == 0.0f ? (float)acc : (float)(acc + (double)beta * *y);
}

// ---- bitmask ----

static void bitmask(enum vt t, size_t n_rows, size_t k, const uint8_t *meta,
                    size_t ldm, const void *vals, const float *x, float beta,
                    float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    size_t v = 0;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        double acc = 0.0;
        for (size_t j = 0; j < k; j++)
            if ((m[j / 8] >> (j % 8)) & 1)
                acc += val(t, vals, v++) * (double)x[j];
        store(beta, y + r, acc);
    }
}

// ---- 2:4 ----

static void nm24(enum vt t, size_t n_rows, size_t k, const uint8_t *meta,
                 size_t ldm, const void *vals, const float *x, float beta,
                 float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    size_t slots = (k + 3) / 4 * 2, v = 0;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        double acc = 0.0;
        for (size_t s = 0; s < slots; s++, v++) {
            size_t j = 4 * (s / 2) + ((m[s / 4] >> (2 * (s % 4))) & 3);
            acc += val(t, vals, v) * (double)x[j];
        }
        store(beta, y + r, acc);
    }
}

CPR_SPMV_DTYPE_SLOTS()

// ---- unpack (exact bit patterns) ----

static void unpack_bitmask(size_t es, size_t n_rows, size_t k,
                           const uint8_t *meta, size_t ldm, const void *vals,
                           void *dst, size_t ldd) {
    const char *v = vals;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        char *out = (char *)dst + r * ldd * es;
        for (size_t j = 0; j < k; j++) {
            if ((m[j / 8] >> (j % 8)) & 1) {
                memcpy(out + j * es, v, es);
                v += es;
            } else {
                memset(out + j * es, 0, es);
            }
        }
    }
}

static void unpack_nm24(size_t es, size_t n_rows, size_t k, const uint8_t *meta,
                        size_t ldm, const void *vals, void *dst, size_t ldd) {
    const char *v = vals;
    size_t slots = (k + 3) / 4 * 2;
    static const char zero[4] = {0, 0, 0, 0};
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        char *out = (char *)dst + r * ldd * es;
        memset(out, 0, k * es);
        for (size_t s = 0; s < slots; s++, v += es) {
            size_t j = 4 * (s / 2) + ((m[s / 4] >> (2 * (s % 4))) & 3);
            if (memcmp(v, zero, es) != 0) memcpy(out + j * es, v, es);
        }
    }
}

static void unpack_bitmask_h16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                               const void *v, void *d, size_t ldd) {
    unpack_bitmask(2, n, k, m, ldm, v, d, ldd);
}
static void unpack_bitmask_f32(size_t n, size_t k, const uint8_t *m, size_t ldm,
                               const void *v, void *d, size_t ldd) {
    unpack_bitmask(4, n, k, m, ldm, v, d, ldd);
}
static void unpack_nm24_h16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                            const void *v, void *d, size_t ldd) {
    unpack_nm24(2, n, k, m, ldm, v, d, ldd);
}
static void unpack_nm24_f32(size_t n, size_t k, const uint8_t *m, size_t ldm,
                            const void *v, void *d, size_t ldd) {
    unpack_nm24(4, n, k, m, ldm, v, d, ldd);
}

void cpr_fill_spmv_scalar(struct cpr_kernels *k) {
    k->unpack_bitmask_h16 = unpack_bitmask_h16;
    k->unpack_bitmask_f32 = unpack_bitmask_f32;
    k->unpack_nm24_h16 = unpack_nm24_h16;
    k->unpack_nm24_f32 = unpack_nm24_f32;
    CPR_SPMV_FILL_DTYPE_SLOTS(k);
}
