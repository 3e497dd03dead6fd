// methods/mixed.h: sensitivity-aware mixed sparsity (Shao et al., "One-Shot
// Sensitivity-Aware Mixed Sparsity Pruning for Large Language Models",
// ICASSP 2024, arXiv 2310.09499; code talkking/MixGPT). A layer-allocation
// method (methods/method.h version 2): a dense scan gives each decoder
// linear a sensitivity, allocate() spreads densities linearly in rank, and
// SparseGPT prunes each linear with the paper's saliency.
#ifndef CPR_METHODS_MIXED_H
#define CPR_METHODS_MIXED_H

#include <stdint.h>

#include "methods/method.h"

extern const struct cpr_method cpr_method_mixed;

// The allocation, exposed for tests. sens (n) sensitivities, numel (n)
// parameter counts. Rank r_i = position of sens_i in ascending order (ties:
// lower index first). Paper Alg. 1 / llama.py get_weight_sparsity:
//   d_i = L + r_i (R - L) / (n - 1),  L = 1 - p - alpha,  R = 2(1-p) - L
// (more sensitive -> denser; unweighted mean density 1 - p). cprune then
// shifts every d_i by one constant so the parameter-weighted density is
// exactly 1 - p (the requirement; the code ignores matrix sizes and
// hard-codes L = 0.4), clamping to [0, 1] and re-spreading the remainder
// over the unclamped matrices. Writes sparsity_i = 1 - d_i. n == 1: p.
// Returns the parameter-weighted sparsity achieved by the allocation.
double cpr_mixed_allocate(const double *sens, const int64_t *numel, int64_t n,
                          double p, double alpha, double *sparsity);

#endif
