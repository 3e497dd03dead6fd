// core/model.c: model struct helpers: names, validation, parameter counts.
#include "core/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const linear_names[CPR_LINEAR_COUNT] = {
    [CPR_LINEAR_Q] = "q_proj",       [CPR_LINEAR_K] = "k_proj",
    [CPR_LINEAR_V] = "v_proj",       [CPR_LINEAR_O] = "o_proj",
    [CPR_LINEAR_GATE] = "gate_proj", [CPR_LINEAR_UP] = "up_proj",
    [CPR_LINEAR_DOWN] = "down_proj",
};

const char *cpr_linear_name(enum cpr_linear which) {
    return (unsigned)which < CPR_LINEAR_COUNT ? linear_names[which] : "?";
}

struct cpr_tensor *cpr_model_linear(struct cpr_model *m, int64_t layer,
                                    enum cpr_linear which) {
    struct cpr_layer *L = &m->layers[layer];
    switch (which) {
    case CPR_LINEAR_Q: return &L->wq;
    case CPR_LINEAR_K: return &L->wk;
    case CPR_LINEAR_V: return &L->wv;
    case CPR_LINEAR_O: return &L->wo;
    case CPR_LINEAR_GATE: return &L->w_gate;
    case CPR_LINEAR_UP: return &L->w_up;
    case CPR_LINEAR_DOWN: return &L->w_down;
    default: return NULL;
    }
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
    int64_t h = c->hidden, qd = c->n_heads * c->head_dim,
            kvd = c->n_kv_heads * c->head_dim, im = c->intermediate;
    CPR_TRY(check(&m->tok_embed, "embed_tokens", c->vocab, h, 0, err));
    CPR_TRY(check(&m->final_norm, "norm", h, -1, 0, err));
    CPR_TRY(check(&m->lm_head, "lm_head", c->vocab, h, 0, err));
    char name[64];
    for (int64_t i = 0; i < c->n_layers; i++) {
        const struct cpr_layer *L = &m->layers[i];
#define CHECK_T(field, d0, d1, opt)                                            \
    snprintf(name, sizeof name, "layers.%lld.%s", (long long)i, #field);      \
    CPR_TRY(check(&L->field, name, d0, d1, opt, err))
        CHECK_T(attn_norm, h, -1, 0);
        CHECK_T(wq, qd, h, 0);
        CHECK_T(wk, kvd, h, 0);
        CHECK_T(wv, kvd, h, 0);
        CHECK_T(wo, h, qd, 0);
        CHECK_T(bq, qd, -1, 1);
        CHECK_T(bk, kvd, -1, 1);
        CHECK_T(bv, kvd, -1, 1);
        CHECK_T(mlp_norm, h, -1, 0);
        CHECK_T(w_gate, im, h, 0);
        CHECK_T(w_up, im, h, 0);
        CHECK_T(w_down, h, im, 0);
#undef CHECK_T
    }
    return CPR_OK;
}

int64_t cpr_model_linear_params(const struct cpr_model *m) {
    int64_t n = 0;
    for (int64_t i = 0; i < m->cfg.n_layers; i++)
        for (int w = 0; w < CPR_LINEAR_COUNT; w++)
            n += cpr_tensor_numel(
                cpr_model_linear((struct cpr_model *)m, i, (enum cpr_linear)w));
    return n;
}

int64_t cpr_model_total_params(const struct cpr_model *m) {
    int64_t n = cpr_model_linear_params(m) + cpr_tensor_numel(&m->tok_embed) +
                cpr_tensor_numel(&m->final_norm);
    if (!m->cfg.tied_embeddings) n += cpr_tensor_numel(&m->lm_head);
    for (int64_t i = 0; i < m->cfg.n_layers; i++) {
        const struct cpr_layer *L = &m->layers[i];
        n += cpr_tensor_numel(&L->attn_norm) + cpr_tensor_numel(&L->mlp_norm) +
             cpr_tensor_numel(&L->bq) + cpr_tensor_numel(&L->bk) +
             cpr_tensor_numel(&L->bv);
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
                                       &L->w_up, &L->w_down};
            for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++)
                cpr_tensor_free(ts[j]);
        }
        free(m->layers);
    }
    cpr_tensor_free(&m->lm_head);
    cpr_tensor_free(&m->tok_embed);
    cpr_tensor_free(&m->final_norm);
    if (m->backing_free) m->backing_free(m->backing);
    memset(m, 0, sizeof *m);
}
