// simd/stats_scalar.c: (in progress) scalar kernels for the stats family.

#include "simd/kernels.h"

void cpr_fill_stats_scalar(struct cpr_kernels *k) { (void)k; }

