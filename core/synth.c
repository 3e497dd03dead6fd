// core/synth.c: random-weight models (see synth.h for the init rules).
#include "core/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "simd/kernels.h"

enum cpr_status cpr_synth_config(const struct cpr_synth_spec *s,
                                 struct cpr_model_config *c,
                                 struct cpr_err *err) {
    memset(c, 0, sizeof *c);
    if (s->hidden < 1 || s->intermediate < 1 || s->n_layers < 1 ||
        s->n_heads < 1 || s->n_kv_heads < 1 || s->vocab < 1 ||
        s->context < 1 || s->head_dim < 0)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "synth: hidden, intermediate, layers, heads, "
                           "kv-heads, vocab and context must be >= 1");
    if (s->n_heads % s->n_kv_heads != 0)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "synth: heads %lld is not a multiple of kv-heads "
                           "%lld", (long long)s->n_heads,
                           (long long)s->n_kv_heads);
    int64_t hd = s->head_dim ? s->head_dim : s->hidden / s->n_heads;
    if (!s->head_dim && s->hidden % s->n_heads != 0)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "synth: hidden %lld is not a multiple of heads "
                           "%lld", (long long)s->hidden, (long long)s->n_heads);
    if (hd % 2 != 0)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "synth: head_dim %lld must be even", (long long)hd);
    if (s->bos_id >= s->vocab || s->eos_id >= s->vocab)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "synth: bos/eos id outside the vocabulary of %lld",
                           (long long)s->vocab);
    if ((unsigned)s->dtype >= CPR_DTYPE_COUNT)
        return cpr_err_set(err, CPR_ERR_ARG, "synth: unknown dtype %d",
                           (int)s->dtype);
    c->arch = s->arch;
    c->hidden = s->hidden;
    c->intermediate = s->intermediate;
    c->n_layers = s->n_layers;
    c->n_heads = s->n_heads;
    c->n_kv_heads = s->n_kv_heads;
    c->head_dim = hd;
    c->vocab = s->vocab;
    c->context = s->context;
    c->norm_eps = s->norm_eps > 0 ? s->norm_eps : 1e-5f;
    c->rope_theta = s->rope_theta > 0 ? s->rope_theta : 10000.0;
    c->rope_style = s->rope_style;
    c->rope_scaling = CPR_ROPE_SCALING_NONE;
    c->tied_embeddings = s->tied_embeddings;
    c->qkv_bias = s->qkv_bias;
    c->bos_id = s->bos_id;
    c->eos_id = s->eos_id;
    if (s->arch == CPR_ARCH_QWEN3) c->block.qk_norm = 1;
    if (s->arch == CPR_ARCH_GEMMA) {
        c->block.norm = CPR_NORM_RMS_1P, c->block.mlp = CPR_MLP_GEGLU_TANH;
        c->block.embed_scale = (float)sqrt((double)s->hidden);
    }
    return CPR_OK;
}

int64_t cpr_synth_tensor_id(int64_t layer, int j) { return 3 + 12 * layer + j; }

// Qwen3's q_norm (j = 0) / k_norm (j = 1) of layer l: after every id above.
static int64_t qk_norm_id(const struct cpr_model_config *c, int64_t l, int j) {
    return cpr_synth_tensor_id(c->n_layers, 0) + 2 * l + j;
}

void cpr_synth_fill(const struct cpr_synth_spec *s, int64_t id, int is_norm,
                    int is_bias, size_t n, void *out) {
    struct cpr_rng r;
    cpr_rng_seed(&r, s->seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1));
    double std = is_bias ? s->bias_std : (s->init_std > 0 ? s->init_std : 0.02);
    float a = (float)(sqrt(3.0) * std), jit = (float)s->norm_jitter;
    float buf[1024];
    const struct cpr_kernels *k = cpr_kernels_get();
    size_t esz = cpr_dtype_size(s->dtype);
    for (size_t i0 = 0; i0 < n; i0 += 1024) {
        size_t m = n - i0 < 1024 ? n - i0 : 1024;
        for (size_t i = 0; i < m; i++) {
            float u = 2.0f * cpr_rng_uniform_f32(&r) - 1.0f; // [-1, 1)
            buf[i] = is_norm ? (is_norm == 2 ? 0.0f : 1.0f) + jit * u : a * u;
        }
        void *dst = (char *)out + i0 * esz;
        switch (s->dtype) {
        case CPR_DTYPE_BF16: k->f32_to_bf16(m, buf, dst); break;
        case CPR_DTYPE_F16: k->f32_to_f16(m, buf, dst); break;
        default: memcpy(dst, buf, m * sizeof(float)); break;
        }
    }
}

static enum cpr_status make(struct cpr_tensor *t, const struct cpr_synth_spec *s,
                            int64_t id, int is_norm, int is_bias, int64_t d0,
                            int64_t d1, struct cpr_err *err) {
    int64_t shape[2] = {d0, d1};
    CPR_TRY(cpr_tensor_alloc(t, s->dtype, d1 > 0 ? 2 : 1, shape, err));
    cpr_synth_fill(s, id, is_norm, is_bias, (size_t)cpr_tensor_numel(t),
                   t->data);
    return CPR_OK;
}

enum cpr_status cpr_synth_model(struct cpr_model *m,
                                const struct cpr_synth_spec *s,
                                struct cpr_err *err) {
    memset(m, 0, sizeof *m);
    enum cpr_status st = cpr_synth_config(s, &m->cfg, err);
    if (st != CPR_OK) return st;
    const struct cpr_kernels *k = cpr_kernels_get();
    if (s->dtype != CPR_DTYPE_F32 && (!k->f32_to_bf16 || !k->f32_to_f16))
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "synth: no f32 -> bf16/f16 conversion kernel");
    const struct cpr_model_config *c = &m->cfg;
    int64_t H = c->hidden, I = c->intermediate;
    int64_t qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "synth: out of memory");
        goto fail;
    }
    // Gemma stores w of (1 + w): its norms are centred on 0 (HF's init)
    const int nk = c->block.norm == CPR_NORM_RMS_1P ? 2 : 1;
    if ((st = make(&m->tok_embed, s, 0, 0, 0, c->vocab, H, err)) ||
        (st = make(&m->final_norm, s, 1, nk, 0, H, 0, err)))
        goto fail;
    if (c->tied_embeddings) {
        m->lm_head = m->tok_embed;
        m->lm_head.owns_data = 0;
    } else if ((st = make(&m->lm_head, s, 2, 0, 0, c->vocab, H, err))) {
        goto fail;
    }
    for (int64_t l = 0; l < c->n_layers; l++) {
        struct cpr_layer *L = &m->layers[l];
        struct { struct cpr_tensor *t; int norm, bias; int64_t d0, d1; } ts[12] = {
            {&L->attn_norm, 1, 0, H, 0}, {&L->wq, 0, 0, qd, H},
            {&L->wk, 0, 0, kvd, H},      {&L->wv, 0, 0, kvd, H},
            {&L->wo, 0, 0, H, qd},       {&L->bq, 0, 1, qd, 0},
            {&L->bk, 0, 1, kvd, 0},      {&L->bv, 0, 1, kvd, 0},
            {&L->mlp_norm, 1, 0, H, 0},  {&L->w_gate, 0, 0, I, H},
            {&L->w_up, 0, 0, I, H},      {&L->w_down, 0, 0, H, I},
        };
        for (int j = 0; j < 12; j++) {
            if (ts[j].bias && !c->qkv_bias) continue;
            st = make(ts[j].t, s, cpr_synth_tensor_id(l, j),
                      ts[j].norm ? nk : 0, ts[j].bias, ts[j].d0, ts[j].d1,
                      err);
            if (st != CPR_OK) goto fail;
        }
        if (c->block.qk_norm &&
            ((st = make(&L->q_norm, s, qk_norm_id(c, l, 0), 1, 0,
                        c->head_dim, 0, err)) ||
             (st = make(&L->k_norm, s, qk_norm_id(c, l, 1), 1, 0,
                        c->head_dim, 0, err))))
            goto fail;
    }
    return CPR_OK;
fail:
    cpr_model_free(m);
    return st;
}
