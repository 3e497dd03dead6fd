// simd/stats_neon.c: (in progress) neon kernels for the stats family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_stats_neon(struct cpr_kernels *k) { (void)k; }
#endif
