// tests/test_core_lintable.c: the linear table and per-layer shapes
// (core/model.h): the LLaMA table's roles, sites and slots; shapes default
// to the config; a block narrowed by per-layer shapes computes what the
// uniform model computes with the removed heads / MLP channels zeroed
// (forward, attention, arena sizing), and the pruning pipeline sizes its
// statistics per block on such a model.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/rng.h"
#include "core/synth.h"
#include "data/llama2c_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static struct cpr_synth_spec spec(void) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 48, .intermediate = 80,
        .n_layers = 3, .n_heads = 4, .n_kv_heads = 2, .head_dim = 12,
        .vocab = 97, .context = 128, .dtype = CPR_DTYPE_F32, .seed = 11,
        .init_std = 0.15, .norm_jitter = 0.2, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static void test_llama_table(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    s.qkv_bias = 1, s.bias_std = 0.1;
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    static const enum cpr_linear_role roles[7] = {
        CPR_ROLE_Q, CPR_ROLE_K, CPR_ROLE_V, CPR_ROLE_O,
        CPR_ROLE_GATE, CPR_ROLE_UP, CPR_ROLE_DOWN};
    static const enum cpr_capture_site sites[7] = {
        CPR_CAPTURE_ATTN_IN, CPR_CAPTURE_ATTN_IN, CPR_CAPTURE_ATTN_IN,
        CPR_CAPTURE_O_IN, CPR_CAPTURE_MLP_IN, CPR_CAPTURE_MLP_IN,
        CPR_CAPTURE_DOWN_IN};
    static const char *const hf[7] = {
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
        "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    CPR_CHECK(t, cpr_model_linears_per_layer(&m) == 7, "per layer %d",
              cpr_model_linears_per_layer(&m));
    for (int64_t l = 0; l < s.n_layers; l++) {
        struct cpr_layer *L = &m.layers[l];
        int n = cpr_layer_linears(&m, l, r, CPR_MAX_LINEARS);
        CPR_CHECK(t, n == 7, "layer %lld: %d linears", (long long)l, n);
        struct cpr_tensor *w[7] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                   &L->w_gate, &L->w_up, &L->w_down};
        struct cpr_tensor *b[7] = {&L->bq, &L->bk, &L->bv, NULL, NULL, NULL,
                                   NULL};
        for (int j = 0; j < 7 && j < n; j++) {
            CPR_CHECK(t, r[j].role == roles[j] && r[j].site == sites[j] &&
                             r[j].w == w[j] && r[j].bias == b[j] &&
                             !strcmp(r[j].hf_name, hf[j]) &&
                             !strcmp(r[j].name, cpr_linear_name((enum cpr_linear)j)),
                      "layer %lld entry %d (%s)", (long long)l, j, r[j].name);
            CPR_CHECK(t, cpr_model_linear(&m, l, (enum cpr_linear)j) == w[j] &&
                             cpr_capture_site_of((enum cpr_linear)j) == sites[j],
                      "compat accessors, entry %d", j);
            CPR_CHECK(t, cpr_role_group_of(r[j].role) ==
                             (j >= 4 ? CPR_GROUP_MLP : CPR_GROUP_ATTN),
                      "group of %s", r[j].name);
        }
    }
    CPR_CHECK(t, cpr_role_group_of(CPR_ROLE_FC1) == CPR_GROUP_MLP &&
                     cpr_role_group_of(CPR_ROLE_QKV) == CPR_GROUP_ATTN &&
                     !strcmp(cpr_role_name(CPR_ROLE_QKV), "qkv"),
              "fused and non-gated roles");
    // a capped call writes at most cap entries and still returns the count
    CPR_CHECK(t, cpr_layer_linears(&m, 0, r, 2) == 7, "capped count");
    struct cpr_layer_shape sh = cpr_layer_shape_of(&m, 1);
    CPR_CHECK(t, sh.n_heads == 4 && sh.n_kv_heads == 2 && sh.head_dim == 12 &&
                     sh.intermediate == 80 && sh.has_attn && sh.has_mlp,
              "uniform shape from the config");
    cpr_model_free(&m);
}

// Replace *t (f32, 2-D) by rows [r0, r0 + nr) x cols [c0, c0 + nc).
static enum cpr_status slice(struct cpr_tensor *t, int64_t r0, int64_t nr,
                             int64_t c0, int64_t nc, struct cpr_err *err) {
    struct cpr_tensor o = {0};
    int64_t shape[2] = {nr, nc};
    CPR_TRY(cpr_tensor_alloc(&o, CPR_DTYPE_F32, 2, shape, err));
    const float *src = t->data;
    float *dst = o.data;
    for (int64_t r = 0; r < nr; r++)
        memcpy(dst + r * nc, src + (r0 + r) * t->shape[1] + c0,
               (size_t)nc * sizeof(float));
    cpr_tensor_free(t);
    *t = o;
    return CPR_OK;
}

static void zero_rows(struct cpr_tensor *t, int64_t r0, int64_t r1) {
    float *x = t->data;
    memset(x + r0 * t->shape[1], 0,
           (size_t)((r1 - r0) * t->shape[1]) * sizeof(float));
}

static void zero_cols(struct cpr_tensor *t, int64_t c0, int64_t c1) {
    float *x = t->data;
    for (int64_t r = 0; r < t->shape[0]; r++)
        for (int64_t c = c0; c < c1; c++) x[r * t->shape[1] + c] = 0.0f;
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

// b <- a synth model with layer 1's MLP cut to 40 channels and layer 2 to
// one kv group (heads 0, 1), the other weights unchanged.
static enum cpr_status narrowed(struct cpr_model *b,
                                const struct cpr_synth_spec *s,
                                struct cpr_err *err) {
    CPR_TRY(cpr_synth_model(b, s, err));
    const int64_t hd = s->head_dim, H = s->hidden;
    struct cpr_layer *L = &b->layers[1];
    enum cpr_status st = slice(&L->w_gate, 0, 40, 0, H, err);
    if (!st) st = slice(&L->w_up, 0, 40, 0, H, err);
    if (!st) st = slice(&L->w_down, 0, H, 0, 40, err);
    L->shape = cpr_layer_shape_of(b, 1);
    L->shape.intermediate = 40;
    L = &b->layers[2];
    if (!st) st = slice(&L->wq, 0, 2 * hd, 0, H, err);
    if (!st) st = slice(&L->wk, 0, hd, 0, H, err);
    if (!st) st = slice(&L->wv, 0, hd, 0, H, err);
    if (!st) st = slice(&L->wo, 0, H, 0, 2 * hd, err);
    L->shape = cpr_layer_shape_of(b, 2);
    L->shape.n_heads = 2, L->shape.n_kv_heads = 1;
    return st;
}

// Model a: uniform, with layer 1's MLP channels [40, 80) and layer 2's kv
// group 1 (query heads 2, 3) made inert by zeroing what reads them. Model
// b: the same weights with those channels/heads removed through per-layer
// shapes. The NLLs agree to rounding (the sums differ only in order).
static void test_narrow_layers(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model a, b;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&a, &s, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, narrowed(&b, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    const int64_t hd = s.head_dim, H = s.hidden;
    // a: the same computation with the removed parts zeroed
    zero_rows(&a.layers[1].w_gate, 40, 80);
    zero_rows(&a.layers[1].w_up, 40, 80);
    zero_cols(&a.layers[2].wo, 2 * hd, 4 * hd);
    CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_OK, &err, NULL);
    struct cpr_layer_shape mx = cpr_model_max_shape(&b);
    CPR_CHECK(t, mx.n_heads == 4 && mx.intermediate == 80, "max shape");

    enum { NS = 2, SL = 40 };
    int32_t tok[NS * SL];
    struct cpr_rng r;
    cpr_rng_seed(&r, 3);
    for (int i = 0; i < NS * SL; i++)
        tok[i] = (int32_t)cpr_rng_below(&r, (uint64_t)s.vocab);
    double na[NS * (SL - 1)], nb[NS * (SL - 1)];
    CPR_CHECK_STATUS(t, nll_of(&a, tok, NS, SL, na, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, nll_of(&b, tok, NS, SL, nb, &err), CPR_OK, &err, NULL);
    double maxd = 0;
    for (int i = 0; i < NS * (SL - 1); i++)
        if (fabs(na[i] - nb[i]) > maxd) maxd = fabs(na[i] - nb[i]);
    CPR_CHECK(t, maxd < 1e-5, "narrowed layers: max |nll diff| %.3g", maxd);

    // A shape the tensors do not have is refused by name.
    b.layers[2].shape.n_heads = 4;
    CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_ERR_SHAPE, &err,
                     "layers.2.wq");
    b.layers[2].shape.n_heads = 3; // not a multiple of 2 kv heads
    b.layers[2].shape.n_kv_heads = 2;
    CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_ERR_FORMAT, &err,
                     "layer 2 shape");
    b.layers[2].shape.n_heads = 2, b.layers[2].shape.n_kv_heads = 1;
    b.layers[2].shape.has_mlp = 0;
    CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_ERR_FORMAT,
                     &err, "layers.2.mlp_norm is present");
    b.layers[2].shape.has_mlp = 1;

    // The pipeline prunes the narrowed model: statistics at each block's
    // widths, every linear at the target.
    const struct cpr_method *md = cpr_method_find("wanda");
    void *ms = NULL;
    CPR_CHECK_STATUS(t, md->init(&ms, &err), CPR_OK, &err, NULL);
    struct cpr_pipe_opts o = {.method = md, .method_state = ms,
                              .target = {.sparsity = 0.5}};
    struct cpr_pipe_report rep;
    CPR_CHECK_STATUS(t, cpr_prune_model(&b, tok, NS, SL, &o, NULL, NULL, &rep,
                                        &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, rep.per_layer == 7 && !strcmp(rep.lin_name[6], "down_proj"),
              "report table");
    for (int64_t i = 0; i < rep.n_layers * rep.per_layer; i++)
        CPR_CHECK(t, rep.zeros[i] * 2 == rep.numel[i], "linear %lld: %lld of "
                  "%lld zero", (long long)i, (long long)rep.zeros[i],
                  (long long)rep.numel[i]);
    CPR_CHECK(t, rep.numel[1 * 7 + 6] == H * 40 && rep.numel[2 * 7 + 0] ==
                     2 * hd * H, "narrowed numel");
    cpr_pipe_report_free(&rep);
    md->free(ms);
    cpr_model_free(&a);
    cpr_model_free(&b);
}

// A whole file as a NUL-terminated string (malloc'd), NULL on failure.
static char *read_text(const char *path, size_t *n) {
    unsigned char *b = dt_read(path, n);
    char *s = b ? realloc(b, *n + 1) : NULL;
    if (!s) {
        free(b);
        return NULL;
    }
    s[*n] = '\0';
    return s;
}

// A narrowed model written as an HF directory carries its shapes in
// config.json ("cprune_layer_shapes") and loads back to the same pass; a
// uniform model's config has no such key; llama2.c output is refused;
// shapes that disagree with the tensors are refused naming the tensor.
static void test_shapes_roundtrip(struct cpr_test_ctx *t) {
    char dir[256], out[300], cfgp[340];
    if (dt_mkdtemp(dir, sizeof dir)) return;
    struct cpr_synth_spec s = spec();
    struct cpr_model b, c, u;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, narrowed(&b, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    snprintf(out, sizeof out, "%s/narrow", dir);
    CPR_CHECK_STATUS(t, cpr_model_save_hf(&b, out, NULL, &err), CPR_OK, &err,
                     NULL);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", out);
    size_t n = 0;
    char *txt = read_text(cfgp, &n);
    CPR_CHECK(t, txt && strstr(txt, "\"cprune_layer_shapes\""),
              "narrowed config has cprune_layer_shapes");
    CPR_CHECK_STATUS(t, cpr_model_load(out, &c, &err), CPR_OK, &err, NULL);
    if (!err.code) {
        for (int64_t l = 0; l < 3; l++) {
            struct cpr_layer_shape x = cpr_layer_shape_of(&b, l),
                                   y = cpr_layer_shape_of(&c, l);
            CPR_CHECK(t, !memcmp(&x, &y, sizeof x), "layer %lld shape",
                      (long long)l);
        }
        enum { NS = 1, SL = 24 };
        int32_t tok[NS * SL];
        for (int i = 0; i < NS * SL; i++) tok[i] = (int32_t)((i * 7 + 3) % 97);
        double nb[SL - 1], nc[SL - 1];
        CPR_CHECK_STATUS(t, nll_of(&b, tok, NS, SL, nb, &err), CPR_OK, &err,
                         NULL);
        CPR_CHECK_STATUS(t, nll_of(&c, tok, NS, SL, nc, &err), CPR_OK, &err,
                         NULL);
        CPR_CHECK(t, !memcmp(nb, nc, sizeof nb), "reloaded model differs");
        cpr_model_free(&c);
    }
    snprintf(cfgp, sizeof cfgp, "%s/x.bin", dir);
    b.cfg.rope_style = CPR_ROPE_INTERLEAVED; // otherwise llama2.c-writable
    CPR_CHECK_STATUS(t, cpr_llama2c_write(&b, cfgp, &err), CPR_ERR_UNSUPPORTED,
                     &err, "differ in shape");
    // shapes vs tensors: claim 4 heads in layer 2 (the tensors have 2)
    if (txt) {
        const size_t hk = strlen("\"heads\": "), kk = strlen("\"kv_heads\": ");
        char *p = strstr(txt, "\"heads\": 2");
        char *kv = p ? strstr(p, "\"kv_heads\": 1") : NULL;
        CPR_CHECK(t, p && kv, "layer 2 entry in the written config: %s",
                  txt);
        if (p && kv) {
            p[hk] = '4';
            CPR_CHECK(t, dt_write(out, "config.json", txt, n, NULL, 0) == 0,
                      "rewrite");
            CPR_CHECK_STATUS(t, cpr_model_load(out, &c, &err), CPR_ERR_SHAPE,
                             &err, "model.layers.2.self_attn.q_proj.weight");
            p[hk] = '3', kv[kk] = '2'; // 3 heads over 2 kv heads
            CPR_CHECK(t, dt_write(out, "config.json", txt, n, NULL, 0) == 0,
                      "rewrite");
            CPR_CHECK_STATUS(t, cpr_model_load(out, &c, &err), CPR_ERR_FORMAT,
                             &err, "cprune_layer_shapes[2]");
        }
    }
    free(txt);
    // a uniform model: no key
    CPR_CHECK_STATUS(t, cpr_synth_model(&u, &s, &err), CPR_OK, &err, NULL);
    snprintf(out, sizeof out, "%s/uniform", dir);
    CPR_CHECK_STATUS(t, cpr_model_save_hf(&u, out, NULL, &err), CPR_OK, &err,
                     NULL);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", out);
    txt = read_text(cfgp, &n);
    CPR_CHECK(t, txt && !strstr(txt, "cprune_layer_shapes"),
              "uniform config has no layer shapes");
    free(txt);
    cpr_model_free(&u);
    cpr_model_free(&b);
    dt_rmtree(dir);
}

const struct cpr_test cpr_tests_core_lintable[] = {
    {"shapes_roundtrip", test_shapes_roundtrip, 0},
    {"llama_table", test_llama_table, 0},
    {"narrow_layers", test_narrow_layers, 0},
    {0},
};
