// core/struct_pad.c: zero-pad a width-pruned model back to uniform shapes
// (core/struct_pad.h).
#include "core/struct_pad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t n_kept(const uint8_t *keep, int64_t n) {
    if (!keep) return n;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += keep[i] != 0;
    return k;
}

static struct cpr_tensor view_of(const struct cpr_tensor *t) {
    struct cpr_tensor v = *t;
    v.owns_data = 0;
    return v;
}

// dst (rows n_units*unit, or a vector) zeroed, the rows of src placed at
// the kept units. keep NULL: every unit. An unset src leaves dst unset
// unless `always`, then dst is a zero f32 vector/matrix of that size.
static enum cpr_status scatter_rows(struct cpr_tensor *dst,
                                    const struct cpr_tensor *src,
                                    const uint8_t *keep, int64_t n_units,
                                    int64_t unit, int always,
                                    struct cpr_err *err) {
    memset(dst, 0, sizeof *dst);
    if (!src->data) {
        if (!always) return CPR_OK;
        const int64_t n = n_units * unit;
        return cpr_tensor_alloc(dst, CPR_DTYPE_F32, 1, &n, err);
    }
    const int nd = src->ndim;
    const int64_t cols = nd == 2 ? src->shape[1] : 1;
    const int64_t ld = nd == 2 ? src->stride[0] : 1;
    int64_t shape[2] = {n_units * unit, cols};
    CPR_TRY(cpr_tensor_alloc(dst, src->dtype, nd, shape, err));
    const size_t es = cpr_dtype_size(src->dtype);
    const size_t row = (size_t)cols * es;
    const char *s = src->data;
    char *d = dst->data;
    int64_t r = 0; // next row of src
    for (int64_t u = 0; u < n_units; u++) {
        if (keep && !keep[u]) continue;
        for (int64_t i = 0; i < unit; i++, r++)
            memcpy(d + (size_t)(u * unit + i) * row,
                   s + (size_t)(r * ld) * es, row);
    }
    return CPR_OK;
}

// dst (rows, n_units*unit) zeroed, the columns of 2-D src at the kept units.
static enum cpr_status scatter_cols(struct cpr_tensor *dst,
                                    const struct cpr_tensor *src,
                                    const uint8_t *keep, int64_t n_units,
                                    int64_t unit, struct cpr_err *err) {
    const int64_t rows = src->shape[0];
    int64_t shape[2] = {rows, n_units * unit};
    CPR_TRY(cpr_tensor_alloc(dst, src->dtype, 2, shape, err));
    const size_t es = cpr_dtype_size(src->dtype);
    const char *s = src->data;
    char *d = dst->data;
    for (int64_t r = 0; r < rows; r++) {
        const char *sr = s + (size_t)(r * src->stride[0]) * es;
        char *dr = d + (size_t)(r * n_units * unit) * es;
        int64_t c = 0;
        for (int64_t u = 0; u < n_units; u++) {
            if (keep && !keep[u]) continue;
            memcpy(dr + (size_t)(u * unit) * es, sr + (size_t)(c * unit) * es,
                   (size_t)unit * es);
            c++;
        }
    }
    return CPR_OK;
}

// An owned f32 copy of a (hidden) bias, or zeros when unset.
static enum cpr_status bias_or_zero(struct cpr_tensor *dst,
                                    const struct cpr_tensor *src, int64_t h,
                                    struct cpr_err *err) {
    memset(dst, 0, sizeof *dst);
    if (src->data) return cpr_tensor_copy_f32(dst, src, err);
    return cpr_tensor_alloc(dst, CPR_DTYPE_F32, 1, &h, err);
}

// OPT, GPT-2, GPT-NeoX: biases on every linear already (OPT enable_bias,
// GPT-2 always, GPT-NeoX attention_bias for q/k/v and dense), so padding
// keeps the config as it is.
static int fc_family(const struct cpr_model_config *c) {
    return c->arch == CPR_ARCH_OPT || c->arch == CPR_ARCH_GPT2 ||
           c->arch == CPR_ARCH_GPT_NEOX;
}

// What the model itself must satisfy, before and after pruning: LLaMA
// arch with a SwiGLU MLP, or OPT / GPT-2 / GPT-NeoX; per layer both
// sub-blocks, dense weights, no bias the family's config cannot express.
static enum cpr_status check_model(const struct cpr_model *m,
                                   struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    const int fc = fc_family(c);
    if (!fc && (c->arch != CPR_ARCH_LLAMA || c->block.mlp != CPR_MLP_SWIGLU))
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "hf-padded output: "
                           "LLaMA, OPT, GPT-2 and GPT-NeoX models only (their "
                           "stock configs can hold the biases it needs)");
    for (int64_t l = 0; l < c->n_layers; l++) {
        const struct cpr_layer *L = &m->layers[l];
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (!sh.has_attn || !sh.has_mlp)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "hf-padded output: "
                               "layer %lld has a removed sub-block",
                               (long long)l);
        const struct cpr_tensor *ts[] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                         &L->w_gate, &L->w_up, &L->w_down,
                                         &L->wqkv};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            if (ts[i]->sparse)
                return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "hf-padded "
                                   "output: layer %lld holds a compressed "
                                   "weight", (long long)l);
        if (fc) {
            if (c->arch == CPR_ARCH_GPT_NEOX && !c->qkv_bias && L->bo.data)
                return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "hf-padded "
                                   "output: layer %lld has an "
                                   "attention.dense bias (FLAP's "
                                   "compensation) but the GPT-NeoX config "
                                   "has attention_bias false; use "
                                   "--no-bias-comp or --out-format hf",
                                   (long long)l);
            continue;
        }
        if (L->b_up.data || L->attn_norm_b.data || L->mlp_norm_b.data)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "hf-padded output: "
                               "layer %lld has a bias LlamaConfig cannot "
                               "express", (long long)l);
    }
    return CPR_OK;
}

enum cpr_status cpr_struct_pad_check_source(const struct cpr_model *m,
                                            struct cpr_err *err) {
    CPR_TRY(check_model(m, err));
    const struct cpr_model_config *c = &m->cfg;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (sh.n_heads != c->n_heads || sh.n_kv_heads != c->n_kv_heads ||
            sh.intermediate != c->intermediate)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "hf-padded output: "
                               "layer %lld has %lld heads, %lld KV heads and "
                               "%lld channels, the config %lld, %lld and "
                               "%lld: pad needs a uniform source (write the "
                               "default hf format)", (long long)l,
                               (long long)sh.n_heads,
                               (long long)sh.n_kv_heads,
                               (long long)sh.intermediate,
                               (long long)c->n_heads, (long long)c->n_kv_heads,
                               (long long)c->intermediate);
    }
    return CPR_OK;
}

static enum cpr_status check(const struct cpr_struct_plan *p,
                             const struct cpr_model *m, int *any_bo,
                             int *any_bd, struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    CPR_TRY(check_model(m, err));
    if (p->n_layers != c->n_layers || !p->layers)
        return cpr_err_set(err, CPR_ERR_ARG, "hf-padded output: plan has "
                           "%lld layers, the model %lld",
                           (long long)p->n_layers, (long long)c->n_layers);
    *any_bo = *any_bd = 0;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const struct cpr_layer *L = &m->layers[l];
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        const struct cpr_struct_layer_plan *lp = &p->layers[l];
        if (n_kept(lp->keep_kv, c->n_kv_heads) != sh.n_kv_heads ||
            sh.n_heads * c->n_kv_heads != sh.n_kv_heads * c->n_heads ||
            n_kept(lp->keep_ch, c->intermediate) != sh.intermediate)
            return cpr_err_set(err, CPR_ERR_ARG, "hf-padded output: layer "
                               "%lld has %lld KV heads and %lld channels, the "
                               "plan keeps %lld of %lld and %lld of %lld (was "
                               "the source model uniform?)", (long long)l,
                               (long long)sh.n_kv_heads,
                               (long long)sh.intermediate,
                               (long long)n_kept(lp->keep_kv, c->n_kv_heads),
                               (long long)c->n_kv_heads,
                               (long long)n_kept(lp->keep_ch, c->intermediate),
                               (long long)c->intermediate);
        *any_bo |= L->bo.data != NULL || L->bq.data != NULL;
        *any_bd |= L->b_down.data != NULL;
    }
    return CPR_OK;
}

static enum cpr_status pad_layer(const struct cpr_struct_layer_plan *lp,
                                 const struct cpr_layer *L,
                                 const struct cpr_model_config *c, int bo,
                                 int bd, struct cpr_layer *O,
                                 struct cpr_err *err) {
    const int64_t hd = c->head_dim, rep = c->n_heads / c->n_kv_heads;
    const int64_t nkv = c->n_kv_heads, im = c->intermediate, h = c->hidden;
    const uint8_t *kv = lp->keep_kv, *ch = lp->keep_ch;
    O->attn_norm = view_of(&L->attn_norm);
    O->mlp_norm = view_of(&L->mlp_norm);
    O->q_norm = view_of(&L->q_norm);
    O->k_norm = view_of(&L->k_norm);
    CPR_TRY(scatter_rows(&O->wq, &L->wq, kv, nkv, rep * hd, 0, err));
    CPR_TRY(scatter_rows(&O->wk, &L->wk, kv, nkv, hd, 0, err));
    CPR_TRY(scatter_rows(&O->wv, &L->wv, kv, nkv, hd, 0, err));
    CPR_TRY(scatter_cols(&O->wo, &L->wo, kv, nkv, rep * hd, err));
    CPR_TRY(scatter_rows(&O->w_gate, &L->w_gate, ch, im, 1, 0, err));
    CPR_TRY(scatter_rows(&O->w_up, &L->w_up, ch, im, 1, 0, err));
    CPR_TRY(scatter_cols(&O->w_down, &L->w_down, ch, im, 1, err));
    if (bo) {
        CPR_TRY(scatter_rows(&O->bq, &L->bq, kv, nkv, rep * hd, 1, err));
        CPR_TRY(scatter_rows(&O->bk, &L->bk, kv, nkv, hd, 1, err));
        CPR_TRY(scatter_rows(&O->bv, &L->bv, kv, nkv, hd, 1, err));
        CPR_TRY(bias_or_zero(&O->bo, &L->bo, h, err));
    }
    if (bd) CPR_TRY(bias_or_zero(&O->b_down, &L->b_down, h, err));
    return CPR_OK;
}

// OPT / GPT-2 / GPT-NeoX: zero rows for removed heads' q/k/v (fused: at
// the head's positions: NeoX 3 * hd rows per head, GPT-2 hd rows in each of
// the q | k | v thirds) and their bias elements, zero out_proj columns;
// zero fc1 rows and bias elements (relu / gelu(0) = 0), zero fc2 columns.
// Output biases are copied (FLAP's compensation folded in already).
static enum cpr_status pad_layer_fc(const struct cpr_struct_layer_plan *lp,
                                    const struct cpr_layer *L,
                                    const struct cpr_model_config *c,
                                    struct cpr_layer *O,
                                    struct cpr_err *err) {
    const int64_t hd = c->head_dim, nh = c->n_heads, im = c->intermediate;
    const uint8_t *kv = lp->keep_kv, *ch = lp->keep_ch;
    O->attn_norm = view_of(&L->attn_norm);
    O->attn_norm_b = view_of(&L->attn_norm_b);
    O->mlp_norm = view_of(&L->mlp_norm);
    O->mlp_norm_b = view_of(&L->mlp_norm_b);
    enum cpr_status s = CPR_OK;
    switch (c->block.qkv) {
    case CPR_QKV_SEPARATE:
        CPR_TRY(scatter_rows(&O->wq, &L->wq, kv, nh, hd, 0, err));
        CPR_TRY(scatter_rows(&O->wk, &L->wk, kv, nh, hd, 0, err));
        CPR_TRY(scatter_rows(&O->wv, &L->wv, kv, nh, hd, 0, err));
        CPR_TRY(scatter_rows(&O->bq, &L->bq, kv, nh, hd, 0, err));
        CPR_TRY(scatter_rows(&O->bk, &L->bk, kv, nh, hd, 0, err));
        CPR_TRY(scatter_rows(&O->bv, &L->bv, kv, nh, hd, 0, err));
        break;
    case CPR_QKV_FUSED_HEADS:
        CPR_TRY(scatter_rows(&O->wqkv, &L->wqkv, kv, nh, 3 * hd, 0, err));
        CPR_TRY(scatter_rows(&O->bqkv, &L->bqkv, kv, nh, 3 * hd, 0, err));
        break;
    case CPR_QKV_FUSED_CONCAT: {
        uint8_t *k3 = NULL;
        if (kv) {
            k3 = malloc((size_t)(3 * nh));
            if (!k3) return cpr_err_set(err, CPR_ERR_NOMEM, "hf-padded");
            for (int64_t i = 0; i < 3; i++) memcpy(k3 + i * nh, kv, (size_t)nh);
        }
        s = scatter_rows(&O->wqkv, &L->wqkv, k3, 3 * nh, hd, 0, err);
        if (!s) s = scatter_rows(&O->bqkv, &L->bqkv, k3, 3 * nh, hd, 0, err);
        free(k3);
        if (s) return s;
        break;
    }
    }
    CPR_TRY(scatter_cols(&O->wo, &L->wo, kv, nh, hd, err));
    CPR_TRY(scatter_rows(&O->w_up, &L->w_up, ch, im, 1, 0, err));
    CPR_TRY(scatter_rows(&O->b_up, &L->b_up, ch, im, 1, 0, err));
    CPR_TRY(scatter_cols(&O->w_down, &L->w_down, ch, im, 1, err));
    if (L->bo.data) CPR_TRY(cpr_tensor_clone(&O->bo, &L->bo, err));
    if (L->b_down.data) CPR_TRY(cpr_tensor_clone(&O->b_down, &L->b_down, err));
    return CPR_OK;
}

enum cpr_status cpr_struct_pad(const struct cpr_struct_plan *p,
                               const struct cpr_model *m,
                               struct cpr_model *out, struct cpr_err *err) {
    memset(out, 0, sizeof *out);
    int any_bo = 0, any_bd = 0;
    const int fc = fc_family(&m->cfg);
    CPR_TRY(check(p, m, &any_bo, &any_bd, err));
    out->cfg = m->cfg;
    if (!fc) {
        out->cfg.qkv_bias = any_bo;
        out->cfg.mlp_bias = any_bd;
    }
    out->layers = calloc((size_t)m->cfg.n_layers, sizeof *out->layers);
    if (!out->layers)
        return cpr_err_set(err, CPR_ERR_NOMEM, "hf-padded output: out of "
                           "memory");
    out->tok_embed = view_of(&m->tok_embed);
    out->lm_head = view_of(&m->lm_head);
    out->final_norm = view_of(&m->final_norm);
    out->final_norm_b = view_of(&m->final_norm_b);
    out->pos_embed = view_of(&m->pos_embed);
    snprintf(out->source, sizeof out->source, "%s", m->source);
    snprintf(out->format, sizeof out->format, "%s", m->format);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        enum cpr_status s =
            fc ? pad_layer_fc(&p->layers[l], &m->layers[l], &m->cfg,
                              &out->layers[l], err)
               : pad_layer(&p->layers[l], &m->layers[l], &m->cfg, any_bo,
                           any_bd, &out->layers[l], err);
        if (s) {
            cpr_model_free(out);
            return s;
        }
    }
    return CPR_OK;
}
