// methods/ria.h: RIA, Relative Importance and Activations (Zhang et al.,
// ICLR'24), as biomedical-cybernetics/Relative-importance-and-activation-
// pruning lib/prune.py prune_ria runs it. The formulas, the reference's
// quirks and the choices made here are in the header of methods/ria.c.
#ifndef CPR_METHODS_RIA_H
#define CPR_METHODS_RIA_H

#include <stddef.h>
#include <stdint.h>

#include "methods/method.h"

extern const struct cpr_method cpr_method_ria;

// Column importance used to order channels before the reallocation
// (--importance_score): the column sum of the scores ("sum", the default),
// or the (kept-score sum, pruned count) of an unstructured mask at
// sparsity n/m, per matrix or per row ("retained_degree_unstructured",
// "retained_degree_per_outneuron").
enum cpr_ria_importance {
    CPR_RIA_IMP_SUM = 0,
    CPR_RIA_IMP_RETAINED_MATRIX,
    CPR_RIA_IMP_RETAINED_ROW,
};

// The RIA score of every weight of m into score (m->rows, m->cols),
// contiguous:
//   score[i][j] = (|W_ij| / c_j + |W_ij| / r_i) * act_j
//   c_j = sum_i |W_ij|, r_i = sum_j |W_ij|  (double sums rounded to f32)
//   act_j = sqrt(scaler_row[j]) ** a        (f32; the torch fast paths
//           for a = 0.5, 1, 2, ... are reproduced, see ria.c)
// A zero row or column gives 0/0 = NaN scores, which are never pruned by
// a threshold (NaN <= t is false) and rank last in every selection.
// pool may be NULL. Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_ria_score(const struct cpr_matrix *m,
                              const float *scaler_row, double a, float *score,
                              struct cpr_pool *pool, struct cpr_err *err);

// Heuristic channel reallocation for an N:M pattern (--reallocation),
// optionally refined by linear sum assignment (--lsa): fills index
// (cols) with a permutation of [0, cols) such that the N:M groups are
// taken over the permuted columns: group g is {index[g*m], ...,
// index[g*m + m - 1]}. score is (rows, cols) contiguous (cpr_ria_score).
// lsa_blocks (the reference's --fast blocks, 1 otherwise) splits the
// permuted columns into that many equal parts, each refined on its own;
// cols must be a multiple of m * lsa_blocks when lsa is set.
// Deterministic for any pool size. Errors: CPR_ERR_ARG (pattern, block
// split, m > 256), CPR_ERR_NUMERIC (non-finite scores under lsa),
// CPR_ERR_NOMEM.
enum cpr_status cpr_ria_channel_order(const float *score, size_t rows,
                                      size_t cols, unsigned n, unsigned m,
                                      enum cpr_ria_importance imp, int lsa,
                                      size_t lsa_blocks, uint32_t *index,
                                      struct cpr_pool *pool,
                                      const struct cpr_kernels *k,
                                      struct cpr_err *err);

#endif
