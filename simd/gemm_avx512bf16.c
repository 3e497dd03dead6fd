// simd/gemm_avx512bf16.c: (in progress)
#include "simd/kernels.h"

#if defined(__x86_64__)
void cpr_fill_gemm_avx512bf16(struct cpr_kernels *k) { (void)k; }
#endif
