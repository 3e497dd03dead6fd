// core/forward.c: the decoder forward pass (see forward.h for the math and
// the contracts). Attention lives in core/attention.c, the RoPE tables in
// core/rope_table.c; this file holds the state, the per-row passes, the
// block driver and the output head.
#include "core/forward.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/attention.h"
#include "core/matmul.h"
#include "core/rope_table.h"

// Budget for one block of logits (rows x vocab f32): bounds memory for big
// vocabularies while keeping enough rows per lm_head pass that the weights
// are streamed from memory only seqlen / rows times.
#define LOGIT_BYTES ((size_t)32 << 20)
#define LOGIT_MAX_ROWS 512

// ---- small helpers ----

static int64_t q_dim(const struct cpr_layer_shape *c) {
    return c->n_heads * c->head_dim;
}
static int64_t kv_dim(const struct cpr_layer_shape *c) {
    return c->n_kv_heads * c->head_dim;
}

static int64_t logit_rows_for(const struct cpr_model *m, int64_t max_seq,
                              int64_t seqlen) {
    int64_t r = (int64_t)(LOGIT_BYTES / ((size_t)m->cfg.vocab * sizeof(float)));
    if (r > LOGIT_MAX_ROWS) r = LOGIT_MAX_ROWS;
    if (r > max_seq * seqlen) r = max_seq * seqlen;
    return r < 1 ? 1 : r;
}

// Convert a 1-D tensor (any dtype, contiguous) to f32.
static void vec_f32(const struct cpr_kernels *k, const struct cpr_tensor *t,
                    float *out) {
    size_t n = (size_t)t->shape[0];
    switch (t->dtype) {
    case CPR_DTYPE_BF16: k->bf16_to_f32(n, t->data, out); break;
    case CPR_DTYPE_F16: k->f16_to_f32(n, t->data, out); break;
    default: memcpy(out, t->data, n * sizeof(float)); break;
    }
}

// ---- f->vec: f32 copies of a block's vectors ----
// [0, H) norm weight, [H, 2H) norm bias, [2H, 3H) o bias, [3H, 4H) down
// bias, then the q/k/v biases (qd + 2 kvd) and the up bias (intermediate)
// at the block's own sizes (the buffer holds the largest layer's), then
// the q/k norm weights (2 head_dim) at VEC_QKN.
#define VEC_NORM_B(H) (H)
#define VEC_BO(H) (2 * (H))
#define VEC_BDOWN(H) (3 * (H))
#define VEC_QKV(H) (4 * (H))

// ---- sizes ----

// Float counts of every buffer, in carve order.
enum { BUF_ROPE_COS, BUF_ROPE_SIN, BUF_HIDDEN, BUF_XN, BUF_Q, BUF_K, BUF_V,
       BUF_VT, BUF_ATT, BUF_GATE, BUF_UP, BUF_SCORES, BUF_VEC, BUF_LOGITS,
       BUF_LROWS, BUF_QKV, BUF_PAR, BUF_COUNT };

static void buffer_sizes(const struct cpr_model *m, size_t n_threads,
                         int64_t max_seq, int64_t seqlen, double *out) {
    const struct cpr_model_config *c = &m->cfg;
    // Per-layer buffers hold the largest layer (core/model.h shapes).
    const struct cpr_layer_shape mx = cpr_model_max_shape(m), *x = &mx;
    double T = (double)max_seq * (double)seqlen;
    double lr = (double)logit_rows_for(m, max_seq, seqlen);
    out[BUF_ROPE_COS] = out[BUF_ROPE_SIN] = (double)seqlen * (c->head_dim / 2);
    out[BUF_HIDDEN] = out[BUF_XN] = T * c->hidden;
    out[BUF_Q] = out[BUF_ATT] = T * q_dim(x);
    out[BUF_K] = out[BUF_V] = out[BUF_VT] = T * kv_dim(x);
    out[BUF_GATE] = out[BUF_UP] = T * x->intermediate;
    out[BUF_SCORES] = (double)n_threads * CPR_ATTN_QB * (double)seqlen;
    out[BUF_VEC] = (double)(4 * c->hidden + q_dim(x) + 2 * kv_dim(x) +
                            x->intermediate + 2 * c->head_dim);
    out[BUF_LOGITS] = lr * c->vocab;
    out[BUF_LROWS] = lr * c->hidden;
    out[BUF_QKV] = c->block.qkv != CPR_QKV_SEPARATE ? 3 * T * q_dim(x) : 0;
    out[BUF_PAR] = c->block.resid == CPR_RESID_PARALLEL ? T * c->hidden : 0;
}

size_t cpr_forward_arena_bytes(const struct cpr_model *m, size_t n_threads,
                               int64_t max_seq, int64_t seqlen) {
    double sz[BUF_COUNT], total = 0;
    buffer_sizes(m, n_threads, max_seq, seqlen, sz);
    for (int i = 0; i < BUF_COUNT; i++) total += sz[i] * sizeof(float) + 64;
    return total > (double)SIZE_MAX / 2 ? SIZE_MAX : (size_t)total;
}

// ---- init / free ----

static enum cpr_status check_kernels(const struct cpr_kernels *k,
                                     struct cpr_err *err) {
    const struct { int ok; const char *name; } need[] = {
        {k->gemm_f32 != NULL, "gemm_f32"},
        {k->gemm_bf16w != NULL, "gemm_bf16w"},
        {k->gemm_f16w != NULL, "gemm_f16w"},
        {k->rmsnorm_f32 != NULL, "rmsnorm_f32"},
        {k->layernorm_f32 != NULL, "layernorm_f32"},
        {k->softmax_f32 != NULL, "softmax_f32"},
        {k->logsumexp_f32 != NULL, "logsumexp_f32"},
        {k->rope_half_f32 != NULL, "rope_half_f32"},
        {k->rope_interleaved_f32 != NULL, "rope_interleaved_f32"},
        {k->swiglu_f32 != NULL, "swiglu_f32"},
        {k->gelu_tanh_f32 != NULL, "gelu_tanh_f32"},
        {k->gelu_f32 != NULL, "gelu_f32"},
        {k->bf16_to_f32 != NULL, "bf16_to_f32"},
        {k->f16_to_f32 != NULL, "f16_to_f32"},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!need[i].ok)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "forward: kernel table has no %s kernel",
                               need[i].name);
    return CPR_OK;
}

// The block spec's kinds this pass implements (core/arch.h); a value
// outside the enums (a corrupted config) is refused, not guessed.
static enum cpr_status check_spec(const struct cpr_block_spec *b,
                                  struct cpr_err *err) {
    const char *bad = NULL;
    switch (b->norm) {
    case CPR_NORM_RMS: case CPR_NORM_LAYER: case CPR_NORM_RMS_1P: break;
    default: bad = "norm";
    }
    switch (b->pos) {
    case CPR_POS_ROPE: case CPR_POS_LEARNED: break;
    default: bad = "positions";
    }
    switch (b->mlp) {
    case CPR_MLP_SWIGLU: case CPR_MLP_RELU: case CPR_MLP_GEGLU_TANH:
    case CPR_MLP_GELU: case CPR_MLP_GELU_TANH: break;
    default: bad = "mlp";
    }
    switch (b->resid) {
    case CPR_RESID_SEQUENTIAL: case CPR_RESID_PARALLEL: break;
    default: bad = "residual";
    }
    switch (b->qkv) {
    case CPR_QKV_SEPARATE: case CPR_QKV_FUSED_HEADS: case CPR_QKV_FUSED_CONCAT:
        break;
    default: bad = "q/k/v";
    }
    if (bad)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "forward: block spec has "
                           "an unknown %s kind", bad);
    if (b->sliding_window < 0)
        return cpr_err_set(err, CPR_ERR_ARG, "forward: sliding_window %lld "
                           "must be >= 0 (0 = none)",
                           (long long)b->sliding_window);
    return CPR_OK;
}

enum cpr_status cpr_forward_init(struct cpr_forward *f,
                                 const struct cpr_model *m,
                                 const struct cpr_kernels *k,
                                 struct cpr_pool *pool, int64_t max_seq,
                                 int64_t seqlen, struct cpr_err *err) {
    memset(f, 0, sizeof *f);
    if (!k) k = cpr_kernels_get();
    if (max_seq < 1 || seqlen < 1 || max_seq > ((int64_t)1 << 30) ||
        seqlen > ((int64_t)1 << 30))
        return cpr_err_set(err, CPR_ERR_ARG,
                           "forward: need 1 <= max_seq, seqlen <= 2^30 "
                           "(found max_seq %lld, seqlen %lld)",
                           (long long)max_seq, (long long)seqlen);
    CPR_TRY(cpr_model_validate(m, err));
    CPR_TRY(check_spec(&m->cfg.block, err));
    CPR_TRY(check_kernels(k, err));
    if (m->cfg.block.pos == CPR_POS_LEARNED &&
        seqlen + m->cfg.block.pos_offset > m->pos_embed.shape[0])
        return cpr_err_set(err, CPR_ERR_ARG,
                           "forward: seqlen %lld exceeds the %lld learned "
                           "positions of the model (max_position_embeddings)",
                           (long long)seqlen,
                           (long long)(m->pos_embed.shape[0] -
                                       m->cfg.block.pos_offset));
    const struct cpr_tensor *e = &m->tok_embed;
    if (e->stride[1] != 1 || e->stride[0] != e->shape[1])
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "forward: tok_embed must be contiguous");

    f->model = m;
    f->k = k;
    f->pool = pool;
    f->n_threads = cpr_pool_size(pool);
    f->max_seq = max_seq;
    f->seqlen = seqlen;
    f->logit_rows = logit_rows_for(m, max_seq, seqlen);
    {
        const struct cpr_layer_shape mx = cpr_model_max_shape(m);
        f->vec_qkn = 4 * m->cfg.hidden + q_dim(&mx) + 2 * kv_dim(&mx) +
                     mx.intermediate;
    }

    double sz[BUF_COUNT], total = 0;
    buffer_sizes(m, f->n_threads, max_seq, seqlen, sz);
    for (int i = 0; i < BUF_COUNT; i++) total += sz[i] * sizeof(float) + 64;
    if (total > (double)((size_t)1 << 46))
        return cpr_err_set(err, CPR_ERR_NOMEM,
                           "forward: work buffers for %lld x %lld tokens would "
                           "take %.3g bytes", (long long)max_seq,
                           (long long)seqlen, total);
    enum cpr_status s = cpr_arena_init(&f->arena, (size_t)total, err);
    if (s != CPR_OK) {
        cpr_err_set(err, s, "forward: cannot allocate %.0f MiB of work "
                    "buffers for %lld sequence(s) of %lld tokens",
                    total / (1 << 20), (long long)max_seq, (long long)seqlen);
        goto fail;
    }
    float **dst[BUF_COUNT] = {
        &f->rope_cos, &f->rope_sin, &f->hidden, &f->xn, &f->q, &f->kk,
        &f->v, &f->vt, &f->att, &f->gate, &f->up, &f->scores, &f->vec,
        &f->logits, &f->lrows, &f->qkv, &f->par,
    };
    for (int i = 0; i < BUF_COUNT; i++) {
        *dst[i] = cpr_arena_alloc(&f->arena, (size_t)sz[i] * sizeof(float), 64);
        if (!*dst[i]) {
            s = cpr_err_set(err, CPR_ERR_INTERNAL,
                            "forward: arena too small for buffer %d", i);
            goto fail;
        }
    }
    s = cpr_rope_table_build(&m->cfg, seqlen, f->rope_cos, f->rope_sin, err);
    if (s != CPR_OK) goto fail;
    return CPR_OK;
fail:
    cpr_forward_free(f);
    return s;
}

void cpr_forward_free(struct cpr_forward *f) {
    if (!f) return;
    cpr_arena_free(&f->arena);
    memset(f, 0, sizeof *f);
}

// ---- per-row passes ----

enum row_op {
    OP_NORM,    // dst[r] = norm(src[r], w), the spec's norm kind
    OP_QKV,     // q/k/v += biases (when present); rope q and k
    OP_SWIGLU,  // gate[r] = silu(src[r]) * up[r] (src may be f->gate)
    OP_GEGLU,   // gate[r] = gelu_tanh(src[r]) * up[r] (likewise)
    OP_BIAS,    // dst[r] (n_cols, stride n_cols) += w (n_cols)
    OP_BIAS_RELU, // dst[r] = relu(dst[r] + w) (w may be NULL: no bias)
    OP_BIAS_GELU, // dst[r] = gelu(dst[r] + w), exact or tanh (the MLP kind)
    OP_ADD_PAR, // dst[r] = (src[r] + f->par[r]) + dst[r] (parallel residual)
    OP_BIAS_ADD, // dst[r] += (src[r] + w) (n_cols): bias, then residual add
                 // in one pass, the same two f32 roundings
    OP_VT,      // vt[s, g] = v[s rows, g head]^T (items are (s, g))
    OP_NLL,     // nll from logits rows
};

struct row_job {
    struct cpr_forward *f;
    const struct cpr_layer_shape *sh; // the block's shape (OP_QKV/SWIGLU/VT)
    enum row_op op;
    int64_t n_items;
    int64_t seqlen;
    const float *src;
    float *dst;
    const float *w;
    int64_t n_cols; // OP_BIAS, OP_BIAS_RELU, OP_BIAS_ADD
    int has_bias;
    // OP_NLL
    const int32_t *targets;
    double *nll;
};

static void do_qkv_row(struct cpr_forward *f, const struct cpr_layer_shape *c,
                       int64_t r, int64_t seqlen, int has_bias) {
    const struct cpr_kernels *k = f->k;
    const struct cpr_block_spec *bs = &f->model->cfg.block;
    int64_t qd = q_dim(c), kvd = kv_dim(c), hd = c->head_dim;
    const int64_t rd = bs->rotary_dim > 0 ? bs->rotary_dim : hd, half = rd / 2;
    float *q = f->q + r * qd, *kr = f->kk + r * kvd, *v = f->v + r * kvd;
    if (bs->qkv != CPR_QKV_SEPARATE) { // split the fused row (+ its bias)
        float *x = f->qkv + r * 3 * qd;
        if (has_bias) {
            const float *b = f->vec + VEC_QKV(f->model->cfg.hidden);
            for (int64_t i = 0; i < 3 * qd; i++) x[i] += b[i];
        }
        if (bs->qkv == CPR_QKV_FUSED_CONCAT) { // q | k | v
            memcpy(q, x, (size_t)qd * sizeof(float));
            memcpy(kr, x + qd, (size_t)qd * sizeof(float));
            memcpy(v, x + 2 * qd, (size_t)qd * sizeof(float));
        } else { // per head [q k v] (NeoX view(heads, 3 * head_dim))
            for (int64_t h = 0; h < c->n_heads; h++) {
                const float *xh = x + h * 3 * hd;
                memcpy(q + h * hd, xh, (size_t)hd * sizeof(float));
                memcpy(kr + h * hd, xh + hd, (size_t)hd * sizeof(float));
                memcpy(v + h * hd, xh + 2 * hd, (size_t)hd * sizeof(float));
            }
        }
        has_bias = 0;
    }
    if (has_bias) {
        const float *bq = f->vec + VEC_QKV(f->model->cfg.hidden),
                    *bk = bq + qd, *bv = bk + kvd;
        for (int64_t i = 0; i < qd; i++) q[i] += bq[i];
        for (int64_t i = 0; i < kvd; i++) kr[i] += bk[i];
        for (int64_t i = 0; i < kvd; i++) v[i] += bv[i];
    }
    if (f->model->cfg.block.qk_norm) { // Qwen3: RMSNorm per head, pre-RoPE
        const float *qn = f->vec + f->vec_qkn, *kn = qn + c->head_dim;
        const float eps = f->model->cfg.norm_eps;
        for (int64_t h = 0; h < c->n_heads; h++)
            k->rmsnorm_f32((size_t)c->head_dim, q + h * c->head_dim, qn, eps,
                           q + h * c->head_dim);
        for (int64_t h = 0; h < c->n_kv_heads; h++)
            k->rmsnorm_f32((size_t)c->head_dim, kr + h * c->head_dim, kn, eps,
                           kr + h * c->head_dim);
    }
    switch (f->model->cfg.block.pos) {
    case CPR_POS_ROPE: {
        int64_t pos = r % seqlen;
        const float *cs = f->rope_cos + pos * half,
                    *sn = f->rope_sin + pos * half;
        cpr_rope_f32_fn rope =
            f->model->cfg.rope_style == CPR_ROPE_INTERLEAVED
                ? k->rope_interleaved_f32
                : k->rope_half_f32;
        if (rd == hd) {
            rope((size_t)c->n_heads, (size_t)hd, q, cs, sn);
            rope((size_t)c->n_kv_heads, (size_t)hd, kr, cs, sn);
        } else { // partial rotary: the first rd dims of each head
            for (int64_t h = 0; h < c->n_heads; h++)
                rope(1, (size_t)rd, q + h * hd, cs, sn);
            for (int64_t h = 0; h < c->n_kv_heads; h++)
                rope(1, (size_t)rd, kr + h * hd, cs, sn);
        }
        break;
    }
    case CPR_POS_LEARNED: break; // added to the embeddings
    }
}

// Transpose V of sequence s, kv head g: (seqlen, head_dim) rows of stride
// kv_dim -> (head_dim, seqlen) with row stride f->seqlen.
static void do_vt(struct cpr_forward *f, const struct cpr_layer_shape *c,
                  int64_t item, int64_t seqlen) {
    int64_t kvd = kv_dim(c), hd = c->head_dim;
    int64_t s = item / c->n_kv_heads, g = item % c->n_kv_heads;
    const float *v = f->v + s * seqlen * kvd + g * hd;
    float *vt = f->vt + (s * c->n_kv_heads + g) * hd * f->seqlen;
    for (int64_t t = 0; t < seqlen; t++)
        for (int64_t d = 0; d < hd; d++) vt[d * f->seqlen + t] = v[t * kvd + d];
}

static void row_worker(void *ctx, size_t ith, size_t nth) {
    struct row_job *j = ctx;
    struct cpr_forward *f = j->f;
    const struct cpr_model_config *c = &f->model->cfg;
    const struct cpr_kernels *k = f->k;
    size_t b, e;
    cpr_pool_split((size_t)j->n_items, ith, nth, 1, &b, &e);
    for (int64_t r = (int64_t)b; r < (int64_t)e; r++) {
        switch (j->op) {
        case OP_NORM:
            switch (c->block.norm) {
            case CPR_NORM_RMS: case CPR_NORM_RMS_1P: // w holds 1 + w

                k->rmsnorm_f32((size_t)c->hidden, j->src + r * c->hidden,
                               j->w, c->norm_eps, j->dst + r * c->hidden);
                break;
            case CPR_NORM_LAYER:
                k->layernorm_f32((size_t)c->hidden, j->src + r * c->hidden,
                                 j->w, j->w + VEC_NORM_B(c->hidden),
                                 c->norm_eps, j->dst + r * c->hidden);
                break;
            }
            break;
        case OP_BIAS: {
            float *d = j->dst + r * j->n_cols;
            for (int64_t i = 0; i < j->n_cols; i++) d[i] += j->w[i];
            break;
        }
        case OP_BIAS_RELU: { // torch relu: NaN stays NaN
            float *d = j->dst + r * j->n_cols;
            for (int64_t i = 0; i < j->n_cols; i++) {
                float v = j->w ? d[i] + j->w[i] : d[i];
                d[i] = v < 0.0f ? 0.0f : v;
            }
            break;
        }
        case OP_BIAS_GELU: { // HF: act(fc1(x)), fc1 with its bias
            float *d = j->dst + r * j->n_cols;
            if (j->w)
                for (int64_t i = 0; i < j->n_cols; i++) d[i] += j->w[i];
            if (c->block.mlp == CPR_MLP_GELU)
                k->gelu_f32((size_t)j->n_cols, d, d);
            else
                k->gelu_tanh_f32((size_t)j->n_cols, d, d);
            break;
        }
        case OP_ADD_PAR: {
            float *d = j->dst + r * j->n_cols;
            const float *a = j->src + r * j->n_cols,
                        *p = f->par + r * j->n_cols;
            for (int64_t i = 0; i < j->n_cols; i++) d[i] = (a[i] + p[i]) + d[i];
            break;
        }
        case OP_BIAS_ADD: {
            float *d = j->dst + r * j->n_cols;
            const float *a = j->src + r * j->n_cols;
            for (int64_t i = 0; i < j->n_cols; i++) {
                const float t = a[i] + j->w[i]; // HF: linear(x) + bias
                d[i] += t;                      // then residual + that
            }
            break;
        }
        case OP_QKV: do_qkv_row(f, j->sh, r, j->seqlen, j->has_bias); break;
        case OP_SWIGLU: { // src: gate's pre-activation (f->gate or not)
            int64_t I = j->sh->intermediate;
            k->swiglu_f32((size_t)I, j->src + r * I, f->up + r * I,
                          f->gate + r * I);
            break;
        }
        case OP_GEGLU: { // HF: act_fn(gate) * up, each rounded to f32
            int64_t I = j->sh->intermediate;
            float *g = f->gate + r * I;
            const float *u = f->up + r * I;
            k->gelu_tanh_f32((size_t)I, j->src + r * I, g);
            for (int64_t i = 0; i < I; i++) g[i] *= u[i];
            break;
        }
        case OP_VT: do_vt(f, j->sh, r, j->seqlen); break;
        case OP_NLL: {
            const float *row = j->src + r * c->vocab;
            double lse = k->logsumexp_f32((size_t)c->vocab, row);
            j->nll[r] = lse - (double)row[j->targets[r]];
            break;
        }
        }
    }
}

static void run_rows(struct row_job *j) {
    cpr_pool_run(j->f->pool, row_worker, j);
}

// f->vec[0, hidden) = the f32 weight of a norm: w, or 1 + w (rounded to
// f32, as GemmaRMSNorm's `1.0 + self.weight.float()`).
static void norm_weight_f32(struct cpr_forward *f, const struct cpr_tensor *w) {
    vec_f32(f->k, w, f->vec);
    if (f->model->cfg.block.norm == CPR_NORM_RMS_1P)
        for (int64_t i = 0; i < w->shape[0]; i++) f->vec[i] += 1.0f;
}

// f->xn (T, hidden) = the spec's norm of src rows with weight w and bias b
// (LayerNorm; may be NULL or unset otherwise), their f32 copies in f->vec.
static void block_norm(struct cpr_forward *f, struct row_job *j,
                       const struct cpr_tensor *w, const struct cpr_tensor *b,
                       const float *src, int64_t T) {
    norm_weight_f32(f, w);
    if (b && b->data) vec_f32(f->k, b, f->vec + VEC_NORM_B(f->model->cfg.hidden));
    j->op = OP_NORM, j->n_items = T, j->src = src, j->dst = f->xn,
    j->w = f->vec;
    run_rows(j);
}


// ---- linears ----
// y (m, n) = x (m, k) W^T + beta * y through core/matmul.h: threads split
// the rows of W statically, and every gemm kernel computes each y element
// with arithmetic independent of the split, so the result never depends on
// how many threads ran (tests/test_kern_gemm.c: matmul_threads).
static enum cpr_status linear(struct cpr_forward *f, const float *x,
                              int64_t m, int64_t ldx,
                              const struct cpr_tensor *w, float *y,
                              int64_t ldy, float beta, struct cpr_err *err) {
    return cpr_matmul(f->pool, f->k, (size_t)m, x, (size_t)ldx, w, y,
                      (size_t)ldy, beta, err);
}

static enum cpr_status hook_call(const struct cpr_block_hook *hook,
                                 int64_t layer, enum cpr_capture_site site,
                                 const float *x, int64_t n_cols,
                                 int64_t n_seq, int64_t seqlen,
                                 struct cpr_err *err) {
    if (!hook || !hook->fn) return CPR_OK;
    if (hook->sites && !(hook->sites & (1u << site))) return CPR_OK;
    struct cpr_capture cap = {
        .layer = layer, .site = site, .x = x, .n_rows = n_seq * seqlen,
        .n_cols = n_cols, .ld = n_cols, .n_seq = n_seq, .seqlen = seqlen,
    };
    return hook->fn(hook->user, &cap, err);
}

static enum cpr_status check_sizes(const struct cpr_forward *f, int64_t n_seq,
                                   int64_t seqlen, const char *what,
                                   struct cpr_err *err) {
    if (n_seq < 1 || seqlen < 1 || n_seq > f->max_seq || seqlen > f->seqlen)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "forward %s: %lld sequence(s) of %lld tokens; this "
                           "state holds at most %lld of %lld", what,
                           (long long)n_seq, (long long)seqlen,
                           (long long)f->max_seq, (long long)f->seqlen);
    return CPR_OK;
}

// ---- public entry points ----

enum cpr_capture_site cpr_capture_site_of(enum cpr_linear which) {
    switch (which) {
    case CPR_LINEAR_Q: case CPR_LINEAR_K: case CPR_LINEAR_V:
        return CPR_CAPTURE_ATTN_IN;
    case CPR_LINEAR_O: return CPR_CAPTURE_O_IN;
    case CPR_LINEAR_GATE: case CPR_LINEAR_UP: return CPR_CAPTURE_MLP_IN;
    default: return CPR_CAPTURE_DOWN_IN;
    }
}

const char *cpr_capture_site_name(enum cpr_capture_site site) {
    static const char *const names[CPR_CAPTURE_SITE_COUNT] = {
        "attn_in", "o_in", "mlp_in", "down_in"};
    return (unsigned)site < CPR_CAPTURE_SITE_COUNT ? names[site] : "?";
}

enum cpr_status cpr_forward_embed(struct cpr_forward *f, const int32_t *tokens,
                                  int64_t n_seq, int64_t seqlen, float *hidden,
                                  struct cpr_err *err) {
    CPR_TRY(check_sizes(f, n_seq, seqlen, "embed", err));
    const struct cpr_model *m = f->model;
    const struct cpr_tensor *e = &m->tok_embed;
    int64_t H = m->cfg.hidden, T = n_seq * seqlen;
    for (int64_t t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= m->cfg.vocab)
            return cpr_err_set(err, CPR_ERR_ARG,
                               "forward embed: token id %ld at position %lld "
                               "is outside the vocabulary [0, %lld)",
                               (long)tokens[t], (long long)t,
                               (long long)m->cfg.vocab);
    size_t esz = cpr_dtype_size(e->dtype);
    for (int64_t t = 0; t < T; t++) {
        const void *row = (const char *)e->data + (size_t)tokens[t] * H * esz;
        float *out = hidden + t * H;
        switch (e->dtype) {
        case CPR_DTYPE_BF16: f->k->bf16_to_f32((size_t)H, row, out); break;
        case CPR_DTYPE_F16: f->k->f16_to_f32((size_t)H, row, out); break;
        default: memcpy(out, row, (size_t)H * sizeof(float)); break;
        }
    }
    if (m->cfg.block.pos == CPR_POS_LEARNED) { // + pos_embed[p + offset]
        const struct cpr_tensor *pe = &m->pos_embed;
        const size_t psz = cpr_dtype_size(pe->dtype);
        for (int64_t t = 0; t < T; t++) {
            const int64_t p = t % seqlen + m->cfg.block.pos_offset;
            const void *row = (const char *)pe->data + (size_t)(p * H) * psz;
            float *out = hidden + t * H, *pr = f->vec;
            switch (pe->dtype) {
            case CPR_DTYPE_BF16: f->k->bf16_to_f32((size_t)H, row, pr); break;
            case CPR_DTYPE_F16: f->k->f16_to_f32((size_t)H, row, pr); break;
            default: memcpy(pr, row, (size_t)H * sizeof(float)); break;
            }
            for (int64_t i = 0; i < H; i++) out[i] += pr[i];
        }
    }
    const float es = m->cfg.block.embed_scale;
    if (es != 0.0f && es != 1.0f) // Gemma: embeds * normalizer
        for (int64_t i = 0; i < T * H; i++) hidden[i] *= es;
    return CPR_OK;
}

// hidden += x W^T (+ bias): without a bias the gemm accumulates into hidden
// (beta = 1, one rounding as HF's `residual + out`); with one, HF's order:
// out = x W^T + b into f->xn, then hidden += out. With `out` set (a
// parallel-residual block) the sub-block's output x W^T (+ b) goes there
// instead and hidden is untouched.
static enum cpr_status residual_linear(struct cpr_forward *f,
                                       struct row_job *j, const float *x,
                                       int64_t T, int64_t ldx,
                                       const struct cpr_tensor *w,
                                       const struct cpr_tensor *bias,
                                       float *bias_f32, float *hidden,
                                       float *out, struct cpr_err *err) {
    const int64_t H = f->model->cfg.hidden;
    if (out) {
        CPR_TRY(linear(f, x, T, ldx, w, out, H, 0.0f, err));
        if (!bias->data) return CPR_OK;
        vec_f32(f->k, bias, bias_f32);
        j->op = OP_BIAS, j->n_items = T, j->dst = out, j->w = bias_f32,
        j->n_cols = H;
        run_rows(j);
        return CPR_OK;
    }
    if (!bias->data) return linear(f, x, T, ldx, w, hidden, H, 1.0f, err);
    CPR_TRY(linear(f, x, T, ldx, w, f->xn, H, 0.0f, err));
    vec_f32(f->k, bias, bias_f32);
    j->op = OP_BIAS_ADD, j->n_items = T, j->dst = hidden, j->src = f->xn,
    j->w = bias_f32, j->n_cols = H;
    run_rows(j);
    return CPR_OK;
}

// One block's state for its sub-steps.
struct block_ctx {
    struct cpr_forward *f;
    int64_t layer, n_seq, seqlen, T;
    const struct cpr_layer *L;
    struct cpr_layer_shape sh;
    const struct cpr_block_hook *hook;
    float *gate_pre; // cpr_forward_block_recompute: gated MLPs' x W_gate^T
    int skip_down;   // ... and no down projection
    struct row_job j;
};

// hidden += attention(norm1(hidden)) (HF's `residual + hidden_states`: the
// o projection runs with beta = 1, one f32 rounding); into `out` instead
// when set (parallel residual).
static enum cpr_status block_attn(struct block_ctx *b, float *hidden,
                                  float *out, struct cpr_err *err) {
    struct cpr_forward *f = b->f;
    const struct cpr_layer *L = b->L;
    const int64_t T = b->T, H = f->model->cfg.hidden;
    const int64_t qd = q_dim(&b->sh), kvd = kv_dim(&b->sh);
    struct row_job *j = &b->j;
    block_norm(f, j, &L->attn_norm, &L->attn_norm_b, hidden, T);
    CPR_TRY(hook_call(b->hook, b->layer, CPR_CAPTURE_ATTN_IN, f->xn, H,
                      b->n_seq, b->seqlen, err));
    if (f->model->cfg.block.qkv != CPR_QKV_SEPARATE) { // split in OP_QKV
        CPR_TRY(linear(f, f->xn, T, H, &L->wqkv, f->qkv, 3 * qd, 0.0f, err));
        j->has_bias = L->bqkv.data != NULL;
        if (j->has_bias) vec_f32(f->k, &L->bqkv, f->vec + VEC_QKV(H));
    } else {
        CPR_TRY(linear(f, f->xn, T, H, &L->wq, f->q, qd, 0.0f, err));
        CPR_TRY(linear(f, f->xn, T, H, &L->wk, f->kk, kvd, 0.0f, err));
        CPR_TRY(linear(f, f->xn, T, H, &L->wv, f->v, kvd, 0.0f, err));
        j->has_bias = L->bq.data || L->bk.data || L->bv.data;
    }
    if (j->has_bias && f->model->cfg.block.qkv == CPR_QKV_SEPARATE) {
        float *bq = f->vec + VEC_QKV(H), *bk = bq + qd, *bv = bk + kvd;
        if (L->bq.data) vec_f32(f->k, &L->bq, bq);
        else memset(bq, 0, (size_t)qd * sizeof(float));
        if (L->bk.data) vec_f32(f->k, &L->bk, bk);
        else memset(bk, 0, (size_t)kvd * sizeof(float));
        if (L->bv.data) vec_f32(f->k, &L->bv, bv);
        else memset(bv, 0, (size_t)kvd * sizeof(float));
    }
    if (f->model->cfg.block.qk_norm) {
        vec_f32(f->k, &L->q_norm, f->vec + f->vec_qkn);
        vec_f32(f->k, &L->k_norm, f->vec + f->vec_qkn + b->sh.head_dim);
    }
    j->op = OP_QKV, j->n_items = T; // biases, (q/k norms,) then positions
    run_rows(j);
    j->op = OP_VT, j->n_items = b->n_seq * b->sh.n_kv_heads;
    run_rows(j);
    cpr_attention_run(f, &b->sh, b->n_seq, b->seqlen);
    CPR_TRY(hook_call(b->hook, b->layer, CPR_CAPTURE_O_IN, f->att, qd,
                      b->n_seq, b->seqlen, err));
    return residual_linear(f, j, f->att, T, qd, &L->wo, &L->bo,
                           f->vec + VEC_BO(H), hidden, out, err);
}

// hidden += mlp(norm2(hidden)), the spec's MLP kind; into `out` instead
// when set (parallel residual).
static enum cpr_status block_mlp(struct block_ctx *b, float *hidden,
                                 float *out, struct cpr_err *err) {
    struct cpr_forward *f = b->f;
    const struct cpr_layer *L = b->L;
    const int64_t T = b->T, H = f->model->cfg.hidden, I = b->sh.intermediate;
    struct row_job *j = &b->j;
    block_norm(f, j, &L->mlp_norm, &L->mlp_norm_b, hidden, T);
    CPR_TRY(hook_call(b->hook, b->layer, CPR_CAPTURE_MLP_IN, f->xn, H,
                      b->n_seq, b->seqlen, err));
    switch (f->model->cfg.block.mlp) {
    case CPR_MLP_SWIGLU:
    case CPR_MLP_GEGLU_TANH: {
        float *pre = b->gate_pre ? b->gate_pre : f->gate;
        CPR_TRY(linear(f, f->xn, T, H, &L->w_gate, pre, I, 0.0f, err));
        CPR_TRY(linear(f, f->xn, T, H, &L->w_up, f->up, I, 0.0f, err));
        j->op = f->model->cfg.block.mlp == CPR_MLP_SWIGLU ? OP_SWIGLU
                                                          : OP_GEGLU;
        j->n_items = T, j->src = pre;
        run_rows(j);
        break;
    }
    case CPR_MLP_RELU: { // fc1 (+ bias) -> relu, into f->gate
        float *bup = f->vec + VEC_QKV(H) + q_dim(&b->sh) + 2 * kv_dim(&b->sh);
        CPR_TRY(linear(f, f->xn, T, H, &L->w_up, f->gate, I, 0.0f, err));
        if (L->b_up.data) vec_f32(f->k, &L->b_up, bup);
        j->op = OP_BIAS_RELU, j->n_items = T, j->dst = f->gate,
        j->w = L->b_up.data ? bup : NULL, j->n_cols = I;
        run_rows(j);
        break;
    }
    case CPR_MLP_GELU:
    case CPR_MLP_GELU_TANH: { // fc1 (+ bias) -> gelu, into f->gate
        float *bup = f->vec + VEC_QKV(H) + q_dim(&b->sh) + 2 * kv_dim(&b->sh);
        CPR_TRY(linear(f, f->xn, T, H, &L->w_up, f->gate, I, 0.0f, err));
        if (L->b_up.data) vec_f32(f->k, &L->b_up, bup);
        j->op = OP_BIAS_GELU, j->n_items = T, j->dst = f->gate,
        j->w = L->b_up.data ? bup : NULL, j->n_cols = I;
        run_rows(j);
        break;
    }
    }
    CPR_TRY(hook_call(b->hook, b->layer, CPR_CAPTURE_DOWN_IN, f->gate, I,
                      b->n_seq, b->seqlen, err));
    if (b->skip_down) return CPR_OK;
    return residual_linear(f, j, f->gate, T, I, &L->w_down, &L->b_down,
                           f->vec + VEC_BDOWN(H), hidden, out, err);
}

static enum cpr_status block_run(struct cpr_forward *f, int64_t layer,
                                 float *hidden, int64_t n_seq, int64_t seqlen,
                                 const struct cpr_block_hook *hook,
                                 float *gate_pre, int skip_down,
                                 struct cpr_err *err) {
    CPR_TRY(check_sizes(f, n_seq, seqlen, "block", err));
    const struct cpr_model *m = f->model;
    const struct cpr_model_config *c = &m->cfg;
    if (layer < 0 || layer >= c->n_layers)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "forward block: layer %lld outside [0, %lld)",
                           (long long)layer, (long long)c->n_layers);
    struct block_ctx b = {
        .f = f, .layer = layer, .n_seq = n_seq, .seqlen = seqlen,
        .T = n_seq * seqlen, .L = &m->layers[layer],
        .sh = cpr_layer_shape_of(m, layer), .hook = hook,
        .gate_pre = gate_pre, .skip_down = skip_down,
    };
    b.j = (struct row_job){.f = f, .sh = &b.sh, .seqlen = seqlen};
    switch (c->block.resid) {
    case CPR_RESID_SEQUENTIAL:
        // a removed sub-block passes the residual through
        if (b.sh.has_attn) CPR_TRY(block_attn(&b, hidden, NULL, err));
        if (b.sh.has_mlp) CPR_TRY(block_mlp(&b, hidden, NULL, err));
        break;
    case CPR_RESID_PARALLEL: // h = (mlp(ln2 h) + attn(ln1 h)) + h
        if (!b.sh.has_attn || !b.sh.has_mlp) { // one sub-block: h += it
            if (b.sh.has_attn) CPR_TRY(block_attn(&b, hidden, NULL, err));
            if (b.sh.has_mlp) CPR_TRY(block_mlp(&b, hidden, NULL, err));
            break;
        }
        CPR_TRY(block_attn(&b, hidden, f->par, err));
        CPR_TRY(block_mlp(&b, hidden, f->xn, err));
        b.j.op = OP_ADD_PAR, b.j.n_items = b.T, b.j.dst = hidden,
        b.j.src = f->xn, b.j.n_cols = c->hidden;
        run_rows(&b.j);
        break;
    }
    return CPR_OK;
}

enum cpr_status cpr_forward_block(struct cpr_forward *f, int64_t layer,
                                  float *hidden, int64_t n_seq,
                                  int64_t seqlen,
                                  const struct cpr_block_hook *hook,
                                  struct cpr_err *err) {
    return block_run(f, layer, hidden, n_seq, seqlen, hook, NULL, 0, err);
}

enum cpr_status cpr_forward_block_recompute(struct cpr_forward *f,
                                            int64_t layer, float *hidden,
                                            int64_t n_seq, int64_t seqlen,
                                            const struct cpr_block_hook *hook,
                                            float *gate_pre,
                                            struct cpr_err *err) {
    return block_run(f, layer, hidden, n_seq, seqlen, hook, gate_pre, 1, err);
}

enum cpr_status cpr_forward_logits(struct cpr_forward *f, const float *hidden,
                                   int64_t n_rows, float *logits,
                                   struct cpr_err *err) {
    const struct cpr_model *m = f->model;
    if (n_rows < 1 || n_rows > f->logit_rows)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "forward logits: %lld rows; at most %lld per call",
                           (long long)n_rows, (long long)f->logit_rows);
    norm_weight_f32(f, &m->final_norm);
    if (m->final_norm_b.data)
        vec_f32(f->k, &m->final_norm_b, f->vec + VEC_NORM_B(m->cfg.hidden));
    struct row_job j = {.f = f, .op = OP_NORM, .n_items = n_rows,
                        .src = hidden, .dst = f->lrows, .w = f->vec};
    run_rows(&j);
    return linear(f, f->lrows, n_rows, m->cfg.hidden, &m->lm_head, logits,
                  m->cfg.vocab, 0.0f, err);
}

enum cpr_status cpr_forward_nll(struct cpr_forward *f, const float *hidden,
                                const int32_t *tokens, int64_t n_seq,
                                int64_t seqlen, int64_t first, double *nll,
                                struct cpr_err *err) {
    CPR_TRY(check_sizes(f, n_seq, seqlen, "nll", err));
    const struct cpr_model_config *c = &f->model->cfg;
    if (seqlen < 2 || first < 0 || first > seqlen - 2)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "forward nll: first scored position %lld must be "
                           "in [0, seqlen - 2] (seqlen %lld)",
                           (long long)first, (long long)seqlen);
    int64_t per_seq = seqlen - 1 - first;
    for (int64_t s = 0; s < n_seq; s++) {
        const int32_t *tok = tokens + s * seqlen;
        for (int64_t p = first + 1; p < seqlen; p++)
            if (tok[p] < 0 || tok[p] >= c->vocab)
                return cpr_err_set(err, CPR_ERR_ARG,
                                   "forward nll: target id %ld at position "
                                   "%lld outside [0, %lld)", (long)tok[p],
                                   (long long)(s * seqlen + p),
                                   (long long)c->vocab);
        for (int64_t p0 = first; p0 < seqlen - 1; p0 += f->logit_rows) {
            int64_t n = seqlen - 1 - p0;
            if (n > f->logit_rows) n = f->logit_rows;
            const float *rows = hidden + (s * seqlen + p0) * c->hidden;
            CPR_TRY(cpr_forward_logits(f, rows, n, f->logits, err));
            struct row_job j = {.f = f, .op = OP_NLL, .n_items = n,
                                .src = f->logits, .targets = tok + p0 + 1,
                                .nll = nll + s * per_seq + (p0 - first)};
            run_rows(&j);
        }
    }
    return CPR_OK;
}

enum cpr_status cpr_forward_chunk_nll(struct cpr_forward *f,
                                      const int32_t *tokens, int64_t n_seq,
                                      int64_t seqlen, int64_t first,
                                      double *nll, struct cpr_err *err) {
    CPR_TRY(cpr_forward_embed(f, tokens, n_seq, seqlen, f->hidden, err));
    for (int64_t l = 0; l < f->model->cfg.n_layers; l++)
        CPR_TRY(cpr_forward_block(f, l, f->hidden, n_seq, seqlen, NULL, err));
    return cpr_forward_nll(f, f->hidden, tokens, n_seq, seqlen, first, nll,
                           err);
}
