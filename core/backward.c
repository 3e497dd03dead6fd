// core/backward.c: the gradient pass and the LLaMA-block backward (see
// backward.h); non-gated MLP blocks in core/backward_fc.c.
#include "core/backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/attention_bwd.h"
#include "core/backward_fc.h"
#include "core/backward_norm.h"
#include "core/matmul.h"
#include "core/matmul_bwd.h"

void cpr_backward_vec_f32(const struct cpr_kernels *k,
                          const struct cpr_tensor *t, float *out) {
    size_t n = (size_t)t->shape[0];
    switch (t->dtype) {
    case CPR_DTYPE_BF16: k->bf16_to_f32(n, t->data, out); break;
    case CPR_DTYPE_F16: k->f16_to_f32(n, t->data, out); break;
    default: memcpy(out, t->data, n * sizeof(float)); break;
    }
}

// A block/final norm's f32 weight as the forward applies it: w, or 1 + w
// (Gemma).
void cpr_backward_norm_w(const struct cpr_kernels *k,
                         const struct cpr_model *m,
                         const struct cpr_tensor *t, float *out) {
    cpr_backward_vec_f32(k, t, out);
    if (m->cfg.block.norm == CPR_NORM_RMS_1P)
        for (int64_t i = 0; i < t->shape[0]; i++) out[i] += 1.0f;
}

enum cpr_status cpr_backward_check_model(const struct cpr_model *m,
                                         struct cpr_err *err) {
    const struct cpr_block_spec *s = &m->cfg.block;
    if (cpr_backward_fc_block(m)) return cpr_backward_fc_check(m, err);
    if ((s->norm != CPR_NORM_RMS && s->norm != CPR_NORM_RMS_1P) ||
        s->pos != CPR_POS_ROPE ||
        (s->mlp != CPR_MLP_SWIGLU && s->mlp != CPR_MLP_GEGLU_TANH) ||
        s->resid != CPR_RESID_SEQUENTIAL)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "backward: block kind norm=%s pos=%s mlp=%s "
                           "resid=%s is not implemented (gated MLPs: only "
                           "the LLaMA block: rms, rope, swiglu, sequential, "
                           "and Gemma's (1 + w) RMSNorm and GeGLU-tanh)",
                           cpr_norm_kind_name(s->norm), cpr_pos_kind_name(s->pos),
                           cpr_mlp_kind_name(s->mlp),
                           cpr_resid_kind_name(s->resid));
    if (s->qk_norm && m->cfg.hidden < 2 * m->cfg.head_dim)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "backward: q/k norms "
                           "(Qwen3) with hidden %lld < 2 x head_dim %lld",
                           (long long)m->cfg.hidden,
                           (long long)m->cfg.head_dim);
    // Gemma's embedding scale needs nothing: the embeddings are not
    // differentiated, and the recompute applies it
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const struct cpr_layer *L = &m->layers[l];
        struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (!sh.has_attn || !sh.has_mlp)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "backward: layer %lld has a removed sub-block "
                               "(not implemented)", (long long)l);
        // q/k/v biases (Qwen2) need nothing here: the recomputed block
        // adds them, and dX = dY W, dW = dY^T X do not involve them
        if (L->bo.data || L->b_up.data || L->b_down.data)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "backward: layer %lld has o/up/down biases "
                               "(not implemented)", (long long)l);
        // Qwen3 (below, block_bwd): the pre-norm k lands in the gate
        // buffer; Qwen3 has no q/k/v biases
        if (s->qk_norm && (L->bq.data || L->bk.data ||
                           sh.intermediate < sh.n_kv_heads * sh.head_dim))
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "backward: layer %lld: q/k norms with q/k "
                               "biases or intermediate < k width (not "
                               "implemented)", (long long)l);
    }
    return CPR_OK;
}

// The widest q, k/v and MLP widths over the layers as they are (a pruned
// layer may be narrower than the config): the buffers' row sizes.
static void widest(const struct cpr_model *m, int64_t *qd, int64_t *kvd,
                   int64_t *I) {
    *qd = *kvd = *I = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (sh.n_heads * sh.head_dim > *qd) *qd = sh.n_heads * sh.head_dim;
        if (sh.n_kv_heads * sh.head_dim > *kvd) *kvd = sh.n_kv_heads * sh.head_dim;
        if (sh.intermediate > *I) *I = sh.intermediate;
    }
}

// Floats of cpr_backward_init's one allocation (see the carving below).
static size_t buffer_floats(const struct cpr_model *m, size_t nthr,
                            int64_t n_seq, int64_t seqlen) {
    const struct cpr_model_config *c = &m->cfg;
    int64_t qd, kvd, I;
    widest(m, &qd, &kvd, &I);
    const size_t T = (size_t)(n_seq * seqlen), H = (size_t)c->hidden;
    return (size_t)c->n_layers * T * H + 6 * T * H + 3 * T * (size_t)I +
           2 * T * (size_t)qd + 2 * T * (size_t)kvd +
           nthr * cpr_attention_bwd_scratch(seqlen) +
           (size_t)seqlen * ((size_t)c->head_dim / 2) + H + (size_t)I +
           (cpr_backward_fc_block(m) ? T * H : 0) +                 // xn2
           (c->block.qkv != CPR_QKV_SEPARATE ? 3 * T * (size_t)qd : 0); // dqkv
}

size_t cpr_backward_bytes(const struct cpr_model *m, size_t n_threads,
                          int64_t n_seq, int64_t seqlen) {
    return buffer_floats(m, n_threads ? n_threads : 1, n_seq, seqlen) *
               sizeof(float) +
           cpr_forward_arena_bytes(m, n_threads ? n_threads : 1, n_seq,
                                   seqlen);
}

enum cpr_status cpr_backward_init(struct cpr_backward *b,
                                  const struct cpr_model *m,
                                  const struct cpr_kernels *k,
                                  struct cpr_pool *pool, int64_t n_seq,
                                  int64_t seqlen, struct cpr_err *err) {
    memset(b, 0, sizeof *b);
    if (n_seq < 1 || seqlen < 2)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "backward: n_seq %lld >= 1 and seqlen %lld >= 2 "
                           "expected", (long long)n_seq, (long long)seqlen);
    CPR_TRY(cpr_backward_check_model(m, err));
    CPR_TRY(cpr_forward_init(&b->f, m, k, pool, n_seq, seqlen, err));
    b->n_seq = n_seq, b->seqlen = seqlen;
    const struct cpr_model_config *c = &m->cfg;
    int64_t qd, kvd, I;
    widest(m, &qd, &kvd, &I);
    size_t T = (size_t)(n_seq * seqlen), H = (size_t)c->hidden;
    size_t half = (size_t)c->head_dim / 2;
    size_t nthr = cpr_pool_size(pool);
    const int fc = cpr_backward_fc_block(m);
    const int fused = c->block.qkv != CPR_QKV_SEPARATE;
    size_t n = buffer_floats(m, nthr, n_seq, seqlen);
    b->mem = malloc(n * sizeof(float));
    if (!b->mem) {
        cpr_forward_free(&b->f);
        return cpr_err_set(err, CPR_ERR_NOMEM,
                           "backward: cannot allocate %zu bytes of "
                           "checkpoints and gradient buffers",
                           n * sizeof(float));
    }
    float *p = b->mem;
#define CARVE(ptr, cnt) (ptr = p, p += (cnt))
    CARVE(b->ckpt, (size_t)c->n_layers * T * H);
    CARVE(b->h, T * H);
    CARVE(b->dh, T * H);
    CARVE(b->dh2, T * H);
    CARVE(b->xn1, T * H);
    CARVE(b->hmid, T * H);
    CARVE(b->dxn, T * H);
    CARVE(b->gpre, T * (size_t)I);
    CARVE(b->dg, T * (size_t)I);
    CARVE(b->da, T * (size_t)I);
    CARVE(b->dq, T * (size_t)qd);
    CARVE(b->datt, T * (size_t)qd);
    CARVE(b->dk, T * (size_t)kvd);
    CARVE(b->dv, T * (size_t)kvd);
    CARVE(b->attn_scratch, nthr * cpr_attention_bwd_scratch(seqlen));
    CARVE(b->nsin, (size_t)seqlen * half);
    CARVE(b->wvec, H + (size_t)I);
    if (fc) CARVE(b->xn2, T * H);
    if (fused) CARVE(b->dqkv, 3 * T * (size_t)qd);
#undef CARVE
    for (size_t i = 0; i < (size_t)seqlen * half; i++) b->nsin[i] = -b->f.rope_sin[i];
    return CPR_OK;
}

void cpr_backward_free(struct cpr_backward *b) {
    if (!b) return;
    cpr_forward_free(&b->f);
    free(b->mem);
    free(b->wmem);
    memset(b, 0, sizeof *b);
}

// Capture hook of the recompute: xn1 at ATTN_IN, the residual (h_mid) at
// MLP_IN.
struct recap {
    struct cpr_backward *b;
    const float *hidden;
    size_t n;
};

static enum cpr_status recap_fn(void *user, const struct cpr_capture *cap,
                                struct cpr_err *err) {
    (void)err;
    struct recap *r = user;
    if (cap->site == CPR_CAPTURE_ATTN_IN)
        memcpy(r->b->xn1, cap->x, r->n * sizeof(float));
    else if (cap->site == CPR_CAPTURE_MLP_IN)
        memcpy(r->b->hmid, r->hidden, r->n * sizeof(float));
    return CPR_OK;
}

enum cpr_status cpr_backward_call_hook(cpr_grad_fn hook, void *user,
                                      int64_t layer, enum cpr_linear_role role,
                                      struct cpr_tensor *w, const float *x,
                                      const float *dy, int64_t T,
                                      struct cpr_err *err) {
    if (!hook) return CPR_OK;
    struct cpr_grad g = {.layer = layer, .role = role, .w = w, .x = x, .dy = dy,
                         .n_rows = T, .n_in = w->shape[1], .n_out = w->shape[0]};
    return hook(user, &g, err);
}

// dL/d(logits) for every predicted position, through the final norm into
// b->dh; returns the summed nll in *nll_sum.
static enum cpr_status head_bwd(struct cpr_backward *b, const int32_t *tokens,
                                int64_t n_seq, int64_t seqlen, float gscale,
                                double *nll_sum, struct cpr_err *err) {
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    const struct cpr_kernels *k = f->k;
    int64_t H = m->cfg.hidden, V = m->cfg.vocab;
    cpr_backward_norm_w(k, m, &m->final_norm, b->wvec);
    double sum = 0.0;
    for (int64_t s = 0; s < n_seq; s++) {
        const int32_t *tok = tokens + s * seqlen;
        for (int64_t p = 1; p < seqlen; p++)
            if (tok[p] < 0 || tok[p] >= V)
                return cpr_err_set(err, CPR_ERR_ARG,
                                   "backward: target id %ld at position %lld "
                                   "outside [0, %lld)", (long)tok[p],
                                   (long long)(s * seqlen + p), (long long)V);
        memset(b->dh + (s * seqlen + seqlen - 1) * H, 0, (size_t)H * sizeof(float));
        for (int64_t p0 = 0; p0 < seqlen - 1; p0 += f->logit_rows) {
            int64_t n = seqlen - 1 - p0;
            if (n > f->logit_rows) n = f->logit_rows;
            const float *rows = b->h + (s * seqlen + p0) * H;
            CPR_TRY(cpr_forward_logits(f, rows, n, f->logits, err));
            for (int64_t r = 0; r < n; r++) {
                float *row = f->logits + r * V;
                int32_t tgt = tok[p0 + r + 1];
                sum += k->logsumexp_f32((size_t)V, row) - (double)row[tgt];
                k->softmax_f32((size_t)V, row, row);
                row[tgt] -= 1.0f;
                for (int64_t v = 0; v < V; v++) row[v] *= gscale;
            }
            float *dn = b->dxn + (s * seqlen + p0) * H;
            CPR_TRY(cpr_matmul_dx(f->pool, k, (size_t)n, f->logits, (size_t)V,
                                  &m->lm_head, dn, (size_t)H, 0.0f, err));
            for (int64_t r = 0; r < n; r++)
                cpr_norm_bwd_row(m->cfg.block.norm, (size_t)H, rows + r * H,
                                 b->wvec, dn + r * H, m->cfg.norm_eps, NULL,
                                 b->dh + (s * seqlen + p0 + r) * H);
        }
    }
    *nll_sum = sum;
    return CPR_OK;
}

// ---- per-row passes of block_bwd on the pool ----
// Rows are independent and each row's arithmetic is the same whichever
// thread runs it, so the split never changes a bit.
enum row_op {
    ROW_SWIGLU, // da = dg u silu'(a), dg <- dg silu(a)      (a = gpre, u = up)
    ROW_GEGLU,  // da = dg u gelu_tanh'(a), dg <- dg gelu_tanh(a)
    ROW_RMS,    // out = rmsnorm_bwd(x, w, dy) + add          (n_cols = hidden)
    ROW_ROPE,   // dq, dk rows rotated back (sin -> -sin)
};

struct row_job {
    enum row_op op;
    int64_t n_rows, n_cols;
    const float *a, *u;     // GLU: pre-activation, up
    float *dg, *da;         // GLU: in/out d(act * up), out d(a)
    const float *x, *w, *dy, *add; // RMS
    float *out;             // RMS
    float eps;
    // ROPE
    const struct cpr_forward *f;
    const float *nsin;
    cpr_rope_f32_fn rope;
    float *dq, *dk;
    int64_t seqlen, n_heads, n_kv_heads, head_dim;
};

static void glu_rows(const struct row_job *j, size_t r0, size_t r1) {
    const size_t lo = r0 * (size_t)j->n_cols, hi = r1 * (size_t)j->n_cols;
    if (j->op == ROW_GEGLU) {
        // gelu(a) = a/2 (1 + tanh(c (a + 0.044715 a^3))), c = sqrt(2/pi)
        const float c = 0.7978845608028654f;
        for (size_t i = lo; i < hi; i++) {
            float a = j->a[i], u = j->u[i], g = j->dg[i];
            float th = tanhf(c * (a + 0.044715f * a * a * a));
            float ge = 0.5f * a * (1.0f + th);
            float dge = 0.5f * (1.0f + th) +
                        0.5f * a * (1.0f - th * th) * c *
                            (1.0f + 3.0f * 0.044715f * a * a);
            j->da[i] = g * u * dge;
            j->dg[i] = g * ge; // d(up)
        }
        return;
    }
    for (size_t i = lo; i < hi; i++) {
        float a = j->a[i], u = j->u[i], g = j->dg[i];
        float sg = 1.0f / (1.0f + expf(-a));
        j->da[i] = g * u * sg * (1.0f + a * (1.0f - sg));
        j->dg[i] = g * a * sg; // d(up)
    }
}

static void row_worker(void *ctx, size_t ith, size_t nth) {
    const struct row_job *j = ctx;
    size_t r0, r1;
    cpr_pool_split((size_t)j->n_rows, ith, nth, 1, &r0, &r1);
    if (r0 >= r1) return;
    const size_t n = (size_t)j->n_cols;
    switch (j->op) {
    case ROW_SWIGLU: case ROW_GEGLU: glu_rows(j, r0, r1); break;
    case ROW_RMS:
        for (size_t t = r0; t < r1; t++)
            cpr_rmsnorm_bwd_row(n, j->x + t * n, j->w, j->dy + t * n, j->eps,
                                j->add + t * n, j->out + t * n);
        break;
    case ROW_ROPE: {
        const size_t hd = (size_t)j->head_dim, half = hd / 2;
        const size_t qd = (size_t)j->n_heads * hd, kvd = (size_t)j->n_kv_heads * hd;
        for (size_t t = r0; t < r1; t++) {
            size_t pos = t % (size_t)j->seqlen;
            const float *cs = j->f->rope_cos + pos * half, *sn = j->nsin + pos * half;
            j->rope((size_t)j->n_heads, hd, j->dq + t * qd, cs, sn);
            j->rope((size_t)j->n_kv_heads, hd, j->dk + t * kvd, cs, sn);
        }
        break;
    }
    }
}

// out = the RMSNorm backward of x's rows applied to dy, + add, on the pool.
static void rms_rows(struct cpr_pool *pool, int64_t T, int64_t H,
                     const float *x, const float *w, const float *dy,
                     float eps, const float *add, float *out) {
    struct row_job j = {.op = ROW_RMS, .n_rows = T, .n_cols = H, .x = x,
                        .w = w, .dy = dy, .eps = eps, .add = add, .out = out};
    cpr_pool_run(pool, row_worker, &j);
}

static enum cpr_status block_bwd(struct cpr_backward *b, int64_t l,
                                 int64_t n_seq, int64_t seqlen,
                                 cpr_grad_fn hook, void *user,
                                 struct cpr_err *err) {
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    struct cpr_layer *L = &((struct cpr_model *)m)->layers[l];
    const struct cpr_kernels *k = f->k;
    struct cpr_pool *pool = f->pool;
    struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
    int64_t T = n_seq * seqlen, H = m->cfg.hidden, I = sh.intermediate;
    int64_t hd = sh.head_dim, qd = sh.n_heads * hd, kvd = sh.n_kv_heads * hd;
    const float *ck = b->ckpt + (size_t)l * (size_t)(T * H);
    float eps = m->cfg.norm_eps;

    // recompute the block from its checkpoint (the forward's own arithmetic)
    memcpy(b->h, ck, (size_t)(T * H) * sizeof(float));
    struct recap rc = {b, b->h, (size_t)(T * H)};
    // gate's pre-activation straight into gpre, and no down projection:
    // the block's output is not needed (b->dh is its gradient)
    struct cpr_block_hook bh = {recap_fn, &rc,
                                (1u << CPR_CAPTURE_ATTN_IN) | (1u << CPR_CAPTURE_MLP_IN)};
    CPR_TRY(cpr_forward_block_recompute(f, l, b->h, n_seq, seqlen, &bh,
                                        b->gpre, err));
    // now: f->xn = mlp norm output, f->up = up x, b->gpre = g x, f->gate =
    // silu(g x) * up x, f->att = attention output, f->q / f->kk roped, f->v

    // MLP
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_DOWN, &L->w_down, f->gate, b->dh, T, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dh, (size_t)H, &L->w_down, b->dg,
                          (size_t)I, 0.0f, err));
    struct row_job gj = {.op = m->cfg.block.mlp == CPR_MLP_GEGLU_TANH
                                   ? ROW_GEGLU : ROW_SWIGLU,
                         .n_rows = T, .n_cols = I, .a = b->gpre, .u = f->up,
                         .dg = b->dg, .da = b->da};
    cpr_pool_run(pool, row_worker, &gj);
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_GATE, &L->w_gate, f->xn, b->da, T, err));
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_UP, &L->w_up, f->xn, b->dg, T, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->da, (size_t)I, &L->w_gate, b->dxn,
                          (size_t)H, 0.0f, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dg, (size_t)I, &L->w_up, b->dxn,
                          (size_t)H, 1.0f, err));
    cpr_backward_norm_w(k, m, &L->mlp_norm, b->wvec);
    rms_rows(pool, T, H, b->hmid, b->wvec, b->dxn, eps, b->dh, b->dh2);

    // attention
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_O, &L->wo, f->att, b->dh2, T, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dh2, (size_t)H, &L->wo, b->datt,
                          (size_t)qd, 0.0f, err));
    struct cpr_attn_bwd ab = {
        .n_seq = n_seq, .seqlen = seqlen, .n_heads = sh.n_heads,
        .n_kv_heads = sh.n_kv_heads, .head_dim = hd,
        .window = m->cfg.block.sliding_window, .scale = m->cfg.block.attn_scale,
        .q = f->q, .k = f->kk, .v = f->v,
        .dout = b->datt, .dq = b->dq, .dk = b->dk, .dv = b->dv,
        .scratch = b->attn_scratch};
    cpr_attention_bwd(pool, k, &ab);
    cpr_rope_f32_fn rope = m->cfg.rope_style == CPR_ROPE_INTERLEAVED
                               ? k->rope_interleaved_f32
                               : k->rope_half_f32;
    struct row_job rj = {.op = ROW_ROPE, .n_rows = T, .f = f, .nsin = b->nsin,
                         .rope = rope, .dq = b->dq, .dk = b->dk,
                         .seqlen = seqlen, .n_heads = sh.n_heads,
                         .n_kv_heads = sh.n_kv_heads, .head_dim = hd};
    cpr_pool_run(pool, row_worker, &rj); // inverse rotation: sin -> -sin
    if (m->cfg.block.qk_norm) { // Qwen3: through the per-head RMSNorms
        float *qp = b->datt, *kp = b->gpre; // free now: pre-norm q and k
        CPR_TRY(cpr_matmul(pool, k, (size_t)T, b->xn1, (size_t)H, &L->wq, qp,
                           (size_t)qd, 0.0f, err));
        CPR_TRY(cpr_matmul(pool, k, (size_t)T, b->xn1, (size_t)H, &L->wk, kp,
                           (size_t)kvd, 0.0f, err));
        float *qn = b->wvec, *kn = b->wvec + hd;
        cpr_backward_vec_f32(k, &L->q_norm, qn);
        cpr_backward_vec_f32(k, &L->k_norm, kn);
        for (int64_t t = 0; t < T; t++) {
            for (int64_t h = 0; h < sh.n_heads; h++) {
                float *d = b->dq + t * qd + h * hd;
                cpr_rmsnorm_bwd_row((size_t)hd, qp + t * qd + h * hd, qn, d, eps,
                                NULL, d);
            }
            for (int64_t h = 0; h < sh.n_kv_heads; h++) {
                float *d = b->dk + t * kvd + h * hd;
                cpr_rmsnorm_bwd_row((size_t)hd, kp + t * kvd + h * hd, kn, d, eps,
                                NULL, d);
            }
        }
    }
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_Q, &L->wq, b->xn1, b->dq, T, err));
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_K, &L->wk, b->xn1, b->dk, T, err));
    CPR_TRY(cpr_backward_call_hook(hook, user, l, CPR_ROLE_V, &L->wv, b->xn1, b->dv, T, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dq, (size_t)qd, &L->wq, b->dxn,
                          (size_t)H, 0.0f, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dk, (size_t)kvd, &L->wk, b->dxn,
                          (size_t)H, 1.0f, err));
    CPR_TRY(cpr_matmul_dx(pool, k, (size_t)T, b->dv, (size_t)kvd, &L->wv, b->dxn,
                          (size_t)H, 1.0f, err));
    cpr_backward_norm_w(k, m, &L->attn_norm, b->wvec);
    rms_rows(pool, T, H, ck, b->wvec, b->dxn, eps, b->dh2, b->dh);
    return CPR_OK;
}

// Block l's backward, the LLaMA block or a non-gated one (backward_fc.c).
static enum cpr_status block_any(struct cpr_backward *b, int64_t l,
                                 int64_t n_seq, int64_t seqlen,
                                 cpr_grad_fn hook, void *user,
                                 struct cpr_err *err) {
    return cpr_backward_fc_block(b->f.model)
               ? cpr_backward_fc_run(b, l, n_seq, seqlen, hook, user, err)
               : block_bwd(b, l, n_seq, seqlen, hook, user, err);
}

enum cpr_status cpr_backward_block(struct cpr_backward *b, int64_t l,
                                   int64_t n_seq, int64_t seqlen,
                                   cpr_grad_fn hook, void *user,
                                   struct cpr_err *err) {
    if (n_seq < 1 || n_seq > b->n_seq || seqlen < 2 || seqlen > b->seqlen ||
        l < 0 || l >= b->f.model->cfg.n_layers)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "backward block: layer %lld, %lld x %lld tokens; "
                           "this state takes layers 0..%lld and 1..%lld "
                           "sequences of 2..%lld", (long long)l,
                           (long long)n_seq, (long long)seqlen,
                           (long long)b->f.model->cfg.n_layers - 1,
                           (long long)b->n_seq, (long long)b->seqlen);
    return block_any(b, l, n_seq, seqlen, hook, user, err);
}

enum cpr_status cpr_backward_run(struct cpr_backward *b, const int32_t *tokens,
                                 int64_t n_seq, int64_t seqlen, float scale,
                                 cpr_grad_fn hook, void *user, double *loss,
                                 struct cpr_err *err) {
    if (n_seq < 1 || n_seq > b->n_seq || seqlen < 2 || seqlen > b->seqlen)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "backward: %lld x %lld tokens; this state takes "
                           "1..%lld sequences of 2..%lld", (long long)n_seq,
                           (long long)seqlen, (long long)b->n_seq,
                           (long long)b->seqlen);
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    int64_t T = n_seq * seqlen, H = m->cfg.hidden;
    CPR_TRY(cpr_forward_embed(f, tokens, n_seq, seqlen, b->h, err));
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        memcpy(b->ckpt + (size_t)l * (size_t)(T * H), b->h,
               (size_t)(T * H) * sizeof(float));
        CPR_TRY(cpr_forward_block(f, l, b->h, n_seq, seqlen, NULL, err));
    }
    double n_pred = (double)(n_seq * (seqlen - 1)), nll = 0.0;
    CPR_TRY(head_bwd(b, tokens, n_seq, seqlen, (float)(scale / n_pred), &nll, err));
    if (loss) *loss = nll / n_pred;
    for (int64_t l = m->cfg.n_layers - 1; l >= b->first_layer; l--)
        CPR_TRY(block_any(b, l, n_seq, seqlen, hook, user, err));
    return CPR_OK;
}

// The LLaMA block (and Gemma's variant): what block_bwd differentiates.
static int llama_block(const struct cpr_model *m) {
    const struct cpr_block_spec *s = &m->cfg.block;
    return (s->norm == CPR_NORM_RMS || s->norm == CPR_NORM_RMS_1P) &&
           s->pos == CPR_POS_ROPE &&
           (s->mlp == CPR_MLP_SWIGLU || s->mlp == CPR_MLP_GEGLU_TANH) &&
           s->resid == CPR_RESID_SEQUENTIAL;
}

int cpr_backward_windows_ok(const struct cpr_model *m) {
    return llama_block(m);
}

enum cpr_status cpr_backward_run_windows(struct cpr_backward *b,
                                         const int32_t *tokens, int64_t n_win,
                                         int64_t seqlen, float scale,
                                         cpr_grad_fn hook, void *user,
                                         double *loss, struct cpr_err *err) {
    if (n_win < 1 || seqlen < 2 || seqlen > b->seqlen)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "backward: %lld windows of %lld tokens; this "
                           "state takes >= 1 window of 2..%lld",
                           (long long)n_win, (long long)seqlen,
                           (long long)b->seqlen);
    struct cpr_forward *f = &b->f;
    const struct cpr_model *m = f->model;
    const int64_t L = m->cfg.n_layers, H = m->cfg.hidden;
    if (!llama_block(m)) // head_bwd / block_bwd below are the LLaMA block's
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "backward: windows in "
                           "layer-major groups need the LLaMA block; run "
                           "one window at a time (cpr_backward_run)");
    // window w > 0: its checkpoints (L x seqlen x H) then its dh
    // (seqlen x H); window 0 uses ckpt / dh (room for n_seq x seqlen)
    const size_t TH = (size_t)(seqlen * H);
    const size_t per = ((size_t)L + 1) * TH, need = (size_t)(n_win - 1) * per;
    if (need > (size_t)b->win_cap) {
        float *p = realloc(b->wmem, need * sizeof(float));
        if (!p)
            return cpr_err_set(err, CPR_ERR_NOMEM, "backward: cannot "
                               "allocate %zu bytes of checkpoints for %lld "
                               "windows", need * sizeof(float),
                               (long long)n_win);
        b->wmem = p, b->win_cap = (int64_t)need;
    }
    float *const ckpt0 = b->ckpt, *const dh0 = b->dh;
    const double n_pred = (double)(seqlen - 1);
    enum cpr_status s = CPR_OK;
    for (int64_t w = 0; w < n_win && !s; w++) {
        b->ckpt = w ? b->wmem + (size_t)(w - 1) * per : ckpt0;
        b->dh = w ? b->ckpt + (size_t)L * TH : dh0;
        const int32_t *tok = tokens + w * seqlen;
        const int64_t T = seqlen;
        if ((s = cpr_forward_embed(f, tok, 1, seqlen, b->h, err))) break;
        for (int64_t l = 0; l < L && !s; l++) {
            memcpy(b->ckpt + (size_t)l * (size_t)(T * H), b->h,
                   (size_t)(T * H) * sizeof(float));
            s = cpr_forward_block(f, l, b->h, 1, seqlen, NULL, err);
        }
        double nll = 0.0;
        if (!s)
            s = head_bwd(b, tok, 1, seqlen, (float)(scale / n_pred), &nll, err);
        if (loss) loss[w] = nll / n_pred;
    }
    for (int64_t l = L - 1; l >= b->first_layer && !s; l--)
        for (int64_t w = 0; w < n_win && !s; w++) {
            b->ckpt = w ? b->wmem + (size_t)(w - 1) * per : ckpt0;
            b->dh = w ? b->ckpt + (size_t)L * TH : dh0;
            s = block_any(b, l, 1, seqlen, hook, user, err);
        }
    b->ckpt = ckpt0, b->dh = dh0;
    return s;
}
