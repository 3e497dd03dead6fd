// methods/magnitude.h: magnitude pruning (wanda lib/prune.py
// prune_magnitude), per matrix, per row, N:M, and global with a
// per-matrix density floor.
#ifndef CPR_METHODS_MAGNITUDE_H
#define CPR_METHODS_MAGNITUDE_H

#include "methods/method.h"

extern const struct cpr_method cpr_method_magnitude;

// The option group of a magnitude state.
enum cpr_magnitude_group {
    CPR_MAG_GROUP_MATRIX = 0,
    CPR_MAG_GROUP_ROW,
    CPR_MAG_GROUP_GLOBAL,
};
enum cpr_magnitude_group cpr_magnitude_group(const void *state);
double cpr_magnitude_min_density(const void *state);

// ---- global magnitude ----
// One threshold tau over all n_mats matrices (the decoder linears; the
// caller leaves embeddings and head out), after "Is Complexity Required
// for Neural Network Pruning?": tau is the smallest value such that
//   sum_i min(#{|w| <= tau in matrix i}, cap_i) >= K = int(total * s),
// with cap_i = numel_i - ceil(min_density * numel_i) the most matrix i may
// lose (the floor against layer collapse). Found by bisection over the
// ordered bit patterns of non-negative floats (exact, 31 counting passes
// over the weights, rows split over the pool; integer counts, so the
// result is thread-count independent). Writes thresh[i] = tau and
// cap[i] for each matrix; cpr_magnitude_global_apply then prunes.
// As with the per-matrix rule (<=), ties at tau may prune slightly more
// than K. s == 0 gives tau = -1 (nothing pruned).
// Errors: CPR_ERR_ARG (s or min_density outside [0, 1], or the floor
// leaves fewer than K prunable weights: the message gives both counts),
// CPR_ERR_NUMERIC (NaN weights keep K out of reach).
enum cpr_status cpr_magnitude_global_plan(struct cpr_pool *pool,
                                          size_t n_mats,
                                          const struct cpr_matrix *mats,
                                          double sparsity, double min_density,
                                          float *thresh, size_t *cap,
                                          struct cpr_err *err);

// Prune one matrix of a global plan: if at most cap weights have
// |w| <= thresh, prune exactly those; else (the floor binds) prune exactly
// the cap smallest |w| (ties: lower flat index). mask as in prune_matrix.
// Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_magnitude_global_apply(const struct cpr_matrix *m,
                                           float thresh, size_t cap,
                                           uint8_t *mask,
                                           struct cpr_pool *pool,
                                           const struct cpr_kernels *k,
                                           struct cpr_err *err);

#endif
