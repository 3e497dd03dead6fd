// core/act_bwd.c: activation backward (see act_bwd.h).
#include "core/act_bwd.h"

#include <math.h>

void cpr_act_bwd(enum cpr_mlp_kind kind, size_t n, const float *a,
                 const float *y, const float *dy, float *da) {
    switch (kind) {
    case CPR_MLP_RELU:
        for (size_t i = 0; i < n; i++) da[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case CPR_MLP_GELU: {
        const double rs2 = 0.70710678118654752440, rs2pi = 0.39894228040143267794;
        for (size_t i = 0; i < n; i++) {
            double x = a[i];
            double d = 0.5 * (1.0 + erf(x * rs2)) + x * rs2pi * exp(-0.5 * x * x);
            da[i] = (float)(dy[i] * d);
        }
        break;
    }
    case CPR_MLP_GELU_TANH: {
        const double c = 0.79788456080286535588, k3 = 0.044715;
        for (size_t i = 0; i < n; i++) {
            double x = a[i], t = tanh(c * (x + k3 * x * x * x));
            double d = 0.5 * (1.0 + t) +
                       0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * k3 * x * x);
            da[i] = (float)(dy[i] * d);
        }
        break;
    }
    default: // gated kinds: core/backward.c forms them itself
        for (size_t i = 0; i < n; i++) da[i] = dy[i];
        break;
    }
}
