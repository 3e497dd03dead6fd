// tests/test_core_depth.c: removed sub-blocks and dropped layers
// (core/model_edit.h). A model with layer 1's attention removed, layer 2's
// MLP removed and layer 3 dropped computes what the full model computes
// with o_proj of layer 1, down_proj of layer 2 and both of layer 3 zeroed
// (a hand construction: those sub-blocks then add exactly zero to the
// residual). Decode agrees with the full-sequence pass; the HF writer drops
// the tensors and the layer, and the model loads back to the same pass.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "core/forward.h"
#include "core/model_edit.h"
#include "core/synth.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static struct cpr_synth_spec spec(void) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 48, .intermediate = 80,
        .n_layers = 4, .n_heads = 4, .n_kv_heads = 2, .head_dim = 12,
        .vocab = 97, .context = 128, .dtype = CPR_DTYPE_F32, .seed = 5,
        .init_std = 0.15, .norm_jitter = 0.2, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static enum cpr_status nll_of(const struct cpr_model *m, const int32_t *tok,
                              int64_t n_seq, int64_t seqlen, double *nll,
                              struct cpr_err *err) {
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, NULL, NULL, n_seq, seqlen, err));
    enum cpr_status s = cpr_forward_chunk_nll(&f, tok, n_seq, seqlen, 0, nll,
                                              err);
    cpr_forward_free(&f);
    return s;
}

static void zero(struct cpr_tensor *w) {
    memset(w->data, 0, (size_t)cpr_tensor_numel(w) * sizeof(float));
}

static enum cpr_status edited(struct cpr_model *b,
                              const struct cpr_synth_spec *s,
                              struct cpr_err *err) {
    CPR_TRY(cpr_synth_model(b, s, err));
    CPR_TRY(cpr_model_remove_sub(b, 1, CPR_GROUP_ATTN, err));
    CPR_TRY(cpr_model_remove_sub(b, 2, CPR_GROUP_MLP, err));
    CPR_TRY(cpr_model_remove_sub(b, 3, CPR_GROUP_ATTN, err));
    CPR_TRY(cpr_model_remove_sub(b, 3, CPR_GROUP_MLP, err));
    return cpr_model_drop_empty_layers(b, err);
}

enum { NS = 2, SL = 24 };

static void tokens(int32_t *tok) {
    for (int i = 0; i < NS * SL; i++) tok[i] = (int32_t)((i * 13 + 5) % 97);
}

static void test_forward_hand(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model a, b;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&a, &s, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, edited(&b, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    zero(&a.layers[1].wo);
    zero(&a.layers[2].w_down);
    zero(&a.layers[3].wo);
    zero(&a.layers[3].w_down);
    CPR_CHECK(t, b.cfg.n_layers == 3, "layers %lld", (long long)b.cfg.n_layers);
    struct cpr_layer_shape s1 = cpr_layer_shape_of(&b, 1),
                           s2 = cpr_layer_shape_of(&b, 2);
    CPR_CHECK(t, !s1.has_attn && s1.has_mlp && s2.has_attn && !s2.has_mlp &&
                     s1.n_heads == 4 && s1.n_kv_heads == 2 &&
                     s1.head_dim == 12 && s1.intermediate == 80,
              "shapes filled");
    CPR_CHECK(t, !b.layers[1].wq.data && !b.layers[1].attn_norm.data &&
                     !b.layers[2].w_down.data && b.layers[2].wq.data,
              "removed tensors absent");
    CPR_CHECK(t, cpr_model_count_subs(&b, CPR_GROUP_ATTN) == 2 &&
                     cpr_model_count_subs(&b, CPR_GROUP_MLP) == 2,
              "sub-block counts");
    const int64_t H = s.hidden, I = s.intermediate, qd = 48, kvd = 24;
    const int64_t per_attn = H * qd * 2 + H * kvd * 2, per_mlp = 3 * H * I;
    CPR_CHECK(t, cpr_model_linear_params(&b) == 2 * per_attn + 2 * per_mlp,
              "linear params %lld", (long long)cpr_model_linear_params(&b));
    CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_OK, &err, NULL);
    int32_t tok[NS * SL];
    tokens(tok);
    double na[NS * (SL - 1)], nb[NS * (SL - 1)];
    CPR_CHECK_STATUS(t, nll_of(&a, tok, NS, SL, na, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, nll_of(&b, tok, NS, SL, nb, &err), CPR_OK, &err, NULL);
    double maxd = 0;
    for (int i = 0; i < NS * (SL - 1); i++)
        if (fabs(na[i] - nb[i]) > maxd) maxd = fabs(na[i] - nb[i]);
    CPR_CHECK(t, maxd < 1e-6, "removed vs zeroed: max |nll diff| %.3g", maxd);

    // decode: one token at a time equals the full pass (last-row NLL)
    struct cpr_decode d;
    CPR_CHECK_STATUS(t, cpr_decode_init(&d, &b, NULL, NULL, SL, 1, &err),
                     CPR_OK, &err, NULL);
    if (!err.code) {
        float *lg = malloc((size_t)s.vocab * sizeof *lg);
        double md = 0;
        for (int64_t p = 0; lg && p + 1 < SL; p++) {
            if (cpr_decode_step(&d, &tok[p], 1, 0, lg, &err) != CPR_OK) break;
            double mx = -INFINITY, z = 0;
            for (int64_t v = 0; v < s.vocab; v++) mx = fmax(mx, lg[v]);
            for (int64_t v = 0; v < s.vocab; v++) z += exp(lg[v] - mx);
            double nll = log(z) + mx - lg[tok[p + 1]];
            md = fmax(md, fabs(nll - nb[p]));
        }
        CPR_CHECK(t, lg && !err.code && md < 1e-4,
                  "decode vs forward: max |nll diff| %.3g (%s)", md, err.msg);
        free(lg);
        cpr_decode_free(&d);
    }
    // a removed sub-block cannot be removed again; tensors must be absent
    CPR_CHECK_STATUS(t, cpr_model_remove_sub(&b, 1, CPR_GROUP_ATTN, &err),
                     CPR_ERR_ARG, &err, "already removed");
    uint8_t all[3] = {1, 1, 1};
    CPR_CHECK_STATUS(t, cpr_model_drop_layers(&b, all, &err), CPR_ERR_ARG,
                     &err, "at least one");
    b.layers[1].attn_norm = a.layers[1].attn_norm; // borrowed view
    CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_ERR_FORMAT, &err,
                     "layers.1.attn_norm is present");
    memset(&b.layers[1].attn_norm, 0, sizeof b.layers[1].attn_norm);
    cpr_model_free(&a);
    cpr_model_free(&b);
}

static void test_roundtrip(struct cpr_test_ctx *t) {
    char dir[256], out[300], cfgp[340];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct cpr_synth_spec s = spec();
    struct cpr_model b, c;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, edited(&b, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    snprintf(out, sizeof out, "%s/depth", dir);
    CPR_CHECK_STATUS(t, cpr_model_save_hf(&b, out, NULL, &err), CPR_OK, &err,
                     NULL);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", out);
    size_t n = 0;
    unsigned char *txt = dt_read(cfgp, &n);
    char *cfg = txt ? realloc(txt, n + 1) : NULL;
    if (cfg) cfg[n] = 0;
    CPR_CHECK(t, cfg && strstr(cfg, "\"num_hidden_layers\": 3") &&
                     strstr(cfg, "\"attn\": false") &&
                     strstr(cfg, "\"mlp\": false"),
              "config: %s", cfg ? cfg : "(unreadable)");
    free(cfg ? cfg : (char *)txt);
    CPR_CHECK_STATUS(t, cpr_model_load(out, &c, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        for (int64_t l = 0; l < 3; l++) {
            struct cpr_layer_shape x = cpr_layer_shape_of(&b, l),
                                   y = cpr_layer_shape_of(&c, l);
            CPR_CHECK(t, x.has_attn == y.has_attn && x.has_mlp == y.has_mlp &&
                             x.n_heads == y.n_heads,
                      "layer %lld shape", (long long)l);
        }
        CPR_CHECK(t, cpr_model_total_params(&b) == cpr_model_total_params(&c),
                  "params");
        int32_t tok[NS * SL];
        tokens(tok);
        double nb[NS * (SL - 1)], nc[NS * (SL - 1)];
        CPR_CHECK_STATUS(t, nll_of(&b, tok, NS, SL, nb, &err), CPR_OK, &err,
                         NULL);
        CPR_CHECK_STATUS(t, nll_of(&c, tok, NS, SL, nc, &err), CPR_OK, &err,
                         NULL);
        CPR_CHECK(t, !memcmp(nb, nc, sizeof nb), "reloaded model differs");
        cpr_model_free(&c);
    }
    cpr_model_free(&b);
    dt_rmtree(dir);
}

// Every per-layer tensor belongs to the sub-block whose removal frees it:
// Qwen3's q/k norms and the fused q/k/v are attention tensors, so removing
// a Qwen3 layer's MLP keeps them (and the loader/writer keep them too).
static void test_field_groups(struct cpr_test_ctx *t) {
    static const size_t attn[] = {
        offsetof(struct cpr_layer, q_norm), offsetof(struct cpr_layer, k_norm),
        offsetof(struct cpr_layer, wqkv), offsetof(struct cpr_layer, bqkv),
        offsetof(struct cpr_layer, wq), offsetof(struct cpr_layer, bo)};
    static const size_t mlp[] = {offsetof(struct cpr_layer, w_up),
                                 offsetof(struct cpr_layer, mlp_norm),
                                 offsetof(struct cpr_layer, b_down)};
    for (size_t i = 0; i < sizeof attn / sizeof attn[0]; i++)
        CPR_CHECK(t, cpr_layer_field_group(attn[i]) == CPR_GROUP_ATTN,
                  "attention field %zu grouped with the MLP", i);
    for (size_t i = 0; i < sizeof mlp / sizeof mlp[0]; i++)
        CPR_CHECK(t, cpr_layer_field_group(mlp[i]) == CPR_GROUP_MLP,
                  "MLP field %zu grouped with attention", i);
}

const struct cpr_test cpr_tests_core_depth[] = {
    {"field_groups", test_field_groups, 0},
    {"forward_hand", test_forward_hand, 0},
    {"roundtrip", test_roundtrip, 0},
    {0},
};
