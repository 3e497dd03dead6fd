// simd/rope_neon.c: (in progress) neon kernels for the rope family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_rope_neon(struct cpr_kernels *k) { (void)k; }
#endif
