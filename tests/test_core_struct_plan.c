// tests/test_core_struct_plan.c: applying a width plan (core/struct_plan.h)
// on a tiny GQA model. Hand-worked: the applied model computes what the
// dense model computes with the removed KV groups' query heads and the
// removed MLP channels zeroed and the plan's vectors as o/down biases;
// exact parameter counts; refusals; the HF output with o/down biases loads
// back to the same pass.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/struct_plan.h"
#include "core/synth.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static struct cpr_synth_spec spec(void) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = 24,
        .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 8,
        .vocab = 61, .context = 64, .dtype = CPR_DTYPE_F32, .seed = 5,
        .init_std = 0.2, .norm_jitter = 0.2, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static enum cpr_status nll_of(const struct cpr_model *m, const int32_t *tok,
                              int64_t seqlen, double *nll,
                              struct cpr_err *err) {
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, NULL, NULL, 1, seqlen, err));
    enum cpr_status s = cpr_forward_chunk_nll(&f, tok, 1, seqlen, 0, nll, err);
    cpr_forward_free(&f);
    return s;
}

// Plan: layer 0 drops KV group 0 (query heads 0, 1) and channels 3, 7..9;
// layer 1 keeps its heads, drops channel 0, and gets both biases.
static enum cpr_status make_plan(struct cpr_struct_plan *p,
                                 const struct cpr_model *m,
                                 struct cpr_err *err) {
    CPR_TRY(cpr_struct_plan_init(p, m, err));
    const int64_t H = m->cfg.hidden;
    struct cpr_struct_layer_plan *a = &p->layers[0], *b = &p->layers[1];
    a->keep_kv = calloc(2, 1);
    a->keep_ch = malloc(24);
    b->keep_ch = malloc(24);
    b->o_bias = malloc((size_t)H * sizeof(float));
    b->down_bias = malloc((size_t)H * sizeof(float));
    if (!a->keep_kv || !a->keep_ch || !b->keep_ch || !b->o_bias ||
        !b->down_bias)
        return cpr_err_set(err, CPR_ERR_NOMEM, "plan");
    a->keep_kv[1] = 1;
    memset(a->keep_ch, 1, 24);
    a->keep_ch[3] = a->keep_ch[7] = a->keep_ch[8] = a->keep_ch[9] = 0;
    memset(b->keep_ch, 1, 24);
    b->keep_ch[0] = 0;
    for (int64_t i = 0; i < H; i++) {
        b->o_bias[i] = 0.01f * (float)(i % 5) - 0.02f;
        b->down_bias[i] = 0.03f * (float)(i % 3);
    }
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

static void test_apply(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model a, b, c;
    struct cpr_struct_plan p = {0};
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&a, &s, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_synth_model(&b, &s, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, make_plan(&p, &b, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    const int64_t H = s.hidden, hd = s.head_dim;
    // 4 * 32 * 32 / 2 (q, o) + 2 * 32 * 16 (k, v) per layer; MLP 3 * 32 * 24
    const int64_t dense = 2 * (2 * H * 32 + 2 * H * 16 + 3 * H * 24);
    CPR_CHECK(t, cpr_model_linear_params(&b) == dense, "dense params");
    const int64_t want = dense - (2 * H * 16 + 2 * H * 8) - 3 * H * 4 -
                         3 * H * 1;
    CPR_CHECK(t, cpr_struct_plan_linear_params(&p, &b) == want,
              "planned params %lld, want %lld",
              (long long)cpr_struct_plan_linear_params(&p, &b),
              (long long)want);
    CPR_CHECK_STATUS(t, cpr_struct_plan_apply(&p, &b, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK(t, cpr_model_linear_params(&b) == want, "applied params");
    struct cpr_layer_shape s0 = cpr_layer_shape_of(&b, 0),
                           s1 = cpr_layer_shape_of(&b, 1);
    CPR_CHECK(t, s0.n_heads == 2 && s0.n_kv_heads == 1 && s0.head_dim == hd &&
                     s0.intermediate == 20 && s1.n_heads == 4 &&
                     s1.intermediate == 23,
              "shapes %lld/%lld/%lld, %lld/%lld", (long long)s0.n_heads,
              (long long)s0.n_kv_heads, (long long)s0.intermediate,
              (long long)s1.n_heads, (long long)s1.intermediate);
    CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_OK, &err, NULL);
    // kept rows are the originals, in order (spot checks)
    const float *aq = a.layers[0].wq.data, *bq = b.layers[0].wq.data;
    CPR_CHECK(t, !memcmp(bq, aq + 2 * hd * H, (size_t)(2 * hd * H) * 4),
              "layer 0 q rows of heads 2, 3");
    const float *ad = a.layers[0].w_down.data, *bd = b.layers[0].w_down.data;
    CPR_CHECK(t, bd[3] == ad[4] && bd[H * 20 - 1] == ad[H * 24 - 1] &&
                     bd[6] == ad[10],
              "layer 0 down columns");

    // a: the same computation by zeroing and biases
    zero_rows(&a.layers[0].wq, 0, 2 * hd);
    zero_cols(&a.layers[0].wo, 0, 2 * hd);
    int64_t gone[] = {3, 7, 8, 9};
    for (int i = 0; i < 4; i++) {
        zero_rows(&a.layers[0].w_up, gone[i], gone[i] + 1);
        zero_cols(&a.layers[0].w_down, gone[i], gone[i] + 1);
    }
    zero_rows(&a.layers[1].w_up, 0, 1);
    int64_t hs = H;
    CPR_CHECK_STATUS(t, cpr_tensor_alloc(&a.layers[1].bo, CPR_DTYPE_F32, 1,
                                         &hs, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_tensor_alloc(&a.layers[1].b_down, CPR_DTYPE_F32,
                                         1, &hs, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    memcpy(a.layers[1].bo.data, p.layers[1].o_bias, (size_t)H * 4);
    memcpy(a.layers[1].b_down.data, p.layers[1].down_bias, (size_t)H * 4);
    enum { SL = 30 };
    int32_t tok[SL];
    for (int i = 0; i < SL; i++) tok[i] = (int32_t)((i * 13 + 5) % 61);
    double na[SL - 1], nb[SL - 1], nc[SL - 1];
    CPR_CHECK_STATUS(t, nll_of(&a, tok, SL, na, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, nll_of(&b, tok, SL, nb, &err), CPR_OK, &err, NULL);
    double maxd = 0;
    for (int i = 0; i < SL - 1; i++)
        if (fabs(na[i] - nb[i]) > maxd) maxd = fabs(na[i] - nb[i]);
    CPR_CHECK(t, maxd < 1e-5, "applied vs zeroed: max |nll diff| %.3g", maxd);

    // HF output with o/down biases and per-layer shapes reloads exactly
    char dir[256], out[300];
    if (!dt_mkdtemp(dir, sizeof dir)) {
        snprintf(out, sizeof out, "%s/m", dir);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&b, out, NULL, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK_STATUS(t, cpr_model_load(out, &c, &err), CPR_OK, &err,
                         NULL);
        if (!err.code) {
            CPR_CHECK(t, c.layers[1].bo.data && c.layers[1].b_down.data &&
                             !c.layers[0].bo.data,
                      "biases reloaded where written");
            CPR_CHECK_STATUS(t, nll_of(&c, tok, SL, nc, &err), CPR_OK, &err,
                             NULL);
            CPR_CHECK(t, !memcmp(nb, nc, sizeof nb), "reloaded pass differs");
            cpr_model_free(&c);
        }
        dt_rmtree(dir);
    }
    cpr_struct_plan_free(&p);
    cpr_model_free(&a);
    cpr_model_free(&b);
}

// Plans that remove a whole sub-block or carry a NaN are refused by layer.
static void test_refuse(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model m;
    struct cpr_struct_plan p = {0};
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_struct_plan_init(&p, &m, &err), CPR_OK, &err,
                     NULL);
    if (err.code) return;
    p.layers[1].keep_kv = calloc(2, 1);
    CPR_CHECK_STATUS(t, cpr_struct_plan_apply(&p, &m, &err),
                     CPR_ERR_UNSUPPORTED, &err, "layer 1 keeps no KV group");
    free(p.layers[1].keep_kv);
    p.layers[1].keep_kv = NULL;
    p.layers[0].keep_ch = calloc(24, 1);
    CPR_CHECK_STATUS(t, cpr_struct_plan_check(&p, &m, &err),
                     CPR_ERR_UNSUPPORTED, &err, "layer 0 keeps no MLP");
    memset(p.layers[0].keep_ch, 1, 24);
    p.layers[0].down_bias = calloc((size_t)s.hidden, sizeof(float));
    p.layers[0].down_bias[5] = NAN;
    CPR_CHECK_STATUS(t, cpr_struct_plan_check(&p, &m, &err), CPR_ERR_ARG,
                     &err, "not finite");
    p.n_layers = 1;
    CPR_CHECK_STATUS(t, cpr_struct_plan_check(&p, &m, &err), CPR_ERR_ARG,
                     &err, "1 layers");
    p.n_layers = 2;
    cpr_struct_plan_free(&p);
    cpr_model_free(&m);
}

const struct cpr_test cpr_tests_core_struct_plan[] = {
    {"apply", test_apply, 0},
    {"refuse", test_refuse, 0},
    {0},
};
