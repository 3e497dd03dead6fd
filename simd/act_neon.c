// simd/act_neon.c: (in progress) neon kernels for the act family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_act_neon(struct cpr_kernels *k) { (void)k; }
#endif
