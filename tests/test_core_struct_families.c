// tests/test_core_struct_families.c: a width plan (core/struct_plan.h)
// applied to the non-gated families' layouts (issues 13/14): OPT (separate
// q/k/v, fc1/fc2, biases everywhere), GPT-NeoX (fused per-head [q k v],
// parallel residual) and GPT-2 (fused q | k | v, Conv1D on disk).
// Independent check: the physically smaller model computes the logits of
// the dense model with the removed heads' q/k/v rows (and bias elements,
// at that head's positions in the fused layout), the removed out_proj
// columns, the removed channels' fc1 rows + bias elements and fc2 columns
// zeroed, and the plan's vectors added to the out_proj / fc2 biases: on
// every ISA compiled in, 1 vs 2 threads bit-identical; exact parameter
// counts; the HF output (per-layer shapes in config.json, GPT-2 weights
// written back as Conv1D (inputs, outputs)) reloads to the same logits;
// the hf-padded form (core/struct_pad.h: uniform shapes, zero rows and
// columns, a plain config without "cprune_layer_shapes") computes the same
// logits and reloads to them bit for bit, and its perplexity over the
// fixture's eval.i32 (hf protocol, seqlen 64) is the one the independent
// reader tests/oracle/struct_padded_families.py computed from the written
// files (tests/fixtures/struct_padded_families.json, within 1e-5
// relative; it also checks the exact tensor names and shapes stock
// transformers loads). CPR_STRUCT_PADDED_DIR=D writes the padded models to
// D/<family> for that script.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arch_name.h"
#include "core/forward.h"
#include "core/pool.h"
#include "core/struct_pad.h"
#include "core/struct_plan.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/json.h"
#include "data/safetensors.h"
#include "eval/perplexity.h"
#include "simd/kernels.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

enum { T = 24 };

static const char *const dirs[] = {"tests/fixtures/prune_arch_opt",
                                   "tests/fixtures/prune_arch_gpt_neox",
                                   "tests/fixtures/prune_arch_gpt2"};

static enum cpr_status logits_of(const struct cpr_model *m,
                                 const struct cpr_kernels *kt,
                                 struct cpr_pool *pool, const int32_t *tok,
                                 float *logits, struct cpr_err *err) {
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, kt, pool, 1, T, err));
    enum cpr_status s = cpr_forward_embed(&f, tok, 1, T, f.hidden, err);
    for (int64_t l = 0; l < m->cfg.n_layers && !s; l++)
        s = cpr_forward_block(&f, l, f.hidden, 1, T, NULL, err);
    for (int64_t r = 0; r < T && !s; r += f.logit_rows) {
        int64_t n = T - r < f.logit_rows ? T - r : f.logit_rows;
        s = cpr_forward_logits(&f, f.hidden + r * m->cfg.hidden, n,
                               logits + r * m->cfg.vocab, err);
    }
    cpr_forward_free(&f);
    return s;
}

// Layer 0 drops head 1 and channels 0, 5, 17 and the last; layer 1 drops
// heads 0 and 3 and every third channel. Biases: layer 0 down, layer 1 both.
static enum cpr_status make_plan(struct cpr_struct_plan *p,
                                 const struct cpr_model *m,
                                 struct cpr_err *err) {
    CPR_TRY(cpr_struct_plan_init(p, m, err));
    const int64_t H = m->cfg.hidden, nh = m->cfg.n_heads,
                  I = m->cfg.intermediate;
    for (int l = 0; l < 2; l++) {
        struct cpr_struct_layer_plan *lp = &p->layers[l];
        lp->keep_kv = malloc((size_t)nh);
        lp->keep_ch = malloc((size_t)I);
        lp->down_bias = malloc((size_t)H * sizeof(float));
        if (l) lp->o_bias = malloc((size_t)H * sizeof(float));
        if (!lp->keep_kv || !lp->keep_ch || !lp->down_bias ||
            (l && !lp->o_bias))
            return cpr_err_set(err, CPR_ERR_NOMEM, "plan");
        memset(lp->keep_kv, 1, (size_t)nh);
        for (int64_t c = 0; c < I; c++)
            lp->keep_ch[c] = l ? c % 3 != 0
                               : !(c == 0 || c == 5 || c == 17 || c == I - 1);
        for (int64_t i = 0; i < H; i++) {
            lp->down_bias[i] = 0.03f * (float)(i % 3) - 0.01f * (float)l;
            if (l) lp->o_bias[i] = 0.01f * (float)(i % 5) - 0.02f;
        }
    }
    p->layers[0].keep_kv[1] = 0;
    p->layers[1].keep_kv[0] = p->layers[1].keep_kv[nh - 1] = 0;
    return CPR_OK;
}

// An owned f32 copy of *t in place (the fixtures are f32 mmaps).
static enum cpr_status own(struct cpr_tensor *t, struct cpr_err *err) {
    if (!t->data) return CPR_OK;
    struct cpr_tensor o;
    CPR_TRY(cpr_tensor_copy_f32(&o, t, err));
    cpr_tensor_free(t);
    *t = o;
    return CPR_OK;
}

static void zero_row(struct cpr_tensor *t, int64_t r) {
    if (!t->data) return;
    const int64_t c = t->ndim == 2 ? t->shape[1] : 1;
    memset((float *)t->data + r * c, 0, (size_t)c * sizeof(float));
}

static void zero_col(struct cpr_tensor *t, int64_t c) {
    float *x = t->data;
    for (int64_t r = 0; r < t->shape[0]; r++) x[r * t->shape[1] + c] = 0;
}

// The dense model `a` zeroed as the plan removes, biases added in f32.
static enum cpr_status zero_dense(struct cpr_model *a,
                                  const struct cpr_struct_plan *p,
                                  struct cpr_err *err) {
    const int64_t H = a->cfg.hidden, nh = a->cfg.n_heads,
                  hd = a->cfg.head_dim, qd = nh * hd;
    for (int64_t l = 0; l < a->cfg.n_layers; l++) {
        struct cpr_layer *L = &a->layers[l];
        const struct cpr_struct_layer_plan *lp = &p->layers[l];
        struct cpr_tensor *ts[] = {&L->wq, &L->wk, &L->wv, &L->bq, &L->bk,
                                   &L->bv, &L->wqkv, &L->bqkv, &L->wo,
                                   &L->bo, &L->w_up, &L->b_up, &L->w_down,
                                   &L->b_down};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            CPR_TRY(own(ts[i], err));
        for (int64_t h = 0; h < nh; h++) {
            if (lp->keep_kv[h]) continue;
            for (int64_t i = 0; i < hd; i++) {
                switch (a->cfg.block.qkv) {
                case CPR_QKV_SEPARATE:
                    zero_row(&L->wq, h * hd + i), zero_row(&L->bq, h * hd + i);
                    zero_row(&L->wk, h * hd + i), zero_row(&L->bk, h * hd + i);
                    zero_row(&L->wv, h * hd + i), zero_row(&L->bv, h * hd + i);
                    break;
                case CPR_QKV_FUSED_HEADS: // rows h*3hd + {0, hd, 2hd} + i
                    for (int64_t k = 0; k < 3; k++) {
                        zero_row(&L->wqkv, h * 3 * hd + k * hd + i);
                        zero_row(&L->bqkv, h * 3 * hd + k * hd + i);
                    }
                    break;
                case CPR_QKV_FUSED_CONCAT: // rows {0, qd, 2qd} + h*hd + i
                    for (int64_t k = 0; k < 3; k++) {
                        zero_row(&L->wqkv, k * qd + h * hd + i);
                        zero_row(&L->bqkv, k * qd + h * hd + i);
                    }
                    break;
                }
                zero_col(&L->wo, h * hd + i);
            }
        }
        for (int64_t c = 0; c < a->cfg.intermediate; c++)
            if (!lp->keep_ch[c])
                zero_row(&L->w_up, c), zero_row(&L->b_up, c),
                    zero_col(&L->w_down, c);
        struct cpr_tensor *bs[2] = {&L->bo, &L->b_down};
        const float *add[2] = {lp->o_bias, lp->down_bias};
        for (int k = 0; k < 2; k++) {
            if (!add[k]) continue;
            if (!bs[k]->data)
                CPR_TRY(cpr_tensor_alloc(bs[k], CPR_DTYPE_F32, 1, &H, err));
            float *d = bs[k]->data;
            for (int64_t i = 0; i < H; i++) d[i] += add[k][i];
        }
    }
    return CPR_OK;
}

// The oracle's perplexity of family fam's padded model, or NAN.
static double oracle_ppl(const char *fam) {
    size_t n;
    unsigned char *b =
        dt_read("tests/fixtures/struct_padded_families.json", &n);
    if (!b) return NAN;
    struct cpr_json_doc doc;
    struct cpr_err e = {0};
    double v = NAN;
    if (!cpr_json_parse(&doc, (const char *)b, n, NULL, 0, &e)) {
        const struct cpr_json *f =
            cpr_json_get(cpr_json_get(doc.root, "families"), fam);
        v = cpr_json_get_num(f, "ppl", NAN);
        cpr_json_free(&doc);
    }
    free(b);
    return v;
}

// Perplexity of m over dir/eval.i32 (hf protocol, seqlen 64).
static enum cpr_status eval_ppl(const struct cpr_model *m, const char *dir,
                                double *ppl, struct cpr_err *err) {
    char p[300];
    size_t n;
    snprintf(p, sizeof p, "%s/eval.i32", dir);
    unsigned char *b = dt_read(p, &n);
    if (!b) return cpr_err_set(err, CPR_ERR_IO, "%s: cannot read", p);
    int32_t *tok = malloc(n ? n : 1);
    if (!tok) {
        free(b);
        return cpr_err_set(err, CPR_ERR_NOMEM, "tokens");
    }
    memcpy(tok, b, n); // little-endian int32 (x86, arm64)
    free(b);
    struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = 64};
    struct cpr_ppl_result r;
    enum cpr_status s = cpr_ppl_eval(m, NULL, NULL, tok, (int64_t)(n / 4),
                                     &po, &r, err);
    free(tok);
    if (!s) *ppl = r.ppl;
    return s;
}

// The GPT-2 file keeps Conv1D orientation: c_attn (hidden, 3 * kept * hd).
static int conv1d_written(const char *dir, int64_t h, int64_t cols) {
    struct cpr_safetensors st;
    struct cpr_err e = {0};
    char p[400];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    memset(&st, 0, sizeof st);
    if (cpr_safetensors_open(&st, p, &e)) return 0;
    struct cpr_tensor t;
    memset(&t, 0, sizeof t);
    int ok = cpr_safetensors_tensor(&st, "transformer.h.1.attn.c_attn.weight",
                                    &t, &e) == CPR_OK &&
             t.ndim == 2 && t.shape[0] == h && t.shape[1] == cols;
    cpr_safetensors_close(&st);
    return ok;
}

static void one_family(struct cpr_test_ctx *t, const char *dir) {
    struct cpr_model a, b, c;
    struct cpr_struct_plan p = {0};
    struct cpr_err err = {0};
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b), memset(&c, 0, sizeof c);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &a, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &b, &err), CPR_OK, &err, NULL);
    if (!err.code) CPR_CHECK_STATUS(t, make_plan(&p, &b, &err), CPR_OK, &err,
                                    NULL);
    if (err.code) goto out;
    const int64_t H = b.cfg.hidden, hd = b.cfg.head_dim,
                  I = b.cfg.intermediate, V = b.cfg.vocab;
    // kept: layer 0 3 heads, I - 4 channels; layer 1 2 heads, 2I/3 channels
    const int64_t kept_ch1 = I - (I + 2) / 3;
    const int64_t want = 4 * H * hd * (3 + 2) + 2 * H * (I - 4 + kept_ch1);
    CPR_CHECK(t, cpr_struct_plan_linear_params(&p, &b) == want,
              "%s: planned params %lld, want %lld", dir,
              (long long)cpr_struct_plan_linear_params(&p, &b),
              (long long)want);
    CPR_CHECK_STATUS(t, cpr_struct_plan_apply(&p, &b, &err), CPR_OK, &err,
                     NULL);
    if (!err.code)
        CPR_CHECK_STATUS(t, cpr_model_validate(&b, &err), CPR_OK, &err, NULL);
    if (!err.code)
        CPR_CHECK_STATUS(t, zero_dense(&a, &p, &err), CPR_OK, &err, NULL);
    if (err.code) goto out;
    CPR_CHECK(t, cpr_model_linear_params(&b) == want, "%s: applied params",
              dir);
    const struct cpr_layer_shape s1 = cpr_layer_shape_of(&b, 1);
    CPR_CHECK(t, s1.n_heads == 2 && s1.n_kv_heads == 2 &&
                     s1.intermediate == kept_ch1,
              "%s: layer 1 shape %lld/%lld/%lld", dir, (long long)s1.n_heads,
              (long long)s1.n_kv_heads, (long long)s1.intermediate);

    int32_t tok[T];
    for (int i = 0; i < T; i++) tok[i] = (int32_t)((i * 37 + 11) % V);
    const size_t n = (size_t)(T * V);
    float *la = malloc(n * 4), *lb = malloc(n * 4), *l2 = malloc(n * 4);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    const size_t nt = cpr_test_tables(tabs, isas);
    for (size_t i = 0; la && lb && l2 && i < nt && !err.code; i++) {
        CPR_CHECK_STATUS(t, logits_of(&a, &tabs[i], NULL, tok, la, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, logits_of(&b, &tabs[i], NULL, tok, lb, &err),
                         CPR_OK, &err, NULL);
        double maxd = 0;
        for (size_t k = 0; k < n; k++)
            if (fabs((double)la[k] - lb[k]) > maxd)
                maxd = fabs((double)la[k] - lb[k]);
        CPR_CHECK(t, maxd < 1e-5, "%s %s: smaller vs zeroed logits differ "
                  "by %.3g", dir, cpr_isa_name(isas[i]), maxd);
    }
    struct cpr_pool *pool = NULL;
    if (!err.code && la && lb && l2) {
        CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 2, &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, logits_of(&b, NULL, NULL, tok, lb, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK_STATUS(t, logits_of(&b, NULL, pool, tok, l2, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK(t, !memcmp(lb, l2, n * 4), "%s: 1 vs 2 threads differ",
                  dir);
    }
    char tmp[256], out[300];
    if (!err.code && !dt_mkdtemp(tmp, sizeof tmp)) {
        snprintf(out, sizeof out, "%s/m", tmp);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&b, out, NULL, &err), CPR_OK,
                         &err, NULL);
        if (!err.code)
            CPR_CHECK_STATUS(t, cpr_model_load(out, &c, &err), CPR_OK, &err,
                             NULL);
        if (!err.code) {
            CPR_CHECK_STATUS(t, logits_of(&c, NULL, NULL, tok, l2, &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK(t, !memcmp(lb, l2, n * 4), "%s: reloaded logits "
                      "differ", dir);
            const struct cpr_layer_shape r1 = cpr_layer_shape_of(&c, 1);
            CPR_CHECK(t, r1.n_heads == 2 && r1.intermediate == kept_ch1,
                      "%s: reloaded layer 1 shape", dir);
            if (b.cfg.arch == CPR_ARCH_GPT2)
                CPR_CHECK(t, conv1d_written(out, H, 3 * 2 * hd),
                          "gpt2: c_attn not written as Conv1D (%lld, %lld)",
                          (long long)H, (long long)(3 * 2 * hd));
        }
        dt_rmtree(tmp);
    }
    struct cpr_model pad;
    memset(&pad, 0, sizeof pad);
    if (!err.code && la && lb && l2)
        CPR_CHECK_STATUS(t, cpr_struct_pad(&p, &b, &pad, &err), CPR_OK, &err,
                         NULL);
    if (!err.code && la && lb && l2) {
        CPR_CHECK(t, cpr_model_linear_params(&pad) ==
                         cpr_model_linear_params(&a), "%s: padded params",
                  dir);
        CPR_CHECK_STATUS(t, logits_of(&pad, NULL, NULL, tok, la, &err),
                         CPR_OK, &err, NULL);
        double maxd = 0;
        for (size_t k = 0; k < n; k++)
            if (fabs((double)la[k] - lb[k]) > maxd)
                maxd = fabs((double)la[k] - lb[k]);
        CPR_CHECK(t, maxd < 1e-5, "%s: padded vs smaller logits differ by "
                  "%.3g", dir, maxd);
    }
    if (!err.code && la && lb && l2 && !dt_mkdtemp(tmp, sizeof tmp)) {
        snprintf(out, sizeof out, "%s/m", tmp);
        struct cpr_model r;
        memset(&r, 0, sizeof r);
        CPR_CHECK_STATUS(t, cpr_model_save_hf(&pad, out, NULL, &err), CPR_OK,
                         &err, NULL);
        if (!err.code)
            CPR_CHECK_STATUS(t, cpr_model_load(out, &r, &err), CPR_OK, &err,
                             NULL);
        if (!err.code) {
            CPR_CHECK_STATUS(t, logits_of(&r, NULL, NULL, tok, l2, &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK(t, !memcmp(la, l2, n * 4), "%s: reloaded padded logits "
                      "differ", dir);
            CPR_CHECK(t, r.layers[1].shape.n_heads == 0, "%s: padded output "
                      "has per-layer shapes", dir);
            const char *fam = cpr_arch_family_name(b.cfg.arch);
            const double want = oracle_ppl(fam);
            double got = NAN;
            CPR_CHECK_STATUS(t, eval_ppl(&r, dir, &got, &err), CPR_OK, &err,
                             NULL);
            CPR_CHECK(t, fabs(got - want) <= 1e-5 * want, "%s padded: ppl "
                      "%.9g, the oracle's %.9g", fam, got, want);
        }
        const char *keep = getenv("CPR_STRUCT_PADDED_DIR");
        if (keep && !err.code) {
            char kd[400];
            snprintf(kd, sizeof kd, "%s/%s", keep,
                     cpr_arch_family_name(b.cfg.arch));
            CPR_CHECK_STATUS(t, cpr_model_save_hf(&pad, kd, NULL, &err),
                             CPR_OK, &err, NULL);
        }
        cpr_model_free(&r);
        dt_rmtree(tmp);
    }
    cpr_model_free(&pad);
    cpr_pool_free(pool);
    free(la), free(lb), free(l2);
out:
    cpr_struct_plan_free(&p);
    cpr_model_free(&a);
    cpr_model_free(&b);
    cpr_model_free(&c);
}

static void test_apply_families(struct cpr_test_ctx *t) {
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        one_family(t, dirs[i]);
}

const struct cpr_test cpr_tests_core_struct_families[] = {
    {"apply_families", test_apply_families, 0},
    {0},
};
