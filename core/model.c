// core/model.c: model struct helpers: names, validation, parameter counts.
#include "core/model.h"
#include "core/model_edit.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The LLaMA-family table (LLaMA, Mistral, Qwen2): field, role, site, names.
struct lin_slot {
    size_t w_off;
    ptrdiff_t b_off; // -1: no bias slot
    enum cpr_linear_role role;
    enum cpr_capture_site site;
    const char *name, *hf_name;
};
#define SLOT(f, b, r, s, n, h)                                                 \
    {offsetof(struct cpr_layer, f), b, r, s, n, h}
#define BIAS(f) (ptrdiff_t) offsetof(struct cpr_layer, f)
static const struct lin_slot llama_table[CPR_LINEAR_COUNT] = {
    [CPR_LINEAR_Q] = SLOT(wq, BIAS(bq), CPR_ROLE_Q, CPR_CAPTURE_ATTN_IN,
                          "q_proj", "self_attn.q_proj"),
    [CPR_LINEAR_K] = SLOT(wk, BIAS(bk), CPR_ROLE_K, CPR_CAPTURE_ATTN_IN,
                          "k_proj", "self_attn.k_proj"),
    [CPR_LINEAR_V] = SLOT(wv, BIAS(bv), CPR_ROLE_V, CPR_CAPTURE_ATTN_IN,
                          "v_proj", "self_attn.v_proj"),
    [CPR_LINEAR_O] = SLOT(wo, -1, CPR_ROLE_O, CPR_CAPTURE_O_IN, "o_proj",
                          "self_attn.o_proj"),
    [CPR_LINEAR_GATE] = SLOT(w_gate, -1, CPR_ROLE_GATE, CPR_CAPTURE_MLP_IN,
                             "gate_proj", "mlp.gate_proj"),
    [CPR_LINEAR_UP] = SLOT(w_up, -1, CPR_ROLE_UP, CPR_CAPTURE_MLP_IN,
                           "up_proj", "mlp.up_proj"),
    [CPR_LINEAR_DOWN] = SLOT(w_down, -1, CPR_ROLE_DOWN, CPR_CAPTURE_DOWN_IN,
                             "down_proj", "mlp.down_proj"),
};
// The non-gated table (CPR_MLP_RELU: OPT's q/k/v/out_proj, fc1, fc2; every
// linear may have a bias).
static const struct lin_slot fc_table[6] = {
    SLOT(wq, BIAS(bq), CPR_ROLE_Q, CPR_CAPTURE_ATTN_IN, "q_proj",
         "self_attn.q_proj"),
    SLOT(wk, BIAS(bk), CPR_ROLE_K, CPR_CAPTURE_ATTN_IN, "k_proj",
         "self_attn.k_proj"),
    SLOT(wv, BIAS(bv), CPR_ROLE_V, CPR_CAPTURE_ATTN_IN, "v_proj",
         "self_attn.v_proj"),
    SLOT(wo, BIAS(bo), CPR_ROLE_O, CPR_CAPTURE_O_IN, "out_proj",
         "self_attn.out_proj"),
    SLOT(w_up, BIAS(b_up), CPR_ROLE_FC1, CPR_CAPTURE_MLP_IN, "fc1", "fc1"),
    SLOT(w_down, BIAS(b_down), CPR_ROLE_DOWN, CPR_CAPTURE_DOWN_IN, "fc2",
         "fc2"),
};
// Fused q/k/v tables: GPT-NeoX and GPT-2 (every linear may have a bias).
static const struct lin_slot neox_table[4] = {
    SLOT(wqkv, BIAS(bqkv), CPR_ROLE_QKV, CPR_CAPTURE_ATTN_IN,
         "query_key_value", "attention.query_key_value"),
    SLOT(wo, BIAS(bo), CPR_ROLE_O, CPR_CAPTURE_O_IN, "dense",
         "attention.dense"),
    SLOT(w_up, BIAS(b_up), CPR_ROLE_FC1, CPR_CAPTURE_MLP_IN, "dense_h_to_4h",
         "mlp.dense_h_to_4h"),
    SLOT(w_down, BIAS(b_down), CPR_ROLE_DOWN, CPR_CAPTURE_DOWN_IN,
         "dense_4h_to_h", "mlp.dense_4h_to_h"),
};
static const struct lin_slot gpt2_table[4] = {
    SLOT(wqkv, BIAS(bqkv), CPR_ROLE_QKV, CPR_CAPTURE_ATTN_IN, "attn.c_attn",
         "attn.c_attn"),
    SLOT(wo, BIAS(bo), CPR_ROLE_O, CPR_CAPTURE_O_IN, "attn.c_proj",
         "attn.c_proj"),
    SLOT(w_up, BIAS(b_up), CPR_ROLE_FC1, CPR_CAPTURE_MLP_IN, "mlp.c_fc",
         "mlp.c_fc"),
    SLOT(w_down, BIAS(b_down), CPR_ROLE_DOWN, CPR_CAPTURE_DOWN_IN,
         "mlp.c_proj", "mlp.c_proj"),
};
#undef SLOT
#undef BIAS

static const struct lin_slot *table_for(const struct cpr_model *m, int *n) {
    if (m->cfg.block.qkv != CPR_QKV_SEPARATE) {
        *n = 4;
        return m->cfg.block.qkv == CPR_QKV_FUSED_CONCAT ? gpt2_table
                                                        : neox_table;
    }
    if (m->cfg.block.mlp != CPR_MLP_SWIGLU &&
        m->cfg.block.mlp != CPR_MLP_GEGLU_TANH) {
        *n = 6;
        return fc_table;
    }
    *n = CPR_LINEAR_COUNT;
    return llama_table;
}

enum cpr_role_group cpr_role_group_of(enum cpr_linear_role role) {
    switch (role) {
    case CPR_ROLE_GATE: case CPR_ROLE_UP: case CPR_ROLE_FC1:
    case CPR_ROLE_DOWN: return CPR_GROUP_MLP;
    default: return CPR_GROUP_ATTN;
    }
}

const char *cpr_role_name(enum cpr_linear_role role) {
    static const char *const names[CPR_ROLE_COUNT] = {
        [CPR_ROLE_Q] = "q",       [CPR_ROLE_K] = "k",     [CPR_ROLE_V] = "v",
        [CPR_ROLE_QKV] = "qkv",   [CPR_ROLE_O] = "o",     [CPR_ROLE_GATE] = "gate",
        [CPR_ROLE_UP] = "up",     [CPR_ROLE_FC1] = "fc1", [CPR_ROLE_DOWN] = "down",
    };
    return (unsigned)role < CPR_ROLE_COUNT ? names[role] : "?";
}

int cpr_model_linears_per_layer(const struct cpr_model *m) {
    int n;
    table_for(m, &n);
    return n;
}

int cpr_layer_linears(struct cpr_model *m, int64_t layer,
                      struct cpr_linear_ref *out, int cap) {
    struct cpr_layer *L = &m->layers[layer];
    int n;
    const struct lin_slot *tab = table_for(m, &n);
    for (int j = 0; j < n && j < cap; j++) {
        const struct lin_slot *s = &tab[j];
        out[j] = (struct cpr_linear_ref){
            .role = s->role, .site = s->site,
            .w = (struct cpr_tensor *)((char *)L + s->w_off),
            .bias = s->b_off < 0 ? NULL
                                 : (struct cpr_tensor *)((char *)L + s->b_off),
            .name = s->name, .hf_name = s->hf_name,
        };
    }
    return n;
}

struct cpr_layer_shape cpr_layer_shape_of(const struct cpr_model *m,
                                          int64_t layer) {
    const struct cpr_layer_shape *s = &m->layers[layer].shape;
    if (s->n_heads > 0) return *s;
    const struct cpr_model_config *c = &m->cfg;
    return (struct cpr_layer_shape){
        .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads,
        .head_dim = c->head_dim, .intermediate = c->intermediate,
        .has_attn = 1, .has_mlp = 1,
    };
}

struct cpr_layer_shape cpr_model_max_shape(const struct cpr_model *m) {
    const struct cpr_model_config *c = &m->cfg;
    struct cpr_layer_shape mx = {
        .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads,
        .head_dim = c->head_dim, .intermediate = c->intermediate,
        .has_attn = 1, .has_mlp = 1,
    };
    for (int64_t l = 0; m->layers && l < c->n_layers; l++) {
        struct cpr_layer_shape s = cpr_layer_shape_of(m, l);
        if (s.n_heads > mx.n_heads) mx.n_heads = s.n_heads;
        if (s.n_kv_heads > mx.n_kv_heads) mx.n_kv_heads = s.n_kv_heads;
        if (s.intermediate > mx.intermediate) mx.intermediate = s.intermediate;
    }
    return mx;
}

const char *cpr_linear_name(enum cpr_linear which) {
    return (unsigned)which < CPR_LINEAR_COUNT ? llama_table[which].name : "?";
}

struct cpr_tensor *cpr_model_linear(struct cpr_model *m, int64_t layer,
                                    enum cpr_linear which) {
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    int n = cpr_layer_linears(m, layer, r, CPR_MAX_LINEARS);
    return (unsigned)which < (unsigned)n ? r[which].w : NULL;
}

// Check one tensor: present, expected rank and shape.
static enum cpr_status check(const struct cpr_tensor *t, const char *name,
                             int64_t d0, int64_t d1, int optional,
                             struct cpr_err *err) {
    if (!t->data) {
        if (optional) return CPR_OK;
        return cpr_err_set(err, CPR_ERR_FORMAT, "model: tensor %s is missing",
                           name);
    }
    int ndim = d1 < 0 ? 1 : 2;
    if (t->ndim != ndim || t->shape[0] != d0 || (ndim == 2 && t->shape[1] != d1))
        return cpr_err_set(err, CPR_ERR_SHAPE,
                           "model: tensor %s has shape (%lld%s%lld), expected "
                           "(%lld%s%lld)", name, (long long)t->shape[0],
                           t->ndim > 1 ? ", " : "",
                           t->ndim > 1 ? (long long)t->shape[1] : 0LL,
                           (long long)d0, ndim > 1 ? ", " : "",
                           ndim > 1 ? (long long)d1 : 0LL);
    return CPR_OK;
}

enum cpr_status cpr_model_validate(const struct cpr_model *m,
                                   struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    if (c->hidden <= 0 || c->intermediate <= 0 || c->n_layers <= 0 ||
        c->n_heads <= 0 || c->n_kv_heads <= 0 || c->head_dim <= 0 ||
        c->vocab <= 0 || c->context <= 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "model config: sizes must be positive (hidden %lld, "
                           "intermediate %lld, layers %lld, heads %lld, kv "
                           "heads %lld, head_dim %lld, vocab %lld, context "
                           "%lld)", (long long)c->hidden,
                           (long long)c->intermediate, (long long)c->n_layers,
                           (long long)c->n_heads, (long long)c->n_kv_heads,
                           (long long)c->head_dim, (long long)c->vocab,
                           (long long)c->context);
    if (c->n_heads % c->n_kv_heads != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "model config: num_attention_heads %lld is not a "
                           "multiple of num_key_value_heads %lld",
                           (long long)c->n_heads, (long long)c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "model config: head_dim %lld must be even for RoPE",
                           (long long)c->head_dim);
    if (!(c->norm_eps > 0) || !isfinite(c->norm_eps) || !(c->rope_theta > 0) ||
        !isfinite(c->rope_theta))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "model config: rms_norm_eps %g and rope_theta %g "
                           "must be finite and positive", (double)c->norm_eps,
                           c->rope_theta);
    if (!m->layers)
        return cpr_err_set(err, CPR_ERR_FORMAT, "model: no decoder layers");
    const int64_t h = c->hidden;
    CPR_TRY(check(&m->tok_embed, "embed_tokens", c->vocab, h, 0, err));
    CPR_TRY(check(&m->final_norm, "norm", h, -1, 0, err));
    CPR_TRY(check(&m->lm_head, "lm_head", c->vocab, h, 0, err));
    const int ln = c->block.norm == CPR_NORM_LAYER;
    const int gated = c->block.mlp == CPR_MLP_SWIGLU ||
                      c->block.mlp == CPR_MLP_GEGLU_TANH;
    const int fused = c->block.qkv != CPR_QKV_SEPARATE;
    if (fused && c->n_kv_heads != c->n_heads)
        return cpr_err_set(err, CPR_ERR_FORMAT, "model config: fused q/k/v "
                           "needs as many key/value heads as heads (found "
                           "%lld, %lld)", (long long)c->n_kv_heads,
                           (long long)c->n_heads);
    if (c->block.rotary_dim < 0 || c->block.rotary_dim > c->head_dim ||
        c->block.rotary_dim % 2 != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT, "model config: rotary_dim "
                           "%lld must be even and in [0, head_dim %lld]",
                           (long long)c->block.rotary_dim,
                           (long long)c->head_dim);
    CPR_TRY(check(&m->final_norm_b, "norm.bias", h, -1, !ln, err));
    if (c->block.pos == CPR_POS_LEARNED &&
        (c->block.pos_offset < 0 || c->block.pos_offset > 1024))
        return cpr_err_set(err, CPR_ERR_FORMAT, "model config: learned "
                           "position offset %lld outside [0, 1024]",
                           (long long)c->block.pos_offset);
    CPR_TRY(check(&m->pos_embed, "embed_positions",
                  c->context + c->block.pos_offset, h,
                  c->block.pos != CPR_POS_LEARNED, err));
    char name[64];
    for (int64_t i = 0; i < c->n_layers; i++) {
        const struct cpr_layer *L = &m->layers[i];
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, i);
        if (sh.head_dim != c->head_dim || sh.n_kv_heads <= 0 ||
            sh.n_heads % sh.n_kv_heads != 0 || sh.intermediate <= 0)
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "model: layer %lld shape: heads %lld, kv heads "
                               "%lld (must divide heads), head_dim %lld "
                               "(model-wide %lld), intermediate %lld (> 0)",
                               (long long)i, (long long)sh.n_heads,
                               (long long)sh.n_kv_heads,
                               (long long)sh.head_dim, (long long)c->head_dim,
                               (long long)sh.intermediate);
        const int64_t qd = sh.n_heads * sh.head_dim,
                      kvd = sh.n_kv_heads * sh.head_dim, im = sh.intermediate;
// A removed sub-block's tensors must be absent (core/model_edit.h).
#define CHECK_T(field, d0, d1, opt)                                            \
    snprintf(name, sizeof name, "layers.%lld.%s", (long long)i, #field);      \
    if (cpr_layer_field_kept(&sh, offsetof(struct cpr_layer, field))) {      \
        CPR_TRY(check(&L->field, name, d0, d1, opt, err));                   \
    } else if (L->field.data) {                                              \
        return cpr_err_set(err, CPR_ERR_FORMAT, "model: tensor %s is present "\
                           "but layer %lld's %s is removed", name,            \
                           (long long)i,                                      \
                           cpr_layer_field_group(offsetof(struct cpr_layer, \
                                                 field)) == CPR_GROUP_ATTN  \
                               ? "attention" : "MLP");                       \
    }
        CHECK_T(attn_norm, h, -1, 0);
        if (fused && (sh.n_kv_heads != sh.n_heads || L->wq.data ||
                      L->wk.data || L->wv.data))
            return cpr_err_set(err, CPR_ERR_FORMAT, "model: layer %lld: fused "
                               "q/k/v needs as many key/value heads as heads "
                               "(found %lld, %lld) and no separate q/k/v "
                               "tensors", (long long)i,
                               (long long)sh.n_kv_heads,
                               (long long)sh.n_heads);
        CHECK_T(wqkv, 3 * qd, h, !fused);
        CHECK_T(bqkv, 3 * qd, -1, 1);
        CHECK_T(wq, qd, h, fused);
        CHECK_T(wk, kvd, h, fused);
        CHECK_T(wv, kvd, h, fused);
        CHECK_T(wo, h, qd, 0);
        CHECK_T(bq, qd, -1, 1);
        CHECK_T(bk, kvd, -1, 1);
        CHECK_T(bv, kvd, -1, 1);
        CHECK_T(mlp_norm, h, -1, 0);
        CHECK_T(w_gate, im, h, !gated);
        CHECK_T(w_up, im, h, 0);
        CHECK_T(w_down, h, im, 0);
        CHECK_T(attn_norm_b, h, -1, !ln);
        CHECK_T(mlp_norm_b, h, -1, !ln);
        CHECK_T(bo, h, -1, 1);
        CHECK_T(b_up, im, -1, 1);
        CHECK_T(b_down, h, -1, 1);
        CHECK_T(q_norm, sh.head_dim, -1, !c->block.qk_norm);
        CHECK_T(k_norm, sh.head_dim, -1, !c->block.qk_norm);
#undef CHECK_T
    }
    return CPR_OK;
}

int64_t cpr_model_linear_params(const struct cpr_model *m) {
    int64_t n = 0;
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    for (int64_t i = 0; i < m->cfg.n_layers; i++) {
        // cpr_layer_linears takes a non-const model; it only indexes.
        const int nl = cpr_layer_linears((struct cpr_model *)m, i, r,
                                         CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) n += cpr_tensor_numel(r[j].w);
    }
    return n;
}

int64_t cpr_model_total_params(const struct cpr_model *m) {
    int64_t n = cpr_model_linear_params(m) + cpr_tensor_numel(&m->tok_embed) +
                cpr_tensor_numel(&m->final_norm) +
                cpr_tensor_numel(&m->final_norm_b) +
                cpr_tensor_numel(&m->pos_embed);
    if (!m->cfg.tied_embeddings) n += cpr_tensor_numel(&m->lm_head);
    for (int64_t i = 0; i < m->cfg.n_layers; i++) {
        const struct cpr_layer *L = &m->layers[i];
        n += cpr_tensor_numel(&L->attn_norm) + cpr_tensor_numel(&L->mlp_norm) +
             cpr_tensor_numel(&L->bq) + cpr_tensor_numel(&L->bk) +
             cpr_tensor_numel(&L->bv) + cpr_tensor_numel(&L->attn_norm_b) +
             cpr_tensor_numel(&L->mlp_norm_b) + cpr_tensor_numel(&L->bo) +
             cpr_tensor_numel(&L->b_up) + cpr_tensor_numel(&L->b_down) +
             cpr_tensor_numel(&L->q_norm) + cpr_tensor_numel(&L->k_norm) +
             cpr_tensor_numel(&L->bqkv);
    }
    return n;
}

void cpr_model_free(struct cpr_model *m) {
    if (m->layers) {
        for (int64_t i = 0; i < m->cfg.n_layers; i++) {
            struct cpr_layer *L = &m->layers[i];
            struct cpr_tensor *ts[] = {&L->attn_norm, &L->wq, &L->wk,
                                       &L->wv, &L->wo, &L->bq, &L->bk,
                                       &L->bv, &L->mlp_norm, &L->w_gate,
                                       &L->w_up, &L->w_down, &L->attn_norm_b,
                                       &L->mlp_norm_b, &L->bo, &L->b_up,
                                       &L->b_down, &L->q_norm, &L->k_norm,
                                       &L->wqkv, &L->bqkv};
            for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++)
                cpr_tensor_free(ts[j]);
        }
        free(m->layers);
    }
    cpr_tensor_free(&m->lm_head);
    cpr_tensor_free(&m->tok_embed);
    cpr_tensor_free(&m->final_norm);
    cpr_tensor_free(&m->final_norm_b);
    cpr_tensor_free(&m->pos_embed);
    if (m->backing_free) m->backing_free(m->backing);
    memset(m, 0, sizeof *m);
}
