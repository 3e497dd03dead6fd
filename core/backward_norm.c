// core/backward_norm.c: norm row backward (see backward_norm.h).
#include "core/backward_norm.h"

#include <math.h>

void cpr_rmsnorm_bwd_row(size_t n, const float *x, const float *w,
                         const float *dy, float eps, const float *add,
                         float *out) {
    double ss = 0.0, dot = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double r = 1.0 / sqrt(ss / (double)n + (double)eps);
    for (size_t i = 0; i < n; i++) dot += (double)dy[i] * w[i] * x[i] * r;
    dot /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double xh = x[i] * r, g = (double)dy[i] * w[i];
        out[i] = (float)(r * (g - xh * dot)) + (add ? add[i] : 0.0f);
    }
}

void cpr_layernorm_bwd_row(size_t n, const float *x, const float *w,
                           const float *dy, float eps, const float *add,
                           float *out) {
    double mu = 0.0, var = 0.0, mg = 0.0, mgx = 0.0;
    for (size_t i = 0; i < n; i++) mu += x[i];
    mu /= (double)n;
    for (size_t i = 0; i < n; i++) var += (x[i] - mu) * (x[i] - mu);
    double r = 1.0 / sqrt(var / (double)n + (double)eps);
    for (size_t i = 0; i < n; i++) {
        double g = (double)dy[i] * w[i];
        mg += g;
        mgx += g * (x[i] - mu) * r;
    }
    mg /= (double)n, mgx /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double xh = (x[i] - mu) * r, g = (double)dy[i] * w[i];
        out[i] = (float)(r * (g - mg - xh * mgx)) + (add ? add[i] : 0.0f);
    }
}

void cpr_norm_bwd_row(enum cpr_norm_kind kind, size_t n, const float *x,
                      const float *w, const float *dy, float eps,
                      const float *add, float *out) {
    if (kind == CPR_NORM_LAYER)
        cpr_layernorm_bwd_row(n, x, w, dy, eps, add, out);
    else
        cpr_rmsnorm_bwd_row(n, x, w, dy, eps, add, out);
}
