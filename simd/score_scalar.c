// simd/score_scalar.c: (in progress) scalar kernels for the score family.

#include "simd/kernels.h"

void cpr_fill_score_scalar(struct cpr_kernels *k) { (void)k; }

