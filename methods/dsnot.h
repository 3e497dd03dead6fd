// methods/dsnot.h: DSnoT, Dynamic Sparse No Training (Zhang et al.,
// ICLR'24), training-free mask refinement on top of a Wanda, magnitude or
// SparseGPT mask, as zyxxmu/DSnoT lib/prune.py prune_DSnoT runs it. The
// update rules, the reference's quirks and our choices are in the header
// of methods/dsnot.c.
#ifndef CPR_METHODS_DSNOT_H
#define CPR_METHODS_DSNOT_H

#include "methods/method.h"

extern const struct cpr_method cpr_method_dsnot;

// The statistics a dsnot state actually reads: colsumsq and colmeanvar,
// plus hessian when base=sparsegpt. cpr_method_dsnot.needs is the union
// over every base (so it includes hessian); a pipeline that wants to skip
// the n^2 Hessian for the other bases can ask the state instead.
unsigned cpr_dsnot_needs(const void *state);

#endif
