// data/llama2c.c: llama2.c legacy checkpoint reader (see data/llama2c.h).
#include "data/llama2c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/hf_config.h"

static int32_t rd_i32(const unsigned char *p) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    int32_t r;
    memcpy(&r, &v, 4);
    return r;
}

enum cpr_status cpr_llama2c_parse_header(const unsigned char *b, size_t avail,
                                         uint64_t file_size, const char *name,
                                         struct cpr_llama2c_header *h,
                                         struct cpr_err *err) {
    memset(h, 0, sizeof *h);
    if (avail > file_size) avail = (size_t)file_size;
    if (avail >= 8 && rd_i32(b) == 0x616b3432)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "%s: llama2.c export version %d (magic \"ak42\") is "
                           "not supported; re-export with --version 0 (legacy)",
                           name, (int)rd_i32(b + 4));
    if (avail < 28)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: %llu bytes is too short for the 28-byte llama2.c "
                           "header (truncated or not a checkpoint)", name,
                           (unsigned long long)file_size);
    int32_t f[7];
    for (int i = 0; i < 7; i++) f[i] = rd_i32(b + 4 * i);
    static const char *const names[7] = {"dim", "hidden_dim", "n_layers",
                                         "n_heads", "n_kv_heads", "vocab_size",
                                         "seq_len"};
    // Generous caps; they keep every product below in 64 bits.
    static const int32_t caps[7] = {1 << 20, 1 << 22, 4096, 4096, 4096,
                                    1 << 24, 1 << 26};
    for (int i = 0; i < 7; i++) {
        int32_t v = i == 5 ? (f[i] < 0 ? (f[i] == INT32_MIN ? 0 : -f[i]) : f[i])
                           : f[i];
        if (v < 1 || v > caps[i])
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: llama2.c header field %s = %d is out of "
                               "range [1, %d]%s", name, names[i], (int)f[i],
                               (int)caps[i], i == 5 ? " (in absolute value)" : "");
    }
    h->dim = f[0], h->hidden_dim = f[1], h->n_layers = f[2], h->n_heads = f[3];
    h->n_kv_heads = f[4], h->seq_len = f[6];
    h->tied = f[5] > 0;
    h->vocab_size = f[5] > 0 ? f[5] : -f[5];
    if (h->dim % h->n_heads != 0 || (h->dim / h->n_heads) % 2 != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: dim %d must be a multiple of n_heads %d with an "
                           "even head size", name, (int)h->dim, (int)h->n_heads);
    if (h->n_heads % h->n_kv_heads != 0)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: n_heads %d is not a multiple of n_kv_heads %d",
                           name, (int)h->n_heads, (int)h->n_kv_heads);
    uint64_t d = (uint64_t)h->dim, hd = (uint64_t)h->hidden_dim,
             L = (uint64_t)h->n_layers, hs = d / (uint64_t)h->n_heads,
             kv = (uint64_t)h->n_kv_heads * hs, V = (uint64_t)h->vocab_size;
    uint64_t floats = V * d + L * d + L * d * d + 2 * L * d * kv + L * d * d +
                      L * d + 3 * L * d * hd + d +
                      2 * ((uint64_t)h->seq_len * hs / 2) + (h->tied ? 0 : V * d);
    h->expected_size = 28 + 4 * floats;
    if (h->expected_size != file_size)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: file is %llu bytes but the llama2.c header "
                           "(dim %d, hidden %d, layers %d, heads %d/%d, vocab "
                           "%d, seq %d) implies %llu", name,
                           (unsigned long long)file_size, (int)h->dim,
                           (int)h->hidden_dim, (int)h->n_layers, (int)h->n_heads,
                           (int)h->n_kv_heads, (int)f[5], (int)h->seq_len,
                           (unsigned long long)h->expected_size);
    return CPR_OK;
}

// ---- building the model ----

static void view2(struct cpr_tensor *t, const float *p, int64_t r, int64_t c) {
    int64_t sh[2] = {r, c};
    cpr_tensor_wrap(t, CPR_DTYPE_F32, (void *)p, c > 0 ? 2 : 1, sh, 1);
}

enum cpr_status cpr_llama2c_build(const unsigned char *bytes, size_t size,
                                  const char *name, struct cpr_model *m,
                                  struct cpr_err *err) {
    struct cpr_llama2c_header h;
    CPR_TRY(cpr_llama2c_parse_header(bytes, size, size, name, &h, err));
    if ((uintptr_t)bytes % 4 != 0)
        return cpr_err_set(err, CPR_ERR_INTERNAL,
                           "%s: checkpoint image is not 4-byte aligned", name);
    struct cpr_model_config *c = &m->cfg;
    memset(c, 0, sizeof *c);
    c->arch = CPR_ARCH_LLAMA;
    c->hidden = h.dim;
    c->intermediate = h.hidden_dim;
    c->n_layers = h.n_layers;
    c->n_heads = h.n_heads;
    c->n_kv_heads = h.n_kv_heads;
    c->head_dim = h.dim / h.n_heads;
    c->vocab = h.vocab_size;
    c->context = h.seq_len;
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0;
    c->rope_style = CPR_ROPE_INTERLEAVED;
    c->rope_scaling = CPR_ROPE_SCALING_NONE;
    c->tied_embeddings = h.tied;
    c->qkv_bias = 0;
    c->bos_id = h.vocab_size > 1 ? 1 : -1;
    c->eos_id = h.vocab_size > 2 ? 2 : -1;
    CPR_TRY(cpr_hf_config_check(c, name, err));

    m->layers = calloc((size_t)h.n_layers, sizeof *m->layers);
    if (!m->layers)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory for %d layers",
                           name, (int)h.n_layers);
    int64_t d = h.dim, hd = h.hidden_dim, L = h.n_layers,
            qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim,
            V = h.vocab_size;
    const float *p = (const float *)(bytes + 28);
    view2(&m->tok_embed, p, V, d);
    p += V * d;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].attn_norm, p + l * d, d, 0);
    p += L * d;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].wq, p + l * qd * d, qd, d);
    p += L * qd * d;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].wk, p + l * kvd * d, kvd, d);
    p += L * kvd * d;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].wv, p + l * kvd * d, kvd, d);
    p += L * kvd * d;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].wo, p + l * d * qd, d, qd);
    p += L * d * qd;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].mlp_norm, p + l * d, d, 0);
    p += L * d;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].w_gate, p + l * hd * d, hd, d);
    p += L * hd * d;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].w_down, p + l * d * hd, d, hd);
    p += L * d * hd;
    for (int64_t l = 0; l < L; l++) view2(&m->layers[l].w_up, p + l * hd * d, hd, d);
    p += L * hd * d;
    view2(&m->final_norm, p, d, 0);
    p += d;
    p += 2 * ((int64_t)h.seq_len * c->head_dim / 2); // freq_cis_real/imag
    view2(&m->lm_head, h.tied ? (const float *)(bytes + 28) : p, V, d);
    snprintf(m->format, sizeof m->format, "llama2c");
    return CPR_OK;
}
