// methods/depth.c: ShortGPT block influence and lowest-k selection.
#include "methods/depth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"

#define PI 3.14159265358979323846

// The final norm of row x (hidden) into y, in double (RMSNorm, or LayerNorm
// with bias), as HF applies it before the last hidden state.
static void final_norm(const struct cpr_model *m, const float *x, double *y,
                       const float *w, const float *b) {
    const int64_t h = m->cfg.hidden;
    double mean = 0, ss = 0;
    if (m->cfg.block.norm == CPR_NORM_LAYER) {
        for (int64_t i = 0; i < h; i++) mean += x[i];
        mean /= (double)h;
    }
    for (int64_t i = 0; i < h; i++) ss += (x[i] - mean) * (x[i] - mean);
    const double r = 1.0 / sqrt(ss / (double)h + (double)m->cfg.norm_eps);
    for (int64_t i = 0; i < h; i++)
        y[i] = (x[i] - mean) * r * w[i] + (b ? b[i] : 0.0);
}

static double term(double dot, double na, double nb, int angular) {
    double c = dot / (sqrt(na) * sqrt(nb));
    if (isnan(c)) c = 0.5; // nan_to_num(nan=0.5)
    if (angular) {
        if (c > 1) c = 1;
        if (c < -1) c = -1;
        return acos(c) / PI;
    }
    return 1.0 - c;
}

enum cpr_status cpr_shortgpt_scores(const struct cpr_model *m,
                                    struct cpr_pool *pool,
                                    const int32_t *tok, int64_t n_seq,
                                    int64_t seqlen, int angular, double *bi,
                                    struct cpr_err *err) {
    const int64_t L = m->cfg.n_layers, H = m->cfg.hidden;
    if (n_seq < 1 || seqlen < 1)
        return cpr_err_set(err, CPR_ERR_ARG, "shortgpt: no calibration "
                           "tokens (%lld windows of %lld)", (long long)n_seq,
                           (long long)seqlen);
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, NULL, pool, 1, seqlen, err));
    const size_t T = (size_t)seqlen;
    float *h = malloc(T * (size_t)H * sizeof *h);
    float *prev = malloc(T * (size_t)H * sizeof *prev);
    double *y = malloc((size_t)H * sizeof *y);
    struct cpr_tensor nw = {0}, nb = {0};
    enum cpr_status s = CPR_OK;
    if (!h || !prev || !y) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "shortgpt: out of memory");
        goto done;
    }
    s = cpr_tensor_copy_f32(&nw, &m->final_norm, err);
    if (!s && m->final_norm_b.data)
        s = cpr_tensor_copy_f32(&nb, &m->final_norm_b, err);
    for (int64_t l = 0; l < L; l++) bi[l] = 0;
    for (int64_t w = 0; w < n_seq && !s; w++) {
        s = cpr_forward_embed(&f, tok + w * seqlen, 1, seqlen, h, err);
        for (int64_t l = 0; l < L && !s; l++) {
            memcpy(prev, h, T * (size_t)H * sizeof *h);
            s = cpr_forward_block(&f, l, h, 1, seqlen, NULL, err);
            if (s) break;
            double acc = 0;
            for (size_t t = 0; t < T; t++) {
                const float *a = prev + t * (size_t)H, *b = h + t * (size_t)H;
                double dot = 0, na = 0, nn = 0;
                if (l == L - 1) {
                    final_norm(m, b, y, nw.data, nb.data);
                    for (int64_t i = 0; i < H; i++)
                        dot += a[i] * y[i], na += (double)a[i] * a[i],
                            nn += y[i] * y[i];
                } else {
                    for (int64_t i = 0; i < H; i++)
                        dot += (double)a[i] * b[i], na += (double)a[i] * a[i],
                            nn += (double)b[i] * b[i];
                }
                acc += term(dot, na, nn, angular);
            }
            bi[l] += acc;
        }
    }
done:
    free(h), free(prev), free(y);
    cpr_tensor_free(&nw), cpr_tensor_free(&nb);
    cpr_forward_free(&f);
    return s;
}

void cpr_depth_lowest(const double *score, int64_t n, int64_t k,
                      uint8_t *drop) {
    memset(drop, 0, (size_t)n);
    for (int64_t r = 0; r < k; r++) {
        int64_t best = -1;
        for (int64_t l = 0; l < n; l++)
            if (!drop[l] && (best < 0 || score[l] < score[best])) best = l;
        if (best >= 0) drop[best] = 1;
    }
}
