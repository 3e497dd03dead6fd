// simd/stats_avx512.c: (in progress) avx512 kernels for the stats family.
#include "simd/kernels.h"

#if defined(__x86_64__)
void cpr_fill_stats_avx512(struct cpr_kernels *k) { (void)k; }
#endif
