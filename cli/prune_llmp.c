// cli/prune_llmp.c: `cprune prune --method llm-pruner`: parse, check before
// reading weights, take the calibration windows (taylor), score and prune
// (methods/llmpruner.h), report exact parameter counts, write the smaller
// model (native HF directory), evaluate, JSON. The evaluation and JSON
// follow cli/prune_struct.c so records of both read alike.
#include "cli/prune_llmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/progress.h"
#include "cli/prune.h"
#include "cli/prune_struct_common.h"
#include "core/backward.h"
#include "core/pool.h"
#include "core/struct_pad.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/scratch_file.h"
#include "data/tokenizer.h"
#include "methods/llmpruner.h"

#define CMD "prune"
#define DEF_START 3  // hf_prune.py block_{attention,mlp}_layer_start
#define DEF_END 31   // ... _end

static const struct cli_opt opts_def[] = {
    {NULL, 0, "LLM-Pruner block-wise structured pruning", NULL},
    {"model", 1, "HF model directory or llama2.c checkpoint (required)", NULL},
    {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
    {"method", 1, "llm-pruner", NULL},
    {"sparsity", 1, "the reference's pruning_ratio in [0, 1): fraction of each pruned layer's KV-group channels and MLP channels removed; the achieved fraction of decoder-linear parameters is reported", NULL},
    {"importance", 1, "taylor (default), l1, l2 or random", NULL},
    {"taylor", 1, "param_mix (default), param_first, param_second or vectorize", NULL},
    {"group-reduction", 1, "sum, mean or max over the coupled linears (default: sum for taylor, mean for l1/l2, as the reference)", NULL},
    {"global", 0, "one threshold over all units of all pruned layers (--global_pruning)", NULL},
    {"layers", 1, "A:B, prune layers A..B-1 (default 3:31 clipped to the model)", NULL},
    {"calib", 1, "calibration corpus or text file (taylor)", NULL},
    {"nsamples", 1, "calibration windows (default 10, as the reference)", NULL},
    {"seqlen", 1, "window length (default 64, as the reference)", NULL},
    {"seed", 1, "seed of random window sampling and of --importance random (default 0)", NULL},
    {"calib-sampling", 1, "sequential (default) or random", NULL},
    {"token-cache", 1, "folder caching tokenized corpora", NULL},
    {"out", 1, "write the smaller model here (a new directory)", NULL},
    {"out-format", 1, "hf (default: the smaller tensors; per-layer shapes in config.json) or hf-padded (zero-padded back to the original uniform shapes: a plain config stock transformers loads exactly)", NULL},
    {"force", 0, "replace an existing --out that is an earlier cprune output", NULL},
    {"eval", 1, "evaluate after pruning on these corpora or text files", NULL},
    {"max-chunks", 1, "evaluate at most N chunks of each --eval corpus", NULL},
    {"json", 1, "write the run record as JSON to this file", NULL},
    {"threads", 1, "threads (default: all CPUs)", NULL},
    {"quiet", 0, "less output", NULL},
    {"grad-scratch", 1, "param_mix/param_second: keep acc (4 bytes per weight of the pruned layers) in an unlinked temporary file in this directory, one layer in RAM (default: all in RAM)", NULL},
    {"plan", 0, "print the memory plan of the scores, then stop", NULL},
};
#define N_OPTS (sizeof opts_def / sizeof opts_def[0])

int prune_llmp_wanted(int argc, char **argv) {
    // argv[0] is the first option (cmd_prune gets argv past "prune")
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--method")) return !strcmp(argv[i + 1], "llm-pruner");
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "--method=", 9))
            return !strcmp(argv[i] + 9, "llm-pruner");
    return 0;
}

struct lrun {
    struct pstruct_run c; // options, counts, evaluations (common)
    struct cpr_llmp_opts lo;
    long long layer_a, layer_b; // as given (-1 = default)
    int plan_only;            // --plan: print the memory plan, then stop
    int padded;               // --out-format hf-padded
    const char *grad_scratch; // --grad-scratch DIR or NULL
    double loss;
};

static int parse_layers(const char *v, long long *a, long long *b) {
    char *end;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != ':') return -1;
    const char *p = end + 1;
    long long y = strtoll(p, &end, 10);
    if (end == p || *end || x < 0 || y <= x) return -1;
    *a = x, *b = y;
    return 0;
}

static int parse(int argc, char **argv, struct cli_opt *O, struct lrun *r) {
    static const struct cli_help help = {
        .usage = "cprune prune --model M --method llm-pruner --sparsity S "
                 "[--importance taylor|l1|l2|random] [--taylor param_mix|"
                 "param_first|param_second|vectorize] [--global] "
                 "[--layers A:B] --calib C [--out DIR [--out-format "
                 "hf|hf-padded]] [--eval LIST] "
                 "[--json F]",
        .notes = "Removes whole KV groups (each with its query heads and "
                 "o_proj columns) and MLP channels (gate/up rows, down "
                 "columns) of layers A..B-1, scored by LLM-Pruner's Taylor "
                 "importance of the dense model's loss over --nsamples "
                 "windows (one batched backward; param_mix/param_second add "
                 "one backward per window for acc = sum g^2 / n).\n"};
    int rc = cli_parse_help(argc, argv, O, N_OPTS, CMD, &help);
    if (rc) return rc;
    const char *v;
    double d;
    r->c.model_path = cli_get(O, N_OPTS, "model");
    if (!r->c.model_path) return pstruct_fail(2, "--model is required");
    if (!(v = cli_get(O, N_OPTS, "sparsity")))
        return pstruct_fail(2, "--sparsity is required for llm-pruner");
    if (cli_float(CMD, "sparsity", v, 0, 0.999999, &d)) return 2;
    r->lo.ratio = d;
    if ((v = cli_get(O, N_OPTS, "importance"))) {
        int k = cpr_llmp_importance_parse(v);
        if (k < 0) return pstruct_usage("importance", v, "taylor, l1, l2 or random");
        r->lo.importance = (enum cpr_llmp_importance)k;
    }
    const int taylor = r->lo.importance == CPR_LLMP_TAYLOR;
    if ((v = cli_get(O, N_OPTS, "taylor"))) {
        int k = cpr_llmp_taylor_parse(v);
        if (k < 0)
            return pstruct_usage("taylor", v, "param_mix, param_first, param_second "
                         "or vectorize");
        if (!taylor) return pstruct_fail(2, "--taylor needs --importance taylor");
        r->lo.taylor = (enum cpr_llmp_taylor)k;
    }
    r->lo.reduce = taylor ? CPR_LLMP_SUM : CPR_LLMP_MEAN;
    if ((v = cli_get(O, N_OPTS, "group-reduction"))) {
        int k = cpr_llmp_reduce_parse(v);
        if (k < 0) return pstruct_usage("group-reduction", v, "sum, mean or max");
        r->lo.reduce = (enum cpr_llmp_reduce)k;
    }
    r->lo.global = cli_get(O, N_OPTS, "global") != NULL;
    r->layer_a = r->layer_b = -1;
    if ((v = cli_get(O, N_OPTS, "layers")) &&
        parse_layers(v, &r->layer_a, &r->layer_b))
        return pstruct_usage("layers", v, "A:B with 0 <= A < B");
    pstruct_parse_io(O, N_OPTS, &r->c);
    r->plan_only = cli_get(O, N_OPTS, "plan") != NULL;
    if ((v = cli_get(O, N_OPTS, "grad-scratch"))) {
        if (!cpr_path_is_dir(v) || access(v, W_OK | X_OK))
            return pstruct_fail(2, "--grad-scratch: not a writable directory");
        r->grad_scratch = v;
    }
    if ((v = cli_get(O, N_OPTS, "out-format"))) {
        if (!strcmp(v, "hf-padded")) r->padded = 1;
        else if (strcmp(v, "hf"))
            return pstruct_usage("out-format", v,
                                 "hf or hf-padded for llm-pruner");
        if (!r->c.out) return pstruct_fail(2, "--out-format needs --out");
    }
    struct prune_run *c = &r->c.calib;
    if (pstruct_parse_calib(O, N_OPTS, &r->c, 10, 64, 2)) return 2;
    r->lo.seed = c->seed;
    if (taylor && !c->calib_source)
        return pstruct_fail(2, "--calib is required for --importance taylor");
    if (!taylor) c->calib_source = NULL; // l1/l2/random read no data
    return pstruct_parse_run(O, N_OPTS, &r->c);
}

static enum cpr_status write_json(const struct lrun *r,
                                  const struct cpr_model *m,
                                  const struct cpr_struct_plan *p,
                                  struct cpr_err *err) {
    const struct cpr_llmp_opts *o = &r->lo;
    struct cpr_jw w;
    enum cpr_status s = pstruct_json_begin(&w, &r->c, err);
    if (s) return s;
    cpr_jw_key(&w, "method"), cpr_jw_string(&w, "llm-pruner");
    cpr_jw_key(&w, "ratio"), cpr_jw_double(&w, o->ratio);
    cpr_jw_key(&w, "importance");
    cpr_jw_string(&w, cpr_llmp_importance_name(o->importance));
    cpr_jw_key(&w, "taylor");
    if (o->importance == CPR_LLMP_TAYLOR)
        cpr_jw_string(&w, cpr_llmp_taylor_name(o->taylor));
    else
        cpr_jw_null(&w);
    cpr_jw_key(&w, "group_reduction");
    cpr_jw_string(&w, cpr_llmp_reduce_name(o->reduce));
    cpr_jw_key(&w, "global"), cpr_jw_bool(&w, o->global);
    cpr_jw_key(&w, "out_format");
    if (r->c.out) cpr_jw_string(&w, r->padded ? "hf-padded" : "hf");
    else cpr_jw_null(&w);
    cpr_jw_key(&w, "layer_start"), cpr_jw_int(&w, o->layer_start);
    cpr_jw_key(&w, "layer_end"), cpr_jw_int(&w, o->layer_end);
    if (o->importance == CPR_LLMP_RANDOM)
        cpr_jw_key(&w, "seed"), cpr_jw_int(&w, (int64_t)o->seed);
    return pstruct_json_end(&w, &r->c, m, p, &r->loss, err);
}

// The layer range against the loaded model: explicit --layers must fit;
// the default 3:31 is clipped and must leave a layer.
static int set_range(struct lrun *r, const struct cpr_model *m) {
    const long long n = (long long)m->cfg.n_layers;
    if (r->layer_a >= 0) {
        if (r->layer_b > n) {
            fprintf(stderr, "cprune prune: --layers %lld:%lld: the model has "
                    "%lld layers\n", r->layer_a, r->layer_b, n);
            return 2;
        }
        r->lo.layer_start = r->layer_a, r->lo.layer_end = r->layer_b;
        return 0;
    }
    r->lo.layer_start = DEF_START;
    r->lo.layer_end = n < DEF_END ? n : DEF_END;
    if (r->lo.layer_start >= r->lo.layer_end) {
        fprintf(stderr, "cprune prune: the default layers 3:31 leave none of "
                "this model's %lld layers; pass --layers A:B (e.g. 0:%lld)\n",
                n, n);
        return 2;
    }
    return 0;
}

// The scores' memory (taylor: the backward pass over all windows at once
// and, for param_mix/param_second, acc), before any data is read.
static void print_plan(const struct lrun *r, const struct cpr_model *m) {
    const int64_t ns = r->c.calib.nsamples, sl = r->c.calib.seqlen;
    const int taylor = r->lo.importance == CPR_LLMP_TAYLOR;
    const size_t bwd = taylor ? cpr_backward_bytes(m, (size_t)r->c.threads,
                                                   ns, sl) : 0;
    const size_t sc = cpr_llmp_ram_bytes(m, &r->lo, ns, sl);
    size_t kept = 0; // the pruned layers' new tensors, at most their size
    for (int64_t l = r->lo.layer_start; l < r->lo.layer_end; l++) {
        struct cpr_linear_ref lr[CPR_MAX_LINEARS];
        const int n = cpr_layer_linears((struct cpr_model *)m, l, lr,
                                        CPR_MAX_LINEARS);
        for (int j = 0; j < n; j++) kept += cpr_tensor_nbytes(lr[j].w);
    }
    const double G = 1073741824.0;
    printf("plan:      weights mapped; anonymous <= %.2f GiB = backward "
           "pass %.2f (%lld x %lld tokens: checkpoints, gradient buffers, "
           "forward arena) + scores %.2f%s + pruned layers <= %.2f\n",
           (double)(bwd + sc + kept) / G,
           (double)bwd / G, (long long)ns, (long long)sl, (double)sc / G,
           !taylor || (r->lo.taylor != CPR_LLMP_PARAM_MIX &&
                       r->lo.taylor != CPR_LLMP_PARAM_SECOND)
               ? ""
               : r->lo.acc_store ? " (acc: one layer in RAM, the rest in "
                                   "the --grad-scratch file)"
                                 : " (acc in RAM: 4 bytes per weight of the "
                                   "pruned layers; --grad-scratch DIR keeps "
                                   "one layer)",
           (double)kept / G);
}

int prune_llmp_main(int argc, char **argv) {
    struct cli_opt O[N_OPTS];
    memcpy(O, opts_def, sizeof O);
    struct lrun r;
    memset(&r, 0, sizeof r);
    int rc = parse(argc, argv, O, &r);
    if (rc == 1) return 0; // --help
    if (rc) return rc;
    struct cpr_err err = {0};
    struct cpr_model m, back, pad;
    struct cpr_tokenizer tok;
    struct cpr_pool *pool = NULL;
    struct cpr_struct_plan plan = {0};
    struct cpr_scratch_file acc_file = {.fd = -1};
    memset(&m, 0, sizeof m), memset(&back, 0, sizeof back);
    memset(&pad, 0, sizeof pad);
    memset(&tok, 0, sizeof tok);
    rc = 1;
    if (r.c.out && cpr_model_save_check_dest(r.c.out, r.c.force, &err)) {
        rc = 2;
        goto fail;
    }
    if (cpr_model_load(r.c.model_path, &m, &err)) goto fail;
    if ((rc = set_range(&r, &m))) goto done;
    rc = 1;
    // what the model alone rules out, before tokenizer and calibration
    if (cpr_llmp_check_model(&m, &r.lo, &err) ||
        (r.padded && cpr_struct_pad_check_source(&m, &err))) {
        rc = 2;
        goto fail;
    }
    if (r.grad_scratch) { // acc on disk (methods/slab_store.h)
        if (cpr_scratch_file_open(&acc_file, r.grad_scratch, &err)) goto fail;
        r.lo.acc_store = &acc_file.io;
    }
    print_plan(&r, &m);
    if (r.plan_only) {
        rc = 0;
        goto done;
    }
    if (r.c.calib.seqlen > m.cfg.context) {
        fprintf(stderr, "cprune prune: --seqlen %lld is over the model "
                "context %lld\n", (long long)r.c.calib.seqlen,
                (long long)m.cfg.context);
        rc = 2;
        goto done;
    }
    const int need_tok = r.c.calib.calib_source || r.c.eval;
    if (need_tok && cpr_tokenizer_load_for_model(&tok, r.c.model_path,
                                                 r.c.tok_path, m.cfg.vocab,
                                                 &err))
        goto fail;
    if (r.c.calib.calib_source &&
        prune_calib_windows(&r.c.calib, &tok, cli_data_dir(), &err))
        goto fail;
    if (cpr_pool_init(&pool, (size_t)r.c.threads, &err)) goto fail;
    r.c.params_before = cpr_model_linear_params(&m);
    r.c.total_before = cpr_model_total_params(&m);
    if (!r.c.quiet)
        printf("llm-pruner: %s%s%s, reduction %s, %s, layers %lld:%lld, "
               "pruning_ratio %g\n",
               cpr_llmp_importance_name(r.lo.importance),
               r.lo.importance == CPR_LLMP_TAYLOR ? " " : "",
               r.lo.importance == CPR_LLMP_TAYLOR
                   ? cpr_llmp_taylor_name(r.lo.taylor) : "",
               cpr_llmp_reduce_name(r.lo.reduce),
               r.lo.global ? "global" : "per layer",
               (long long)r.lo.layer_start, (long long)r.lo.layer_end,
               r.lo.ratio);
    double t0 = cli_now();
    if (cpr_llmp_prune(&m, r.c.calib.win.tokens, r.c.calib.win.nsamples,
                       r.c.calib.seqlen, &r.lo, pool, &plan, &r.loss, &err))
        goto fail;
    r.c.sec_prune = cli_now() - t0;
    r.c.params_after = cpr_model_linear_params(&m);
    r.c.total_after = cpr_model_total_params(&m);
    if (r.lo.importance == CPR_LLMP_TAYLOR && !r.c.quiet)
        printf("gradient:  %lld windows x %lld tokens, dense loss %.6f\n",
               (long long)r.c.calib.win.nsamples, (long long)r.c.calib.seqlen,
               r.loss);
    pstruct_print_pruned(&r.c, "llm-pruner", r.lo.ratio, &m);
    if (pstruct_eval(&r.c, &m, &tok, pool, &err)) goto fail;
    if (r.c.out) {
        r.c.method_name = "llm-pruner";
        snprintf(r.c.target, sizeof r.c.target, "ratio %g%s", r.lo.ratio,
                 r.padded ? " (hf-padded)" : "");
        if (r.padded && cpr_struct_pad(&plan, &m, &pad, &err)) goto fail;
        if (pstruct_save_reload(&r.c, r.padded ? &pad : &m, &back, &tok, pool,
                                &err))
            goto fail;
    }
    if (r.c.json && write_json(&r, &m, &plan, &err)) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cprune prune: %s\n", err.msg);
    if (err.code == CPR_ERR_ARG) rc = 2;
done:
    cpr_scratch_file_close(&acc_file);
    cpr_struct_plan_free(&plan);
    cpr_pool_free(pool);
    cpr_calib_windows_free(&r.c.calib.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&back);
    cpr_model_free(&pad);
    cpr_model_free(&m);
    return rc;
}
