// simd/score_neon.c: (in progress) neon kernels for the score family.
#include "simd/kernels.h"

#if defined(__aarch64__)
void cpr_fill_score_neon(struct cpr_kernels *k) { (void)k; }
#endif
