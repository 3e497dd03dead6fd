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
//
// As with GEMM (HOUSE_STYLE B.3b), the tiling is written once, portably
// (simd/gemv_small.c: cpr_gemv_small_drive); the ISA files hold only the
// leaf, a cpr_gemv_dots_fn, and their entry point that passes it.
#ifndef CPR_SIMD_GEMV_SMALL_H
#define CPR_SIMD_GEMV_SMALL_H

#include <stddef.h>

#include "simd/gemm_driver.h"

enum { CPR_GEMV_SMALL_M = 4 };

// The tile of one leaf call: up to CPR_GEMV_XROWS x rows by up to
// CPR_GEMV_WROWS W rows.
enum { CPR_GEMV_XROWS = 2, CPR_GEMV_WROWS = 4 };

// Leaf: the raw dot products dots[i][q] = sum_p x_i[p] * W_q[p] of mr
// (1 or 2) x rows (row i at x + i * ldx) with nw (1..4) W rows (row q at
// byte w + q * wrow, element type wt) over k > 0 values: each its ISA's
// FMA chain(s) over k in steps of 8 (the tail zero-padded, no load past a
// row) and its fixed reduction, the same whatever mr and nw are. Entries
// outside mr x nw are not written.
typedef void cpr_gemv_dots_fn(enum cpr_gemm_wtype wt, int mr, size_t nw,
                              size_t k, const float *x, size_t ldx,
                              const char *w, size_t wrow,
                              float dots[CPR_GEMV_XROWS][CPR_GEMV_WROWS]);

// The portable driver: the contract above, tiling y into leaf calls (W
// rows outer, x rows inner) and storing alpha * dot (+ beta * y).
void cpr_gemv_small_drive(cpr_gemv_dots_fn *dots, enum cpr_gemm_wtype wt,
                          size_t m, size_t n, size_t k, float alpha,
                          const float *x, size_t ldx, const void *w,
                          size_t ldw, float beta, float *y, size_t ldy);

void cpr_gemv_small_avx2(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                         float alpha, const float *x, size_t ldx, const void *w,
                         size_t ldw, float beta, float *y, size_t ldy);
void cpr_gemv_small_neon(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                         float alpha, const float *x, size_t ldx, const void *w,
                         size_t ldw, float beta, float *y, size_t ldy);

#endif
