// simd/blas1_avx512.c: dot / axpy / axpy_rows / scale with AVX-512F.
//
// Same structure as the AVX2 file with 16-lane registers; tails use masked
// loads and stores instead of a scalar loop.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline __mmask16 tail_mask(size_t r) {
    return (__mmask16)((1u << r) - 1u);
}

static float dot_f32_avx512(size_t n, const float *x, const float *y) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i),
                             _mm512_maskz_loadu_ps(m, y + i), a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                              _mm512_add_ps(a2, a3)));
}

static void axpy_f32_avx512(size_t n, float a, const float *x, float *y) {
    __m512 va = _mm512_set1_ps(a);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i),
                                                _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i),
                                              _mm512_maskz_loadu_ps(m, y + i)));
    }
}

enum { ROW_CHUNK = 32 }; // rows per chunk: 16 KiB of 128-float rows

// o's columns in blocks of 128 (eight accumulators), then 16 at a time (the
// last one masked). Each accumulator starts from o, takes
// fmadd(s[t], v[t][i], acc) for t = 0, 1, ... (axpy_f32_avx512's
// arithmetic: one fused a*x + y per element, full and masked lanes alike)
// and is stored at the end (of the chunk, see below). The rows are read in
// order (one sequential stream when ldv == n); software prefetch of rows
// 4 to 16 ahead gained nothing measurable (bench_decode_kern attn rows).
static void rows_block_avx512(size_t n, size_t nt, const float *s,
                              const float *v, size_t ldv, float *o) {
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m512 a0 = _mm512_loadu_ps(o + i), a1 = _mm512_loadu_ps(o + i + 16);
        __m512 a2 = _mm512_loadu_ps(o + i + 32), a3 = _mm512_loadu_ps(o + i + 48);
        __m512 a4 = _mm512_loadu_ps(o + i + 64), a5 = _mm512_loadu_ps(o + i + 80);
        __m512 a6 = _mm512_loadu_ps(o + i + 96), a7 = _mm512_loadu_ps(o + i + 112);
        const float *x = v + i;
        for (size_t t = 0; t < nt; t++, x += ldv) {
            __m512 st = _mm512_set1_ps(s[t]);
            a0 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x), a0);
            a1 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x + 16), a1);
            a2 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x + 32), a2);
            a3 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x + 48), a3);
            a4 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x + 64), a4);
            a5 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x + 80), a5);
            a6 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x + 96), a6);
            a7 = _mm512_fmadd_ps(st, _mm512_loadu_ps(x + 112), a7);
        }
        _mm512_storeu_ps(o + i, a0), _mm512_storeu_ps(o + i + 16, a1);
        _mm512_storeu_ps(o + i + 32, a2), _mm512_storeu_ps(o + i + 48, a3);
        _mm512_storeu_ps(o + i + 64, a4), _mm512_storeu_ps(o + i + 80, a5);
        _mm512_storeu_ps(o + i + 96, a6), _mm512_storeu_ps(o + i + 112, a7);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m512 a = _mm512_maskz_loadu_ps(m, o + i);
        const float *x = v + i;
        for (size_t t = 0; t < nt; t++, x += ldv)
            a = _mm512_fmadd_ps(_mm512_set1_ps(s[t]), _mm512_maskz_loadu_ps(m, x), a);
        _mm512_mask_storeu_ps(o + i, m, a);
    }
}

// Rows in chunks of ROW_CHUNK: each column block of a chunk reads rows the
// previous block just brought into L1 (o goes through memory between
// chunks, which is exact), so a width of several blocks still streams
// v once from memory.
static void axpy_rows_f32_avx512(size_t n, size_t nt, const float *s,
                                 const float *v, size_t ldv, float *o) {
    for (size_t t0 = 0; t0 < nt; t0 += ROW_CHUNK)
        rows_block_avx512(n, nt - t0 < ROW_CHUNK ? nt - t0 : ROW_CHUNK, s + t0,
                          v + t0 * ldv, ldv, o);
}

static void scale_f32_avx512(size_t n, float a, float *x) {
    __m512 va = _mm512_set1_ps(a);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_mul_ps(va, _mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m,
                              _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, x + i)));
    }
}

void cpr_fill_blas1_avx512(struct cpr_kernels *k) {
    k->dot_f32 = dot_f32_avx512;
    k->axpy_f32 = axpy_f32_avx512;
    k->scale_f32 = scale_f32_avx512;
    k->axpy_rows_f32 = axpy_rows_f32_avx512;
}
#endif
