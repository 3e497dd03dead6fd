// simd/spmv_avx512bf16.c: bitmask x vector for 16-bit values with
// AVX512_VBMI2 (vpexpandw), installed at the avx512bf16 level when the CPU
// has VBMI2 (simd/dispatch.c); the other spmv slots stay those of
// simd/spmv_avx512.c.
//
// 32 columns per step: one vpexpandw places the next popcount(mask) stored
// 16-bit values at the set bits of the 32-bit mask word (zeroing the other
// lanes), straight from one unaligned 64-byte load (the values array is
// padded, core/weight.h). That replaces simd/spmv_avx512.c's widening,
// shifting and vexpandps of 16 columns at a time, which made the kernel
// compute-bound (vexpandps is slow on the Zen cores measured).
//   bf16: the even lanes become f32 by a 16-bit left shift of each dword,
//         the odd lanes by masking the low half off, so x is needed in
//         even/odd order: each thread permutes up to KP columns of x into a
//         stack panel once per 64 rows (rows longer than KP are done panel
//         by panel, row starts found by popcount).
//   f16:  vcvtph2ps of each 256-bit half, x in natural order.
// Four f32 accumulators (one FMA each per 64 columns), software prefetch of
// the value and mask streams (the hardware prefetcher alone left the
// kernel waiting on memory: measured 2.5x faster with it, one thread,
// 11008 x 4096 at 50%). Values are widened exactly and multiplied in f32 as
// in every spmv kernel; the sum order depends only on k.
#include <assert.h>
#include <string.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CPR_AI static inline __attribute__((always_inline))

// x columns per stack panel (64 KiB of floats; rows up to 16384 columns
// in one panel: the panel-by-panel path is slower), a multiple of 64.
enum { KP = 16384, RB = 64 };
// Prefetch distances (bytes) of the value and mask streams.
enum { PF_VALS = 2048, PF_META = 512 };

// The 32-bit mask word of columns [j, j + 32) of a row with k columns
// (bytes past the row's meta are not read; bits past k are 0).
CPR_AI uint32_t mask32(const uint8_t *m, size_t j, size_t k) {
    uint32_t w = 0;
    size_t nb = (k - j + 7) / 8;
    memcpy(&w, m + j / 8, nb < 4 ? nb : 4);
    return w;
}

// x[p0, p0 + kp) into xp in the even/odd order of each 32-column block
// (xp[32b + l] = x[32b + 2l], xp[32b + 16 + l] = x[32b + 2l + 1]), zeros
// past kp up to the next multiple of 32.
static void permute_x(const float *x, size_t kp, float *xp) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19,
                                         21, 23, 25, 27, 29, 31);
    for (size_t j = 0; j < kp; j += 32) {
        size_t rem = kp - j;
        __mmask16 m0 = (__mmask16)(rem >= 16 ? 0xFFFFu : (1u << rem) - 1u);
        __mmask16 m1 = (__mmask16)(rem >= 32 ? 0xFFFFu : rem > 16 ? (1u << (rem - 16)) - 1u : 0u);
        __m512 lo = _mm512_maskz_loadu_ps(m0, x + j);
        __m512 hi = _mm512_maskz_loadu_ps(m1, x + j + 16);
        _mm512_storeu_ps(xp + j, _mm512_permutex2var_ps(lo, ie, hi));
        _mm512_storeu_ps(xp + j + 16, _mm512_permutex2var_ps(lo, io, hi));
    }
}

// One bf16 32-column step: w holds the expanded values, xp the even/odd x.
CPR_AI void bf16_step(__m512i w, const float *xp, __m512 *ae, __m512 *ao) {
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    *ae = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w, 16)),
                          _mm512_loadu_ps(xp), *ae);
    *ao = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(w, hi)),
                          _mm512_loadu_ps(xp + 16), *ao);
}

// Columns [p0, p0 + kp) of one bf16 row (m: the row's meta, k: its
// columns) against the permuted panel xp; returns the partial sum and
// advances *vp past the values used.
CPR_AI float bf16_panel(const uint8_t *m, size_t k, size_t p0, size_t kp,
                        const float *xp, const uint16_t **vp) {
    const uint16_t *v = *vp;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 64 <= kp; j += 64) {
        uint64_t mw;
        memcpy(&mw, m + (p0 + j) / 8, 8);
        _mm_prefetch((const char *)v + PF_VALS, _MM_HINT_T0);
        _mm_prefetch((const char *)(m + (p0 + j) / 8) + PF_META, _MM_HINT_T0);
        size_t c0 = (size_t)__builtin_popcount((uint32_t)mw);
        size_t c1 = (size_t)__builtin_popcountll(mw);
        __m512i w0 = _mm512_maskz_expand_epi16((__mmask32)mw, _mm512_loadu_si512(v));
        __m512i w1 = _mm512_maskz_expand_epi16((__mmask32)(mw >> 32),
                                               _mm512_loadu_si512(v + c0));
        bf16_step(w0, xp + j, &a0, &a1);
        bf16_step(w1, xp + j + 32, &a2, &a3);
        v += c1;
    }
    for (; j < kp; j += 32) {
        uint32_t mw = mask32(m, p0 + j, k);
        __m512i w = _mm512_maskz_expand_epi16((__mmask32)mw, _mm512_loadu_si512(v));
        bf16_step(w, xp + j, &a0, &a1);
        v += __builtin_popcount(mw);
    }
    *vp = v;
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                              _mm512_add_ps(a2, a3)));
}

CPR_AI void store(float beta, float *y, float acc) {
    *y = beta == 0.0f ? acc : acc + beta * *y;
}

// Stored values of one row (popcount of its mask).
static size_t row_count(const uint8_t *m, size_t ldm) {
    size_t c = 0, i = 0;
    for (; i + 8 <= ldm; i += 8) {
        uint64_t w;
        memcpy(&w, m + i, 8);
        c += (size_t)__builtin_popcountll(w);
    }
    for (; i < ldm; i++) c += (size_t)__builtin_popcount(m[i]);
    return c;
}

static void bitmask_bf16(size_t n_rows, size_t k, const uint8_t *meta,
                         size_t ldm, const void *vals, const float *x,
                         float beta, float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    float xp[KP];
    const uint16_t *v = vals;
    if (k <= KP) {
        permute_x(x, k, xp);
        for (size_t r = 0; r < n_rows; r++)
            store(beta, y + r, bf16_panel(meta + r * ldm, k, 0, k, xp, &v));
        return;
    }
    // Long rows: 64 rows at a time, panel by panel.
    const uint16_t *ptr[RB];
    float part[RB];
    for (size_t rb = 0; rb < n_rows; rb += RB) {
        size_t nb = n_rows - rb < RB ? n_rows - rb : RB;
        const uint8_t *mb = meta + rb * ldm;
        for (size_t i = 0; i < nb; i++) {
            ptr[i] = v;
            part[i] = 0.0f;
            v += row_count(mb + i * ldm, ldm);
        }
        for (size_t p0 = 0; p0 < k; p0 += KP) {
            size_t kp = k - p0 < KP ? k - p0 : KP;
            permute_x(x + p0, kp, xp);
            for (size_t i = 0; i < nb; i++)
                part[i] += bf16_panel(mb + i * ldm, k, p0, kp, xp, &ptr[i]);
        }
        for (size_t i = 0; i < nb; i++) store(beta, y + rb + i, part[i]);
    }
}

// f16: natural order, x read directly (masked at the tail).
CPR_AI void f16_step(__m512i w, const float *x, size_t rem, __m512 *a0,
                     __m512 *a1) {
    __mmask16 m0 = (__mmask16)(rem >= 16 ? 0xFFFFu : (1u << rem) - 1u);
    __mmask16 m1 = (__mmask16)(rem >= 32 ? 0xFFFFu : rem > 16 ? (1u << (rem - 16)) - 1u : 0u);
    *a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(w)),
                          _mm512_maskz_loadu_ps(m0, x), *a0);
    *a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(w, 1)),
                          _mm512_maskz_loadu_ps(m1, x + 16), *a1);
}

static void bitmask_f16(size_t n_rows, size_t k, const uint8_t *meta,
                        size_t ldm, const void *vals, const float *x,
                        float beta, float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    const uint16_t *v = vals;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 64 <= k; j += 64) {
            uint64_t mw;
            memcpy(&mw, m + j / 8, 8);
            _mm_prefetch((const char *)v + PF_VALS, _MM_HINT_T0);
            _mm_prefetch((const char *)(m + j / 8) + PF_META, _MM_HINT_T0);
            size_t c0 = (size_t)__builtin_popcount((uint32_t)mw);
            __m512i w0 = _mm512_maskz_expand_epi16((__mmask32)mw, _mm512_loadu_si512(v));
            __m512i w1 = _mm512_maskz_expand_epi16((__mmask32)(mw >> 32),
                                                   _mm512_loadu_si512(v + c0));
            f16_step(w0, x + j, 32, &a0, &a1);
            f16_step(w1, x + j + 32, 32, &a2, &a3);
            v += __builtin_popcountll(mw);
        }
        for (; j < k; j += 32) {
            uint32_t mw = mask32(m, j, k);
            __m512i w = _mm512_maskz_expand_epi16((__mmask32)mw, _mm512_loadu_si512(v));
            f16_step(w, x + j, k - j, &a0, &a1);
            v += __builtin_popcount(mw);
        }
        store(beta, y + r, _mm512_reduce_add_ps(_mm512_add_ps(
                               _mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))));
    }
}

void cpr_fill_spmv_avx512bf16(struct cpr_kernels *k) {
    k->spmv_bitmask_bf16 = bitmask_bf16;
    k->spmv_bitmask_f16 = bitmask_f16;
}

#endif
