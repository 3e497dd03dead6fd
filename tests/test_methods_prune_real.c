// tests/test_methods_prune_real.c: the whole pipeline on the real models
// against the independent PyTorch oracle (tests/oracle/prune_oracle.py,
// fixtures tests/fixtures/prune_oracle_<model>.json): magnitude, Wanda and
// SparseGPT at 50% unstructured and 2:4, calibration tinystories calib
// sequential 128 x 512, perplexity (hf protocol) on tinystories eval and
// wikitext2 test within 1% (magnitude, Wanda) and 2% (SparseGPT) of the
// oracle, the same zero counts for magnitude and Wanda, and the oracle's
// token streams (sha256) as our tokenizer's. The fast suite runs two
// cases of tinystories-656k on tinystories eval; --slow runs all 24.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "data/json.h"
#include "data/model_load.h"
#include "eval/perplexity.h"
#include "methods/calib.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

struct stream {
    int32_t *ids;
    int64_t n;
};

// Run every fixture case accepted by `want` (NULL = all).
static void run_model(struct cpr_test_ctx *t, const char *model,
                      int (*want)(const char *method, const char *pattern,
                                  const char *dataset)) {
    char fx[256];
    snprintf(fx, sizeof fx, "prune_oracle_%s", model);
    struct dt_oracle ora;
    if (dt_oracle_open(t, &ora, model, "", fx)) return;
    const struct cpr_json *ev = ora.ev;
    const struct cpr_json *runs = ora.runs;
    const char *path = ora.path;
    struct cpr_pool *pool = ora.pool;
    struct cpr_err err = {0};
    struct stream es[2] = {{0}};
    static const char *const ds[2][2] = {{"tinystories", "eval"},
                                         {"wikitext2", "test"}};
    static const char *const dsname[2] = {"tinystories/eval", "wikitext2/test"};
    struct cpr_calib_windows w = {0};
    if (dt_oracle_calib(t, &ora, 128, 512, &w))
        goto out;
    for (int d = 0; d < 2; d++) {
        int used = 0;
        for (size_t i = 0; i < cpr_json_len(runs); i++) {
            const struct cpr_json *r = cpr_json_at(runs, i);
            used |= !strcmp(cpr_json_get_str(r, "dataset", ""), dsname[d]) &&
                    (!want || want(cpr_json_get_str(r, "method", ""),
                                   cpr_json_get_str(r, "pattern", ""),
                                   dsname[d]));
        }
        if (used && dt_oracle_tokens(t, &ora, ds[d][0], ds[d][1],
                                     cpr_json_get_str(cpr_json_get(ev,
                                                                   dsname[d]),
                                                      "sha256", ""),
                                     &es[d].ids, &es[d].n))
            goto out;
    }
    static const char *const methods[] = {"dense", "magnitude", "wanda",
                                          "sparsegpt"};
    static const char *const pats[] = {"50%", "2:4"};
    for (int mi = 0; mi < 4; mi++)
        for (int pi = 0; pi < (mi ? 2 : 1); pi++) {
            const char *pat = mi ? pats[pi] : "dense";
            // the fixture rows of this case that are wanted
            const struct cpr_json *rows[2] = {NULL, NULL};
            for (size_t i = 0; i < cpr_json_len(runs); i++) {
                const struct cpr_json *r = cpr_json_at(runs, i);
                if (strcmp(cpr_json_get_str(r, "method", ""), methods[mi]) ||
                    strcmp(cpr_json_get_str(r, "pattern", ""), pat))
                    continue;
                for (int d = 0; d < 2; d++)
                    if (!strcmp(cpr_json_get_str(r, "dataset", ""), dsname[d]) &&
                        (!want || want(methods[mi], pat, dsname[d])))
                        rows[d] = r;
            }
            if (!rows[0] && !rows[1]) continue;
            struct cpr_model m = {0};
            if (cpr_model_load(path, &m, &err)) {
                CPR_CHECK(t, 0, "load: %s", err.msg);
                continue;
            }
            struct cpr_pipe_report rep = {0};
            if (mi) {
                const struct cpr_method *md = cpr_method_find(methods[mi]);
                void *st = NULL;
                md->init(&st, &err);
                struct cpr_pipe_opts o = {.method = md, .method_state = st};
                o.target = pi ? (struct cpr_prune_target){0.5, 2, 4}
                              : (struct cpr_prune_target){0.5, 0, 0};
                CPR_CHECK_STATUS(t, cpr_prune_model(&m, w.tokens, 128, 512, &o,
                                                    pool, NULL, &rep, &err),
                                 CPR_OK, &err, NULL);
                md->free(st);
            }
            const double tol = mi == 3 ? 0.02 : mi ? 0.01 : 1e-3;
            for (int d = 0; d < 2; d++) {
                if (!rows[d]) continue;
                if (mi < 3 && mi > 0)
                    CPR_CHECK(t, rep.zeros_total ==
                                     cpr_json_get_int(rows[d], "zeros", -1),
                              "%s %s %s: %lld zeros, oracle %lld", model,
                              methods[mi], pat, (long long)rep.zeros_total,
                              (long long)cpr_json_get_int(rows[d], "zeros", -1));
                struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = 512};
                struct cpr_ppl_result pr;
                CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, pool, es[d].ids,
                                                 es[d].n, &po, &pr, &err),
                                 CPR_OK, &err, NULL);
                const double want_ppl = cpr_json_get_num(rows[d], "ppl", NAN);
                CPR_CHECK(t, fabs(pr.ppl - want_ppl) <= tol * want_ppl,
                          "%s %s %s %s: ppl %.6f, oracle %.6f (tolerance %g%%)",
                          model, methods[mi], pat, dsname[d], pr.ppl, want_ppl,
                          tol * 100);
                if (t->verbose)
                    printf("  %s %-9s %-5s %-16s ppl %10.4f oracle %10.4f "
                           "rel %.1e\n", model, methods[mi], pat, dsname[d],
                           pr.ppl, want_ppl, fabs(pr.ppl - want_ppl) / want_ppl);
            }
            cpr_pipe_report_free(&rep);
            cpr_model_free(&m);
        }
out:
    cpr_calib_windows_free(&w);
    free(es[0].ids);
    free(es[1].ids);
    dt_oracle_close(&ora);
}

static int fast_cases(const char *method, const char *pattern,
                      const char *dataset) {
    return !strcmp(dataset, "tinystories/eval") &&
           ((!strcmp(method, "sparsegpt") && !strcmp(pattern, "50%")) ||
            (!strcmp(method, "wanda") && !strcmp(pattern, "2:4")));
}

static void test_fast(struct cpr_test_ctx *t) {
    run_model(t, "tinystories-656k", fast_cases);
}
static void test_all_260k(struct cpr_test_ctx *t) {
    run_model(t, "stories260K", NULL);
}
static void test_all_656k(struct cpr_test_ctx *t) {
    run_model(t, "tinystories-656k", NULL);
}

const struct cpr_test cpr_tests_methods_prune_real[] = {
    {"tinystories656k_two_cases", test_fast, 0},
    {"stories260K_all_vs_oracle", test_all_260k, 1},
    {"tinystories656k_all_vs_oracle", test_all_656k, 1},
    {0},
};
