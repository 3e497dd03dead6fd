// tests/test_methods_llmp_families.c: llm-pruner (methods/llmpruner.h) on
// OPT, GPT-2 and GPT-NeoX against the independent PyTorch oracle
// tests/oracle/llmpruner_families_oracle.py (the official LLM-Pruner
// Taylor / magnitude importance with autograd gradients through the HF
// blocks, groups as torch_pruning forms them on these models, removal by
// zeroing there, by gathering here): identical kept heads and channels in
// every layer, the same decoder-linear parameter count, the dense loss
// within 1e-5 and perplexity within 1e-4 relative (fixture
// tests/fixtures/llmpruner_families_oracle.json: param_mix, param_first,
// param_second, vectorize, a layer range, global, l1 and l2 on the
// prune_arch_* models, 10 calibration windows of 64 tokens from calib.i32,
// eval.i32 under the hf protocol, seqlen 64). Also: param_mix scores are
// bit-identical for 1 and 2 threads on each family, and with acc in a
// scratch file (--grad-scratch; these blocks run one window at a time).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "data/json.h"
#include "data/scratch_file.h"
#include "data/model_load.h"
#include "eval/perplexity.h"
#include "methods/llmpruner.h"
#include "tests/data_testutil.h"
#include "tests/harness.h"

// The fixture run's options (importance, taylor, ratio, range, global).
static int run_opts(const struct cpr_json *run, struct cpr_llmp_opts *o) {
    memset(o, 0, sizeof *o);
    const int imp = cpr_llmp_importance_parse(
        cpr_json_get_str(run, "importance", "?"));
    const char *ty = cpr_json_get_str(run, "taylor", NULL);
    const int tk = ty ? cpr_llmp_taylor_parse(ty) : 0;
    const int red = cpr_llmp_reduce_parse(cpr_json_get_str(run, "reduce",
                                                           "?"));
    if (imp < 0 || tk < 0 || red < 0) return -1;
    o->importance = (enum cpr_llmp_importance)imp;
    o->taylor = (enum cpr_llmp_taylor)tk;
    o->reduce = (enum cpr_llmp_reduce)red;
    o->ratio = cpr_json_get_num(run, "ratio", -1);
    o->layer_start = cpr_json_get_int(run, "layer_start", -1);
    o->layer_end = cpr_json_get_int(run, "layer_end", -1);
    o->global = cpr_json_get_bool(run, "glob", 0);
    return 0;
}

static void one_run(struct cpr_test_ctx *t, const struct cpr_json *run,
                    int64_t nsamples, int64_t seqlen) {
    const char *fam = cpr_json_get_str(run, "family", "?");
    const char *spec = cpr_json_get_str(run, "spec", "?");
    char dir[128];
    snprintf(dir, sizeof dir, "tests/fixtures/prune_arch_%s", fam);
    struct cpr_err err = {0};
    struct cpr_model m;
    struct cpr_struct_plan plan = {0};
    memset(&m, 0, sizeof m);
    int64_t nc = 0, ne = 0;
    int32_t *cal = dt_read_i32(dir, "calib.i32", &nc);
    int32_t *ev = dt_read_i32(dir, "eval.i32", &ne);
    CPR_CHECK(t, cal && ev && nc >= nsamples * seqlen, "%s: token files",
              dir);
    CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &err), CPR_OK, &err, NULL);
    if (!cal || !ev || err.code) goto out;
    struct cpr_llmp_opts o;
    CPR_CHECK(t, !run_opts(run, &o), "%s: fixture run %s", fam, spec);
    if (run_opts(run, &o)) goto out;
    double loss = 0;
    CPR_CHECK_STATUS(t, cpr_llmp_prune(&m, cal, nsamples, seqlen, &o, NULL,
                                       &plan, &loss, &err), CPR_OK, &err,
                     NULL);
    if (err.code) goto out;
    if (o.importance == CPR_LLMP_TAYLOR) {
        const double want = cpr_json_get_num(run, "loss", NAN);
        CPR_CHECK(t, fabs(loss - want) <= 1e-5 * want, "%s %s: loss %.9g, "
                  "oracle %.9g", fam, spec, loss, want);
    }
    const struct cpr_json *layers = cpr_json_get(run, "layers");
    CPR_CHECK(t, (int64_t)cpr_json_len(layers) == m.cfg.n_layers,
              "%s %s: oracle layers", fam, spec);
    for (int64_t l = 0; l < m.cfg.n_layers && l < plan.n_layers; l++) {
        const struct cpr_json *ol = cpr_json_at(layers, (size_t)l);
        const struct cpr_struct_layer_plan *lp = &plan.layers[l];
        CPR_CHECK(t, dt_same_kept(lp->keep_kv, lp->n_kv,
                                  cpr_json_get(ol, "kept_heads")),
                  "%s %s: layer %lld kept heads differ from the oracle's",
                  fam, spec, (long long)l);
        CPR_CHECK(t, dt_same_kept(lp->keep_ch, lp->n_ch,
                                  cpr_json_get(ol, "kept_channels")),
                  "%s %s: layer %lld kept channels differ from the oracle's",
                  fam, spec, (long long)l);
    }
    const int64_t want_p = cpr_json_get_int(run, "linear_params", -1);
    CPR_CHECK(t, cpr_model_linear_params(&m) == want_p, "%s %s: params "
              "%lld, oracle %lld", fam, spec,
              (long long)cpr_model_linear_params(&m), (long long)want_p);
    struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = 64};
    struct cpr_ppl_result r;
    CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, NULL, ev, ne, &po, &r, &err),
                     CPR_OK, &err, NULL);
    const double want = cpr_json_get_num(run, "ppl", NAN);
    if (!err.code)
        CPR_CHECK(t, fabs(r.ppl - want) <= 1e-4 * want, "%s %s: ppl %.9g, "
                  "oracle %.9g", fam, spec, r.ppl, want);
    if (t->verbose && !err.code)
        printf("  %-8s %-30s ppl %.6f oracle %.6f (rel %.2g)\n", fam, spec,
               r.ppl, want, fabs(r.ppl - want) / want);
out:
    cpr_struct_plan_free(&plan);
    cpr_model_free(&m);
    free(cal), free(ev);
}

static void test_vs_oracle(struct cpr_test_ctx *t) {
    struct cpr_json_doc doc;
    int64_t ns, sl;
    const struct cpr_json *runs = dt_fixture_runs(
        t, "tests/fixtures/llmpruner_families_oracle.json", 24, &doc, &ns, &sl);
    if (!runs) return;
    for (size_t i = 0; i < cpr_json_len(runs); i++)
        one_run(t, cpr_json_at(runs, i), ns, sl);
    cpr_json_free(&doc);
}

// param_mix scores (acc passes and the batched pass) with 1 and 2 threads,
// and with acc in a scratch file, are bit-identical.
static void test_threads(struct cpr_test_ctx *t) {
    static const char *const fams[] = {"opt", "gpt2", "gpt_neox"};
    for (int f = 0; f < 3; f++) {
        char dir[128];
        snprintf(dir, sizeof dir, "tests/fixtures/prune_arch_%s", fams[f]);
        struct cpr_err err = {0};
        struct cpr_model m;
        memset(&m, 0, sizeof m);
        int64_t nc = 0;
        int32_t *cal = dt_read_i32(dir, "calib.i32", &nc);
        CPR_CHECK(t, cal && nc >= 4 * 64, "%s: calib.i32", dir);
        CPR_CHECK_STATUS(t, cpr_model_load(dir, &m, &err), CPR_OK, &err,
                         NULL);
        // sc[0]: 1 thread; sc[1]: 2 threads; sc[2]: acc in a scratch file
        struct cpr_llmp_scores sc[3];
        memset(sc, 0, sizeof sc);
        struct cpr_scratch_file sf = {.fd = -1};
        struct cpr_llmp_opts o = {.ratio = 0.25, .layer_start = 0,
                                  .layer_end = 2};
        for (int k = 0; k < 3 && cal && !err.code; k++) {
            struct cpr_pool *pool = NULL;
            CPR_CHECK_STATUS(t, cpr_pool_init(&pool, k == 1 ? 2 : 1, &err),
                             CPR_OK, &err, NULL);
            if (k == 2 && !err.code) {
                CPR_CHECK_STATUS(t, cpr_scratch_file_open(&sf, NULL, &err),
                                 CPR_OK, &err, NULL);
                o.acc_store = &sf.io;
            }
            if (!err.code)
                CPR_CHECK_STATUS(t, cpr_llmp_scores(&m, cal, 4, 64, &o, pool,
                                                    &sc[k], &err),
                                 CPR_OK, &err, NULL);
            cpr_pool_free(pool);
        }
        CPR_CHECK(t, !err.code && sc[2].acc_bytes_written > 0, "%s: acc "
                  "scratch file unused", fams[f]);
        for (int k = 1; k < 3 && !err.code && cal; k++) {
            const struct cpr_layer_shape sh = cpr_layer_shape_of(&m, 0);
            int same = sc[0].loss == sc[k].loss;
            for (int64_t l = 0; l < 2; l++) {
                same &= !memcmp(sc[0].attn[l], sc[k].attn[l],
                                (size_t)sh.n_kv_heads * sizeof(double));
                same &= !memcmp(sc[0].mlp[l], sc[k].mlp[l],
                                (size_t)sh.intermediate * sizeof(double));
            }
            CPR_CHECK(t, same, "%s: param_mix scores differ %s", fams[f],
                      k == 1 ? "between 1 and 2 threads"
                             : "with acc in a scratch file");
        }
        cpr_scratch_file_close(&sf);
        for (int k = 0; k < 3; k++) cpr_llmp_scores_free(&sc[k]);
        cpr_model_free(&m);
        free(cal);
    }
}

const struct cpr_test cpr_tests_methods_llmp_families[] = {
    {"vs_oracle", test_vs_oracle, 0},
    {"threads", test_threads, 0},
    {0},
};
