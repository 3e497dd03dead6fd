// simd/stats_avx2.c: per-column statistics (colstats_f32) with AVX2 + FMA.
//
// Each lane owns one column, so the per-column order of additions is the
// row order, exactly as in stats_scalar.c, and results are bit-identical
// (the f32 square is exact in double, so FMA rounds once like the
// reference's add). The matrix is walked in tiles of ROW_BLOCK rows x 8
// columns: the accumulators for 8 columns are loaded once per tile, the
// tile's rows are added in order, and stored back, so the accumulator
// arrays (which stay in cache) cost 1/ROW_BLOCK of a load+store per element
// while x is read as ROW_BLOCK parallel row streams, prefetched PREFETCH
// floats ahead (see stats_avx512.c for the measurements behind these
// choices). The columns past the last multiple of 8 use the scalar
// formula, in the same row order.
#include <assert.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { ROW_BLOCK = 16, PREFETCH = 128 };

// Rows [0, nr) of the 8 columns at x (stride ldx) into sumsq[0..8) and,
// when sum != NULL, sum[0..8).
static inline void cols8(size_t nr, const float *x, size_t ldx, double *sumsq, double *sum) {
    __m256d q0 = _mm256_loadu_pd(sumsq), q1 = _mm256_loadu_pd(sumsq + 4);
    if (sum) {
        __m256d s0 = _mm256_loadu_pd(sum), s1 = _mm256_loadu_pd(sum + 4);
        for (size_t r = 0; r < nr; r++) {
            _mm_prefetch((const char *)(x + r * ldx + PREFETCH), _MM_HINT_T0);
            __m256 v = _mm256_loadu_ps(x + r * ldx);
            __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
            __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
            q0 = _mm256_fmadd_pd(lo, lo, q0);
            q1 = _mm256_fmadd_pd(hi, hi, q1);
            s0 = _mm256_add_pd(s0, lo);
            s1 = _mm256_add_pd(s1, hi);
        }
        _mm256_storeu_pd(sum, s0);
        _mm256_storeu_pd(sum + 4, s1);
    } else {
        for (size_t r = 0; r < nr; r++) {
            _mm_prefetch((const char *)(x + r * ldx + PREFETCH), _MM_HINT_T0);
            __m256 v = _mm256_loadu_ps(x + r * ldx);
            __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
            __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
            q0 = _mm256_fmadd_pd(lo, lo, q0);
            q1 = _mm256_fmadd_pd(hi, hi, q1);
        }
    }
    _mm256_storeu_pd(sumsq, q0);
    _mm256_storeu_pd(sumsq + 4, q1);
}

static void colstats_f32_avx2(size_t rows, size_t cols, const float *x, size_t ldx,
                              double *sumsq, double *sum) {
    assert(rows == 0 || cols == 0 || (x && sumsq && ldx >= cols));
    for (size_t t = 0; t < rows; t += ROW_BLOCK) {
        size_t nr = rows - t < ROW_BLOCK ? rows - t : ROW_BLOCK;
        const float *xt = x + t * ldx;
        size_t j = 0;
        for (; j + 8 <= cols; j += 8)
            cols8(nr, xt + j, ldx, sumsq + j, sum ? sum + j : NULL);
        for (; j < cols; j++)
            for (size_t r = 0; r < nr; r++) {
                double v = (double)xt[r * ldx + j];
                sumsq[j] += v * v;
                if (sum) sum[j] += v;
            }
    }
}

void cpr_fill_stats_avx2(struct cpr_kernels *k) { k->colstats_f32 = colstats_f32_avx2; }
#endif
