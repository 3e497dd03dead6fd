// simd/norm_avx2.c: (in progress) avx2 kernels for the norm family.
#include "simd/kernels.h"

#if defined(__x86_64__)
void cpr_fill_norm_avx2(struct cpr_kernels *k) { (void)k; }
#endif
