// simd/convert_neon.c: (in progress) neon kernels for the convert family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_convert_neon(struct cpr_kernels *k) { (void)k; }
#endif
