// simd/stats_scalar.c: reference per-column activation statistics (the
// spec).
//
// colstats_f32: for x (rows, cols) with row stride ldx,
//   sumsq[j] += x[t][j]^2   and, when sum != NULL,   sum[j] += x[t][j]
// for t = 0, 1, ..., rows-1 in that order, each step one double addition
// into the running sumsq[j] / sum[j]. The square of an f32 is exact in
// double (48 significant bits), so a fused multiply-add gives the same
// bits as multiply-then-add and every ISA that keeps this row order per
// column is bit-identical to this file. Rows are walked outermost so x is
// read contiguously. This is what Wanda's ||X_j||_2 needs (sumsq) and what
// mean-centred statistics need (sum).
#include <assert.h>

#include "simd/kernels.h"

static void colstats_f32_scalar(size_t rows, size_t cols, const float *x,
                                size_t ldx, double *sumsq, double *sum) {
    assert(rows == 0 || cols == 0 || (x && sumsq && ldx >= cols));
    for (size_t t = 0; t < rows; t++) {
        const float *xr = x + t * ldx;
        if (sum) {
            for (size_t j = 0; j < cols; j++) {
                double v = (double)xr[j];
                sumsq[j] += v * v;
                sum[j] += v;
            }
        } else {
            for (size_t j = 0; j < cols; j++) {
                double v = (double)xr[j];
                sumsq[j] += v * v;
            }
        }
    }
}

void cpr_fill_stats_scalar(struct cpr_kernels *k) {
    k->colstats_f32 = colstats_f32_scalar;
}
