// core/backward_norm.h: the backward pass of one row of a block norm
// (core/arch.h norm kinds), for core/backward.
//
// Each function forms dx = d/dx of norm(x; w, b) applied to dy, for one
// row of n values, in double inside, rounded to f32 once, plus add[i]
// when add is non-NULL (a residual gradient); out may alias dy or add.
// The norm's bias does not enter dx; w is the f32 weight as the forward
// applies it (Gemma: 1 + w).
//   RMSNorm:   r = 1/sqrt(mean(x^2) + eps), xh = x r, g = dy w,
//              dx = r (g - xh mean(g xh))
//   LayerNorm: mu = mean(x), r = 1/sqrt(mean((x - mu)^2) + eps) (biased
//              variance, torch.nn.LayerNorm), xh = (x - mu) r, g = dy w,
//              dx = r (g - mean(g) - xh mean(g xh))
// Scalar and single-threaded: callers loop over rows.
#ifndef CPR_CORE_BACKWARD_NORM_H
#define CPR_CORE_BACKWARD_NORM_H

#include <stddef.h>

#include "core/arch.h"

void cpr_rmsnorm_bwd_row(size_t n, const float *x, const float *w,
                         const float *dy, float eps, const float *add,
                         float *out);
void cpr_layernorm_bwd_row(size_t n, const float *x, const float *w,
                           const float *dy, float eps, const float *add,
                           float *out);
// The one of the two that the norm kind names (RMS_1P: RMSNorm).
void cpr_norm_bwd_row(enum cpr_norm_kind kind, size_t n, const float *x,
                      const float *w, const float *dy, float eps,
                      const float *add, float *out);

#endif
