// tests/test_methods_depth.c: ShortGPT (methods/depth.h) against the
// PyTorch oracle's fixtures (tests/oracle/depth_oracle.py): the same
// Block Influence per layer (relative 1e-5), the same removed layers and,
// in the --slow cases, the perplexity after removal within 1e-4 relative.
// Also: lowest-k ties by index; scores bit-identical for 1 and 2 threads.
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
#include "methods/depth.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

static void test_lowest(struct cpr_test_ctx *t) {
    const double s[6] = {3, 1, 2, 1, 5, 1};
    uint8_t d[6];
    cpr_depth_lowest(s, 6, 2, d);
    CPR_CHECK(t, d[1] && d[3] && !d[5] && !d[2], "ties by index");
    cpr_depth_lowest(s, 6, 4, d);
    CPR_CHECK(t, d[1] && d[3] && d[5] && d[2] && !d[0] && !d[4], "k = 4");
}

static void test_threads(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 64, .intermediate = 96,
        .n_layers = 4, .n_heads = 4, .n_kv_heads = 2, .vocab = 101,
        .context = 64, .dtype = CPR_DTYPE_F32, .seed = 9, .init_std = 0.1,
        .norm_jitter = 0.2, .bos_id = 1, .eos_id = 2,
    };
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    int32_t tok[3 * 40];
    for (int i = 0; i < 3 * 40; i++) tok[i] = (int32_t)((i * 31 + 7) % 101);
    double a[4], b[4];
    struct cpr_pool *p2 = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&p2, 2, &err), CPR_OK, &err, NULL);
    for (int ang = 0; ang < 2; ang++) {
        CPR_CHECK_STATUS(t, cpr_shortgpt_scores(&m, NULL, tok, 3, 40, ang, a,
                                                &err), CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_shortgpt_scores(&m, p2, tok, 3, 40, ang, b,
                                                &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(a, b, sizeof a), "1 vs 2 threads differ");
        for (int l = 0; l < 4; l++)
            CPR_CHECK(t, a[l] > 0 && a[l] < 120 * (ang ? 1.0 : 2.0),
                      "score %d = %g", l, a[l]);
    }
    cpr_pool_free(p2);
    cpr_model_free(&m);
}

static double jnum(const struct cpr_json *v, double def) {
    return cpr_json_is(v, CPR_JSON_NUMBER) ? v->num : def;
}

static void run_model(struct cpr_test_ctx *t, const char *model,
                      const char *file, int with_ppl) {
    char fx[256];
    snprintf(fx, sizeof fx, "depth_oracle_%s", model);
    struct dt_oracle ora;
    if (dt_oracle_open(t, &ora, model, file, fx)) return;
    const struct cpr_json *runs = ora.runs;
    const int64_t ns = (int64_t)cpr_json_get_num(ora.cal, "nsamples", 0),
                  sl = (int64_t)cpr_json_get_num(ora.cal, "seqlen", 0);
    const struct cpr_model *m0 = &ora.model;
    const char *path = ora.path;
    struct cpr_pool *pool = ora.pool;
    struct cpr_err err = {0};
    int32_t *eids = NULL;
    int64_t en = 0;
    struct cpr_calib_windows w = {0};
    if (dt_oracle_calib(t, &ora, ns, sl, &w))
        goto out;
    if (with_ppl &&
        dt_oracle_tokens(t, &ora, "tinystories", "eval",
                         cpr_json_get_str(ora.ev, "sha256", ""), &eids, &en))
        goto out;
    const int64_t L = m0->cfg.n_layers;
    double bi[2][64];
    for (int ang = 0; ang < 2 && L <= 64; ang++)
        CPR_CHECK_STATUS(t, cpr_shortgpt_scores(m0, pool, w.tokens, ns, sl,
                                                ang, bi[ang], &err),
                         CPR_OK, &err, NULL);
    for (size_t i = 0; i < cpr_json_len(runs) && !err.code; i++) {
        const struct cpr_json *r = cpr_json_at(runs, i);
        const int ang = (int)cpr_json_get_num(r, "angular", 0);
        const int64_t k = (int64_t)cpr_json_get_num(r, "remove", 0);
        const struct cpr_json *sc = cpr_json_get(r, "scores");
        const struct cpr_json *rm = cpr_json_get(r, "removed");
        CPR_CHECK(t, (int64_t)cpr_json_len(sc) == L, "fixture scores");
        double md = 0;
        for (int64_t l = 0; l < L && (int64_t)cpr_json_len(sc) == L; l++) {
            double o = jnum(cpr_json_at(sc, (size_t)l), 0);
            md = fmax(md, fabs(bi[ang][l] - o) / fabs(o));
        }
        CPR_CHECK(t, md < 1e-5, "%s angular %d: scores max rel diff %.3g",
                  model, ang, md);
        uint8_t drop[64];
        cpr_depth_lowest(bi[ang], L, k, drop);
        int64_t nd = 0, same = 1;
        for (int64_t l = 0; l < L; l++) nd += drop[l];
        for (size_t j = 0; j < cpr_json_len(rm); j++) {
            int64_t l = (int64_t)jnum(cpr_json_at(rm, j), -1);
            same &= l >= 0 && l < L && drop[l];
        }
        CPR_CHECK(t, same && nd == (int64_t)cpr_json_len(rm),
                  "%s angular %d remove %lld: other layers chosen", model, ang,
                  (long long)k);
        const double want = jnum(cpr_json_get(r, "ppl"), 0);
        if (!with_ppl || want <= 0) continue; // null: a scores-only fixture
        struct cpr_model m = {0};
        if (cpr_model_load(path, &m, &err) ||
            cpr_model_drop_layers(&m, drop, &err)) {
            CPR_CHECK(t, 0, "%s", err.msg);
            cpr_model_free(&m);
            break;
        }
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF};
        struct cpr_ppl_result res;
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, pool, eids, en, &po, &res,
                                         &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, !err.code && fabs(res.ppl - want) / want < 1e-4,
                  "%s angular %d remove %lld: ppl %.6f, oracle %.6f", model,
                  ang, (long long)k, res.ppl, want);
        cpr_model_free(&m);
    }
out:
    cpr_calib_windows_free(&w);
    free(eids);
    dt_oracle_close(&ora);
}

static void test_260k_scores(struct cpr_test_ctx *t) {
    run_model(t, "stories260K", "/stories260K.bin", 0);
}
static void test_656k_scores(struct cpr_test_ctx *t) {
    run_model(t, "tinystories-656k", "", 0);
}
static void test_260k_ppl(struct cpr_test_ctx *t) {
    run_model(t, "stories260K", "/stories260K.bin", 1);
}
static void test_656k_ppl(struct cpr_test_ctx *t) {
    run_model(t, "tinystories-656k", "", 1);
}

const struct cpr_test cpr_tests_methods_depth[] = {
    {"lowest_ties", test_lowest, 0},
    {"threads_identical", test_threads, 0},
    {"shortgpt_stories260K_scores", test_260k_scores, 0},
    {"shortgpt_656k_scores", test_656k_scores, 0},
    {"shortgpt_stories260K_ppl", test_260k_ppl, 1},
    {"shortgpt_656k_ppl", test_656k_ppl, 1},
    {0},
};
