// core/attention_bwd.c: attention backward by query blocks (see
// attention_bwd.h).
#include "core/attention_bwd.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "core/forward.h" // CPR_ATTN_QB

size_t cpr_attention_bwd_scratch(int64_t seqlen) {
    return 2u * (size_t)CPR_ATTN_QB * (size_t)seqlen; // P and dP blocks
}

struct job {
    const struct cpr_kernels *k;
    const struct cpr_attn_bwd *a;
};

// One (sequence, kv head) item.
static void item(const struct cpr_kernels *k, const struct cpr_attn_bwd *a,
                 int64_t s, int64_t g, float *P, float *dP) {
    int64_t hd = a->head_dim, nh = a->n_heads, nkv = a->n_kv_heads;
    int64_t qd = nh * hd, kvd = nkv * hd, group = nh / nkv;
    int64_t T = a->seqlen, lds = T, win = a->window;
    float scale = a->scale != 0.0f ? a->scale : (float)(1.0 / sqrt((double)hd));
    const float *Kg = a->k + s * T * kvd + g * hd;
    const float *Vg = a->v + s * T * kvd + g * hd;
    float *dKg = a->dk + s * T * kvd + g * hd;
    float *dVg = a->dv + s * T * kvd + g * hd;
    for (int64_t t = 0; t < T; t++) {
        memset(dKg + t * kvd, 0, (size_t)hd * sizeof(float));
        memset(dVg + t * kvd, 0, (size_t)hd * sizeof(float));
    }
    for (int64_t h = g * group; h < (g + 1) * group; h++)
        for (int64_t q0 = 0; q0 < T; q0 += CPR_ATTN_QB) {
            int64_t m = T - q0 < CPR_ATTN_QB ? T - q0 : CPR_ATTN_QB;
            int64_t k0 = win > 0 && q0 - win + 1 > 0 ? q0 - win + 1 : 0;
            int64_t nk = q0 + m - k0;
            const float *Q = a->q + (s * T + q0) * qd + h * hd;
            const float *dO = a->dout + (s * T + q0) * qd + h * hd;
            float *dQ = a->dq + (s * T + q0) * qd + h * hd;
            const float *K = Kg + k0 * kvd, *V = Vg + k0 * kvd;
            // P: recomputed as the forward does (masked entries exactly 0)
            k->gemm_f32((size_t)m, (size_t)nk, (size_t)hd, scale, Q, (size_t)qd,
                        K, (size_t)kvd, 0.0f, P, (size_t)lds);
            // dP = dO V^T
            k->gemm_f32((size_t)m, (size_t)nk, (size_t)hd, 1.0f, dO, (size_t)qd,
                        V, (size_t)kvd, 0.0f, dP, (size_t)lds);
            for (int64_t r = 0; r < m; r++) {
                int64_t p = q0 + r;
                int64_t lo = win > 0 && p - win + 1 > k0 ? p - win + 1 : k0;
                float *pr = P + r * lds, *dpr = dP + r * lds;
                if (lo > k0) memset(pr, 0, (size_t)(lo - k0) * sizeof(float));
                k->softmax_f32((size_t)(p - lo + 1), pr + (lo - k0), pr + (lo - k0));
                if (nk > p - k0 + 1)
                    memset(pr + p - k0 + 1, 0,
                           (size_t)(nk - (p - k0) - 1) * sizeof(float));
                double d = 0.0; // D[p] = sum_j P dP, in double, j ascending
                for (int64_t j = lo - k0; j <= p - k0; j++)
                    d += (double)pr[j] * (double)dpr[j];
                float df = (float)d;
                // dS in place of dP (0 outside the visible keys, as P is)
                for (int64_t j = 0; j < nk; j++) dpr[j] = pr[j] * (dpr[j] - df);
            }
            // dQ = scale dS K; dK += scale dS^T Q; dV += P^T dO
            k->gemm_nn_f32((size_t)m, (size_t)hd, (size_t)nk, scale, dP,
                           (size_t)lds, K, (size_t)kvd, 0.0f, dQ, (size_t)qd);
            k->gemm_tn_f32((size_t)nk, (size_t)hd, (size_t)m, scale, dP,
                           (size_t)lds, Q, (size_t)qd, 1.0f, dKg + k0 * kvd,
                           (size_t)kvd);
            k->gemm_tn_f32((size_t)nk, (size_t)hd, (size_t)m, 1.0f, P,
                           (size_t)lds, dO, (size_t)qd, 1.0f, dVg + k0 * kvd,
                           (size_t)kvd);
        }
}

static void worker(void *ctx, size_t ith, size_t nth) {
    const struct job *j = ctx;
    const struct cpr_attn_bwd *a = j->a;
    float *P = a->scratch + ith * cpr_attention_bwd_scratch(a->seqlen);
    float *dP = P + (size_t)CPR_ATTN_QB * (size_t)a->seqlen;
    int64_t n_items = a->n_seq * a->n_kv_heads;
    for (int64_t it = (int64_t)ith; it < n_items; it += (int64_t)nth)
        item(j->k, a, it / a->n_kv_heads, it % a->n_kv_heads, P, dP);
}

void cpr_attention_bwd(struct cpr_pool *pool, const struct cpr_kernels *k,
                       const struct cpr_attn_bwd *a) {
    assert(a->n_kv_heads > 0 && a->n_heads % a->n_kv_heads == 0);
    if (a->n_seq <= 0 || a->seqlen <= 0) return;
    struct job j = {k ? k : cpr_kernels_get(), a};
    cpr_pool_run(pool, worker, &j);
}
