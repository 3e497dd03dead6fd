// simd/linalg_neon.c: (in progress) neon kernels for the linalg family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_linalg_neon(struct cpr_kernels *k) { (void)k; }
#endif
