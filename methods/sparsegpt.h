// methods/sparsegpt.h: SparseGPT (Frantar & Alistarh 2023), as
// IST-DASLab/sparsegpt sparsegpt.py fasterprune runs it.
#ifndef CPR_METHODS_SPARSEGPT_H
#define CPR_METHODS_SPARSEGPT_H

#include "methods/method.h"

extern const struct cpr_method cpr_method_sparsegpt;

#endif
