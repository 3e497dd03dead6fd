// data/llama2c_write.c: llama2.c legacy checkpoint writer (contract in
// data/llama2c_write.h).
#include "data/llama2c_write.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/model_load.h"
#include "data/safetensors_write.h"

enum cpr_status cpr_llama2c_write_check(const struct cpr_model *m,
                                        const char *path,
                                        struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    const char *why = NULL;
    if (c->arch != CPR_ARCH_LLAMA) why = "architecture is not LLaMA";
    else if (c->rope_style != CPR_ROPE_INTERLEAVED)
        why = "RoPE is half-split (HF convention); llama2.c rotates "
              "interleaved pairs (write it as an HF directory instead)";
    else if (c->qkv_bias) why = "q/k/v projections have biases";
    else if (c->norm_eps != 1e-5f) why = "RMSNorm eps is not 1e-5";
    else if (c->rope_theta != 10000.0) why = "rope_theta is not 10000";
    else if (c->rope_scaling != CPR_ROPE_SCALING_NONE) why = "rope scaling";
    else if (c->head_dim * c->n_heads != c->hidden)
        why = "head_dim x n_heads != hidden";
    else if (c->hidden > INT32_MAX || c->intermediate > INT32_MAX ||
             c->vocab > INT32_MAX || c->context > INT32_MAX)
        why = "a size does not fit the int32 header";
    for (int64_t l = 0; !why && l < c->n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (sh.n_heads != c->n_heads || sh.n_kv_heads != c->n_kv_heads ||
            sh.intermediate != c->intermediate || !sh.has_attn || !sh.has_mlp)
            why = "layers differ in shape (llama2.c has one shape for all; "
                  "write it as an HF directory instead)";
        else if (m->layers[l].bo.data || m->layers[l].b_down.data)
            why = "o_proj / down_proj have biases (structured pruning's "
                  "compensation; write it as an HF directory instead)";
    }
    if (why)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: cannot write a "
                           "llama2.c checkpoint: %s", path, why);
    struct cpr_file_id ids[64];
    size_t n = cpr_model_input_files(m, ids, 64);
    if (n > 64) n = 64;
    uint64_t dev, ino;
    if (cpr_file_identity(path, &dev, &ino) == 0)
        for (size_t i = 0; i < n; i++)
            if (ids[i].dev == dev && ids[i].ino == ino)
                return cpr_err_set(err, CPR_ERR_ARG, "%s: refusing to "
                                   "overwrite the model's own input file",
                                   path);
    return CPR_OK;
}

// Append one tensor as f32 rows.
static enum cpr_status put_tensor(struct cpr_atomic_file *af,
                                  const struct cpr_tensor *t, float *row,
                                  struct cpr_err *err) {
    if (t->ndim == 1) { // as one row of a (1, n) view
        struct cpr_tensor v = *t;
        v.ndim = 2;
        v.shape[1] = t->shape[0], v.shape[0] = 1;
        v.stride[1] = t->stride[0], v.stride[0] = t->shape[0] * t->stride[0];
        cpr_tensor_row_f32(&v, 0, row);
        return cpr_atomic_write(af, row, (size_t)v.shape[1] * sizeof *row,
                                err);
    }
    for (int64_t r = 0; r < t->shape[0]; r++) {
        cpr_tensor_row_f32(t, r, row);
        CPR_TRY(cpr_atomic_write(af, row, (size_t)t->shape[1] * sizeof *row,
                                 err));
    }
    return CPR_OK;
}

static enum cpr_status write_body(struct cpr_atomic_file *af,
                                  const struct cpr_model *m, float *row,
                                  struct cpr_err *err) {
    const struct cpr_model_config *c = &m->cfg;
    const int64_t L = c->n_layers;
    int32_t h[7] = {(int32_t)c->hidden, (int32_t)c->intermediate,
                    (int32_t)L, (int32_t)c->n_heads, (int32_t)c->n_kv_heads,
                    (int32_t)(c->tied_embeddings ? c->vocab : -c->vocab),
                    (int32_t)c->context};
    CPR_TRY(cpr_atomic_write(af, h, sizeof h, err));
    CPR_TRY(put_tensor(af, &m->tok_embed, row, err));
    // run.c order: rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3
#define EACH(field)                                                           \
    for (int64_t l = 0; l < L; l++)                                           \
        CPR_TRY(put_tensor(af, &m->layers[l].field, row, err));
    EACH(attn_norm)
    EACH(wq)
    EACH(wk)
    EACH(wv)
    EACH(wo)
    EACH(mlp_norm)
    EACH(w_gate)
    EACH(w_down)
    EACH(w_up)
#undef EACH
    CPR_TRY(put_tensor(af, &m->final_norm, row, err));
    const int64_t hs = c->head_dim;
    for (int part = 0; part < 2; part++)
        for (int64_t p = 0; p < c->context; p++) {
            for (int64_t i = 0; i < hs / 2; i++) {
                double f = 1.0 / pow(10000.0, (double)(2 * i) / (double)hs);
                row[i] = (float)(part ? sin((double)p * f) : cos((double)p * f));
            }
            CPR_TRY(cpr_atomic_write(af, row, (size_t)(hs / 2) * sizeof *row,
                                     err));
        }
    if (!c->tied_embeddings) CPR_TRY(put_tensor(af, &m->lm_head, row, err));
    return CPR_OK;
}

enum cpr_status cpr_llama2c_write(const struct cpr_model *m, const char *path,
                                  struct cpr_err *err) {
    CPR_TRY(cpr_llama2c_write_check(m, path, err));
    const struct cpr_model_config *c = &m->cfg;
    int64_t w = c->hidden;
    if (c->intermediate > w) w = c->intermediate;
    if (c->vocab > w) w = c->vocab;
    float *row = malloc((size_t)w * sizeof *row);
    if (!row) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: row buffer", path);
    struct cpr_atomic_file af = {.fd = -1};
    enum cpr_status s = cpr_atomic_open(&af, path, err);
    if (!s) s = write_body(&af, m, row, err);
    if (!s) s = cpr_atomic_commit(&af, err);
    if (s) cpr_atomic_abort(&af);
    free(row);
    return s;
}
