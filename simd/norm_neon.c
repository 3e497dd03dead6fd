// simd/norm_neon.c: (in progress) neon kernels for the norm family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_norm_neon(struct cpr_kernels *k) { (void)k; }
#endif
