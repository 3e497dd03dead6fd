// core/weight_matmul.h: y = x W^T + beta y for a compressed W (core/weight.h),
// called by cpr_matmul (core/matmul.h) when w->sparse is set.
//
// Decode (m <= CPR_SPARSE_GEMV_M rows of x): the spmv kernels stream the
// compressed rows, one call per thread for one x row, else once per
// 64-row block, applying every x row to a block while it is in cache. Prefill (larger m): the spgemm kernels, whose
// GEMM B packing decompresses each block of W in cache (no dense copy of
// W anywhere), so results are bit-identical to the dense product of the
// decompressed weights; the weights are read compressed (less memory
// traffic), the FLOPs are the dense ones.
// Threads split the rows of W statically at multiples of 64, and every
// kernel computes a row's result independently of the split, so results
// are bit-identical for any thread count.
#ifndef CPR_CORE_WEIGHT_MATMUL_H
#define CPR_CORE_WEIGHT_MATMUL_H

#include <stddef.h>

#include "core/pool.h"
#include "core/status.h"
#include "core/tensor.h"
#include "simd/kernels.h"

#define CPR_SPARSE_GEMV_M 4

// w->sparse must be set; k as cpr_matmul (NULL = cpr_kernels_get()).
// Errors: CPR_ERR_ARG (ldx < k, ldy < n, NULL x/y), CPR_ERR_UNSUPPORTED
// (layout or dtype without a kernel).
enum cpr_status cpr_sparse_matmul(struct cpr_pool *pool,
                                  const struct cpr_kernels *k, size_t m,
                                  const float *x, size_t ldx,
                                  const struct cpr_tensor *w, float *y,
                                  size_t ldy, float beta, struct cpr_err *err);

#endif
