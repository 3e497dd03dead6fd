// core/attention.c: causal GQA attention by query blocks (see attention.h).
#include "core/attention.h"

#include <math.h>
#include <string.h>

struct attn_job {
    struct cpr_forward *f;
    const struct cpr_layer_shape *sh;
    int64_t n_seq;
    int64_t seqlen;
};

static void attn_worker(void *ctx, size_t ith, size_t nth) {
    const struct attn_job *j = ctx;
    struct cpr_forward *f = j->f;
    const struct cpr_layer_shape *c = j->sh;
    const struct cpr_kernels *k = f->k;
    int64_t hd = c->head_dim, nh = c->n_heads, nkv = c->n_kv_heads;
    int64_t qd = nh * hd, kvd = nkv * hd, group = nh / nkv;
    int64_t seqlen = j->seqlen, lds = f->seqlen;
    const int64_t win = f->model->cfg.block.sliding_window; // 0 = none
    int64_t nqb = (seqlen + CPR_ATTN_QB - 1) / CPR_ATTN_QB;
    int64_t n_items = j->n_seq * nh * nqb;
    // HF: attn_weights = (q @ k^T) * head_dim**-0.5, in f32.
    float scale = (float)(1.0 / sqrt((double)hd));
    if (f->model->cfg.block.attn_scale != 0.0f) // GPT-2 unscaled: 1
        scale = f->model->cfg.block.attn_scale;
    float *S = f->scores + (int64_t)ith * CPR_ATTN_QB * lds;

    // Round-robin over items: later query blocks cost more (causal), so
    // interleaving balances threads; an item's result never depends on
    // which thread computes it.
    for (int64_t it = (int64_t)ith; it < n_items; it += (int64_t)nth) {
        int64_t qb = it % nqb, h = (it / nqb) % nh, s = it / (nqb * nh);
        int64_t g = h / group;
        int64_t q0 = qb * CPR_ATTN_QB;
        int64_t m = seqlen - q0 < CPR_ATTN_QB ? seqlen - q0 : CPR_ATTN_QB;
        // keys [k0, k0 + nk) cover every query of the block: with a sliding
        // window the first query's oldest visible key, else key 0
        int64_t k0 = win > 0 && q0 - win + 1 > 0 ? q0 - win + 1 : 0;
        int64_t nk = q0 + m - k0;
        const float *Q = f->q + (s * seqlen + q0) * qd + h * hd;
        const float *K = f->kk + (s * seqlen + k0) * kvd + g * hd;
        const float *Vt = f->vt + (s * nkv + g) * hd * lds + k0;
        float *O = f->att + (s * seqlen + q0) * qd + h * hd;

        k->gemm_f32((size_t)m, (size_t)nk, (size_t)hd, scale, Q, (size_t)qd,
                    K, (size_t)kvd, 0.0f, S, (size_t)lds);
        for (int64_t r = 0; r < m; r++) {
            int64_t p = q0 + r; // keys lo..p are visible (S column = key - k0)
            int64_t lo = win > 0 && p - win + 1 > k0 ? p - win + 1 : k0;
            float *row = S + r * lds;
            if (lo > k0) memset(row, 0, (size_t)(lo - k0) * sizeof(float));
            k->softmax_f32((size_t)(p - lo + 1), row + (lo - k0),
                           row + (lo - k0));
            if (nk > p - k0 + 1)
                memset(row + p - k0 + 1, 0,
                       (size_t)(nk - (p - k0) - 1) * sizeof(float));
        }
        k->gemm_f32((size_t)m, (size_t)hd, (size_t)nk, 1.0f, S, (size_t)lds,
                    Vt, (size_t)lds, 0.0f, O, (size_t)qd);
    }
}

void cpr_attention_run(struct cpr_forward *f, const struct cpr_layer_shape *sh,
                       int64_t n_seq, int64_t seqlen) {
    struct attn_job j = {.f = f, .sh = sh, .n_seq = n_seq, .seqlen = seqlen};
    cpr_pool_run(f->pool, attn_worker, &j);
}
