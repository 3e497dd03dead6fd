// simd/convert_avx512.c: (in progress) avx512 kernels for the convert family.
#include "simd/kernels.h"

#if defined(__x86_64__)
void cpr_fill_convert_avx512(struct cpr_kernels *k) { (void)k; }
#endif
