// tests/test_methods_families.c: every registered method (methods/registry.c)
// on a tiny model of every supported family, at 50% unstructured and 2:4
// (each where the method accepts that kind of target). A run must either
//   - succeed: sparsity within 0.02 of 0.5 over the decoder linears (0.06
//     for SwiftPrune's approximate threshold; 2:4: every group of 4
//     consecutive inputs of every row of every linear has at least 2 zeros,
//     or the N:M a layer-allocation method chose for that linear), and a
//     finite perplexity (hf protocol) after; or
//   - refuse with CPR_ERR_UNSUPPORTED and a message naming the family
//     (none today: the gradient methods, gblm and gradient, must run on
//     every family since core/backward covers them all).
// Anything else fails. The refusals are printed with -v. Plus mixed
// sparsity with sensitivity=hutchinson (a gradient prepass, 4 probes) at
// 50% on every family.
// The width-structured methods (methods/structured.h: flap with every
// metric and structure, wanda-sp, magnitude-sp, cfsp; not in the registry,
// `cprune prune` dispatches them) must run on every family at 20%: fewer
// decoder-linear parameters, exactly as the plan counts, a valid model, a
// finite perplexity, and 1 vs 2 threads bit-identical. So must llm-pruner
// (methods/llmpruner.h, Taylor param_mix through the backward pass, and
// l1) at 25% of both layers.
// Models: llama and qwen2 from core/synth (in memory), the others the Hugging
// Face layout fixtures (mistral_window, qwen3_tiny, gemma_tiny,
// prune_arch_opt, prune_arch_gpt_neox, prune_arch_gpt2).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arch_name.h"
#include "core/pool.h"
#include "core/struct_plan.h"
#include "core/synth.h"
#include "data/model_load.h"
#include "eval/perplexity.h"
#include "methods/llmpruner.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "methods/structured.h"
#include "tests/harness.h"

enum { NS = 4, SL = 32 };

struct family {
    const char *name;
    const char *dir;   // fixture, or NULL: synth with `arch`
    enum cpr_arch arch;
};

static const struct family families[] = {
    {"llama", NULL, CPR_ARCH_LLAMA},
    {"qwen2", NULL, CPR_ARCH_QWEN2},
    {"mistral", "tests/fixtures/mistral_window", CPR_ARCH_MISTRAL},
    {"qwen3", "tests/fixtures/qwen3_tiny", CPR_ARCH_QWEN3},
    {"gemma", "tests/fixtures/gemma_tiny", CPR_ARCH_GEMMA},
    {"opt", "tests/fixtures/prune_arch_opt", CPR_ARCH_OPT},
    {"gpt_neox", "tests/fixtures/prune_arch_gpt_neox", CPR_ARCH_GPT_NEOX},
    {"gpt2", "tests/fixtures/prune_arch_gpt2", CPR_ARCH_GPT2},
};

static enum cpr_status get_model(const struct family *f, struct cpr_model *m,
                                 struct cpr_err *err) {
    if (f->dir) return cpr_model_load(f->dir, m, err);
    struct cpr_synth_spec s = {
        .arch = f->arch, .hidden = 32, .intermediate = 64, .n_layers = 2,
        .n_heads = 4, .n_kv_heads = 2, .vocab = 64, .context = 64,
        .dtype = CPR_DTYPE_F32, .seed = 7, .init_std = 0.2,
        .norm_jitter = 0.2, .bias_std = 0.2,
        .qkv_bias = f->arch == CPR_ARCH_QWEN2, .bos_id = 1, .eos_id = 2,
    };
    return cpr_synth_model(m, &s, err);
}

// Groups of m's linears with fewer zeros than their N:M target asks: 2 of 4,
// or per linear what a layer-allocation method chose (rep->alloc: OWL's
// N:M variant moves n per block, as wanda_owl_structure does).
static int64_t nm_violations(struct cpr_model *m,
                             const struct cpr_pipe_report *rep) {
    int64_t bad = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int n = cpr_layer_linears(m, l, r, CPR_MAX_LINEARS);
        for (int j = 0; j < n; j++) {
            const struct cpr_tensor *w = r[j].w;
            const struct cpr_prune_target *a =
                rep->alloc ? &rep->alloc[l * rep->per_layer + j] : NULL;
            const int64_t need = a ? a->nm_n : 2, gm = a ? a->nm_m : 4;
            if (w->dtype != CPR_DTYPE_F32 || w->ndim != 2 || gm < 1) return -1;
            const int64_t rows = w->shape[0], cols = w->shape[1];
            const float *x = w->data;
            for (int64_t i = 0; i < rows; i++)
                for (int64_t c = 0; c + gm <= cols; c += gm) {
                    int64_t z = 0;
                    for (int64_t q = 0; q < gm; q++)
                        z += x[i * cols + c + q] == 0;
                    bad += z < need;
                }
        }
    }
    return bad;
}

// opts: method options (NULL = defaults).
static void run_one(struct cpr_test_ctx *t, const struct family *f,
                    const struct cpr_method *md, const char *opts, int nm,
                    int *refusals) {
    static const struct cpr_prune_target targets[2] = {{0.5, 0, 0},
                                                       {0.5, 2, 4}};
    const char *pat = nm ? "2:4" : "50%";
    struct cpr_err err = {0};
    void *st = NULL;
    CPR_CHECK_STATUS(t, md->init(&st, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    if (opts) CPR_CHECK_STATUS(t, md->parse_opts(st, opts, &err), CPR_OK, &err,
                               NULL);
    if (cpr_method_accepts(md, st, &targets[nm], &err)) { // not a family matter
        md->free(st);
        return;
    }
    struct cpr_model m;
    memset(&m, 0, sizeof m);
    CPR_CHECK_STATUS(t, get_model(f, &m, &err), CPR_OK, &err, NULL);
    if (err.code) {
        md->free(st);
        return;
    }
    CPR_CHECK(t, m.cfg.arch == f->arch, "%s: loaded arch %s", f->name,
              cpr_arch_family_name(m.cfg.arch));
    int32_t win[NS * SL];
    for (int i = 0; i < NS * SL; i++)
        win[i] = (int32_t)((i * 31 + 7 + i / 5) % m.cfg.vocab);
    struct cpr_pipe_opts o = {.method = md, .method_state = st,
                              .target = targets[nm]};
    struct cpr_pipe_report rep;
    memset(&rep, 0, sizeof rep);
    const enum cpr_status s = cpr_prune_model(&m, win, NS, SL, &o, NULL, NULL,
                                              &rep, &err);
    const int grad = !strcmp(md->name, "gblm") ||
                     !strcmp(md->name, "gradient") || opts;
    if (s == CPR_ERR_UNSUPPORTED) {
        CPR_CHECK(t, !grad, "%s %s %s: the gradient pass refused: %s",
                  f->name, md->name, pat, err.msg);
        CPR_CHECK(t, strstr(err.msg, f->name) != NULL, "%s %s %s: refusal "
                  "does not name the family: %s", f->name, md->name, pat,
                  err.msg);
        if (t->verbose) printf("  refused: %s %s %s: %s\n", f->name, md->name,
                               pat, err.msg);
        ++*refusals;
    } else {
        CPR_CHECK(t, s == CPR_OK, "%s %s %s: %s", f->name, md->name, pat,
                  err.msg);
    }
    if (s == CPR_OK) {
        // SwiftPrune's sort-free EWMA threshold is approximate per row
        // (methods/swiftprune.h): ~4% under on these 32-48 column rows
        const double tol = strcmp(md->name, "swiftprune") ? 0.02 : 0.06;
        CPR_CHECK(t, rep.per_layer == cpr_model_linears_per_layer(&m) &&
                         fabs(rep.sparsity - 0.5) <= tol,
                  "%s %s %s: %d linears, sparsity %.4f", f->name, md->name,
                  pat, rep.per_layer, rep.sparsity);
        if (nm) {
            const int64_t bad = nm_violations(&m, &rep);
            CPR_CHECK(t, bad == 0, "%s %s 2:4: %lld groups below target",
                      f->name, md->name, (long long)bad);
        }
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = SL};
        struct cpr_ppl_result pr;
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, NULL, win, NS * SL, &po,
                                         &pr, &err), CPR_OK, &err, NULL);
        if (!err.code)
            CPR_CHECK(t, isfinite(pr.ppl) && pr.ppl > 1, "%s %s %s: ppl %g",
                      f->name, md->name, pat, pr.ppl);
        if (t->verbose && !err.code)
            printf("  %-8s %-11s %-4s sparsity %.4f ppl %.4f\n", f->name,
                   md->name, pat, rep.sparsity, pr.ppl);
    }
    cpr_pipe_report_free(&rep);
    cpr_model_free(&m);
    md->free(st);
}

static void test_every_method_every_family(struct cpr_test_ctx *t) {
    int refusals = 0, runs = 0;
    for (size_t fi = 0; fi < sizeof families / sizeof families[0]; fi++)
        for (size_t mi = 0; mi < cpr_n_methods; mi++)
            for (int nm = 0; nm < 2; nm++, runs++)
                run_one(t, &families[fi], cpr_methods[mi], NULL, nm,
                        &refusals);
    const struct cpr_method *mixed = cpr_method_find("mixed");
    CPR_CHECK(t, mixed != NULL, "no method mixed");
    for (size_t fi = 0; mixed && fi < sizeof families / sizeof families[0]; fi++)
        run_one(t, &families[fi], mixed, "sensitivity=hutchinson,hutch_iters=4",
                0, &refusals);
    // a refusal is the exception: most pairs must really run
    CPR_CHECK(t, refusals * 4 < runs, "%d of %d runs refused", refusals,
              runs);
}

// One structured run on family f; *ppl (out) its perplexity after.
static void struct_one(struct cpr_test_ctx *t, const struct family *f,
                       const struct cpr_struct_opts *opts,
                       struct cpr_pool *pool, double *ppl) {
    struct cpr_err err = {0};
    struct cpr_model m;
    memset(&m, 0, sizeof m);
    *ppl = NAN;
    CPR_CHECK_STATUS(t, get_model(f, &m, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    struct cpr_struct_opts o = *opts, *so = &o;
    // MQA: a head budget would remove the one KV group (AL-MM with 0
    // heads keeps none, the reference's sorted[-0]); not a family matter
    if (m.cfg.n_kv_heads < 2 && o.kind == CPR_STRUCT_FLAP &&
        (o.structure == CPR_FLAP_UL_MM || o.structure == CPR_FLAP_AL_MM)) {
        cpr_model_free(&m);
        return;
    }
    int32_t win[NS * SL];
    for (int i = 0; i < NS * SL; i++)
        win[i] = (int32_t)((i * 31 + 7 + i / 5) % m.cfg.vocab);
    const char *what = cpr_struct_kind_name(so->kind);
    const int64_t dense = cpr_model_linear_params(&m);
    struct cpr_struct_plan plan;
    const enum cpr_status s = cpr_struct_prune(&m, win, NS, SL, so, pool,
                                               &plan, &err);
    CPR_CHECK(t, s == CPR_OK, "%s %s (%s/%s): %s", f->name, what,
              cpr_flap_metric_name(so->metric),
              cpr_flap_structure_name(so->structure), err.msg);
    if (s == CPR_OK) {
        const int64_t after = cpr_model_linear_params(&m);
        CPR_CHECK(t, after < dense && after > 0, "%s %s: params %lld -> %lld",
                  f->name, what, (long long)dense, (long long)after);
        CPR_CHECK_STATUS(t, cpr_model_validate(&m, &err), CPR_OK, &err, NULL);
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = SL};
        struct cpr_ppl_result pr;
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, pool, win, NS * SL, &po,
                                         &pr, &err), CPR_OK, &err, NULL);
        if (!err.code) {
            *ppl = pr.ppl;
            CPR_CHECK(t, isfinite(pr.ppl) && pr.ppl > 1, "%s %s: ppl %g",
                      f->name, what, pr.ppl);
        }
        if (t->verbose)
            printf("  %-8s %-12s %-4s %-5s params %lld -> %lld ppl %.4f\n",
                   f->name, what, cpr_flap_metric_name(so->metric),
                   cpr_flap_structure_name(so->structure), (long long)dense,
                   (long long)after, *ppl);
        cpr_struct_plan_free(&plan);
    }
    cpr_model_free(&m);
}

static void test_struct_every_family(struct cpr_test_ctx *t) {
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 2, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    for (size_t fi = 0; fi < sizeof families / sizeof families[0]; fi++) {
        const struct family *f = &families[fi];
        struct cpr_struct_opts so = {.ratio = 0.2, .remove_heads = 1};
        double p1, p2;
        for (int st = 0; st < 4; st++)
            for (int mt = 0; mt < 3; mt++) {
                so.kind = CPR_STRUCT_FLAP;
                so.structure = (enum cpr_flap_structure)st;
                so.metric = (enum cpr_flap_metric)mt;
                struct_one(t, f, &so, NULL, &p1);
            }
        so.metric = CPR_FLAP_WIFV, so.structure = CPR_FLAP_AL_AM;
        so.no_bias_comp = 1;
        struct_one(t, f, &so, NULL, &p1);
        so.no_bias_comp = 0;
        const enum cpr_struct_kind kinds[] = {CPR_STRUCT_FLAP,
                                              CPR_STRUCT_WANDA_SP,
                                              CPR_STRUCT_MAGNITUDE_SP,
                                              CPR_STRUCT_CFSP};
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            so.kind = kinds[k];
            struct_one(t, f, &so, NULL, &p1);
            struct_one(t, f, &so, pool, &p2);
            CPR_CHECK(t, !memcmp(&p1, &p2, sizeof p1), "%s %s: ppl %.17g "
                      "with 1 thread, %.17g with 2", f->name,
                      cpr_struct_kind_name(kinds[k]), p1, p2);
        }
    }
    cpr_pool_free(pool);
}

// One llm-pruner run on family f; *ppl (out) its perplexity after.
static void llmp_one(struct cpr_test_ctx *t, const struct family *f,
                     enum cpr_llmp_importance imp, struct cpr_pool *pool,
                     double *ppl) {
    struct cpr_err err = {0};
    struct cpr_model m;
    memset(&m, 0, sizeof m);
    *ppl = NAN;
    CPR_CHECK_STATUS(t, get_model(f, &m, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    int32_t win[NS * SL];
    for (int i = 0; i < NS * SL; i++)
        win[i] = (int32_t)((i * 31 + 7 + i / 5) % m.cfg.vocab);
    const int64_t dense = cpr_model_linear_params(&m);
    const struct cpr_llmp_opts o = {
        .importance = imp, .reduce = imp == CPR_LLMP_TAYLOR ? CPR_LLMP_SUM
                                                            : CPR_LLMP_MEAN,
        .ratio = 0.25, .layer_start = 0, .layer_end = m.cfg.n_layers};
    struct cpr_struct_plan plan;
    double loss = 0;
    const enum cpr_status s = cpr_llmp_prune(&m, win, NS, SL, &o, pool, &plan,
                                             &loss, &err);
    CPR_CHECK(t, s == CPR_OK, "%s llm-pruner %s: %s", f->name,
              cpr_llmp_importance_name(imp), err.msg);
    if (s == CPR_OK) {
        const int64_t after = cpr_model_linear_params(&m);
        CPR_CHECK(t, after < dense && after > 0, "%s llm-pruner: params %lld "
                  "-> %lld", f->name, (long long)dense, (long long)after);
        CPR_CHECK_STATUS(t, cpr_model_validate(&m, &err), CPR_OK, &err, NULL);
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = SL};
        struct cpr_ppl_result pr;
        CPR_CHECK_STATUS(t, cpr_ppl_eval(&m, NULL, pool, win, NS * SL, &po,
                                         &pr, &err), CPR_OK, &err, NULL);
        if (!err.code) {
            *ppl = pr.ppl;
            CPR_CHECK(t, isfinite(pr.ppl) && pr.ppl > 1, "%s llm-pruner: ppl "
                      "%g", f->name, pr.ppl);
        }
        if (t->verbose)
            printf("  %-8s llm-pruner %-6s params %lld -> %lld loss %.4f "
                   "ppl %.4f\n", f->name, cpr_llmp_importance_name(imp),
                   (long long)dense, (long long)after, loss, *ppl);
        cpr_struct_plan_free(&plan);
    }
    cpr_model_free(&m);
}

static void test_llmp_every_family(struct cpr_test_ctx *t) {
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 2, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    for (size_t fi = 0; fi < sizeof families / sizeof families[0]; fi++) {
        double p1, p2;
        llmp_one(t, &families[fi], CPR_LLMP_L1, NULL, &p1);
        llmp_one(t, &families[fi], CPR_LLMP_TAYLOR, NULL, &p1);
        llmp_one(t, &families[fi], CPR_LLMP_TAYLOR, pool, &p2);
        CPR_CHECK(t, !memcmp(&p1, &p2, sizeof p1), "%s llm-pruner: ppl "
                  "%.17g with 1 thread, %.17g with 2", families[fi].name, p1,
                  p2);
    }
    cpr_pool_free(pool);
}

const struct cpr_test cpr_tests_methods_families[] = {
    {"every_method_every_family", test_every_method_every_family, 0},
    {"struct_every_family", test_struct_every_family, 0},
    {"llmp_every_family", test_llmp_every_family, 0},
    {0},
};
