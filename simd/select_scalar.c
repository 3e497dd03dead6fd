// simd/select_scalar.c: (in progress) scalar kernels for the select family.

#include "simd/kernels.h"

void cpr_fill_select_scalar(struct cpr_kernels *k) { (void)k; }

