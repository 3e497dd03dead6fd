// simd/stats_avx512.c: per-column statistics (colstats_f32) with AVX-512F.
//
// One double lane per column, rows added in increasing order, so results
// are bit-identical to stats_scalar.c (the f32 square is exact in double,
// so FMA rounds once like the reference's add). The matrix is walked in
// tiles of ROW_BLOCK rows x 16 columns: the 16 columns' accumulators (two
// 8-lane vectors each for sumsq and sum) are loaded once per tile, the
// tile's rows are added in order, and stored back, so the accumulator
// arrays cost 1/ROW_BLOCK of a load+store per element while x is read as
// ROW_BLOCK parallel row streams. Those streams are prefetched PREFETCH
// floats ahead: on Zen 5 with 4096 x 11008 this took one thread from
// ~17 GB/s (4-row tiles, no prefetch) to ~28 GB/s. The last partial group
// of columns uses masked loads and stores.
#include <assert.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { ROW_BLOCK = 16, PREFETCH = 128 };

// Rows [0, nr) of the 16 columns at x (stride ldx).
static inline void cols16(size_t nr, const float *x, size_t ldx, double *sumsq, double *sum) {
    __m512d q0 = _mm512_loadu_pd(sumsq), q1 = _mm512_loadu_pd(sumsq + 8);
    if (sum) {
        __m512d s0 = _mm512_loadu_pd(sum), s1 = _mm512_loadu_pd(sum + 8);
        for (size_t r = 0; r < nr; r++) {
            const float *p = x + r * ldx;
            _mm_prefetch((const char *)(p + PREFETCH), _MM_HINT_T0);
            __m512d lo = _mm512_cvtps_pd(_mm256_loadu_ps(p));
            __m512d hi = _mm512_cvtps_pd(_mm256_loadu_ps(p + 8));
            q0 = _mm512_fmadd_pd(lo, lo, q0);
            q1 = _mm512_fmadd_pd(hi, hi, q1);
            s0 = _mm512_add_pd(s0, lo);
            s1 = _mm512_add_pd(s1, hi);
        }
        _mm512_storeu_pd(sum, s0);
        _mm512_storeu_pd(sum + 8, s1);
    } else {
        for (size_t r = 0; r < nr; r++) {
            const float *p = x + r * ldx;
            _mm_prefetch((const char *)(p + PREFETCH), _MM_HINT_T0);
            __m512d lo = _mm512_cvtps_pd(_mm256_loadu_ps(p));
            __m512d hi = _mm512_cvtps_pd(_mm256_loadu_ps(p + 8));
            q0 = _mm512_fmadd_pd(lo, lo, q0);
            q1 = _mm512_fmadd_pd(hi, hi, q1);
        }
    }
    _mm512_storeu_pd(sumsq, q0);
    _mm512_storeu_pd(sumsq + 8, q1);
}

// The same for the last 1..15 columns, selected by m (masked memory ops
// are slow on some cores, so only the tail uses them).
static inline void cols_tail(size_t nr, const float *x, size_t ldx, double *sumsq, double *sum,
                             __mmask16 m) {
    const __mmask8 m0 = (__mmask8)(m & 0xff), m1 = (__mmask8)(m >> 8);
    __m512d q0 = _mm512_maskz_loadu_pd(m0, sumsq), q1 = _mm512_maskz_loadu_pd(m1, sumsq + 8);
    __m512d s0 = _mm512_setzero_pd(), s1 = s0;
    if (sum) s0 = _mm512_maskz_loadu_pd(m0, sum), s1 = _mm512_maskz_loadu_pd(m1, sum + 8);
    for (size_t r = 0; r < nr; r++) {
        __m512d lo = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m0, x + r * ldx));
        __m512d hi = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m1, x + r * ldx + 8));
        q0 = _mm512_fmadd_pd(lo, lo, q0);
        q1 = _mm512_fmadd_pd(hi, hi, q1);
        s0 = _mm512_add_pd(s0, lo);
        s1 = _mm512_add_pd(s1, hi);
    }
    _mm512_mask_storeu_pd(sumsq, m0, q0);
    _mm512_mask_storeu_pd(sumsq + 8, m1, q1);
    if (sum) {
        _mm512_mask_storeu_pd(sum, m0, s0);
        _mm512_mask_storeu_pd(sum + 8, m1, s1);
    }
}

static void colstats_f32_avx512(size_t rows, size_t cols, const float *x, size_t ldx,
                                double *sumsq, double *sum) {
    assert(rows == 0 || cols == 0 || (x && sumsq && ldx >= cols));
    for (size_t t = 0; t < rows; t += ROW_BLOCK) {
        size_t nr = rows - t < ROW_BLOCK ? rows - t : ROW_BLOCK;
        const float *xt = x + t * ldx;
        size_t j = 0;
        for (; j + 16 <= cols; j += 16) cols16(nr, xt + j, ldx, sumsq + j, sum ? sum + j : NULL);
        if (j < cols)
            cols_tail(nr, xt + j, ldx, sumsq + j, sum ? sum + j : NULL,
                      (__mmask16)((1u << (cols - j)) - 1u));
    }
}

void cpr_fill_stats_avx512(struct cpr_kernels *k) { k->colstats_f32 = colstats_f32_avx512; }
#endif
