// tests/test_methods_depth_search.c: SLEB, BlockPruner and FinerCut
// (methods/depth_search.h) against the PyTorch oracle's fixtures
// (tests/oracle/depth_oracle.py --search): the same removal order and the
// score after every step (relative 1e-5; FinerCut's Jensen-Shannon 1e-4,
// a small difference of float32 logits), and in the --slow cases the
// perplexity after the first k removals within 1e-4 relative. Also: a
// hand-made case (a layer whose o_proj and down_proj are zero is an exact
// identity: FinerCut's first step scores exactly 0 and takes it), results
// bit-identical for 1 and 2 threads, and the parameter-target stop.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model_edit.h"
#include "core/pool.h"
#include "core/synth.h"
#include "data/json.h"
#include "data/model_load.h"
#include "eval/perplexity.h"
#include "methods/calib.h"
#include "methods/depth_search.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static enum cpr_status synth(struct cpr_model *m, struct cpr_err *err) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = 48,
        .n_layers = 4, .n_heads = 4, .n_kv_heads = 2, .vocab = 61,
        .context = 64, .dtype = CPR_DTYPE_F32, .seed = 5, .init_std = 0.2,
        .norm_jitter = 0.2, .bos_id = 1, .eos_id = 2,
    };
    return cpr_synth_model(m, &s, err);
}

static void zero(struct cpr_tensor *t) {
    memset(t->data, 0, (size_t)cpr_tensor_numel(t) * sizeof(float));
}

static void test_identity_layer(struct cpr_test_ctx *t) {
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, synth(&m, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    zero(&m.layers[2].wo), zero(&m.layers[2].w_down);
    int32_t tok[3 * 24];
    for (int i = 0; i < 3 * 24; i++) tok[i] = (int32_t)((i * 17 + 3) % 61);
    struct cpr_depth_step st[8];
    int64_t n = 0;
    const struct cpr_depth_target tg = {.count = 2};
    const struct cpr_depth_search_opts o = {1, 1, 0.0};
    CPR_CHECK_STATUS(t, cpr_finercut_search(&m, NULL, tok, 3, 24, &tg, &o, st,
                                            &n, &err), CPR_OK, &err, NULL);
    // "layers.2.mlp" sorts before "layers.2.self_attn": both score 0.
    CPR_CHECK(t, n == 2 && st[0].layer == 2 && st[0].kind == CPR_DEPTH_MLP &&
              st[0].score == 0.0, "step 0: %s.%lld score %g",
              cpr_depth_kind_name(st[0].kind), (long long)st[0].layer,
              st[0].score);
    CPR_CHECK(t, st[1].layer == 2 && st[1].kind == CPR_DEPTH_ATTN &&
              st[1].score == 0.0, "step 1: %s.%lld score %g",
              cpr_depth_kind_name(st[1].kind), (long long)st[1].layer,
              st[1].score);
    // Both sub-blocks gone: the layer is dropped.
    CPR_CHECK_STATUS(t, cpr_depth_apply(&m, st, n, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, m.cfg.n_layers == 3, "layers after apply: %lld",
              (long long)m.cfg.n_layers);
    cpr_model_free(&m);
}

static void test_threads_and_target(struct cpr_test_ctx *t) {
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, synth(&m, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    int32_t tok[3 * 24];
    for (int i = 0; i < 3 * 24; i++) tok[i] = (int32_t)((i * 31 + 7) % 61);
    struct cpr_pool *p2 = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&p2, 2, &err), CPR_OK, &err, NULL);
    const struct cpr_depth_search_opts o = {1, 1, 0.0};
    const int64_t per_attn = cpr_depth_sub_linear(&m, 0, CPR_DEPTH_ATTN),
                  per_mlp = cpr_depth_sub_linear(&m, 0, CPR_DEPTH_MLP);
    CPR_CHECK(t, per_attn == 32 * 32 * 2 + 16 * 32 * 2,
              "attn linears %lld", (long long)per_attn);
    CPR_CHECK(t, per_mlp == 3 * 32 * 48, "mlp linears %lld",
              (long long)per_mlp);
    for (int meth = 0; meth < 3; meth++) {
        struct cpr_depth_step a[8], b[8];
        int64_t na = 0, nb = 0;
        // stop once at least one MLP's worth of linears is gone
        const struct cpr_depth_target tg = {.min_linear = per_mlp + 1};
        for (int th = 0; th < 2; th++) {
            struct cpr_pool *p = th ? p2 : NULL;
            struct cpr_depth_step *s = th ? b : a;
            int64_t *n = th ? &nb : &na;
            enum cpr_status st =
                meth == 0 ? cpr_sleb_search(&m, p, tok, 3, 24, &tg, &o, s, n,
                                            &err)
                : meth == 1 ? cpr_blockpruner_search(&m, p, tok, 3, 24, &tg,
                                                     s, n, &err)
                            : cpr_finercut_search(&m, p, tok, 3, 24, &tg, &o,
                                                  s, n, &err);
            CPR_CHECK(t, st == CPR_OK, "method %d: %s", meth, err.msg);
        }
        int same = na == nb;
        for (int64_t i = 0; same && i < na; i++) // fields: padding may differ
            same = a[i].layer == b[i].layer && a[i].kind == b[i].kind &&
                   !memcmp(&a[i].score, &b[i].score, sizeof a[i].score);
        CPR_CHECK(t, same, "method %d: 1 vs 2 threads differ", meth);
        int64_t removed = 0, before = 0;
        for (int64_t i = 0; i < na; i++) {
            before = removed;
            removed += cpr_depth_sub_linear(&m, a[i].layer, a[i].kind);
        }
        CPR_CHECK(t, removed >= per_mlp + 1 && before < per_mlp + 1,
                  "method %d: %lld steps remove %lld linears (target %lld)",
                  meth, (long long)na, (long long)removed,
                  (long long)(per_mlp + 1));
    }
    // SLEB with its barriers on 4 layers: only 2 can go.
    struct cpr_depth_step s[8];
    int64_t n = 0;
    const struct cpr_depth_target tg3 = {.count = 3};
    CPR_CHECK_STATUS(t, cpr_sleb_search(&m, NULL, tok, 3, 24, &tg3, &o, s, &n,
                                        &err), CPR_ERR_ARG, &err, NULL);
    CPR_CHECK(t, strstr(err.msg, "protected") != NULL, "message: %s",
              err.msg);
    cpr_pool_free(p2);
    cpr_model_free(&m);
}

static enum cpr_depth_kind kind_of(const char *s) {
    return !strcmp(s, "layer") ? CPR_DEPTH_LAYER
           : !strcmp(s, "attn") ? CPR_DEPTH_ATTN : CPR_DEPTH_MLP;
}

// One fixture run (sleb / blockpruner / finercut): search as far as the
// oracle went, compare the steps, then (with_ppl) the ppl per k.
static void check_run(struct cpr_test_ctx *t, const char *path,
                      const struct cpr_model *m0, struct cpr_pool *pool,
                      const struct cpr_calib_windows *w, int64_t ns,
                      int64_t sl, const struct cpr_json *r, const int32_t *eids,
                      int64_t en, int with_ppl) {
    const char *meth = cpr_json_get_str(r, "method", "?");
    const struct cpr_json *js = cpr_json_get(r, "steps");
    const int64_t k = (int64_t)cpr_json_len(js);
    if (k < 1 || k > 16) {
        CPR_CHECK(t, 0, "%s: fixture has %lld steps", meth, (long long)k);
        return;
    }
    struct cpr_depth_step st[32];
    int64_t n = 0;
    struct cpr_err err = {0};
    const struct cpr_depth_target tg = {.count = k};
    const struct cpr_depth_search_opts o = {
        (int)cpr_json_get_num(r, "early", 1),
        (int)cpr_json_get_num(r, "latter", 1), 0.0};
    enum cpr_status s =
        !strcmp(meth, "sleb")
            ? cpr_sleb_search(m0, pool, w->tokens, ns, sl, &tg, &o, st, &n,
                              &err)
        : !strcmp(meth, "blockpruner")
            ? cpr_blockpruner_search(m0, pool, w->tokens, ns, sl, &tg, st, &n,
                                     &err)
            : cpr_finercut_search(m0, pool, w->tokens, ns, sl, &tg, &o, st,
                                  &n, &err);
    CPR_CHECK(t, s == CPR_OK, "%s: %s", meth, err.msg);
    if (s) return;
    const double tol = strcmp(meth, "finercut") ? 1e-5 : 1e-4;
    for (int64_t i = 0; i < k && i < n; i++) {
        const struct cpr_json *x = cpr_json_at(js, (size_t)i);
        const int64_t l = (int64_t)cpr_json_get_num(x, "layer", -1);
        const enum cpr_depth_kind kd =
            kind_of(cpr_json_get_str(x, "kind", "?"));
        const double sc = cpr_json_get_num(x, "score", 0);
        CPR_CHECK(t, st[i].layer == l && st[i].kind == kd,
                  "%s step %lld: %s.%lld, oracle %s.%lld", meth, (long long)i,
                  cpr_depth_kind_name(st[i].kind), (long long)st[i].layer,
                  cpr_depth_kind_name(kd), (long long)l);
        CPR_CHECK(t, fabs(st[i].score - sc) <= tol * fabs(sc),
                  "%s step %lld: score %.9g, oracle %.9g", meth, (long long)i,
                  st[i].score, sc);
    }
    if (!with_ppl) return;
    const struct cpr_json *ev = cpr_json_get(r, "evals");
    for (size_t e = 0; e < cpr_json_len(ev); e++) {
        const struct cpr_json *x = cpr_json_at(ev, e);
        const int64_t kk = (int64_t)cpr_json_get_num(x, "remove", 0);
        const double want = cpr_json_get_num(x, "ppl", 0);
        if (want <= 0 || kk > n) continue;
        struct cpr_model m = {0};
        struct cpr_ppl_result res;
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF};
        if (cpr_model_load(path, &m, &err) ||
            cpr_depth_apply(&m, st, kk, &err) ||
            cpr_ppl_eval(&m, NULL, pool, eids, en, &po, &res, &err)) {
            CPR_CHECK(t, 0, "%s remove %lld: %s", meth, (long long)kk,
                      err.msg);
        } else {
            CPR_CHECK(t, fabs(res.ppl - want) / want < 1e-4,
                      "%s remove %lld: ppl %.6f, oracle %.6f", meth,
                      (long long)kk, res.ppl, want);
        }
        cpr_model_free(&m);
    }
}

static void run_fixture(struct cpr_test_ctx *t, const char *model,
                        const char *file, const char *fixture, int with_ppl) {
    struct dt_oracle ora;
    if (dt_oracle_open(t, &ora, model, file, fixture)) return;
    const int64_t ns = (int64_t)cpr_json_get_num(ora.cal, "nsamples", 0),
                  sl = (int64_t)cpr_json_get_num(ora.cal, "seqlen", 0);
    int32_t *eids = NULL;
    int64_t en = 0;
    struct cpr_calib_windows w = {0};
    if (dt_oracle_calib(t, &ora, ns, sl, &w))
        goto out;
    if (with_ppl &&
        dt_oracle_tokens(t, &ora, "tinystories", "eval",
                         cpr_json_get_str(ora.ev, "sha256", ""), &eids, &en))
        goto out;
    CPR_CHECK(t, cpr_json_len(ora.runs) == 3, "fixture runs: %zu",
              cpr_json_len(ora.runs));
    for (size_t i = 0; i < cpr_json_len(ora.runs); i++)
        check_run(t, ora.path, &ora.model, ora.pool, &w, ns, sl,
                  cpr_json_at(ora.runs, i), eids, en, with_ppl);
out:
    cpr_calib_windows_free(&w);
    free(eids);
    dt_oracle_close(&ora);
}

static void test_260k_small(struct cpr_test_ctx *t) {
    run_fixture(t, "stories260K", "/stories260K.bin",
                "depth_search_oracle_stories260K_small", 0);
}
static void test_260k_full(struct cpr_test_ctx *t) {
    run_fixture(t, "stories260K", "/stories260K.bin",
                "depth_search_oracle_stories260K", 1);
}
static void test_656k_full(struct cpr_test_ctx *t) {
    run_fixture(t, "tinystories-656k", "", "depth_search_oracle_tinystories-656k",
                1);
}

const struct cpr_test cpr_tests_methods_depth_search[] = {
    {"identity_layer", test_identity_layer, 0},
    {"threads_and_target", test_threads_and_target, 0},
    {"stories260K_small_vs_oracle", test_260k_small, 0},
    {"stories260K_vs_oracle", test_260k_full, 1},
    {"tinystories656k_vs_oracle", test_656k_full, 1},
    {0},
};
