// cli/cmd_prune.c: `cprune prune`: prune a model with a registered method
// on the layer-wise pipeline (methods/pipeline.h), then optionally write it
// (a Hugging Face directory, or a llama2.c checkpoint), evaluate it and
// record everything as JSON.
//
// Method options can be given three ways, all applied in this order:
//   --opts "name=value,..."        (the method's own option names)
//   --<method>-<name> V            e.g. --wanda-variant, --sparsegpt-blocksize
//   --<name> V                     e.g. --group row, --min-density 0.1
// (underscores in option names become dashes on the command line; boolean
// options are flags). An option of another method is refused by name.
//
// Exit status: 0 ok, 1 failure (message on stderr), 2 usage error.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/prune.h"
#include "cli/tokcache.h"
#include "core/pool.h"
#include "data/corpus.h"
#include "data/llama2c_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "methods/registry.h"
#include "simd/kernels.h"

#define CMD "prune"
#define USAGE                                                                  \
    "cprune prune --model M --method NAME (--sparsity S | --pattern N:M) "    \
    "[--calib NAME|FILE] [--nsamples N] [--seqlen N] [--seed N] "             \
    "[--calib-sampling random|sequential] [--calib-dtype f32|bf16] "          \
    "[--out DIR] [--out-format hf|llama2c] [--eval DATASETS] [--json FILE] "  \
    "[method options]"

// The fixed options; method options are appended at run time.
static const struct cli_opt base_opts[] = {
    {"model", 1, "HF model directory, llama2.c checkpoint, or a directory holding one", NULL},
    {"tokenizer", 1, "tokenizer file (default: found beside the model)", NULL},
    {"method", 1, "pruning method (see `cprune methods`)", NULL},
    {"sparsity", 1, "unstructured: fraction of each group pruned, in [0, 1)", NULL},
    {"pattern", 1, "N:M semi-structured, e.g. 2:4", NULL},
    {"opts", 1, "method options \"name=value,...\"", NULL},
    {"calib", 1, "calibration: tinystories (calib split), wikitext2 (valid), ptb (train), c4, or a text file", NULL},
    {"nsamples", 1, "calibration windows (default 128)", NULL},
    {"seqlen", 1, "calibration window length (default: model context)", NULL},
    {"seed", 1, "seed of random window sampling (default 0)", NULL},
    {"calib-sampling", 1, "sequential (default: the first windows) or random (paper style)", NULL},
    {"calib-dtype", 1, "activations held in f32 (default) or bf16", NULL},
    {"hessian-dtype", 1, "Hessian accumulation in f32 (default, as the reference) or f64", NULL},
    {"out", 1, "write the pruned model to this directory (or file for llama2c)", NULL},
    {"out-format", 1, "hf (default: a Hugging Face directory) or llama2c (a checkpoint file)", NULL},
    {"eval", 1, "evaluate after pruning on these corpora, e.g. wikitext2,tinystories", NULL},
    {"json", 1, "write the run record as JSON to this file", NULL},
    {"threads", 1, "threads (default: all CPUs)", NULL},
    {"token-cache", 1, "folder caching tokenized corpora as token files (sweeps)", NULL},
    {"no-diagnostics", 0, "skip the per-linear reconstruction error (one more block pass + 2 GEMMs per linear)", NULL},
    {"verbose", 0, "one line per pruned linear on stderr (sparsity, reconstruction error)", NULL},
    {"quiet", 0, "no per-block progress", NULL},
};
#define N_BASE (sizeof base_opts / sizeof base_opts[0])

// A generated option: which method and option it sets.
struct gen_opt {
    const struct cpr_method *m;
    const struct cpr_method_opt *o;
};

struct optset {
    struct cli_opt *opts;
    struct gen_opt *gen; // parallel to opts[N_BASE..]
    size_t n;
    char *names;         // storage for the generated names
};

static void dashify(char *dst, size_t cap, const char *prefix, const char *s) {
    snprintf(dst, cap, "%s%s%s", prefix ? prefix : "", prefix ? "-" : "", s);
    for (char *p = dst; *p; p++)
        if (*p == '_') *p = '-';
}

static int optset_build(struct optset *os) {
    size_t total = 0;
    for (size_t i = 0; i < cpr_n_methods; i++) total += cpr_methods[i]->n_opts;
    const size_t cap = N_BASE + 2 * total;
    os->opts = calloc(cap, sizeof *os->opts);
    os->gen = calloc(cap, sizeof *os->gen);
    os->names = calloc(cap ? cap : 1, 64);
    if (!os->opts || !os->gen || !os->names) return -1;
    memcpy(os->opts, base_opts, sizeof base_opts);
    os->n = N_BASE;
    for (int pass = 0; pass < 2; pass++) // prefixed names first
        for (size_t i = 0; i < cpr_n_methods; i++) {
            const struct cpr_method *m = cpr_methods[i];
            for (size_t j = 0; j < m->n_opts; j++) {
                char *name = os->names + os->n * 64;
                dashify(name, 64, pass == 0 ? m->name : NULL, m->opts[j].name);
                int dup = 0;
                for (size_t q = 0; q < os->n; q++)
                    dup |= !strcmp(os->opts[q].name, name);
                if (dup) continue; // same bare name in two methods
                os->opts[os->n] = (struct cli_opt){
                    .name = name,
                    .takes_value = m->opts[j].type != CPR_OPT_BOOL,
                    .help = m->opts[j].help};
                os->gen[os->n] = (struct gen_opt){.m = m, .o = &m->opts[j]};
                os->n++;
            }
        }
    return 0;
}

static void optset_free(struct optset *os) {
    free(os->opts);
    free(os->gen);
    free(os->names);
}

// Apply the generated options given on the command line to the method's
// state. Returns 0, or 2 after printing a usage error.
static int apply_method_opts(const struct optset *os,
                             const struct cpr_method *m, void *state) {
    for (size_t i = N_BASE; i < os->n; i++) {
        if (!os->opts[i].value) continue;
        const struct cpr_method_opt *o = NULL;
        // the bare name may belong to another method but also to this one
        if (os->gen[i].m == m) {
            o = os->gen[i].o;
        } else {
            char want[64];
            for (size_t j = 0; j < m->n_opts && !o; j++) {
                dashify(want, sizeof want, NULL, m->opts[j].name);
                if (!strcmp(want, os->opts[i].name)) o = &m->opts[j];
            }
        }
        if (!o) {
            fprintf(stderr, "cprune " CMD ": --%s is an option of method %s, "
                            "not of %s (`cprune methods` lists each method's "
                            "options)\n", os->opts[i].name, os->gen[i].m->name,
                    m->name);
            return 2;
        }
        char list[320];
        snprintf(list, sizeof list, "%s=%s", o->name,
                 os->opts[i].takes_value ? os->opts[i].value : "1");
        struct cpr_err err = {0};
        if (m->parse_opts(state, list, &err)) {
            fprintf(stderr, "cprune " CMD ": --%s: %s\n", os->opts[i].name,
                    err.msg);
            return 2;
        }
    }
    return 0;
}

static int parse_pattern(const char *v, struct cpr_prune_target *t) {
    unsigned n, m;
    char tail;
    if (sscanf(v, "%u:%u%c", &n, &m, &tail) != 2 || n == 0 || m < 2 ||
        n >= m || m > 4096) {
        fprintf(stderr, "cprune " CMD ": --pattern: expected N:M with "
                        "0 < N < M (e.g. 2:4), found '%s'\n", v);
        return 2;
    }
    t->nm_n = n, t->nm_m = m, t->sparsity = (double)n / m;
    return 0;
}

// ---- progress ----
struct pipe_ui {
    int quiet;
    double t_stats;
};

static void on_pipe(void *user, const struct cpr_pipe_progress *p) {
    struct pipe_ui *ui = user;
    if (ui->quiet) return;
    switch (p->phase) {
    case CPR_PIPE_EMBED:
        fprintf(stderr, "  embeddings of the calibration windows: %.2f s\n",
                p->seconds);
        break;
    case CPR_PIPE_STATS: ui->t_stats = p->seconds; break;
    case CPR_PIPE_PRUNE:
        fprintf(stderr, "  block %lld/%lld pruned: sparsity %.6f  (%.2f s "
                        "elapsed)\n", (long long)p->block + 1,
                (long long)p->n_blocks, p->block_sparsity, p->seconds);
        break;
    case CPR_PIPE_PROPAGATE: break;
    }
}

struct eval_ui {
    struct cli_progress bar;
    int64_t seqlen;
};

static void on_eval(void *user, const struct cpr_ppl_progress *p) {
    struct eval_ui *e = user;
    char suffix[64];
    snprintf(suffix, sizeof suffix, "ppl %.4f", exp(p->nll_mean));
    cli_progress_update(&e->bar, p->chunks_done, p->nchunks,
                        (double)p->tokens_done,
                        (double)(p->nchunks * e->seqlen), suffix);
}

// Evaluate the pruned model on each corpus of the comma list.
static enum cpr_status run_evals(struct prune_run *run, const char *list,
                                 const struct cpr_model *m,
                                 const struct cpr_tokenizer *tok,
                                 struct cpr_pool *pool, int quiet,
                                 struct cpr_err *err) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *name = strtok_r(buf, ",", &save); name;
         name = strtok_r(NULL, ",", &save)) {
        if (run->n_eval == PRUNE_MAX_EVAL)
            return cpr_err_set(err, CPR_ERR_ARG, "--eval: at most %d corpora",
                               PRUNE_MAX_EVAL);
        struct prune_eval *e = &run->eval[run->n_eval];
        const char *split = cpr_corpus_default_split(name);
        if (!split)
            return cpr_err_set(err, CPR_ERR_ARG, "--eval: unknown corpus "
                               "'%s' (expected wikitext2, ptb, tinystories, "
                               "c4)", name);
        snprintf(e->dataset, sizeof e->dataset, "%s", name);
        snprintf(e->split, sizeof e->split, "%s", split);
        char *text = NULL;
        size_t len = 0;
        int32_t *ids = NULL;
        int64_t n = 0;
        enum cpr_status s =
            cpr_corpus_load(cli_data_dir(), name, split, &text, &len, err);
        if (!s) s = cli_tokenize_cached(run->token_cache, tok, text, len,
                                        tok->add_bos, &ids, &n, NULL, err);
        free(text);
        if (s) {
            free(ids);
            return s;
        }
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF};
        struct eval_ui ui = {.seqlen = m->cfg.context};
        cli_progress_init(&ui.bar, "tok", quiet);
        po.progress = on_eval;
        po.progress_user = &ui;
        double t0 = cli_now();
        s = cpr_ppl_eval(m, NULL, pool, ids, n, &po, &e->r, err);
        e->seconds = cli_now() - t0;
        cli_progress_end(&ui.bar);
        free(ids);
        if (s) return s;
        printf("eval:      %s / %s: ppl %.4f (hf protocol, seqlen %lld, %lld "
               "chunks, %.2f s)\n", e->dataset, e->split, e->r.ppl,
               (long long)e->r.seqlen, (long long)e->r.nchunks, e->seconds);
        fflush(stdout);
        run->n_eval++;
    }
    return CPR_OK;
}

static enum cpr_status write_model(struct prune_run *run,
                                   const struct cpr_model *m,
                                   struct cpr_err *err) {
    if (!strcmp(run->out_format, "llama2c"))
        return cpr_llama2c_write(m, run->out_dir, err);
    char opts[512], target[32], calib[512], sp[32];
    prune_opts_str(run->method, run->method_state, opts, sizeof opts);
    prune_target_str(&run->target, target, sizeof target);
    snprintf(sp, sizeof sp, "%.6f", run->rep.sparsity);
    if (run->rep.used_calibration)
        snprintf(calib, sizeof calib, "%s%s%s %s seed %llu, %lld x %lld "
                 "tokens, sha256 %s", run->calib_source,
                 run->calib_split ? "/" : "",
                 run->calib_split ? run->calib_split : "",
                 cpr_calib_sampling_name(run->sampling),
                 (unsigned long long)run->seed, (long long)run->nsamples,
                 (long long)run->seqlen, run->calib_sha);
    else
        snprintf(calib, sizeof calib, "none");
    const char *meta[] = {
        "cprune.version", CPRUNE_VERSION,
        "cprune.source_model", run->model_path,
        "cprune.source_sha256", run->model_sha,
        "cprune.method", run->method->name,
        "cprune.options", opts,
        "cprune.target", target,
        "cprune.calibration", calib,
        "cprune.sparsity", sp,
    };
    struct cpr_model_save_opts so = {.meta = meta,
                                     .n_meta = sizeof meta / sizeof *meta / 2,
                                     .tokenizer_from = run->model_path};
    return cpr_model_save_hf(m, run->out_dir, &so, err);
}

int cmd_prune(int argc, char **argv) {
    struct optset os = {0};
    if (optset_build(&os)) {
        fprintf(stderr, "cprune " CMD ": out of memory\n");
        optset_free(&os);
        return 1;
    }
    int rc = cli_parse(argc, argv, os.opts, os.n, CMD, USAGE);
    if (rc) {
        optset_free(&os);
        return rc == 1 ? 0 : 2;
    }
    const struct cli_opt *O = os.opts;
    const size_t N = os.n;
    struct prune_run run = {.out_format = "hf"};
    struct cpr_err err = {0};
    struct cpr_model model = {0};
    struct cpr_tokenizer tok = {0};
    struct cpr_pool *pool = NULL;
    void *state = NULL;
    const char *v;
    long long x;
    rc = 2;

    run.model_path = cli_get(O, N, "model");
    run.method_name = cli_get(O, N, "method");
    if (!run.model_path || !run.method_name) {
        fprintf(stderr, "cprune " CMD ": --model and --method are required\n"
                        "usage: %s\n", USAGE);
        goto out;
    }
    run.method = cpr_method_find(run.method_name);
    if (!run.method) {
        fprintf(stderr, "cprune " CMD ": --method: unknown method '%s'; "
                        "known:", run.method_name);
        for (size_t i = 0; i < cpr_n_methods; i++)
            fprintf(stderr, " %s", cpr_methods[i]->name);
        fprintf(stderr, "\n");
        goto out;
    }
    if (run.method->init(&state, &err)) {
        rc = 1;
        fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
        goto out;
    }
    run.method_state = state;
    if ((run.method_opts_given = cli_get(O, N, "opts")) &&
        run.method->parse_opts(state, run.method_opts_given, &err)) {
        fprintf(stderr, "cprune " CMD ": --opts: %s\n", err.msg);
        goto out;
    }
    if (apply_method_opts(&os, run.method, state)) goto out;

    const char *sv = cli_get(O, N, "sparsity"), *pv = cli_get(O, N, "pattern");
    if ((sv != NULL) == (pv != NULL)) {
        fprintf(stderr, "cprune " CMD ": give exactly one of --sparsity S "
                        "(unstructured) and --pattern N:M\n");
        goto out;
    }
    if (sv && cli_float(CMD, "sparsity", sv, 0.0, 1.0, &run.target.sparsity))
        goto out;
    if (sv && run.target.sparsity >= 1.0) {
        fprintf(stderr, "cprune " CMD ": --sparsity: expected a value in "
                        "[0, 1), found '%s'\n", sv);
        goto out;
    }
    if (pv && parse_pattern(pv, &run.target)) goto out;

    run.nsamples = 128;
    if ((v = cli_get(O, N, "nsamples"))) {
        if (cli_int(CMD, "nsamples", v, 1, 1 << 20, &x)) goto out;
        run.nsamples = x;
    }
    if ((v = cli_get(O, N, "seqlen"))) {
        if (cli_int(CMD, "seqlen", v, 1, 1 << 24, &x)) goto out;
        run.seqlen = x;
    }
    if ((v = cli_get(O, N, "seed"))) {
        if (cli_int(CMD, "seed", v, 0, (1LL << 62), &x)) goto out;
        run.seed = (uint64_t)x;
    }
    if ((v = cli_get(O, N, "calib-sampling"))) {
        int smp = cpr_calib_sampling_parse(v);
        if (smp < 0) {
            fprintf(stderr, "cprune " CMD ": --calib-sampling: expected "
                            "random or sequential, found '%s'\n", v);
            goto out;
        }
        run.sampling = (enum cpr_calib_sampling)smp;
    }
    if ((v = cli_get(O, N, "calib-dtype"))) {
        if (strcmp(v, "f32") && strcmp(v, "bf16")) {
            fprintf(stderr, "cprune " CMD ": --calib-dtype: expected f32 or "
                            "bf16, found '%s'\n", v);
            goto out;
        }
        run.calib_bf16 = !strcmp(v, "bf16");
    }
    if ((v = cli_get(O, N, "hessian-dtype"))) {
        if (strcmp(v, "f32") && strcmp(v, "f64")) {
            fprintf(stderr, "cprune " CMD ": --hessian-dtype: expected f32 "
                            "or f64, found '%s'\n", v);
            goto out;
        }
        run.hessian_f64 = !strcmp(v, "f64");
    }
    run.out_dir = cli_get(O, N, "out");
    run.token_cache = cli_get(O, N, "token-cache");
    if ((v = cli_get(O, N, "out-format"))) {
        if (strcmp(v, "hf") && strcmp(v, "llama2c")) {
            fprintf(stderr, "cprune " CMD ": --out-format: expected hf or "
                            "llama2c, found '%s'\n", v);
            goto out;
        }
        run.out_format = v;
    }
    long long threads = (long long)cpr_cpu_count();
    if ((v = cli_get(O, N, "threads")) &&
        cli_int(CMD, "threads", v, 1, 1024, &threads))
        goto out;
    run.threads = (int)threads;
    const char *eval_list = cli_get(O, N, "eval");
    const char *json_path = cli_get(O, N, "json");
    const int quiet = cli_get(O, N, "quiet") != NULL;
    const unsigned needs = (cpr_method_needs(run.method, state) | (cpr_method_allocates(run.method) ? run.method->scan_needs : 0u)) & (CPR_NEED_COLSUMSQ |
                                                CPR_NEED_HESSIAN |
                                                CPR_NEED_COLMEANVAR);
    run.calib_source = cli_get(O, N, "calib");
    if (needs && !run.calib_source) {
        char nb[64];
        fprintf(stderr, "cprune " CMD ": method %s needs calibration "
                        "statistics (%s): give --calib, e.g. --calib "
                        "tinystories or --calib wikitext2 (no default fits "
                        "every model)\n", run.method->name,
                cpr_method_needs_str(needs, nb, sizeof nb));
        goto out;
    }

    // ---- load ----
    rc = 1;
    const double t_start = cli_now();
    if (cpr_model_load(run.model_path, &model, &err)) goto fail;
    if (cpr_model_sha256(run.model_path, run.model_sha, &err)) goto fail;
    if ((needs || eval_list) &&
        cpr_tokenizer_load_for_model(&tok, run.model_path,
                                     cli_get(O, N, "tokenizer"),
                                     model.cfg.vocab, &err))
        goto fail;
    run.tokenizer_source = tok.source;
    if (!run.seqlen) run.seqlen = model.cfg.context;
    if (run.seqlen > model.cfg.context) {
        fprintf(stderr, "cprune " CMD ": --seqlen %lld exceeds the model "
                        "context %lld\n", (long long)run.seqlen,
                (long long)model.cfg.context);
        rc = 2;
        goto out;
    }
    char opts_text[512], target_text[32];
    prune_opts_str(run.method, state, opts_text, sizeof opts_text);
    prune_target_str(&run.target, target_text, sizeof target_text);
    printf("model:     %s (%s, %lld layers, hidden %lld, %lld decoder-linear "
           "params)\n", model.source, model.format,
           (long long)model.cfg.n_layers, (long long)model.cfg.hidden,
           (long long)cpr_model_linear_params(&model));
    printf("method:    %s, %s %s, options %s\n", run.method->name,
           run.target.nm_m ? "pattern" : "sparsity", target_text,
           opts_text[0] ? opts_text : "(none)");
    if (needs) {
        if (prune_calib_windows(&run, &tok, cli_data_dir(), &err)) goto fail;
        printf("calib:     %s%s%s, %s, seed %llu, %lld x %lld tokens (text "
               "%lld tokens, %zu document%s), windows sha256 %.16s..., "
               "activations %s, Hessian %s\n", run.calib_source,
               run.calib_split ? " / " : "",
               run.calib_split ? run.calib_split : "",
               cpr_calib_sampling_name(run.sampling),
               (unsigned long long)run.seed, (long long)run.nsamples,
               (long long)run.seqlen, (long long)run.calib_text_tokens,
               run.calib_docs, run.calib_docs == 1 ? "" : "s", run.calib_sha,
               run.calib_bf16 ? "bf16" : "f32",
               run.hessian_f64 ? "f64" : "f32");
        printf("windows:   ");
        for (int64_t i = 0; i < run.win.nsamples; i++) {
            if (i == 8 && run.win.nsamples > 10) {
                printf(" ... (%lld more; all in --json)",
                       (long long)(run.win.nsamples - 8));
                break;
            }
            printf("%s%lld@%lld", i ? " " : "", (long long)run.win.doc[i],
                   (long long)run.win.start[i]);
        }
        printf("  (document@offset)\n");
    } else {
        printf("calib:     none (%s needs no statistics)\n", run.method->name);
    }
    printf("isa:       %s, threads %lld\n", cpr_isa_name(cpr_kernels_isa()),
           threads);
    fflush(stdout);

    // ---- prune ----
    if (cpr_pool_init(&pool, (size_t)threads, &err)) goto fail;
    struct pipe_ui ui = {.quiet = quiet};
    struct cpr_pipe_opts po = {
        .method = run.method, .method_state = state, .target = run.target,
        .calib_bf16 = run.calib_bf16, .hessian_f64 = run.hessian_f64,
        .diagnostics = needs && !cli_get(O, N, "no-diagnostics"),
        .progress = on_pipe, .progress_user = &ui};
    enum cpr_status s = cpr_prune_model(&model, needs ? run.win.tokens : NULL,
                                        run.nsamples, run.seqlen, &po, pool,
                                        NULL, &run.rep, &err);
    if (s) goto fail;
    printf("pruned:    sparsity %.6f over the decoder linears (%lld of %lld "
           "weights are zero); forward %.2f s, statistics %.2f s, pruning "
           "%.2f s\n", run.rep.sparsity, (long long)run.rep.zeros_total,
           (long long)run.rep.numel_total, run.rep.sec_forward,
           run.rep.sec_stats, run.rep.sec_prune);
    { // how far rows land from the per-row count int(cols * s)
        double sum = 0, mx = 0, n = 0;
        for (int64_t i = 0; i < run.rep.n_layers * run.rep.per_layer; i++)
            if (run.rep.row_dev_mean && isfinite(run.rep.row_dev_mean[i])) {
                sum += run.rep.row_dev_mean[i] * (double)run.rep.numel[i];
                n += (double)run.rep.numel[i];
                if (run.rep.row_dev_max[i] > mx) mx = run.rep.row_dev_max[i];
            }
        if (n > 0)
            printf("rows:      per-row sparsity vs int(cols*s): mean |dev| "
                   "%.6f, max |dev| %.6f\n", sum / n, mx);
    }
    if (cli_get(O, N, "verbose"))
        for (int64_t i = 0; i < run.rep.n_layers * run.rep.per_layer; i++) {
            char re[32] = "n/a", sq[96] = "";
            if (run.rep.recon_err)
                snprintf(re, sizeof re, "%.6f", run.rep.recon_err[i]);
            if (run.rep.score_q && isfinite(run.rep.score_q[5 * i]))
                snprintf(sq, sizeof sq, "  score min/q1/med/q3/max %.3g %.3g "
                         "%.3g %.3g %.3g", run.rep.score_q[5 * i],
                         run.rep.score_q[5 * i + 1], run.rep.score_q[5 * i + 2],
                         run.rep.score_q[5 * i + 3], run.rep.score_q[5 * i + 4]);
            fprintf(stderr, "  layers.%lld.%-9s sparsity %.6f  recon_err %s%s\n",
                    (long long)(i / run.rep.per_layer),
                    run.rep.lin_name[i % run.rep.per_layer],
                    run.rep.numel[i] ? (double)run.rep.zeros[i] / run.rep.numel[i]
                                     : 0.0, re, sq);
        }
    if (run.rep.alloc) { // layer allocation: one target per block
        printf("allocation: dense scan %.2f s; targets (%s of each block; all in --json)", run.rep.sec_scan, run.rep.lin_name[0]);
        for (int64_t l = 0; l < model.cfg.n_layers; l++) {
            char tg[32];
            prune_target_str(&run.rep.alloc[l * run.rep.per_layer], tg, sizeof tg);
            printf(" %s", tg);
        }
        printf("\n");
    }
    fflush(stdout);

    if (run.out_dir) {
        if (write_model(&run, &model, &err)) goto fail;
        printf("written:   %s (%s)\n", run.out_dir, run.out_format);
    }
    if (eval_list && run_evals(&run, eval_list, &model, &tok, pool, quiet, &err))
        goto fail;
    run.sec_total = cli_now() - t_start;
    if (json_path) {
        if (prune_write_json(json_path, &run, &model, &err)) goto fail;
        printf("json:      %s\n", json_path);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
out:
    cpr_pool_free(pool);
    cpr_pipe_report_free(&run.rep);
    cpr_calib_windows_free(&run.win);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&model);
    if (state) run.method->free(state);
    optset_free(&os);
    return rc;
}
