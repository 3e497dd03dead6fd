// core/linalg.h: blocked, threaded dense factorizations for large SPD
// matrices (the Hessians of SparseGPT), built on the linalg kernels
// (cholesky_f32, trsm_rlt_f32, trinv_f32) for panels and diagonal blocks
// and on the GEMM slot (gemm_f32, y = alpha x W^T + beta y) for the bulk.
//
// All matrices are f32, row-major, (n, n) with row stride ld >= n.
// Threads: work is cut into tasks of fixed shape (independent of the
// thread count) and each task is one fixed sequence of kernel calls, so
// results are bit-identical for any pool size (NULL pool = 1 thread).
// k == NULL means cpr_kernels_get().
// Numerics: f32 with f32 (GEMM) accumulation; backward error ~ n*eps*||A||.
// Errors: CPR_ERR_ARG (NULL matrix, ld < n), CPR_ERR_NOMEM (scratch),
// CPR_ERR_NUMERIC (not positive definite: the message names the pivot).
#ifndef CPR_CORE_LINALG_H
#define CPR_CORE_LINALG_H

#include <stddef.h>

#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

// In-place lower Cholesky A = L L^T: reads the lower triangle of a, writes
// L there; the strict upper triangle is neither read nor written. On
// CPR_ERR_NUMERIC, a is partly overwritten. Right-looking, block 256:
// panel factor (cholesky_f32), panel solve (gemm + trsm_rlt, 32-column
// sub-blocks), trailing update (gemm, alpha = -1, beta = 1) split over
// the pool.
enum cpr_status cpr_cholesky(struct cpr_pool *pool, const struct cpr_kernels *k,
                             size_t n, float *a, size_t lda,
                             struct cpr_err *err);

// y := L^-T (upper triangular; its strict lower triangle is set to 0) for
// the lower-triangular l. l is read only (lower triangle). Blocked: the
// block (J, I), J < I, of Y = L^-T is
//   Y_JI = -(sum_{p in [J0, I0)} Y[J][p] L[I][p]^T) L_II^-T
// (one gemm and one trsm_rlt), and Y_II = (trinv(L_II))^T.
// CPR_ERR_NUMERIC when a diagonal entry of l is 0.
enum cpr_status cpr_tri_inverse_t(struct cpr_pool *pool,
                                  const struct cpr_kernels *k, size_t n,
                                  const float *l, size_t ldl, float *y,
                                  size_t ldy, struct cpr_err *err);

// A^-1 of the SPD matrix A given by its lower triangle: on return a holds
// the full symmetric inverse (both triangles, exactly symmetric).
// A = L L^T, Y = L^-T, A^-1 = L^-T L^-1 = Y Y^T. Scratch: n*n floats.
enum cpr_status cpr_spd_inverse(struct cpr_pool *pool,
                                const struct cpr_kernels *k, size_t n,
                                float *a, size_t lda, struct cpr_err *err);

// SparseGPT's Hinv = cholesky(H^-1, upper=True) without forming H^-1:
// on return a holds the upper-triangular U with U^T U = H^-1 and positive
// diagonal (strict lower triangle set to 0); on input its lower triangle
// holds the SPD H. Identity used, with J the reversal permutation
// (J = J^T = J^-1): let L_r = chol(J H J) (lower). Then
//   H = J L_r L_r^T J,  H^-1 = J L_r^-T L_r^-1 J = (J L_r^-1 J)^T (J L_r^-1 J),
// and J L_r^-1 J is upper triangular with positive diagonal, so by
// uniqueness of the Cholesky factor U = J L_r^-1 J, i.e.
//   U[i][j] = Y_r[n-1-j][n-1-i] with Y_r = L_r^-T.
// Cost n^3/3 + n^3/3 flops (one Cholesky, one triangular inverse) instead
// of four n^3/3 steps. Scratch: n*n floats. A failing pivot is reported
// with its index in H.
enum cpr_status cpr_inverse_chol_upper(struct cpr_pool *pool,
                                       const struct cpr_kernels *k, size_t n,
                                       float *a, size_t lda,
                                       struct cpr_err *err);

#endif
