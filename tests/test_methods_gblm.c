// tests/test_methods_gblm.c: GBLM-Pruner and the gradient-only ablation.
//   hand: a 2x4 matrix worked by hand (metric, per-row count, N:M,
//     gradient_inv, gradient_norm=l1, the gradient method, the error
//     without gradients);
//   refuse: a model the backward pass refuses (qkv biases) fails with
//     CPR_ERR_UNSUPPORTED before any pruning;
//   threads: the whole pipeline on a synthetic model, 1 vs 2 threads
//     bit-identical;
//   stories260K vs the oracle (tests/oracle/gblm_oracle.py, fixture
//     tests/fixtures/gblm_oracle_stories260K.json): gblm 50%, 2:4 and
//     gradient 50%, calibration tinystories calib sequential 128 x 512:
//     per-linear mask fingerprints (zero count, sum of flat indices of
//     the zeros) identical and tinystories/eval perplexity within 1%.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/rng.h"
#include "core/synth.h"
#include "data/json.h"
#include "data/model_load.h"
#include "eval/perplexity.h"
#include "methods/calib.h"
#include "methods/gblm.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

// Prune a copy of the hand matrix with `md` / `opts`; 1 in got = pruned.
static enum cpr_status hand_run(const struct cpr_method *md, const char *opts,
                                unsigned nm_n, unsigned nm_m, int with_grad,
                                uint8_t got[8], struct cpr_err *err) {
    float w[8] = {1, -2, 3, -4, 1, 1, 1, 1};
    const float scaler[4] = {4, 1, 1, 0.25f};
    const float g2[8] = {0.5f, 1, 0.5f, 0, 0, 0, 0, 10};
    const float g1[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    struct cpr_linear_stats ls = {.n_cols = 4, .n_samples = 1,
                                  .scaler_row = scaler};
    if (with_grad) ls.grad_l1 = g1, ls.grad_l2 = g2;
    struct cpr_matrix m = {"hand", w, 2, 4, 4, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_prune_target tg = {0.5, nm_n, nm_m};
    void *st = NULL;
    CPR_TRY(md->init(&st, err));
    enum cpr_status s = md->parse_opts(st, opts, err);
    if (!s) s = md->prune_matrix(st, &m, &ls, &tg, got, NULL, NULL, err);
    md->free(st);
    for (int i = 0; i < 8 && !s; i++)
        if (got[i] != (w[i] == 0.0f)) return CPR_ERR_NUMERIC;
    return s;
}

static void check_mask(struct cpr_test_ctx *t, const char *what,
                       const uint8_t got[8], const char *want) {
    char s[9];
    for (int i = 0; i < 8; i++) s[i] = got[i] ? '1' : '0';
    s[8] = 0;
    CPR_CHECK(t, !strcmp(s, want), "%s: mask %s, expected %s", what, s, want);
}

static void test_hand(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    uint8_t got[8];
    // row 0: a = |W| sqrt(s) = [2 2 3 2], |W| G = [.5 2 1.5 0], S = [2.5 4
    // 4.5 2] -> prune cols 3, 0 (Wanda alone would prune 0, 1);
    // row 1: a = [2 1 1 .5], |W| G = [0 0 0 10], S = [2 1 1 10.5] -> 1, 2.
    CPR_CHECK_STATUS(t, hand_run(&cpr_method_gblm, "", 0, 0, 1, got, &err),
                     CPR_OK, &err, NULL);
    check_mask(t, "gblm 50%", got, "10010110");
    CPR_CHECK_STATUS(t, hand_run(&cpr_method_gblm, "", 2, 4, 1, got, &err),
                     CPR_OK, &err, NULL);
    check_mask(t, "gblm 2:4", got, "10010110");
    // inv: S = a / (G + 1e-8): row 0 [4 2 6 2e8] -> 1, 0; row 1 [2e8 1e8
    // 1e8 .05] -> 3 and the lower of the tied 1e8 (col 1).
    CPR_CHECK_STATUS(t, hand_run(&cpr_method_gblm, "gradient_inv=1", 0, 0, 1,
                                 got, &err), CPR_OK, &err, NULL);
    check_mask(t, "gblm inv", got, "11000101");
    // l1 (all ones): S = a + |W|: row 0 [3 4 6 6] -> 0, 1; row 1 [3 2 2
    // 1.5] -> 3, 1.
    CPR_CHECK_STATUS(t, hand_run(&cpr_method_gblm, "gradient_norm=l1", 0, 0, 1,
                                 got, &err), CPR_OK, &err, NULL);
    check_mask(t, "gblm l1", got, "11000101");
    // gradient: |W| G: row 0 [.5 2 1.5 0] -> 3, 0; row 1 [0 0 0 10] -> 0, 1
    CPR_CHECK_STATUS(t, hand_run(&cpr_method_gradient, "", 0, 0, 1, got, &err),
                     CPR_OK, &err, NULL);
    check_mask(t, "gradient", got, "10011100");
    CPR_CHECK_STATUS(t, hand_run(&cpr_method_gblm, "", 0, 0, 0, got, &err),
                     CPR_ERR_ARG, &err, "no gradient norms");
    CPR_CHECK_STATUS(t, hand_run(&cpr_method_gblm, "gradient_norm=l3", 0, 0, 1,
                                 got, &err), CPR_ERR_ARG, &err, "l3");
}

static struct cpr_synth_spec small_spec(int bias) {
    struct cpr_synth_spec s = {.hidden = 16, .intermediate = 24, .n_layers = 2,
                               .n_heads = 2, .n_kv_heads = 1, .vocab = 40,
                               .context = 64, .dtype = CPR_DTYPE_F32, .seed = 5,
                               .init_std = 0.2, .norm_jitter = 0.2,
                               .qkv_bias = bias, .bias_std = bias ? 0.1 : 0,
                               .bos_id = -1, .eos_id = -1};
    return s;
}

static enum cpr_status prune_synth(struct cpr_model *m, int bias,
                                   int threads, struct cpr_err *err) {
    struct cpr_synth_spec s = small_spec(bias);
    CPR_TRY(cpr_synth_model(m, &s, err));
    // bias == 2: an o_proj bias, which the backward pass refuses (q/k/v
    // biases, bias == 1, it supports)
    if (bias == 2) {
        const int64_t hid = m->cfg.hidden;
        for (int64_t l = 0; l < m->cfg.n_layers; l++)
            CPR_TRY(cpr_tensor_alloc(&m->layers[l].bo, CPR_DTYPE_F32, 1, &hid,
                                     err));
    }
    enum { W = 4, SL = 24 };
    int32_t tok[W * SL];
    struct cpr_rng r;
    cpr_rng_seed(&r, 9);
    for (int i = 0; i < W * SL; i++) tok[i] = (int32_t)cpr_rng_below(&r, 40);
    struct cpr_pool *pool = NULL;
    CPR_TRY(cpr_pool_init(&pool, threads, err));
    void *st = NULL;
    enum cpr_status rc = cpr_method_gblm.init(&st, err);
    struct cpr_pipe_opts o = {.method = &cpr_method_gblm, .method_state = st,
                              .target = {0.5, 0, 0}};
    struct cpr_pipe_report rep = {0};
    if (!rc) rc = cpr_prune_model(m, tok, W, SL, &o, pool, NULL, &rep, err);
    cpr_pipe_report_free(&rep);
    cpr_method_gblm.free(st);
    cpr_pool_free(pool);
    return rc;
}

static void test_refuse(struct cpr_test_ctx *t) {
    struct cpr_model m;
    struct cpr_err err = {0};
    memset(&m, 0, sizeof m);
    CPR_CHECK_STATUS(t, prune_synth(&m, 1, 1, &err), CPR_OK, &err, NULL);
    cpr_model_free(&m);
    memset(&m, 0, sizeof m);
    enum cpr_status s = prune_synth(&m, 2, 1, &err);
    CPR_CHECK_STATUS(t, s, CPR_ERR_UNSUPPORTED, &err, "o/up/down biases");
    if (s == CPR_ERR_UNSUPPORTED) { // nothing pruned
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        int nl = cpr_layer_linears(&m, 0, r, CPR_MAX_LINEARS);
        const float *w = r[0].w->data;
        size_t z = 0, n = (size_t)cpr_tensor_numel(r[0].w);
        for (size_t i = 0; i < n; i++) z += w[i] == 0.0f;
        CPR_CHECK(t, nl > 0 && z == 0, "refused model was modified");
    }
    cpr_model_free(&m);
}

static void test_threads(struct cpr_test_ctx *t) {
    struct cpr_model a, b;
    struct cpr_err err = {0};
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CPR_CHECK_STATUS(t, prune_synth(&a, 0, 1, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, prune_synth(&b, 0, 2, &err), CPR_OK, &err, NULL);
    size_t zeros = 0, total = 0, diff = 0;
    for (int64_t l = 0; l < a.cfg.n_layers; l++) {
        struct cpr_linear_ref ra[CPR_MAX_LINEARS], rb[CPR_MAX_LINEARS];
        int nl = cpr_layer_linears(&a, l, ra, CPR_MAX_LINEARS);
        cpr_layer_linears(&b, l, rb, CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) {
            size_t n = (size_t)cpr_tensor_numel(ra[j].w);
            const float *x = ra[j].w->data, *y = rb[j].w->data;
            diff += memcmp(x, y, n * sizeof(float)) != 0;
            for (size_t i = 0; i < n; i++) zeros += x[i] == 0.0f;
            total += n;
        }
    }
    CPR_CHECK(t, diff == 0, "%zu linears differ between 1 and 2 threads",
              diff);
    CPR_CHECK(t, zeros == total / 2, "%zu zeros of %zu", zeros, total);
    cpr_model_free(&a);
    cpr_model_free(&b);
}

// ---- the oracle ----
// Compare m's masks with the fixture row's zeros_per_linear.
static void check_masks(struct cpr_test_ctx *t, struct cpr_model *m,
                        const struct cpr_json *row, const char *label) {
    const struct cpr_json *zl = cpr_json_get(row, "zeros_per_linear");
    size_t bad = 0, n_lin = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        int nl = cpr_layer_linears(m, l, r, CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) {
            const struct cpr_json *e =
                cpr_json_at(cpr_json_at(zl, (size_t)l), (size_t)j);
            const float *w = r[j].w->data;
            int64_t n = cpr_tensor_numel(r[j].w), z = 0, isum = 0;
            for (int64_t i = 0; i < n; i++)
                if (w[i] == 0.0f) z++, isum += i;
            const struct cpr_json *ez = cpr_json_at(e, 0), *ei = cpr_json_at(e, 1);
            n_lin++;
            if (!ez || !ei || (int64_t)ez->num != z || (int64_t)ei->num != isum) {
                if (bad++ < 3)
                    CPR_CHECK(t, 0, "%s: layer %lld %s: zeros %lld index sum "
                              "%lld, oracle %lld %lld", label, (long long)l,
                              r[j].name, (long long)z, (long long)isum,
                              (long long)(ez ? ez->num : -1),
                              (long long)(ei ? ei->num : -1));
            }
        }
    }
    CPR_CHECK(t, bad == 0 && n_lin > 0, "%s: %zu of %zu linears differ",
              label, bad, n_lin);
}

static void run_oracle(struct cpr_test_ctx *t, const char *model) {
    char fx[256];
    snprintf(fx, sizeof fx, "gblm_oracle_%s", model);
    struct dt_oracle ora;
    if (dt_oracle_open(t, &ora, model, "", fx)) return;
    const struct cpr_json *ev = cpr_json_get(ora.ev, "tinystories/eval");
    const struct cpr_json *runs = ora.runs;
    const int64_t ns = cpr_json_get_int(ora.cal, "nsamples", 128);
    const int64_t sl = cpr_json_get_int(ora.cal, "seqlen", 512);
    const char *path = ora.path;
    struct cpr_pool *pool = ora.pool;
    struct cpr_err err = {0};
    int32_t *eids = NULL;
    int64_t en = 0;
    struct cpr_calib_windows w = {0};
    if (dt_oracle_calib(t, &ora, ns, sl, &w) ||
        dt_oracle_tokens(t, &ora, "tinystories", "eval",
                         cpr_json_get_str(ev, "sha256", ""), &eids, &en))
        goto out;
    for (size_t i = 0; i < cpr_json_len(runs); i++) {
        const struct cpr_json *row = cpr_json_at(runs, i);
        const char *meth = cpr_json_get_str(row, "method", "");
        const char *pat = cpr_json_get_str(row, "pattern", "");
        const struct cpr_method *md = cpr_method_find(meth);
        CPR_CHECK(t, md != NULL, "fixture method %s unknown", meth);
        if (!md) continue;
        struct cpr_model m = {0};
        if (cpr_model_load(path, &m, &err)) {
            CPR_CHECK(t, 0, "load: %s", err.msg);
            continue;
        }
        void *st = NULL;
        md->init(&st, &err);
        struct cpr_pipe_opts o = {.method = md, .method_state = st};
        o.target = strchr(pat, ':') ? (struct cpr_prune_target){0.5, 2, 4}
                                    : (struct cpr_prune_target){0.5, 0, 0};
        struct cpr_pipe_report rep = {0};
        enum cpr_status s = cpr_prune_model(&m, w.tokens, ns, sl, &o, pool,
                                            NULL, &rep, &err);
        CPR_CHECK_STATUS(t, s, CPR_OK, &err, NULL);
        md->free(st);
        char label[96];
        snprintf(label, sizeof label, "%s %s %s", model, meth, pat);
        if (!s) {
            check_masks(t, &m, row, label);
            struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = sl};
            struct cpr_ppl_result pr;
            CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, pool, eids, en, &po,
                                             &pr, &err), CPR_OK, &err, NULL);
            const double want = cpr_json_get_num(row, "ppl", NAN);
            CPR_CHECK(t, fabs(pr.ppl - want) <= 0.01 * want,
                      "%s: ppl %.6f, oracle %.6f", label, pr.ppl, want);
            if (t->verbose)
                printf("  %-28s ppl %10.4f oracle %10.4f rel %.1e (grad "
                       "pre-pass %.2f s)\n", label, pr.ppl, want,
                       fabs(pr.ppl - want) / want, rep.sec_grad);
        }
        cpr_pipe_report_free(&rep);
        cpr_model_free(&m);
    }
out:
    cpr_calib_windows_free(&w);
    free(eids);
    dt_oracle_close(&ora);
}

static void test_260k(struct cpr_test_ctx *t) { run_oracle(t, "stories260K"); }
static void test_656k(struct cpr_test_ctx *t) {
    run_oracle(t, "tinystories-656k");
}

const struct cpr_test cpr_tests_methods_gblm[] = {
    {"hand_worked", test_hand, 0},
    {"refuses_what_backward_refuses", test_refuse, 0},
    {"threads_1_vs_2", test_threads, 0},
    {"stories260K_vs_oracle", test_260k, 1},
    {"tinystories656k_vs_oracle", test_656k, 1},
    {0},
};
