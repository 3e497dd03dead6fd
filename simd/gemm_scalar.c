// simd/gemm_scalar.c: (in progress) scalar kernels for the gemm family.

#include "simd/kernels.h"

void cpr_fill_gemm_scalar(struct cpr_kernels *k) { (void)k; }

