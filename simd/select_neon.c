// simd/select_neon.c: (in progress) neon kernels for the select family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_select_neon(struct cpr_kernels *k) { (void)k; }
#endif
