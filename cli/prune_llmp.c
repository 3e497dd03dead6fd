// cli/prune_llmp.c: `cprune prune --method llm-pruner`: parse, check before
// reading weights, take the calibration windows (taylor), score and prune
// (methods/llmpruner.h), report exact parameter counts, write the smaller
// model (native HF directory), evaluate, JSON. The evaluation and JSON
// follow cli/prune_struct.c so records of both read alike.
#include "cli/prune_llmp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/progress.h"
#include "cli/prune.h"
#include "cli/tokcache.h"
#include "core/backward.h"
#include "core/pool.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/json_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/scratch_file.h"
#include "data/tokenizer.h"
#include "eval/perplexity.h"
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
    {"out-format", 1, "hf (default)", NULL},
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

static int fail(int rc, const char *msg) {
    fprintf(stderr, "cprune prune: %s\n", msg);
    return rc;
}

static int usage(const char *name, const char *v, const char *want) {
    fprintf(stderr, "cprune prune: --%s '%s': expected %s\n", name, v, want);
    return 2;
}

struct lrun {
    struct cpr_llmp_opts lo;
    const char *model_path, *tok_path, *out, *eval, *json;
    int force, quiet, reduce_set, plan_only;
    const char *grad_scratch; // --grad-scratch DIR or NULL
    long long layer_a, layer_b; // as given (-1 = default)
    long long threads, max_chunks;
    struct prune_run calib; // calibration fields only (prune_calib_windows)
    int64_t params_before, params_after, total_before, total_after;
    double ppl_mem[PRUNE_MAX_EVAL], ppl_reload[PRUNE_MAX_EVAL];
    char eval_name[PRUNE_MAX_EVAL][128];
    int n_eval;
    double sec_prune, loss;
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
                 "[--layers A:B] --calib C [--out DIR] [--eval LIST] "
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
    long long x;
    double d;
    r->model_path = cli_get(O, N_OPTS, "model");
    if (!r->model_path) return fail(2, "--model is required");
    if (!(v = cli_get(O, N_OPTS, "sparsity")))
        return fail(2, "--sparsity is required for llm-pruner");
    if (cli_float(CMD, "sparsity", v, 0, 0.999999, &d)) return 2;
    r->lo.ratio = d;
    if ((v = cli_get(O, N_OPTS, "importance"))) {
        int k = cpr_llmp_importance_parse(v);
        if (k < 0) return usage("importance", v, "taylor, l1, l2 or random");
        r->lo.importance = (enum cpr_llmp_importance)k;
    }
    const int taylor = r->lo.importance == CPR_LLMP_TAYLOR;
    if ((v = cli_get(O, N_OPTS, "taylor"))) {
        int k = cpr_llmp_taylor_parse(v);
        if (k < 0)
            return usage("taylor", v, "param_mix, param_first, param_second "
                         "or vectorize");
        if (!taylor) return fail(2, "--taylor needs --importance taylor");
        r->lo.taylor = (enum cpr_llmp_taylor)k;
    }
    r->lo.reduce = taylor ? CPR_LLMP_SUM : CPR_LLMP_MEAN;
    if ((v = cli_get(O, N_OPTS, "group-reduction"))) {
        int k = cpr_llmp_reduce_parse(v);
        if (k < 0) return usage("group-reduction", v, "sum, mean or max");
        r->lo.reduce = (enum cpr_llmp_reduce)k;
    }
    r->lo.global = cli_get(O, N_OPTS, "global") != NULL;
    r->layer_a = r->layer_b = -1;
    if ((v = cli_get(O, N_OPTS, "layers")) &&
        parse_layers(v, &r->layer_a, &r->layer_b))
        return usage("layers", v, "A:B with 0 <= A < B");
    r->tok_path = cli_get(O, N_OPTS, "tokenizer");
    r->out = cli_get(O, N_OPTS, "out");
    r->eval = cli_get(O, N_OPTS, "eval");
    r->json = cli_get(O, N_OPTS, "json");
    r->force = cli_get(O, N_OPTS, "force") != NULL;
    r->quiet = cli_get(O, N_OPTS, "quiet") != NULL;
    r->plan_only = cli_get(O, N_OPTS, "plan") != NULL;
    if ((v = cli_get(O, N_OPTS, "grad-scratch"))) {
        if (!cpr_path_is_dir(v) || access(v, W_OK | X_OK))
            return fail(2, "--grad-scratch: not a writable directory");
        r->grad_scratch = v;
    }
    if ((v = cli_get(O, N_OPTS, "out-format")) && strcmp(v, "hf"))
        return usage("out-format", v, "hf for llm-pruner");
    struct prune_run *c = &r->calib;
    c->calib_source = cli_get(O, N_OPTS, "calib");
    c->nsamples = 10;
    c->seqlen = 64;
    if ((v = cli_get(O, N_OPTS, "nsamples"))) {
        if (cli_int(CMD, "nsamples", v, 1, 1 << 20, &x)) return 2;
        c->nsamples = x;
    }
    if ((v = cli_get(O, N_OPTS, "seqlen"))) {
        if (cli_int(CMD, "seqlen", v, 2, 1 << 24, &x)) return 2;
        c->seqlen = x;
    }
    if ((v = cli_get(O, N_OPTS, "seed"))) {
        if (cli_int(CMD, "seed", v, 0, (1LL << 62), &x)) return 2;
        c->seed = (uint64_t)x;
    }
    r->lo.seed = c->seed;
    if ((v = cli_get(O, N_OPTS, "calib-sampling"))) {
        int smp = cpr_calib_sampling_parse(v);
        if (smp < 0) return usage("calib-sampling", v, "random or sequential");
        c->sampling = (enum cpr_calib_sampling)smp;
    }
    c->token_cache = cli_get(O, N_OPTS, "token-cache");
    if (taylor && !c->calib_source)
        return fail(2, "--calib is required for --importance taylor");
    if (!taylor) c->calib_source = NULL; // l1/l2/random read no data
    r->threads = (long long)cpr_cpu_count();
    if ((v = cli_get(O, N_OPTS, "threads")) &&
        cli_int(CMD, "threads", v, 1, 1024, &r->threads))
        return 2;
    if ((v = cli_get(O, N_OPTS, "max-chunks")) &&
        cli_int(CMD, "max-chunks", v, 0, 1LL << 40, &r->max_chunks))
        return 2;
    return 0;
}

static enum cpr_status eval_all(struct lrun *r, const struct cpr_model *m,
                                const struct cpr_tokenizer *tok,
                                struct cpr_pool *pool, double *ppl,
                                struct cpr_err *err) {
    if (!r->eval) return CPR_OK;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", r->eval);
    int n = 0;
    for (char *sv = NULL, *name = strtok_r(buf, ",", &sv);
         name && n < PRUNE_MAX_EVAL; name = strtok_r(NULL, ",", &sv), n++) {
        const char *split = prune_eval_split(name);
        char *text = NULL;
        size_t len = 0;
        int32_t *ids = NULL;
        int64_t nt = 0;
        enum cpr_status s =
            split ? cpr_corpus_load(cli_data_dir(), name, split, &text, &len,
                                    err)
                  : cpr_corpus_load_file(name, &text, &len, err);
        if (!s) s = cli_tokenize_cached(r->calib.token_cache, tok, text, len,
                                        tok->add_bos, &ids, &nt, NULL, err);
        free(text);
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF,
                                  .max_chunks = r->max_chunks};
        struct cpr_ppl_result res;
        if (!s) s = cpr_ppl_eval(m, NULL, pool, ids, nt, &po, &res, err);
        free(ids);
        if (s) return s;
        snprintf(r->eval_name[n], sizeof r->eval_name[n], "%s", name);
        ppl[n] = res.ppl;
    }
    r->n_eval = n;
    return CPR_OK;
}

static void json_layers(struct cpr_jw *w, const struct cpr_model *m,
                        const struct cpr_struct_plan *p) {
    cpr_jw_key(w, "layers");
    cpr_jw_begin_array(w);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        const struct cpr_struct_layer_plan *lp = &p->layers[l];
        cpr_jw_begin_object(w);
        cpr_jw_key(w, "n_heads"), cpr_jw_int(w, sh.n_heads);
        cpr_jw_key(w, "n_kv_heads"), cpr_jw_int(w, sh.n_kv_heads);
        cpr_jw_key(w, "intermediate"), cpr_jw_int(w, sh.intermediate);
        cpr_jw_key(w, "kept_kv_groups");
        cpr_jw_begin_array(w);
        // indices in the layer's widths before pruning (the plan's n_kv,
        // n_ch); a layer outside the range keeps all
        for (int64_t i = 0; i < lp->n_kv; i++)
            if (!lp->keep_kv || lp->keep_kv[i]) cpr_jw_int(w, i);
        cpr_jw_end_array(w);
        cpr_jw_key(w, "kept_channels");
        cpr_jw_begin_array(w);
        for (int64_t i = 0; i < lp->n_ch; i++)
            if (!lp->keep_ch || lp->keep_ch[i]) cpr_jw_int(w, i);
        cpr_jw_end_array(w);
        cpr_jw_end_object(w);
    }
    cpr_jw_end_array(w);
}

static enum cpr_status write_json(const struct lrun *r,
                                  const struct cpr_model *m,
                                  const struct cpr_struct_plan *p,
                                  struct cpr_err *err) {
    const struct cpr_llmp_opts *o = &r->lo;
    struct cpr_jw w;
    cpr_jw_init(&w, 2);
    cpr_jw_begin_object(&w);
    cpr_jw_key(&w, "model"), cpr_jw_string(&w, r->model_path);
    {
        enum cpr_status ps = prune_json_protocol(&w, r->model_path,
                                                 r->threads, err);
        if (ps) {
            cpr_jw_free(&w);
            return ps;
        }
    }
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
    cpr_jw_key(&w, "layer_start"), cpr_jw_int(&w, o->layer_start);
    cpr_jw_key(&w, "layer_end"), cpr_jw_int(&w, o->layer_end);
    if (o->importance == CPR_LLMP_RANDOM)
        cpr_jw_key(&w, "seed"), cpr_jw_int(&w, (int64_t)o->seed);
    cpr_jw_key(&w, "calibration");
    if (r->calib.calib_source) {
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "source"), cpr_jw_string(&w, r->calib.calib_source);
        cpr_jw_key(&w, "nsamples"), cpr_jw_int(&w, r->calib.nsamples);
        cpr_jw_key(&w, "seqlen"), cpr_jw_int(&w, r->calib.seqlen);
        cpr_jw_key(&w, "sampling"),
            cpr_jw_string(&w, cpr_calib_sampling_name(r->calib.sampling));
        cpr_jw_key(&w, "seed"), cpr_jw_int(&w, (int64_t)r->calib.seed);
        cpr_jw_key(&w, "sha256"), cpr_jw_string(&w, r->calib.calib_sha);
        cpr_jw_key(&w, "loss"), cpr_jw_double(&w, r->loss);
        cpr_jw_end_object(&w);
    } else {
        cpr_jw_null(&w);
    }
    cpr_jw_key(&w, "linear_params_before"), cpr_jw_int(&w, r->params_before);
    cpr_jw_key(&w, "linear_params_after"), cpr_jw_int(&w, r->params_after);
    cpr_jw_key(&w, "linear_params_removed_fraction");
    cpr_jw_double(&w, 1.0 - (double)r->params_after / (double)r->params_before);
    cpr_jw_key(&w, "total_params_before"), cpr_jw_int(&w, r->total_before);
    cpr_jw_key(&w, "total_params_after"), cpr_jw_int(&w, r->total_after);
    json_layers(&w, m, p);
    cpr_jw_key(&w, "eval");
    cpr_jw_begin_array(&w);
    for (int i = 0; i < r->n_eval; i++) {
        cpr_jw_begin_object(&w);
        cpr_jw_key(&w, "dataset"), cpr_jw_string(&w, r->eval_name[i]);
        cpr_jw_key(&w, "protocol"), cpr_jw_string(&w, "hf"); // windows of
        cpr_jw_key(&w, "max_chunks"), cpr_jw_int(&w, r->max_chunks); // ctx
        cpr_jw_key(&w, "ppl"), cpr_jw_double(&w, r->ppl_mem[i]);
        cpr_jw_key(&w, "ppl_reloaded");
        if (r->out) cpr_jw_double(&w, r->ppl_reload[i]);
        else cpr_jw_null(&w);
        cpr_jw_end_object(&w);
    }
    cpr_jw_end_array(&w);
    cpr_jw_key(&w, "seconds_prune"), cpr_jw_double(&w, r->sec_prune);
    cpr_jw_end_object(&w);
    enum cpr_status s = cpr_jw_finish(&w, err);
    struct cpr_atomic_file af = {.fd = -1};
    if (!s) s = cpr_atomic_open(&af, r->json, err);
    if (!s) s = cpr_atomic_write(&af, w.buf, w.len, err);
    if (!s) s = cpr_atomic_write(&af, "\n", 1, err);
    if (!s) s = cpr_atomic_commit(&af, err);
    if (s) cpr_atomic_abort(&af);
    cpr_jw_free(&w);
    return s;
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
    const int64_t ns = r->calib.nsamples, sl = r->calib.seqlen;
    const int taylor = r->lo.importance == CPR_LLMP_TAYLOR;
    const size_t bwd = taylor ? cpr_backward_bytes(m, (size_t)r->threads, ns,
                                                   sl) : 0;
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
    struct cpr_model m, back;
    struct cpr_tokenizer tok;
    struct cpr_pool *pool = NULL;
    struct cpr_struct_plan plan = {0};
    struct cpr_scratch_file acc_file = {.fd = -1};
    memset(&m, 0, sizeof m), memset(&back, 0, sizeof back);
    memset(&tok, 0, sizeof tok);
    rc = 1;
    if (r.out && cpr_model_save_check_dest(r.out, r.force, &err)) {
        rc = 2;
        goto fail;
    }
    if (cpr_model_load(r.model_path, &m, &err)) goto fail;
    if ((rc = set_range(&r, &m))) goto done;
    rc = 1;
    if (cpr_llmp_check_model(&m, &r.lo, &err)) goto fail; // before data
    if (r.grad_scratch) { // acc on disk (methods/slab_store.h)
        if (cpr_scratch_file_open(&acc_file, r.grad_scratch, &err)) goto fail;
        r.lo.acc_store = &acc_file.io;
    }
    print_plan(&r, &m);
    if (r.plan_only) {
        rc = 0;
        goto done;
    }
    if (r.calib.seqlen > m.cfg.context) {
        fprintf(stderr, "cprune prune: --seqlen %lld is over the model "
                "context %lld\n", (long long)r.calib.seqlen,
                (long long)m.cfg.context);
        rc = 2;
        goto done;
    }
    const int need_tok = r.calib.calib_source || r.eval;
    if (need_tok && cpr_tokenizer_load_for_model(&tok, r.model_path,
                                                 r.tok_path, m.cfg.vocab,
                                                 &err))
        goto fail;
    if (r.calib.calib_source &&
        prune_calib_windows(&r.calib, &tok, cli_data_dir(), &err))
        goto fail;
    if (cpr_pool_init(&pool, (size_t)r.threads, &err)) goto fail;
    r.params_before = cpr_model_linear_params(&m);
    r.total_before = cpr_model_total_params(&m);
    if (!r.quiet)
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
    if (cpr_llmp_prune(&m, r.calib.win.tokens, r.calib.win.nsamples,
                       r.calib.seqlen, &r.lo, pool, &plan, &r.loss, &err))
        goto fail;
    r.sec_prune = cli_now() - t0;
    r.params_after = cpr_model_linear_params(&m);
    r.total_after = cpr_model_total_params(&m);
    if (r.lo.importance == CPR_LLMP_TAYLOR && !r.quiet)
        printf("gradient:  %lld windows x %lld tokens, dense loss %.6f\n",
               (long long)r.calib.win.nsamples, (long long)r.calib.seqlen,
               r.loss);
    printf("pruned:    llm-pruner ratio %g: decoder-linear params %lld -> "
           "%lld (%.4f removed); total %lld -> %lld (%.2f s)\n", r.lo.ratio,
           (long long)r.params_before, (long long)r.params_after,
           1.0 - (double)r.params_after / (double)r.params_before,
           (long long)r.total_before, (long long)r.total_after, r.sec_prune);
    for (int64_t l = 0; l < m.cfg.n_layers && !r.quiet; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(&m, l);
        printf("  layer %lld: heads %lld, kv heads %lld, intermediate %lld\n",
               (long long)l, (long long)sh.n_heads, (long long)sh.n_kv_heads,
               (long long)sh.intermediate);
    }
    if (eval_all(&r, &m, &tok, pool, r.ppl_mem, &err)) goto fail;
    for (int i = 0; i < r.n_eval; i++)
        printf("eval:      %s: ppl %.6f\n", r.eval_name[i], r.ppl_mem[i]);
    if (r.out) {
        struct cpr_model_save_opts so = {.tokenizer_from = r.model_path,
                                         .tokenizer_file = r.tok_path,
                                         .replace = r.force};
        if (cpr_model_save_hf(&m, r.out, &so, &err)) goto fail;
        printf("wrote:     %s\n", r.out);
        if (r.eval) { // every output reloads to the same perplexity
            if (cpr_model_load(r.out, &back, &err)) goto fail;
            if (eval_all(&r, &back, &tok, pool, r.ppl_reload, &err))
                goto fail;
            for (int i = 0; i < r.n_eval; i++) {
                printf("reloaded:  %s: ppl %.6f\n", r.eval_name[i],
                       r.ppl_reload[i]);
                if (fabs(r.ppl_reload[i] - r.ppl_mem[i]) >
                    1e-5 * r.ppl_mem[i]) {
                    fprintf(stderr, "cprune prune: %s reloads to ppl %.6f, "
                            "%.6f in memory\n", r.out, r.ppl_reload[i],
                            r.ppl_mem[i]);
                    goto done;
                }
            }
        }
    }
    if (r.json && write_json(&r, &m, &plan, &err)) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cprune prune: %s\n", err.msg);
    if (err.code == CPR_ERR_ARG) rc = 2;
done:
    cpr_scratch_file_close(&acc_file);
    cpr_struct_plan_free(&plan);
    cpr_pool_free(pool);
    cpr_calib_windows_free(&r.calib.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&back);
    cpr_model_free(&m);
    return rc;
}
