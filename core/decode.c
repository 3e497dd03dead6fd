// core/decode.c: incremental decoding with a KV cache (see decode.h).
#include "core/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul.h"
#include "core/rope_table.h"

// ---- sizes ----

enum { B_K, B_V, B_COS, B_SIN, B_H, B_XN, B_Q, B_KK, B_VV, B_ATT, B_GATE,
       B_UP, B_SCORES, B_VEC, B_COUNT };

// Cache floats per position of layer l: its KV width, 0 without attention.
static int64_t layer_kvd(const struct cpr_model *m, int64_t l) {
    const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
    return sh.has_attn ? sh.n_kv_heads * sh.head_dim : 0;
}

// Work buffers take the widest layer (per-layer shapes: structured
// pruning); the cache holds only the layers that have attention.
static void sizes(const struct cpr_model *m, size_t nt, int64_t ctx,
                  int64_t step, double *o) {
    const struct cpr_model_config *c = &m->cfg;
    const struct cpr_layer_shape mx = cpr_model_max_shape(m);
    double qd = (double)(mx.n_heads * mx.head_dim);
    double kvd = (double)(mx.n_kv_heads * mx.head_dim);
    double cache = 0;
    for (int64_t l = 0; l < c->n_layers; l++)
        cache += (double)layer_kvd(m, l);
    o[B_K] = o[B_V] = cache * (double)ctx;
    o[B_COS] = o[B_SIN] = (double)ctx * (double)(c->head_dim / 2);
    o[B_H] = o[B_XN] = (double)step * (double)c->hidden;
    o[B_Q] = o[B_ATT] = (double)step * qd;
    o[B_KK] = o[B_VV] = (double)step * kvd;
    o[B_GATE] = o[B_UP] = (double)step * (double)mx.intermediate;
    o[B_SCORES] = (double)nt * (double)ctx;
    o[B_VEC] = (double)c->hidden + qd + 2 * kvd;
}

size_t cpr_decode_arena_bytes(const struct cpr_model *m, size_t n_threads,
                              int64_t max_ctx, int64_t max_step) {
    double o[B_COUNT], t = 0;
    sizes(m, n_threads, max_ctx, max_step, o);
    for (int i = 0; i < B_COUNT; i++) t += o[i] * sizeof(float) + 64;
    t += (double)(m->cfg.n_layers + 1) * sizeof(int64_t); // kv_off
    return t > (double)SIZE_MAX / 2 ? SIZE_MAX : (size_t)t;
}

enum cpr_status cpr_decode_init(struct cpr_decode *d, const struct cpr_model *m,
                                const struct cpr_kernels *k,
                                struct cpr_pool *pool, int64_t max_ctx,
                                int64_t max_step, struct cpr_err *err) {
    memset(d, 0, sizeof *d);
    if (!k) k = cpr_kernels_get();
    if (max_ctx < 1 || max_step < 1 || max_step > max_ctx ||
        max_ctx > ((int64_t)1 << 24))
        return cpr_err_set(err, CPR_ERR_ARG,
                           "decode: need 1 <= max_step <= max_ctx <= 2^24 "
                           "(found %lld, %lld)", (long long)max_step,
                           (long long)max_ctx);
    CPR_TRY(cpr_model_validate(m, err));
    // This incremental pass implements the LLaMA block at the config's
    // shape only (core/arch.h zeroed spec); other blocks go through
    // core/forward.c.
    const struct cpr_block_spec *bs = &m->cfg.block;
    const char *why = NULL;
    if (bs->norm != CPR_NORM_RMS || bs->pos != CPR_POS_ROPE ||
        bs->mlp != CPR_MLP_SWIGLU || bs->resid != CPR_RESID_SEQUENTIAL ||
        bs->qk_norm || (bs->embed_scale != 0 && bs->embed_scale != 1) ||
        bs->qkv != CPR_QKV_SEPARATE || bs->rotary_dim != 0 ||
        bs->attn_scale != 0)
        why = "the block is not the LLaMA block (e.g. OPT, Qwen3, Gemma, "
              "GPT-NeoX, GPT-2)";
    else if (bs->sliding_window > 0 && bs->sliding_window < max_ctx)
        why = "a sliding window shorter than the context";
    if (why)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "decode: KV-cache "
                           "decoding does not support this model yet: %s",
                           why);
    d->model = m, d->k = k, d->pool = pool;
    d->n_threads = cpr_pool_size(pool);
    d->max_ctx = max_ctx, d->max_step = max_step;
    double o[B_COUNT], total = 0;
    sizes(m, d->n_threads, max_ctx, max_step, o);
    for (int i = 0; i < B_COUNT; i++) total += o[i] * sizeof(float) + 64;
    d->kv_off = malloc((size_t)(m->cfg.n_layers + 1) * sizeof *d->kv_off);
    if (!d->kv_off)
        return cpr_err_set(err, CPR_ERR_NOMEM, "decode: cannot allocate the "
                           "cache layout of %lld layers",
                           (long long)m->cfg.n_layers);
    d->kv_off[0] = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++)
        d->kv_off[l + 1] = d->kv_off[l] + layer_kvd(m, l) * max_ctx;
    enum cpr_status s = cpr_arena_init(&d->arena, (size_t)total, err);
    if (s != CPR_OK) {
        cpr_err_set(err, s, "decode: cannot allocate %.0f MiB for a KV cache "
                    "of %lld positions", total / (1 << 20), (long long)max_ctx);
        goto fail;
    }
    float **dst[B_COUNT] = {&d->kcache, &d->vcache, &d->rope_cos, &d->rope_sin,
                            &d->h, &d->xn, &d->q, &d->kk, &d->v, &d->att,
                            &d->gate, &d->up, &d->scores, &d->vec};
    for (int i = 0; i < B_COUNT; i++)
        *dst[i] = cpr_arena_alloc(&d->arena, (size_t)o[i] * sizeof(float), 64);
    s = cpr_rope_table_build(&m->cfg, max_ctx, d->rope_cos, d->rope_sin, err);
    if (s != CPR_OK) goto fail;
    return CPR_OK;
fail:
    cpr_decode_free(d);
    return s;
}

void cpr_decode_free(struct cpr_decode *d) {
    if (!d) return;
    cpr_arena_free(&d->arena);
    free(d->kv_off);
    memset(d, 0, sizeof *d);
}

void cpr_decode_reset(struct cpr_decode *d) { d->n_past = 0; }

enum cpr_status cpr_decode_truncate(struct cpr_decode *d, int64_t n,
                                    struct cpr_err *err) {
    if (n < 0 || n > d->n_past)
        return cpr_err_set(err, CPR_ERR_ARG, "decode: cannot truncate the "
                           "cache to %lld positions: expected 0..%lld",
                           (long long)n, (long long)d->n_past);
    d->n_past = n;
    return CPR_OK;
}

// ---- pieces ----

static void vec_f32(const struct cpr_kernels *k, const struct cpr_tensor *t,
                    float *out) {
    size_t n = (size_t)t->shape[0];
    switch (t->dtype) {
    case CPR_DTYPE_BF16: k->bf16_to_f32(n, t->data, out); break;
    case CPR_DTYPE_F16: k->f16_to_f32(n, t->data, out); break;
    default: memcpy(out, t->data, n * sizeof(float)); break;
    }
}

static void rmsnorm_rows(struct cpr_decode *d, const float *src, float *dst,
                         int64_t n) {
    const struct cpr_model_config *c = &d->model->cfg;
    for (int64_t r = 0; r < n; r++)
        d->k->rmsnorm_f32((size_t)c->hidden, src + r * c->hidden, d->vec,
                          c->norm_eps, dst + r * c->hidden);
}

struct attn_job {
    struct cpr_decode *d;
    int64_t layer, n;
};

// Item (i, h): token i (position n_past + i), query head h, attends to
// cached positions 0..n_past+i of kv head h / group. HF: softmax(q k^T *
// head_dim^-0.5) v in f32. The cache of a layer is head-major, (n_kv_heads,
// max_ctx, head_dim): the keys and values one head reads are contiguous, so
// a step streams them instead of gathering head_dim-float pieces kv_dim
// floats apart.
static void attn_worker(void *ctx, size_t ith, size_t nth) {
    const struct attn_job *j = ctx;
    struct cpr_decode *d = j->d;
    const struct cpr_layer_shape sh = cpr_layer_shape_of(d->model, j->layer);
    const struct cpr_kernels *k = d->k;
    int64_t hd = sh.head_dim, nh = sh.n_heads, group = nh / sh.n_kv_heads;
    int64_t qd = nh * hd;
    float scale = (float)(1.0 / sqrt((double)hd));
    float *S = d->scores + (int64_t)ith * d->max_ctx;
    const float *K = d->kcache + d->kv_off[j->layer];
    const float *V = d->vcache + d->kv_off[j->layer];
    const int64_t head_stride = d->max_ctx * hd;
    for (int64_t it = (int64_t)ith; it < j->n * nh; it += (int64_t)nth) {
        int64_t i = it / nh, h = it % nh, g = h / group;
        int64_t nk = d->n_past + i + 1;
        const float *q = d->q + i * qd + h * hd;
        const float *Kg = K + g * head_stride, *Vg = V + g * head_stride;
        k->gemm_f32(1, (size_t)nk, (size_t)hd, scale, q, (size_t)qd, Kg,
                    (size_t)hd, 0.0f, S, (size_t)nk);
        k->softmax_f32((size_t)nk, S, S);
        float *o = d->att + i * qd + h * hd;
        memset(o, 0, (size_t)hd * sizeof(float));
        // o = sum_t S[t] V[t] in one pass over the head's value rows
        // (bit-identical to one axpy_f32 per row, t ascending)
        k->axpy_rows_f32((size_t)hd, (size_t)nk, S, Vg, (size_t)hd, o);
    }
}

static enum cpr_status lin(struct cpr_decode *d, const float *x, int64_t m,
                           int64_t ldx, const struct cpr_tensor *w, float *y,
                           int64_t ldy, float beta, struct cpr_err *err) {
    return cpr_matmul(d->pool, d->k, (size_t)m, x, (size_t)ldx, w, y,
                      (size_t)ldy, beta, err);
}

// h += y + bias row by row (bias NULL: h += y), the order forward.c's
// OP_BIAS_ADD rounds in. bias is (H) f32.
static void add_rows(float *h, const float *y, const float *bias, int64_t n,
                     int64_t H) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < H; t++)
            h[i * H + t] += bias ? y[i * H + t] + bias[t] : y[i * H + t];
}

// The output linear of a sub-block (o_proj / down_proj) added into the
// residual: straight into h (beta 1) without a bias; with one (FLAP's
// compensation) into d->xn, then h += (y + b) as the full pass does.
static enum cpr_status out_lin(struct cpr_decode *d, const float *x, int64_t n,
                               int64_t ldx, const struct cpr_tensor *w,
                               const struct cpr_tensor *b,
                               struct cpr_err *err) {
    const int64_t H = d->model->cfg.hidden;
    if (!b->data) return lin(d, x, n, ldx, w, d->h, H, 1.0f, err);
    CPR_TRY(lin(d, x, n, ldx, w, d->xn, H, 0.0f, err));
    vec_f32(d->k, b, d->vec);
    add_rows(d->h, d->xn, d->vec, n, H);
    return CPR_OK;
}

static enum cpr_status block_attn(struct cpr_decode *d, int64_t l, int64_t n,
                                  struct cpr_err *err) {
    const struct cpr_model_config *c = &d->model->cfg;
    const struct cpr_layer *L = &d->model->layers[l];
    const struct cpr_layer_shape sh = cpr_layer_shape_of(d->model, l);
    const struct cpr_kernels *k = d->k;
    int64_t H = c->hidden, hd = sh.head_dim;
    int64_t qd = sh.n_heads * hd, kvd = sh.n_kv_heads * hd;
    vec_f32(k, &L->attn_norm, d->vec);
    rmsnorm_rows(d, d->h, d->xn, n);
    CPR_TRY(lin(d, d->xn, n, H, &L->wq, d->q, qd, 0.0f, err));
    CPR_TRY(lin(d, d->xn, n, H, &L->wk, d->kk, kvd, 0.0f, err));
    CPR_TRY(lin(d, d->xn, n, H, &L->wv, d->v, kvd, 0.0f, err));
    float *bq = d->vec + H, *bk = bq + qd, *bv = bk + kvd;
    int has_bias = L->bq.data || L->bk.data || L->bv.data;
    if (L->bq.data) vec_f32(k, &L->bq, bq);
    if (L->bk.data) vec_f32(k, &L->bk, bk);
    if (L->bv.data) vec_f32(k, &L->bv, bv);
    cpr_rope_f32_fn rope = c->rope_style == CPR_ROPE_INTERLEAVED
                               ? k->rope_interleaved_f32
                               : k->rope_half_f32;
    float *Kc = d->kcache + d->kv_off[l];
    float *Vc = d->vcache + d->kv_off[l];
    for (int64_t i = 0; i < n; i++) {
        float *q = d->q + i * qd, *kr = d->kk + i * kvd, *v = d->v + i * kvd;
        if (has_bias) {
            if (L->bq.data) for (int64_t t = 0; t < qd; t++) q[t] += bq[t];
            if (L->bk.data) for (int64_t t = 0; t < kvd; t++) kr[t] += bk[t];
            if (L->bv.data) for (int64_t t = 0; t < kvd; t++) v[t] += bv[t];
        }
        int64_t pos = d->n_past + i;
        const float *cs = d->rope_cos + pos * (hd / 2);
        const float *sn = d->rope_sin + pos * (hd / 2);
        rope((size_t)sh.n_heads, (size_t)hd, q, cs, sn);
        rope((size_t)sh.n_kv_heads, (size_t)hd, kr, cs, sn);
        for (int64_t g = 0; g < sh.n_kv_heads; g++) { // head-major
            const int64_t at = (g * d->max_ctx + pos) * hd;
            memcpy(Kc + at, kr + g * hd, (size_t)hd * sizeof(float));
            memcpy(Vc + at, v + g * hd, (size_t)hd * sizeof(float));
        }
    }
    struct attn_job aj = {.d = d, .layer = l, .n = n};
    cpr_pool_run(d->pool, attn_worker, &aj);
    return out_lin(d, d->att, n, qd, &L->wo, &L->bo, err);
}

static enum cpr_status block_mlp(struct cpr_decode *d, int64_t l, int64_t n,
                                 struct cpr_err *err) {
    const struct cpr_model_config *c = &d->model->cfg;
    const struct cpr_layer *L = &d->model->layers[l];
    const struct cpr_kernels *k = d->k;
    int64_t H = c->hidden, I = cpr_layer_shape_of(d->model, l).intermediate;
    vec_f32(k, &L->mlp_norm, d->vec);
    rmsnorm_rows(d, d->h, d->xn, n);
    CPR_TRY(lin(d, d->xn, n, H, &L->w_gate, d->gate, I, 0.0f, err));
    CPR_TRY(lin(d, d->xn, n, H, &L->w_up, d->up, I, 0.0f, err));
    for (int64_t i = 0; i < n; i++)
        k->swiglu_f32((size_t)I, d->gate + i * I, d->up + i * I, d->gate + i * I);
    return out_lin(d, d->gate, n, I, &L->w_down, &L->b_down, err);
}

enum cpr_status cpr_decode_step(struct cpr_decode *d, const int32_t *tokens,
                                int64_t n, int all_rows, float *logits,
                                struct cpr_err *err) {
    const struct cpr_model *m = d->model;
    const struct cpr_model_config *c = &m->cfg;
    if (n < 1 || n > d->max_step || d->n_past + n > d->max_ctx)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "decode: %lld tokens after %lld cached; the state "
                           "holds %lld per step and %lld in all",
                           (long long)n, (long long)d->n_past,
                           (long long)d->max_step, (long long)d->max_ctx);
    int64_t H = c->hidden;
    size_t esz = cpr_dtype_size(m->tok_embed.dtype);
    for (int64_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= c->vocab)
            return cpr_err_set(err, CPR_ERR_ARG,
                               "decode: token id %ld at position %lld is "
                               "outside the vocabulary [0, %lld)",
                               (long)tokens[i], (long long)(d->n_past + i),
                               (long long)c->vocab);
        const void *row = (const char *)m->tok_embed.data +
                          (size_t)tokens[i] * (size_t)H * esz;
        float *out = d->h + i * H;
        switch (m->tok_embed.dtype) {
        case CPR_DTYPE_BF16: d->k->bf16_to_f32((size_t)H, row, out); break;
        case CPR_DTYPE_F16: d->k->f16_to_f32((size_t)H, row, out); break;
        default: memcpy(out, row, (size_t)H * sizeof(float)); break;
        }
    }
    for (int64_t l = 0; l < c->n_layers; l++) {
        // a removed sub-block passes the residual through (its KV cache
        // rows stay unused)
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (sh.has_attn) CPR_TRY(block_attn(d, l, n, err));
        if (sh.has_mlp) CPR_TRY(block_mlp(d, l, n, err));
    }
    d->n_past += n;
    vec_f32(d->k, &m->final_norm, d->vec);
    int64_t first = all_rows ? 0 : n - 1, rows = n - first;
    rmsnorm_rows(d, d->h + first * H, d->xn, rows);
    return lin(d, d->xn, rows, H, &m->lm_head, logits, c->vocab, 0.0f, err);
}
