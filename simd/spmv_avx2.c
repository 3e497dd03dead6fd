// simd/spmv_avx2.c: compressed-weight x vector with AVX2 + FMA + F16C.
//
// Bitmask: 8 columns (one mask byte) per step. The next 8 stored values
// are loaded (the values array is padded), widened to f32, and moved to
// the lanes of the set bits by vpermps with a rank table (expand_idx[m][l]
// = number of set bits of m below bit l); lanes whose bit is clear are
// zeroed by an AND with the mask spread over the lanes. One FMA with
// x[j..j+8) follows; the value pointer advances by popcount(m).
// 2:4: 4 groups (16 columns, 8 values) per step. Lane l's column is
// 4*(l/2) + idx_l; vpermps on x[j..j+8) and x[j+8..j+16) with the same
// lane indices (mod 8) and a blend (lanes 4-7 come from the upper half)
// gathers x. Tails use scalar loops. Accumulation: f32 lanes (FMA).
#include <assert.h>
#include <string.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CPR_AI static inline __attribute__((always_inline))

enum vt { VT_F32, VT_BF16, VT_F16 };

// popcount of a byte, without depending on -mpopcnt.
static const uint8_t popc8[256] = {
    0,1,1,2,1,2,2,3,1,2,2,3,2,3,3,4,1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,
    1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,
    1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,
    2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,
    1,2,2,3,2,3,3,4,2,3,3,4,3,4,4,5,2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,
    2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,
    2,3,3,4,3,4,4,5,3,4,4,5,4,5,5,6,3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,
    3,4,4,5,4,5,5,6,4,5,5,6,5,6,6,7,4,5,5,6,5,6,6,7,5,6,6,7,6,7,7,8};
// expand_idx[m][l]: rank of bit l among the set bits of m (0 when clear).
static const uint8_t expand_idx[256][8] = {
    {0,0,0,0,0,0,0,0}, {0,0,0,0,0,0,0,0},
    {0,0,0,0,0,0,0,0}, {0,1,0,0,0,0,0,0},
    {0,0,0,0,0,0,0,0}, {0,0,1,0,0,0,0,0},
    {0,0,1,0,0,0,0,0}, {0,1,2,0,0,0,0,0},
    {0,0,0,0,0,0,0,0}, {0,0,0,1,0,0,0,0},
    {0,0,0,1,0,0,0,0}, {0,1,0,2,0,0,0,0},
    {0,0,0,1,0,0,0,0}, {0,0,1,2,0,0,0,0},
    {0,0,1,2,0,0,0,0}, {0,1,2,3,0,0,0,0},
    {0,0,0,0,0,0,0,0}, {0,0,0,0,1,0,0,0},
    {0,0,0,0,1,0,0,0}, {0,1,0,0,2,0,0,0},
    {0,0,0,0,1,0,0,0}, {0,0,1,0,2,0,0,0},
    {0,0,1,0,2,0,0,0}, {0,1,2,0,3,0,0,0},
    {0,0,0,0,1,0,0,0}, {0,0,0,1,2,0,0,0},
    {0,0,0,1,2,0,0,0}, {0,1,0,2,3,0,0,0},
    {0,0,0,1,2,0,0,0}, {0,0,1,2,3,0,0,0},
    {0,0,1,2,3,0,0,0}, {0,1,2,3,4,0,0,0},
    {0,0,0,0,0,0,0,0}, {0,0,0,0,0,1,0,0},
    {0,0,0,0,0,1,0,0}, {0,1,0,0,0,2,0,0},
    {0,0,0,0,0,1,0,0}, {0,0,1,0,0,2,0,0},
    {0,0,1,0,0,2,0,0}, {0,1,2,0,0,3,0,0},
    {0,0,0,0,0,1,0,0}, {0,0,0,1,0,2,0,0},
    {0,0,0,1,0,2,0,0}, {0,1,0,2,0,3,0,0},
    {0,0,0,1,0,2,0,0}, {0,0,1,2,0,3,0,0},
    {0,0,1,2,0,3,0,0}, {0,1,2,3,0,4,0,0},
    {0,0,0,0,0,1,0,0}, {0,0,0,0,1,2,0,0},
    {0,0,0,0,1,2,0,0}, {0,1,0,0,2,3,0,0},
    {0,0,0,0,1,2,0,0}, {0,0,1,0,2,3,0,0},
    {0,0,1,0,2,3,0,0}, {0,1,2,0,3,4,0,0},
    {0,0,0,0,1,2,0,0}, {0,0,0,1,2,3,0,0},
    {0,0,0,1,2,3,0,0}, {0,1,0,2,3,4,0,0},
    {0,0,0,1,2,3,0,0}, {0,0,1,2,3,4,0,0},
    {0,0,1,2,3,4,0,0}, {0,1,2,3,4,5,0,0},
    {0,0,0,0,0,0,0,0}, {0,0,0,0,0,0,1,0},
    {0,0,0,0,0,0,1,0}, {0,1,0,0,0,0,2,0},
    {0,0,0,0,0,0,1,0}, {0,0,1,0,0,0,2,0},
    {0,0,1,0,0,0,2,0}, {0,1,2,0,0,0,3,0},
    {0,0,0,0,0,0,1,0}, {0,0,0,1,0,0,2,0},
    {0,0,0,1,0,0,2,0}, {0,1,0,2,0,0,3,0},
    {0,0,0,1,0,0,2,0}, {0,0,1,2,0,0,3,0},
    {0,0,1,2,0,0,3,0}, {0,1,2,3,0,0,4,0},
    {0,0,0,0,0,0,1,0}, {0,0,0,0,1,0,2,0},
    {0,0,0,0,1,0,2,0}, {0,1,0,0,2,0,3,0},
    {0,0,0,0,1,0,2,0}, {0,0,1,0,2,0,3,0},
    {0,0,1,0,2,0,3,0}, {0,1,2,0,3,0,4,0},
    {0,0,0,0,1,0,2,0}, {0,0,0,1,2,0,3,0},
    {0,0,0,1,2,0,3,0}, {0,1,0,2,3,0,4,0},
    {0,0,0,1,2,0,3,0}, {0,0,1,2,3,0,4,0},
    {0,0,1,2,3,0,4,0}, {0,1,2,3,4,0,5,0},
    {0,0,0,0,0,0,1,0}, {0,0,0,0,0,1,2,0},
    {0,0,0,0,0,1,2,0}, {0,1,0,0,0,2,3,0},
    {0,0,0,0,0,1,2,0}, {0,0,1,0,0,2,3,0},
    {0,0,1,0,0,2,3,0}, {0,1,2,0,0,3,4,0},
    {0,0,0,0,0,1,2,0}, {0,0,0,1,0,2,3,0},
    {0,0,0,1,0,2,3,0}, {0,1,0,2,0,3,4,0},
    {0,0,0,1,0,2,3,0}, {0,0,1,2,0,3,4,0},
    {0,0,1,2,0,3,4,0}, {0,1,2,3,0,4,5,0},
    {0,0,0,0,0,1,2,0}, {0,0,0,0,1,2,3,0},
    {0,0,0,0,1,2,3,0}, {0,1,0,0,2,3,4,0},
    {0,0,0,0,1,2,3,0}, {0,0,1,0,2,3,4,0},
    {0,0,1,0,2,3,4,0}, {0,1,2,0,3,4,5,0},
    {0,0,0,0,1,2,3,0}, {0,0,0,1,2,3,4,0},
    {0,0,0,1,2,3,4,0}, {0,1,0,2,3,4,5,0},
    {0,0,0,1,2,3,4,0}, {0,0,1,2,3,4,5,0},
    {0,0,1,2,3,4,5,0}, {0,1,2,3,4,5,6,0},
    {0,0,0,0,0,0,0,0}, {0,0,0,0,0,0,0,1},
    {0,0,0,0,0,0,0,1}, {0,1,0,0,0,0,0,2},
    {0,0,0,0,0,0,0,1}, {0,0,1,0,0,0,0,2},
    {0,0,1,0,0,0,0,2}, {0,1,2,0,0,0,0,3},
    {0,0,0,0,0,0,0,1}, {0,0,0,1,0,0,0,2},
    {0,0,0,1,0,0,0,2}, {0,1,0,2,0,0,0,3},
    {0,0,0,1,0,0,0,2}, {0,0,1,2,0,0,0,3},
    {0,0,1,2,0,0,0,3}, {0,1,2,3,0,0,0,4},
    {0,0,0,0,0,0,0,1}, {0,0,0,0,1,0,0,2},
    {0,0,0,0,1,0,0,2}, {0,1,0,0,2,0,0,3},
    {0,0,0,0,1,0,0,2}, {0,0,1,0,2,0,0,3},
    {0,0,1,0,2,0,0,3}, {0,1,2,0,3,0,0,4},
    {0,0,0,0,1,0,0,2}, {0,0,0,1,2,0,0,3},
    {0,0,0,1,2,0,0,3}, {0,1,0,2,3,0,0,4},
    {0,0,0,1,2,0,0,3}, {0,0,1,2,3,0,0,4},
    {0,0,1,2,3,0,0,4}, {0,1,2,3,4,0,0,5},
    {0,0,0,0,0,0,0,1}, {0,0,0,0,0,1,0,2},
    {0,0,0,0,0,1,0,2}, {0,1,0,0,0,2,0,3},
    {0,0,0,0,0,1,0,2}, {0,0,1,0,0,2,0,3},
    {0,0,1,0,0,2,0,3}, {0,1,2,0,0,3,0,4},
    {0,0,0,0,0,1,0,2}, {0,0,0,1,0,2,0,3},
    {0,0,0,1,0,2,0,3}, {0,1,0,2,0,3,0,4},
    {0,0,0,1,0,2,0,3}, {0,0,1,2,0,3,0,4},
    {0,0,1,2,0,3,0,4}, {0,1,2,3,0,4,0,5},
    {0,0,0,0,0,1,0,2}, {0,0,0,0,1,2,0,3},
    {0,0,0,0,1,2,0,3}, {0,1,0,0,2,3,0,4},
    {0,0,0,0,1,2,0,3}, {0,0,1,0,2,3,0,4},
    {0,0,1,0,2,3,0,4}, {0,1,2,0,3,4,0,5},
    {0,0,0,0,1,2,0,3}, {0,0,0,1,2,3,0,4},
    {0,0,0,1,2,3,0,4}, {0,1,0,2,3,4,0,5},
    {0,0,0,1,2,3,0,4}, {0,0,1,2,3,4,0,5},
    {0,0,1,2,3,4,0,5}, {0,1,2,3,4,5,0,6},
    {0,0,0,0,0,0,0,1}, {0,0,0,0,0,0,1,2},
    {0,0,0,0,0,0,1,2}, {0,1,0,0,0,0,2,3},
    {0,0,0,0,0,0,1,2}, {0,0,1,0,0,0,2,3},
    {0,0,1,0,0,0,2,3}, {0,1,2,0,0,0,3,4},
    {0,0,0,0,0,0,1,2}, {0,0,0,1,0,0,2,3},
    {0,0,0,1,0,0,2,3}, {0,1,0,2,0,0,3,4},
    {0,0,0,1,0,0,2,3}, {0,0,1,2,0,0,3,4},
    {0,0,1,2,0,0,3,4}, {0,1,2,3,0,0,4,5},
    {0,0,0,0,0,0,1,2}, {0,0,0,0,1,0,2,3},
    {0,0,0,0,1,0,2,3}, {0,1,0,0,2,0,3,4},
    {0,0,0,0,1,0,2,3}, {0,0,1,0,2,0,3,4},
    {0,0,1,0,2,0,3,4}, {0,1,2,0,3,0,4,5},
    {0,0,0,0,1,0,2,3}, {0,0,0,1,2,0,3,4},
    {0,0,0,1,2,0,3,4}, {0,1,0,2,3,0,4,5},
    {0,0,0,1,2,0,3,4}, {0,0,1,2,3,0,4,5},
    {0,0,1,2,3,0,4,5}, {0,1,2,3,4,0,5,6},
    {0,0,0,0,0,0,1,2}, {0,0,0,0,0,1,2,3},
    {0,0,0,0,0,1,2,3}, {0,1,0,0,0,2,3,4},
    {0,0,0,0,0,1,2,3}, {0,0,1,0,0,2,3,4},
    {0,0,1,0,0,2,3,4}, {0,1,2,0,0,3,4,5},
    {0,0,0,0,0,1,2,3}, {0,0,0,1,0,2,3,4},
    {0,0,0,1,0,2,3,4}, {0,1,0,2,0,3,4,5},
    {0,0,0,1,0,2,3,4}, {0,0,1,2,0,3,4,5},
    {0,0,1,2,0,3,4,5}, {0,1,2,3,0,4,5,6},
    {0,0,0,0,0,1,2,3}, {0,0,0,0,1,2,3,4},
    {0,0,0,0,1,2,3,4}, {0,1,0,0,2,3,4,5},
    {0,0,0,0,1,2,3,4}, {0,0,1,0,2,3,4,5},
    {0,0,1,0,2,3,4,5}, {0,1,2,0,3,4,5,6},
    {0,0,0,0,1,2,3,4}, {0,0,0,1,2,3,4,5},
    {0,0,0,1,2,3,4,5}, {0,1,0,2,3,4,5,6},
    {0,0,0,1,2,3,4,5}, {0,0,1,2,3,4,5,6},
    {0,0,1,2,3,4,5,6}, {0,1,2,3,4,5,6,7},
};
CPR_AI size_t vsz(enum vt t) { return t == VT_F32 ? 4 : 2; }

// 8 values from p widened exactly to f32 (reads 16 or 32 bytes).
CPR_AI __m256 load8(enum vt t, const char *p) {
    if (t == VT_F32) return _mm256_loadu_ps((const float *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (t == VT_BF16)
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}

CPR_AI float scalar_val(enum vt t, const char *p) {
    if (t == VT_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, p, 2);
    if (t == VT_BF16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

CPR_AI float hsum(__m256 a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

CPR_AI void store(float beta, float *y, float acc) {
    *y = beta == 0.0f ? acc : acc + beta * *y;
}

// ---- bitmask ----

CPR_AI __m256 expand8(enum vt t, const char *v, unsigned m) {
    const __m256i bitsel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256i idx = _mm256_cvtepu8_epi32(
        _mm_loadl_epi64((const __m128i *)expand_idx[m]));
    __m256 w = _mm256_permutevar8x32_ps(load8(t, v), idx);
    __m256i on = _mm256_cmpeq_epi32(
        _mm256_and_si256(_mm256_set1_epi32((int)m), bitsel), bitsel);
    return _mm256_and_ps(w, _mm256_castsi256_ps(on));
}

CPR_AI void bitmask(enum vt t, size_t n_rows, size_t k, const uint8_t *meta,
                    size_t ldm, const void *vals, const float *x, float beta,
                    float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    const char *v = vals;
    const size_t es = vsz(t);
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 16 <= k; j += 16) {
            unsigned m0 = m[j / 8], m1 = m[j / 8 + 1];
            __m256 w0 = expand8(t, v, m0);
            v += es * popc8[m0];
            __m256 w1 = expand8(t, v, m1);
            v += es * popc8[m1];
            a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + j + 8), a1);
        }
        float acc = hsum(_mm256_add_ps(a0, a1));
        for (; j < k; j++)
            if ((m[j / 8] >> (j % 8)) & 1) {
                acc += scalar_val(t, v) * x[j];
                v += es;
            }
        store(beta, y + r, acc);
    }
}

// ---- 2:4 ----

CPR_AI void nm24(enum vt t, size_t n_rows, size_t k, const uint8_t *meta,
                 size_t ldm, const void *vals, const float *x, float beta,
                 float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    const char *v = vals;
    const size_t es = vsz(t), slots = (k + 3) / 4 * 2;
    const __m256i shifts = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i base = _mm256_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12);
    const __m256i three = _mm256_set1_epi32(3);
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        size_t j = 0, s = 0;
        for (; j + 16 <= k; j += 16, s += 8) {
            unsigned bits = m[s / 4] | (unsigned)m[s / 4 + 1] << 8;
            __m256i col = _mm256_add_epi32(
                base, _mm256_and_si256(
                          _mm256_srlv_epi32(_mm256_set1_epi32((int)bits), shifts),
                          three));
            __m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + j), col);
            __m256 hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + j + 8), col);
            __m256 xg = _mm256_blend_ps(lo, hi, 0xF0);
            if ((s / 8) & 1) a1 = _mm256_fmadd_ps(load8(t, v), xg, a1);
            else a0 = _mm256_fmadd_ps(load8(t, v), xg, a0);
            v += 8 * es;
        }
        float acc = hsum(_mm256_add_ps(a0, a1));
        for (; s < slots; s++, v += es) {
            size_t col = 4 * (s / 2) + ((m[s / 4] >> (2 * (s % 4))) & 3);
            acc += scalar_val(t, v) * x[col];
        }
        store(beta, y + r, acc);
    }
}

static void bitmask_f32(size_t n, size_t k, const uint8_t *m, size_t ldm,
                        const void *v, const float *x, float b, float *y) {
    bitmask(VT_F32, n, k, m, ldm, v, x, b, y);
}
static void bitmask_bf16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                         const void *v, const float *x, float b, float *y) {
    bitmask(VT_BF16, n, k, m, ldm, v, x, b, y);
}
static void bitmask_f16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                        const void *v, const float *x, float b, float *y) {
    bitmask(VT_F16, n, k, m, ldm, v, x, b, y);
}
static void nm24_f32(size_t n, size_t k, const uint8_t *m, size_t ldm,
                     const void *v, const float *x, float b, float *y) {
    nm24(VT_F32, n, k, m, ldm, v, x, b, y);
}
static void nm24_bf16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                      const void *v, const float *x, float b, float *y) {
    nm24(VT_BF16, n, k, m, ldm, v, x, b, y);
}
static void nm24_f16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                     const void *v, const float *x, float b, float *y) {
    nm24(VT_F16, n, k, m, ldm, v, x, b, y);
}

void cpr_fill_spmv_avx2(struct cpr_kernels *k) {
    k->spmv_bitmask_f32 = bitmask_f32;
    k->spmv_bitmask_bf16 = bitmask_bf16;
    k->spmv_bitmask_f16 = bitmask_f16;
    k->spmv_nm24_f32 = nm24_f32;
    k->spmv_nm24_bf16 = nm24_bf16;
    k->spmv_nm24_f16 = nm24_f16;
}

#endif
