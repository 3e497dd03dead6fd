// simd/norm_scalar.c: (in progress) scalar kernels for the norm family.

#include "simd/kernels.h"

void cpr_fill_norm_scalar(struct cpr_kernels *k) { (void)k; }

