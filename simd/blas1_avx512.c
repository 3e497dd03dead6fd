// simd/blas1_avx512.c: dot / axpy / scale with AVX-512F.
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
}
#endif
