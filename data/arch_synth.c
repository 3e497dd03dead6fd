// data/arch_synth.c: random-weight OPT / GPT-NeoX / GPT-2 models from the
// family's name table (see data/arch_synth.h).
#include "data/arch_synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/arch.h"
#include "data/hf_config.h"

int cpr_arch_synth_handles(enum cpr_arch arch) {
    return arch == CPR_ARCH_OPT || arch == CPR_ARCH_GPT_NEOX ||
           arch == CPR_ARCH_GPT2;
}

// The family's config.json with the spec's sizes, through the loader's
// parser.
static enum cpr_status make_config(const struct cpr_synth_spec *s,
                                   struct cpr_model_config *c,
                                   struct cpr_err *err) {
    char js[1024], ids[96];
    const long long H = s->hidden, I = s->intermediate, L = s->n_layers,
                    A = s->n_heads, V = s->vocab, C = s->context;
    snprintf(ids, sizeof ids, "\"bos_token_id\": %d, \"eos_token_id\": %d",
             (int)s->bos_id, (int)s->eos_id);
    if (s->bos_id < 0 || s->eos_id < 0)
        snprintf(ids, sizeof ids, "\"bos_token_id\": null, "
                 "\"eos_token_id\": null");
    int n;
    switch (s->arch) {
    case CPR_ARCH_GPT2:
        n = snprintf(js, sizeof js, "{\"model_type\": \"gpt2\", \"n_embd\": "
                     "%lld, \"n_inner\": %lld, \"n_layer\": %lld, \"n_head\": "
                     "%lld, \"vocab_size\": %lld, \"n_positions\": %lld, %s}",
                     H, I, L, A, V, C, ids);
        break;
    case CPR_ARCH_GPT_NEOX:
        n = snprintf(js, sizeof js, "{\"model_type\": \"gpt_neox\", "
                     "\"hidden_size\": %lld, \"intermediate_size\": %lld, "
                     "\"num_hidden_layers\": %lld, \"num_attention_heads\": "
                     "%lld, \"vocab_size\": %lld, \"max_position_embeddings\": "
                     "%lld, \"tie_word_embeddings\": %s, %s}", H, I, L, A, V,
                     C, s->tied_embeddings ? "true" : "false", ids);
        break;
    case CPR_ARCH_OPT:
        n = snprintf(js, sizeof js, "{\"model_type\": \"opt\", \"hidden_size\":"
                     " %lld, \"ffn_dim\": %lld, \"num_hidden_layers\": %lld, "
                     "\"num_attention_heads\": %lld, \"vocab_size\": %lld, "
                     "\"max_position_embeddings\": %lld, "
                     "\"word_embed_proj_dim\": %lld, %s}", H, I, L, A, V, C,
                     H, ids);
        break;
    default:
        return cpr_err_set(err, CPR_ERR_ARG, "synth: family %d is not built "
                           "from a name table", (int)s->arch);
    }
    if (n < 0 || (size_t)n >= sizeof js)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "synth: config too long");
    return cpr_hf_config_parse(js, (size_t)n, "synth", c, err);
}

static enum cpr_status make(struct cpr_tensor *t,
                            const struct cpr_synth_spec *s, int64_t id,
                            int is_norm, int is_bias, int64_t d0, int64_t d1,
                            struct cpr_err *err) {
    int64_t shape[2] = {d0, d1};
    CPR_TRY(cpr_tensor_alloc(t, s->dtype, d1 > 0 ? 2 : 1, shape, err));
    cpr_synth_fill(s, id, is_norm, is_bias, (size_t)cpr_tensor_numel(t),
                   t->data);
    return CPR_OK;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

enum cpr_status cpr_arch_synth_model(struct cpr_model *m,
                                     const struct cpr_synth_spec *s,
                                     struct cpr_err *err) {
    memset(m, 0, sizeof *m);
    if (!cpr_arch_synth_handles(s->arch))
        return cpr_err_set(err, CPR_ERR_ARG, "synth: family %d is not built "
                           "from a name table", (int)s->arch);
    if (s->head_dim && s->head_dim * s->n_heads != s->hidden)
        return cpr_err_set(err, CPR_ERR_ARG, "synth: --head-dim must be "
                           "hidden / heads for this family");
    CPR_TRY(make_config(s, &m->cfg, err));
    const struct cpr_model_config *c = &m->cfg;
    const struct cpr_arch_names *an = cpr_arch_names_for(c->arch);
    const int64_t H = c->hidden, gid = 3 + 64 * c->n_layers;
    enum cpr_status st;
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "synth: out of memory");
        goto fail;
    }
    if ((st = make(&m->tok_embed, s, 0, 0, 0, c->vocab, H, err)) ||
        (st = make(&m->final_norm, s, 1, 1, 0, H, 0, err)) ||
        (st = make(&m->final_norm_b, s, gid, 2, 0, H, 0, err)))
        goto fail;
    if (an->pos_embed &&
        (st = make(&m->pos_embed, s, gid + 1, 0, 0,
                   c->context + c->block.pos_offset, H, err)))
        goto fail;
    if (c->tied_embeddings) {
        m->lm_head = m->tok_embed;
        m->lm_head.owns_data = 0;
    } else if ((st = make(&m->lm_head, s, 2, 0, 0, c->vocab, H, err))) {
        goto fail;
    }
    for (int64_t l = 0; l < c->n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        for (size_t j = 0; j < an->n_layer; j++) {
            const struct cpr_tensor_name *tn = &an->layer[j];
            if (!cpr_tensor_name_present(tn, c) ||
                (tn->flags & CPR_TN_OPTIONAL))
                continue;
            int64_t d0, d1;
            cpr_tensor_name_dims(tn, c, &sh, &d0, &d1);
            struct cpr_tensor *t = cpr_tensor_name_slot(&m->layers[l], tn);
            const int norm_b = t == &m->layers[l].attn_norm_b ||
                               t == &m->layers[l].mlp_norm_b;
            // 1-D: a LayerNorm weight (1), its bias (0), or a linear bias
            int is_norm = 0, is_bias = 0;
            if (d1 < 0) {
                if (norm_b) is_norm = 2;
                else if (ends_with(tn->suffix, ".weight")) is_norm = 1;
                else is_bias = 1;
            }
            st = make(t, s, 3 + 64 * l + (int64_t)j, is_norm, is_bias, d0,
                      d1 < 0 ? 0 : d1, err);
            if (st != CPR_OK) goto fail;
        }
    }
    st = cpr_model_validate(m, err);
    if (st == CPR_OK) return CPR_OK;
fail:
    cpr_model_free(m);
    return st;
}
