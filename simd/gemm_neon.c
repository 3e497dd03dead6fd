// simd/gemm_neon.c: (in progress) neon kernels for the gemm family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_gemm_neon(struct cpr_kernels *k) { (void)k; }
#endif
