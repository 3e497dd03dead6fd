// core/act_bwd.h: the backward pass of the non-gated MLP activations
// (core/arch.h CPR_MLP_RELU, CPR_MLP_GELU, CPR_MLP_GELU_TANH), for
// core/backward.
//
// da[i] = dy[i] * act'(a[i]) for n elements; a is the pre-activation
// (fc1 x + b), y the activation's output (the forward's f->gate):
//   ReLU:      act'(a) = 1 where y > 0, else 0 (torch's
//              threshold_backward on the result; NaN gives 0)
//   GELU:      act'(a) = Phi(a) + a phi(a), Phi(a) = (1 + erf(a/sqrt 2))/2,
//              phi(a) = exp(-a^2/2) / sqrt(2 pi)          (a may be NULL
//              for ReLU only)
//   GELU-tanh: u = c (a + 0.044715 a^3), c = sqrt(2/pi), t = tanh(u),
//              act'(a) = (1 + t)/2 + a/2 (1 - t^2) c (1 + 3 0.044715 a^2)
// GELU terms in double, rounded to f32 once. da may alias dy.
// Scalar; elements are independent (callers may split by rows).
#ifndef CPR_CORE_ACT_BWD_H
#define CPR_CORE_ACT_BWD_H

#include <stddef.h>

#include "core/arch.h"

void cpr_act_bwd(enum cpr_mlp_kind kind, size_t n, const float *a,
                 const float *y, const float *dy, float *da);

#endif
