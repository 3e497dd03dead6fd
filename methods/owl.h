// methods/owl.h: OWL, outlier-weighed layerwise sparsity (Yin et al. 2024,
// luuyin/OWL lib/prune_all.py prune_wanda_outlier, prune_sparsegpt_outlier,
// prune_magnitude_outlier, prune_wanda_outlier_structure). A layer-
// allocation method (methods/method.h version 2): a dense scan measures
// each block's outlier ratio, allocate() turns it into one sparsity per
// block, and a base method (wanda, sparsegpt or magnitude) prunes.
#ifndef CPR_METHODS_OWL_H
#define CPR_METHODS_OWL_H

#include <stddef.h>
#include <stdint.h>

#include "methods/method.h"

extern const struct cpr_method cpr_method_owl;

// Layerwise outlier distribution of one block: the percentage of the
// Wanda scores S (all of the block's linears together, n values) above
// hyper_m * mean(S) (check_outlier_mean: strict >, mean in double here,
// the reference's torch.mean is f32).
double cpr_owl_lod(const float *s, size_t n, double hyper_m);

// Unstructured allocation over n_blocks >= 1 blocks of equal size:
//   r_l = (lod_l - min) / (max - min) * 2 lambda;  r <- r - mean(r) + (1-p)
//   sparsity_l = 1 - r_l, and 0.01 where that is <= 0 (the reference).
// r_l is the block's density; the sparsities average to p (before the
// 0.01 floor) and lie in [p - lambda, p + lambda]. max == min (one block,
// or equal ratios; the reference divides by zero): every block gets p.
void cpr_owl_allocate(const double *lod, int64_t n_blocks, double p,
                      double lambda, double *sparsity);

// N:M allocation (wanda_owl_structure): r_l = round((lod_l - min) /
// (max - min) * lambda - mean(...)) with NumPy's round-half-to-even, and
// the block prunes n_l = n - r_l of every m (clamped to [0, m - 1]; 0
// leaves the block dense, as the reference's `if prune_n != 0`).
void cpr_owl_allocate_nm(const double *lod, int64_t n_blocks, unsigned n,
                         unsigned m, double lambda, unsigned *n_per_block);

#endif
