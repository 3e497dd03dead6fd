// simd/act_scalar.c: (in progress) scalar kernels for the act family.

#include "simd/kernels.h"

void cpr_fill_act_scalar(struct cpr_kernels *k) { (void)k; }

