// core/model_edit.c: removing sub-blocks and dropping layers.
#include "core/model_edit.h"

#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct cpr_layer, f)

static const size_t attn_fields[] = {
    OFF(attn_norm), OFF(wq), OFF(wk), OFF(wv), OFF(wo),
    OFF(bq),        OFF(bk), OFF(bv), OFF(attn_norm_b), OFF(bo),
    OFF(wqkv),      OFF(bqkv),   OFF(q_norm), OFF(k_norm),
};
static const size_t mlp_fields[] = {
    OFF(mlp_norm), OFF(w_gate), OFF(w_up), OFF(w_down),
    OFF(mlp_norm_b), OFF(b_up), OFF(b_down),
};
#define N_ATTN (sizeof attn_fields / sizeof attn_fields[0])
#define N_MLP (sizeof mlp_fields / sizeof mlp_fields[0])

enum cpr_role_group cpr_layer_field_group(size_t offset) {
    for (size_t i = 0; i < N_ATTN; i++)
        if (attn_fields[i] == offset) return CPR_GROUP_ATTN;
    return CPR_GROUP_MLP;
}

int cpr_layer_field_kept(const struct cpr_layer_shape *sh, size_t offset) {
    return cpr_layer_field_group(offset) == CPR_GROUP_ATTN ? sh->has_attn
                                                           : sh->has_mlp;
}

static void free_fields(struct cpr_layer *L, const size_t *offs, size_t n) {
    for (size_t i = 0; i < n; i++)
        cpr_tensor_free((struct cpr_tensor *)((char *)L + offs[i]));
}

enum cpr_status cpr_model_remove_sub(struct cpr_model *m, int64_t layer,
                                     enum cpr_role_group which,
                                     struct cpr_err *err) {
    if (layer < 0 || layer >= m->cfg.n_layers)
        return cpr_err_set(err, CPR_ERR_ARG, "remove sub-block: layer %lld "
                           "outside [0, %lld)", (long long)layer,
                           (long long)m->cfg.n_layers);
    struct cpr_layer *L = &m->layers[layer];
    struct cpr_layer_shape sh = cpr_layer_shape_of(m, layer);
    int *has = which == CPR_GROUP_ATTN ? &sh.has_attn : &sh.has_mlp;
    if (!*has)
        return cpr_err_set(err, CPR_ERR_ARG, "remove sub-block: layer %lld's "
                           "%s is already removed", (long long)layer,
                           which == CPR_GROUP_ATTN ? "attention" : "MLP");
    *has = 0;
    L->shape = sh; // every field filled
    if (which == CPR_GROUP_ATTN) free_fields(L, attn_fields, N_ATTN);
    else free_fields(L, mlp_fields, N_MLP);
    return CPR_OK;
}

enum cpr_status cpr_model_drop_layers(struct cpr_model *m,
                                      const uint8_t *drop,
                                      struct cpr_err *err) {
    const int64_t n = m->cfg.n_layers;
    int64_t keep = 0;
    for (int64_t l = 0; l < n; l++) keep += !drop[l];
    if (keep < 1)
        return cpr_err_set(err, CPR_ERR_ARG, "drop layers: all %lld layers "
                           "would be dropped; at least one must stay",
                           (long long)n);
    int64_t o = 0;
    for (int64_t l = 0; l < n; l++) {
        struct cpr_layer *L = &m->layers[l];
        if (drop[l]) {
            free_fields(L, attn_fields, N_ATTN);
            free_fields(L, mlp_fields, N_MLP);
            continue;
        }
        if (o != l) m->layers[o] = *L;
        o++;
    }
    memset(m->layers + keep, 0, (size_t)(n - keep) * sizeof *m->layers);
    m->cfg.n_layers = keep;
    return CPR_OK;
}

enum cpr_status cpr_model_drop_empty_layers(struct cpr_model *m,
                                            struct cpr_err *err) {
    const int64_t n = m->cfg.n_layers;
    uint8_t *drop = calloc((size_t)n, 1);
    if (!drop) return cpr_err_set(err, CPR_ERR_NOMEM, "drop layers: memory");
    int64_t kept = 0;
    for (int64_t l = 0; l < n; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        drop[l] = !sh.has_attn && !sh.has_mlp;
        kept += !drop[l];
    }
    if (kept == 0) drop[n - 1] = 0;
    enum cpr_status s = cpr_model_drop_layers(m, drop, err);
    free(drop);
    return s;
}

int64_t cpr_model_count_subs(const struct cpr_model *m,
                             enum cpr_role_group which) {
    int64_t c = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        c += which == CPR_GROUP_ATTN ? sh.has_attn : sh.has_mlp;
    }
    return c;
}
