// methods/gblm.h: GBLM-Pruner (Das et al. 2023, "Beyond Size: How
// Gradients Shape Pruning Decisions"), as VILA-Lab/GBLM-Pruner
// lib/prune.py prune_gblm and prune_gradient run it, with the gradients of
// gradient_computation.py (methods/gradstats.h) from a pre-pass over the
// dense model.
#ifndef CPR_METHODS_GBLM_H
#define CPR_METHODS_GBLM_H

#include "methods/method.h"

extern const struct cpr_method cpr_method_gblm;
extern const struct cpr_method cpr_method_gradient;

#endif
