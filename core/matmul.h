// core/matmul.h: the threaded matrix products used by the forward pass and
// the pruning methods, on top of the gemm kernel slots.
//
// Threads: work is split statically over output columns (rows of W for
// cpr_matmul, rows of H for cpr_syrk) with boundaries at multiples of 64
// (a multiple of every micro-kernel width). Every gemm/syrk kernel
// computes each output element with the same arithmetic wherever it sits
// in a tile (see simd/gemm_*.c), so results are bit-identical for any
// number of threads, including a NULL pool. With the m (tokens) of the
// forward pass in the hundreds or more, splitting n is the right choice:
// each thread packs only its own slice of W, and W (the larger operand)
// is read once in total.
//
// k == NULL means cpr_kernels_get().
#ifndef CPR_CORE_MATMUL_H
#define CPR_CORE_MATMUL_H

#include <stddef.h>

#include "core/pool.h"
#include "core/status.h"
#include "core/tensor.h"
#include "simd/kernels.h"

// y = x W^T + beta * y for x (m, k) row stride ldx, W = w (n, k) a 2-D
// row-major tensor (stride[1] == 1, stride[0] >= k) of dtype f32, bf16 or
// f16, y (m, n) row stride ldy. beta == 0: y is write-only. Numerics are
// those of the gemm slot for w's dtype (kernels.h).
// Errors: CPR_ERR_ARG (NULL pointers, ldx < k, ldy < n),
// CPR_ERR_UNSUPPORTED (w not a row-major 2-D f32/bf16/f16 tensor).
enum cpr_status cpr_matmul(struct cpr_pool *pool, const struct cpr_kernels *k,
                           size_t m, const float *x, size_t ldx,
                           const struct cpr_tensor *w, float *y, size_t ldy,
                           float beta, struct cpr_err *err);

// Raw-pointer f32 form with alpha: y = alpha x W^T + beta y, W (n, k)
// stride ldw. Same threading and numerics. Never fails (asserts only).
void cpr_gemm_f32_mt(struct cpr_pool *pool, const struct cpr_kernels *k,
                     size_t m, size_t n, size_t kd, float alpha,
                     const float *x, size_t ldx, const float *w, size_t ldw,
                     float beta, float *y, size_t ldy);

// H += X^T X for X (n_tok, n) row stride ldx (n_tok tokens of n features)
// and H (n, n) row stride ldh; all n x n entries are updated. H[i][j] and
// H[j][i] get the same arithmetic with the factors of each product swapped
// (exact), so a symmetric H stays exactly symmetric. f32 accumulation.
// Errors: CPR_ERR_ARG.
enum cpr_status cpr_syrk(struct cpr_pool *pool, const struct cpr_kernels *k,
                         size_t n, size_t n_tok, const float *x, size_t ldx,
                         float *h, size_t ldh, struct cpr_err *err);

#endif
