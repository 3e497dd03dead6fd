// core/backward_fc.c: backward of the non-gated MLP blocks (see
// backward_fc.h).
#include "core/backward_fc.h"

#include <string.h>

#include "core/act_bwd.h"
#include "core/attention_bwd.h"
#include "core/backward_norm.h"
#include "core/matmul.h"
#include "core/matmul_bwd.h"

int cpr_backward_fc_block(const struct cpr_model *m) {
    const enum cpr_mlp_kind k = m->cfg.block.mlp;
    return k == CPR_MLP_RELU || k == CPR_MLP_GELU || k == CPR_MLP_GELU_TANH;
}

enum cpr_status cpr_backward_fc_check(const struct cpr_model *m,
                                      struct cpr_err *err) {
    const struct cpr_block_spec *s = &m->cfg.block;
    if (s->qk_norm)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "backward: q/k norms "
                           "with the %s MLP are not implemented",
                           cpr_mlp_kind_name(s->mlp));
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (!sh.has_attn || !sh.has_mlp)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "backward: layer %lld has a removed sub-block "
                               "(not implemented)", (long long)l);
    }
    return CPR_OK;
}

// Recompute captures: x1 at ATTN_IN; at MLP_IN the norm's input (the
// residual m, or h in a parallel block: the hidden rows then) and x2.
struct recap {
    struct cpr_backward *b;
    const float *hidden;
    size_t n;
};

static enum cpr_status recap_fn(void *user, const struct cpr_capture *cap,
                                struct cpr_err *err) {
    (void)err;
    struct recap *r = user;
    if (cap->site == CPR_CAPTURE_ATTN_IN) {
        memcpy(r->b->xn1, cap->x, r->n * sizeof(float));
    } else if (cap->site == CPR_CAPTURE_MLP_IN) {
        memcpy(r->b->hmid, r->hidden, r->n * sizeof(float));
        memcpy(r->b->xn2, cap->x, r->n * sizeof(float));
    }
    return CPR_OK;
}

// Per-row work split over the pool (each row by one thread with the same
// arithmetic: bit-identical for any thread count).
struct rows_job {
    int op;                    // 0: activation backward, 1: norm backward
    enum cpr_mlp_kind act;
    enum cpr_norm_kind norm;
    int64_t n_rows, n;         // rows, values per row
    const float *a, *y, *dy, *w, *add;
    float *out;
    float eps;
};

static void rows_worker(void *ctx, size_t ith, size_t nth) {
    const struct rows_job *j = ctx;
    size_t b, e;
    cpr_pool_split((size_t)j->n_rows, ith, nth, 1, &b, &e);
    const size_t n = (size_t)j->n;
    for (size_t r = b; r < e; r++) {
        if (j->op == 0)
            cpr_act_bwd(j->act, n, j->a ? j->a + r * n : NULL, j->y + r * n,
                        j->dy + r * n, j->out + r * n);
        else
            cpr_norm_bwd_row(j->norm, n, j->a + r * n, j->w, j->dy + r * n,
                             j->eps, j->add + r * n, j->out + r * n);
    }
}

// The MLP: b->dh (dout) -> b->dxn (dx2); hooks down, fc1.
static enum cpr_status mlp_bwd(struct cpr_backward *b, struct cpr_layer *L,
                               int64_t l, int64_t T, int64_t I,
                               cpr_grad_fn hook, void *user,
                               struct cpr_err *err) {
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    const struct cpr_kernels *k = f->k;
    const int64_t H = m->cfg.hidden;
    const enum cpr_mlp_kind kind = m->cfg.block.mlp;
    // f->gate = act(P): the down linear's input
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_DOWN, &L->w_down, f->gate, b->dh,
                     T, err));
    CPR_TRY(cpr_matmul_dx(f->pool, k, (size_t)T, b->dh, (size_t)H, &L->w_down,
                          b->dg, (size_t)I, 0.0f, err));
    if (kind != CPR_MLP_RELU) { // P = x2 Wfc1^T + b1, as the forward forms it
        CPR_TRY(cpr_matmul(f->pool, k, (size_t)T, b->xn2, (size_t)H, &L->w_up,
                           b->gpre, (size_t)I, 0.0f, err));
        if (L->b_up.data) {
            float *bias = b->wvec + H;
            cpr_backward_vec_f32(k, &L->b_up, bias);
            for (int64_t t = 0; t < T; t++)
                for (int64_t i = 0; i < I; i++) b->gpre[t * I + i] += bias[i];
        }
    }
    struct rows_job aj = {.op = 0, .act = kind, .n_rows = T, .n = I,
                          .a = kind == CPR_MLP_RELU ? NULL : b->gpre,
                          .y = f->gate, .dy = b->dg, .out = b->da};
    cpr_pool_run(f->pool, rows_worker, &aj);
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_FC1, &L->w_up, b->xn2, b->da, T,
                     err));
    return cpr_matmul_dx(f->pool, k, (size_t)T, b->da, (size_t)I, &L->w_up,
                         b->dxn, (size_t)H, 0.0f, err);
}

// dq, dk (T rows) <- the inverse rotation of the first rd dims per head.
static void rope_bwd(struct cpr_backward *b, const struct cpr_layer_shape *sh,
                     int64_t T, int64_t seqlen) {
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    const int64_t hd = sh->head_dim, qd = sh->n_heads * hd,
                  kvd = sh->n_kv_heads * hd;
    const int64_t rd = m->cfg.block.rotary_dim > 0 ? m->cfg.block.rotary_dim : hd;
    const size_t half = (size_t)rd / 2;
    cpr_rope_f32_fn rope = m->cfg.rope_style == CPR_ROPE_INTERLEAVED
                               ? f->k->rope_interleaved_f32
                               : f->k->rope_half_f32;
    for (int64_t t = 0; t < T; t++) { // sin -> -sin
        const int64_t pos = t % seqlen;
        const float *cs = f->rope_cos + pos * half, *sn = b->nsin + pos * half;
        for (int64_t h = 0; h < sh->n_heads; h++)
            rope(1, (size_t)rd, b->dq + t * qd + h * hd, cs, sn);
        for (int64_t h = 0; h < sh->n_kv_heads; h++)
            rope(1, (size_t)rd, b->dk + t * kvd + h * hd, cs, sn);
    }
}

// dq, dk, dv -> b->dqkv in the fused weight's row order.
static void fuse_dqkv(struct cpr_backward *b, const struct cpr_layer_shape *sh,
                      int64_t T) {
    const int64_t hd = sh->head_dim, qd = sh->n_heads * hd;
    const size_t row = (size_t)qd * sizeof(float), head = (size_t)hd * sizeof(float);
    for (int64_t t = 0; t < T; t++) {
        float *x = b->dqkv + t * 3 * qd;
        const float *q = b->dq + t * qd, *k = b->dk + t * qd, *v = b->dv + t * qd;
        if (b->f.model->cfg.block.qkv == CPR_QKV_FUSED_CONCAT) { // q | k | v
            memcpy(x, q, row);
            memcpy(x + qd, k, row);
            memcpy(x + 2 * qd, v, row);
        } else { // per head [q k v]
            for (int64_t h = 0; h < sh->n_heads; h++) {
                memcpy(x + h * 3 * hd, q + h * hd, head);
                memcpy(x + h * 3 * hd + hd, k + h * hd, head);
                memcpy(x + h * 3 * hd + 2 * hd, v + h * hd, head);
            }
        }
    }
}

// The attention: dy_o = dL/d(o output) -> b->dxn (dx1); hooks o, then qkv
// or q, k, v.
static enum cpr_status attn_bwd(struct cpr_backward *b, struct cpr_layer *L,
                                int64_t l, int64_t n_seq, int64_t seqlen,
                                const struct cpr_layer_shape *sh,
                                const float *dy_o, cpr_grad_fn hook,
                                void *user, struct cpr_err *err) {
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    const struct cpr_kernels *k = f->k;
    struct cpr_pool *pool = f->pool;
    const int64_t T = n_seq * seqlen, H = m->cfg.hidden, hd = sh->head_dim;
    const int64_t qd = sh->n_heads * hd, kvd = sh->n_kv_heads * hd;
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_O, &L->wo, f->att, dy_o, T, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, dy_o, (size_t)H, &L->wo, b->datt,
                          (size_t)qd, 0.0f, err));
    struct cpr_attn_bwd ab = {
        .n_seq = n_seq, .seqlen = seqlen, .n_heads = sh->n_heads,
        .n_kv_heads = sh->n_kv_heads, .head_dim = hd,
        .window = m->cfg.block.sliding_window, .scale = m->cfg.block.attn_scale,
        .q = f->q, .k = f->kk, .v = f->v, .dout = b->datt, .dq = b->dq,
        .dk = b->dk, .dv = b->dv, .scratch = b->attn_scratch};
    cpr_attention_bwd(pool, k, &ab);
    if (m->cfg.block.pos == CPR_POS_ROPE) rope_bwd(b, sh, T, seqlen);
    if (m->cfg.block.qkv != CPR_QKV_SEPARATE) {
        fuse_dqkv(b, sh, T);
        CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_QKV, &L->wqkv, b->xn1, b->dqkv,
                         T, err));
        return cpr_matmul_dx(pool, k, (size_t)T, b->dqkv, (size_t)(3 * qd),
                             &L->wqkv, b->dxn, (size_t)H, 0.0f, err);
    }
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_Q, &L->wq, b->xn1, b->dq, T, err));
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_K, &L->wk, b->xn1, b->dk, T, err));
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_V, &L->wv, b->xn1, b->dv, T, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dq, (size_t)qd, &L->wq, b->dxn,
                          (size_t)H, 0.0f, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dk, (size_t)kvd, &L->wk,
                          b->dxn, (size_t)H, 1.0f, err));
    return cpr_matmul_dx(pool, k, (size_t)T, b->dv, (size_t)kvd, &L->wv, b->dxn,
                         (size_t)H, 1.0f, err);
}

enum cpr_status cpr_backward_fc_run(struct cpr_backward *b, int64_t l,
                                    int64_t n_seq, int64_t seqlen,
                                    cpr_grad_fn hook, void *user,
                                    struct cpr_err *err) {
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    struct cpr_layer *L = &((struct cpr_model *)m)->layers[l];
    const struct cpr_kernels *k = f->k;
    const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
    const int64_t T = n_seq * seqlen, H = m->cfg.hidden;
    const float *ck = b->ckpt + (size_t)l * (size_t)(T * H);
    const float eps = m->cfg.norm_eps;
    const enum cpr_norm_kind nk = m->cfg.block.norm;
    const int par = m->cfg.block.resid == CPR_RESID_PARALLEL;

    // recompute from the checkpoint with the forward's own arithmetic: then
    // f->gate = act(P), f->att = attention output, f->q / f->kk roped, f->v
    memcpy(b->h, ck, (size_t)(T * H) * sizeof(float));
    struct recap rc = {b, b->h, (size_t)(T * H)};
    struct cpr_block_hook bh = {recap_fn, &rc,
                                (1u << CPR_CAPTURE_ATTN_IN) | (1u << CPR_CAPTURE_MLP_IN)};
    // (no fc2 projection: the block's output is not needed)
    CPR_TRY(cpr_forward_block_recompute(f, l, b->h, n_seq, seqlen, &bh, NULL,
                                        err));

    CPR_TRY(mlp_bwd(b, L, l, T, sh.intermediate, hook, user, err));
    // dm = norm2_bwd(dx2) + dout (b->hmid is m, or h in a parallel block)
    cpr_backward_norm_w(k, m, &L->mlp_norm, b->wvec);
    struct rows_job nj = {.op = 1, .norm = nk, .n_rows = T, .n = H,
                          .a = b->hmid, .w = b->wvec, .dy = b->dxn,
                          .add = b->dh, .out = b->dh2, .eps = eps};
    cpr_pool_run(f->pool, rows_worker, &nj);
    // the o projection's output gradient: dm, or dout in a parallel block
    CPR_TRY(attn_bwd(b, L, l, n_seq, seqlen, &sh, par ? b->dh : b->dh2, hook,
                     user, err));
    cpr_backward_norm_w(k, m, &L->attn_norm, b->wvec);
    nj.a = ck, nj.add = b->dh2, nj.out = b->dh;
    cpr_pool_run(f->pool, rows_worker, &nj);
    return CPR_OK;
}
