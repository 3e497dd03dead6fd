// simd/convert_avx2.c: (in progress) avx2 kernels for the convert family.
#include "simd/kernels.h"

#if defined(__x86_64__)
void cpr_fill_convert_avx2(struct cpr_kernels *k) { (void)k; }
#endif
