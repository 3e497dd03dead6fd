// simd/rope_scalar.c: (in progress) scalar kernels for the rope family.

#include "simd/kernels.h"

void cpr_fill_rope_scalar(struct cpr_kernels *k) { (void)k; }

