// simd/blas1_avx2.c: dot / axpy / axpy_rows / scale with AVX2 + FMA.
//
// dot keeps four 8-lane f32 accumulators (32 products in flight) and sums
// them at the end; tails are handled with a scalar loop. axpy uses FMA, so
// each element may differ from the scalar a*x+y by one rounding.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static float dot_f32_avx2(size_t n, const float *x, const float *y) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float acc = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) acc += x[i] * y[i];
    return acc;
}

static void axpy_f32_avx2(size_t n, float a, const float *x, float *y) {
    __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i),
                                                _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

// One row at a time: axpy_f32_avx2 itself per row (a direct call in this
// file, which the compiler can inline), so the arithmetic is that of the
// axpy_f32 loop by construction, minus the indirect call per row. o (n
// floats) stays in L1. Unlike the AVX-512 and NEON versions, o is not held
// in registers across rows: at n = 128 that needs all 16 ymm registers,
// and the register-blocked variants tried (two 64-column passes per 32-row
// chunk, or 64 columns in registers plus 64 through memory) ran slower
// than this loop on the machine of bench/results/sparse_runs.md
// (bench_decode_kern attn rows).
static void axpy_rows_f32_avx2(size_t n, size_t nt, const float *s,
                               const float *v, size_t ldv, float *o) {
    for (size_t t = 0; t < nt; t++) axpy_f32_avx2(n, s[t], v + t * ldv, o);
}

static void scale_f32_avx2(size_t n, float a, float *x) {
    __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(va, _mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] *= a;
}

void cpr_fill_blas1_avx2(struct cpr_kernels *k) {
    k->dot_f32 = dot_f32_avx2;
    k->axpy_f32 = axpy_f32_avx2;
    k->scale_f32 = scale_f32_avx2;
    k->axpy_rows_f32 = axpy_rows_f32_avx2;
}
#endif
