// simd/stats_avx2.c: (in progress) avx2 kernels for the stats family.
#include "simd/kernels.h"

#if defined(__x86_64__)
void cpr_fill_stats_avx2(struct cpr_kernels *k) { (void)k; }
#endif
