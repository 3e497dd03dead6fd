// simd/gemv_small.h: the no-packing path for a few x rows (decode) that
// the AVX2 and NEON gemm slots take for m <= CPR_GEMV_SMALL_M, as the
// AVX-512 and AVX512-BF16 files do with their own code.
//
// y = alpha * x W^T + beta * y for m <= CPR_GEMV_SMALL_M x rows and k > 0,
// W (n, k) row-major stride ldw stored as f32, bf16 or f16 (wt), widened
// exactly. For m tokens every W element is used m times, so packing W into
// panels (the driver) costs more than the product: W rows are streamed once
// through 8-wide f32 partial sums instead (4 W rows x up to 2 x rows per
// pass; a pass over 2 more x rows re-reads the 4 W rows from cache).
// Each y element is its own FMA chain(s) over k in chunks of 8 (zero-padded
// tail), then a fixed reduction: its arithmetic depends only on k, its x
// row, its W row and the path (chosen by m alone), so any split of n gives
// bit-identical results. beta == 0: y is write-only.
#ifndef CPR_SIMD_GEMV_SMALL_H
#define CPR_SIMD_GEMV_SMALL_H

#include <stddef.h>

#include "simd/gemm_driver.h"

enum { CPR_GEMV_SMALL_M = 4 };

void cpr_gemv_small_avx2(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                         float alpha, const float *x, size_t ldx, const void *w,
                         size_t ldw, float beta, float *y, size_t ldy);
void cpr_gemv_small_neon(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                         float alpha, const float *x, size_t ldx, const void *w,
                         size_t ldw, float beta, float *y, size_t ldy);

#endif
