// simd/convert_scalar.c: (in progress) scalar kernels for the convert family.

#include "simd/kernels.h"

void cpr_fill_convert_scalar(struct cpr_kernels *k) { (void)k; }

