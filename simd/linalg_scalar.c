// simd/linalg_scalar.c: (in progress) scalar kernels for the linalg family.

#include "simd/kernels.h"

void cpr_fill_linalg_scalar(struct cpr_kernels *k) { (void)k; }

