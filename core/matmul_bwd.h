// core/matmul_bwd.h: the threaded products of a linear layer's backward
// pass, y = x W^T with W (n_out, n_in):
//   dX = dY W        (cpr_matmul_dx, W f32 or bf16)
//   dW = dY^T X      (cpr_matmul_dw)
// on top of the gemm_nn / gemm_tn kernel slots (simd/kernels.h).
//
// Threads: split statically over output columns (n_in for both products)
// at multiples of 64, like core/matmul.h; every kernel computes an element
// with arithmetic independent of where it sits, so results are
// bit-identical for any thread count, including a NULL pool.
// k == NULL means cpr_kernels_get().
#ifndef CPR_CORE_MATMUL_BWD_H
#define CPR_CORE_MATMUL_BWD_H

#include <stddef.h>

#include "core/pool.h"
#include "core/status.h"
#include "core/tensor.h"
#include "simd/kernels.h"

// dx = dy W + beta * dx for dy (m, n_out) stride lddy, W = w (n_out, n_in)
// a dense row-major 2-D f32 or bf16 tensor, dx (m, n_in) stride lddx.
// beta == 0: dx is write-only.
// Errors: CPR_ERR_ARG (NULL pointers, strides too small),
// CPR_ERR_UNSUPPORTED (w compressed, not row-major 2-D, or f16).
enum cpr_status cpr_matmul_dx(struct cpr_pool *pool, const struct cpr_kernels *k,
                              size_t m, const float *dy, size_t lddy,
                              const struct cpr_tensor *w, float *dx,
                              size_t lddx, float beta, struct cpr_err *err);

// dw = alpha * dy^T x + beta * dw for dy (m, n_out) stride lddy, x (m, n_in)
// stride ldx, dw (n_out, n_in) stride lddw (m tokens). beta == 0: dw is
// write-only; beta == 1 accumulates over calls.
// Errors: CPR_ERR_ARG.
enum cpr_status cpr_matmul_dw(struct cpr_pool *pool, const struct cpr_kernels *k,
                              size_t m, size_t n_out, size_t n_in,
                              float alpha, const float *dy, size_t lddy,
                              const float *x, size_t ldx, float beta,
                              float *dw, size_t lddw, struct cpr_err *err);

#endif
