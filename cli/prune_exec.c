// cli/prune_exec.c: the expensive part of `cprune prune`, after
// cli/prune_check.c found nothing wrong (contract in cli/prune.h):
// calibration windows, the weights' sha256, the pipeline, the output
// model, the evaluations and the JSON record.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "cli/gguf_out.h"
#include "cli/prune.h"
#include "cli/prune_extra.h"
#include "cli/sparse_out.h"
#include "cli/tokcache.h"
#include "core/pool.h"
#include "data/corpus.h"
#include "data/llama2c_write.h"
#include "data/model_load.h"
#include "data/model_save.h"
#include "data/model_shards.h"
#include "data/scratch_file.h"
#include "data/sha256.h"
#include "methods/calib_compute.h"

#define CMD "prune"

// ---- progress ----
struct pipe_ui {
    int quiet;
    int64_t first; // blocks reused from an earlier run (--resume)
    int64_t end;   // end of the pruned range (--blocks), 0 = all
};

static void on_pipe(void *user, const struct cpr_pipe_progress *p) {
    struct pipe_ui *ui = user;
    if (ui->quiet) return;
    switch (p->phase) {
    case CPR_PIPE_EMBED:
        fprintf(stderr, "  embeddings of the calibration windows: %.2f s\n",
                p->seconds);
        break;
    case CPR_PIPE_PRUNE: {
        const int64_t end = ui->end > 0 ? ui->end : p->n_blocks;
        const int64_t did = p->block + 1 - ui->first;
        const double eta = did > 0 ? p->seconds / (double)did *
                                         (double)(end - p->block - 1)
                                   : 0.0;
        fprintf(stderr, "  block %lld/%lld pruned: sparsity %.6f  (%.2f s "
                        "elapsed, ETA %.0f s)\n", (long long)p->block + 1,
                (long long)p->n_blocks, p->block_sparsity, p->seconds, eta);
        break;
    }
    case CPR_PIPE_DONE: {
        // blocks of the pruned range only; ETA from the ones done so far
        const int64_t end = ui->end > 0 ? ui->end : p->n_blocks;
        if (p->block < ui->first || p->block >= end) break;
        const struct cpr_pipe_block_sec *b = p->block_sec;
        const int64_t did = p->block + 1 - ui->first;
        const double eta = p->seconds / (double)did *
                           (double)(end - p->block - 1);
        fprintf(stderr, "  block %lld/%lld done in %.2f s (forward %.2f, "
                        "statistics %.2f, pruning %.2f, diagnostics %.2f, "
                        "writing %.2f); elapsed %.0f s, ETA %.0f s\n",
                (long long)p->block + 1, (long long)p->n_blocks,
                b->forward + b->stats + b->prune + b->diag + b->write,
                b->forward, b->stats, b->prune, b->diag, b->write,
                p->seconds, eta);
        break;
    }
    case CPR_PIPE_STATS:
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

// Evaluate the pruned model on each corpus or text file of the comma list
// (checked by prune_validate).
enum cpr_status prune_run_evals(struct prune_run *run,
                                 const struct cpr_model *m,
                                 const struct cpr_tokenizer *tok,
                                 struct cpr_pool *pool, struct cpr_err *err) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", run->eval_list);
    for (char *save = NULL, *name = strtok_r(buf, ",", &save);
         name && run->n_eval < PRUNE_MAX_EVAL;
         name = strtok_r(NULL, ",", &save)) {
        struct prune_eval *e = &run->eval[run->n_eval];
        const char *split = prune_eval_split(name);
        snprintf(e->dataset, sizeof e->dataset, "%s", name);
        snprintf(e->split, sizeof e->split, "%s", split ? split : "file");
        char *text = NULL;
        size_t len = 0;
        int32_t *ids = NULL;
        int64_t n = 0;
        enum cpr_status s =
            split ? cpr_corpus_load(cli_data_dir(), name, split, &text, &len, err)
                  : cpr_corpus_load_file(name, &text, &len, err);
        if (!s) s = cli_tokenize_cached(run->token_cache, tok, text, len,
                                        tok->add_bos, &ids, &n, NULL, err);
        free(text);
        if (s) {
            free(ids);
            return s;
        }
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF,
                                  .max_chunks = run->max_chunks};
        struct eval_ui ui = {.seqlen = m->cfg.context};
        cli_progress_init(&ui.bar, "tok", run->quiet);
        po.progress = on_eval;
        po.progress_user = &ui;
        double t0 = cli_now();
        s = cpr_ppl_eval(m, NULL, pool, ids, n, &po, &e->r, err);
        e->seconds = cli_now() - t0;
        cli_progress_end(&ui.bar);
        free(ids);
        if (s) return s;
        printf("eval:      %s / %s: ppl %.4f (hf protocol, seqlen %lld, %lld "
               "chunks%s, %.2f s)\n", e->dataset, e->split, e->r.ppl,
               (long long)e->r.seqlen, (long long)e->r.nchunks,
               run->max_chunks ? " (--max-chunks)" : "", e->seconds);
        fflush(stdout);
        run->n_eval++;
    }
    return CPR_OK;
}

// The output's __metadata__ pairs that are known before pruning (the
// target text assumes no per-block N:M allocation; see write_model).
struct out_meta {
    char opts[512], target[64], calib[512];
    const char *kv[14];
    size_t n; // pairs
};

static void out_meta_build(struct out_meta *om, const struct prune_run *run,
                           int used_calibration, const char *block_patterns) {
    prune_opts_str(run->method, run->method_state, om->opts, sizeof om->opts);
    if (block_patterns)
        snprintf(om->target, sizeof om->target, "mixed N:M (see "
                 "cprune.block_patterns)");
    else
        prune_target_str(&run->target, om->target, sizeof om->target);
    prune_calib_str(run, used_calibration, om->calib, sizeof om->calib);
    const char *kv[] = {
        "cprune.version", CPRUNE_VERSION,
        "cprune.source_model", run->model_path,
        "cprune.source_sha256", run->model_sha,
        "cprune.method", run->method->name,
        "cprune.options", om->opts,
        "cprune.target", om->target,
        "cprune.calibration", om->calib,
    };
    memcpy(om->kv, kv, sizeof kv);
    om->n = sizeof kv / sizeof *kv / 2;
}

// Everything that determines the weights of a streamed run, hashed: a
// resumed run reuses only shards carrying the same key.
static void run_key(const struct prune_run *run, const struct out_meta *om,
                    const struct cpr_model *m, char hex[65]) {
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "%s|%s|%s|%s|%s|%s|calib-dtype %d|"
                     "hessian-f64 %d|blocks %lld:%lld|layers %lld",
                     CPRUNE_VERSION, run->model_sha, run->method->name,
                     om->opts, om->target, om->calib, run->calib_bf16,
                     run->hessian_f64, (long long)run->block_begin,
                     (long long)run->block_end, (long long)m->cfg.n_layers);
    if (run->calib_compute && n > 0 && n < (int)sizeof buf) // changes the
        n += snprintf(buf + n, sizeof buf - (size_t)n, // weights; auto keeps
                      "|calib-compute %s", // the keys of earlier runs
                      cpr_calib_compute_name(
                          (enum cpr_calib_compute)run->calib_compute));
    if (run->grad_bf16 && n > 0 && n < (int)sizeof buf) // rounds the norms
        n += snprintf(buf + n, sizeof buf - (size_t)n, "|grad-dtype bf16");
    unsigned char d[32];
    cpr_sha256(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1, d);
    cpr_sha256_hex(d, hex);
}

struct stream_ui {
    struct cpr_shards *w;
    int quiet;
};

static enum cpr_status on_block_done(void *user, struct cpr_model *m,
                                     int64_t l, struct cpr_err *err) {
    struct stream_ui *u = user;
    return cpr_shards_write_block(u->w, m, l, err);
}

static enum cpr_status on_block_load(void *user, struct cpr_model *m,
                                     int64_t l, struct cpr_err *err) {
    struct stream_ui *u = user;
    return cpr_shards_load_block(u->w, m, l, err);
}

static enum cpr_status write_model(struct prune_run *run,
                                   const struct cpr_model *m,
                                   const char *block_patterns,
                                   struct cpr_err *err) {
    if (!strcmp(run->out_format, "llama2c"))
        return cpr_llama2c_write(m, run->out_dir, err);
    char opts[512], target[64], calib[512], sp[32];
    prune_opts_str(run->method, run->method_state, opts, sizeof opts);
    if (block_patterns)
        snprintf(target, sizeof target, "mixed N:M (see "
                 "cprune.block_patterns)");
    else
        prune_target_str(&run->target, target, sizeof target);
    snprintf(sp, sizeof sp, "%.6f", run->rep.sparsity);
    prune_calib_str(run, run->rep.used_calibration, calib, sizeof calib);
    const char *meta[] = {
        "cprune.version", CPRUNE_VERSION,
        "cprune.source_model", run->model_path,
        "cprune.source_sha256", run->model_sha,
        "cprune.method", run->method->name,
        "cprune.options", opts,
        "cprune.target", target,
        "cprune.calibration", calib,
        "cprune.sparsity", sp,
        "cprune.block_patterns", block_patterns ? block_patterns : "",
    };
    const size_t n_meta = sizeof meta / sizeof *meta / 2 - (block_patterns ? 0 : 1);
    struct cpr_model_save_opts so = {.meta = meta,
                                     .n_meta = n_meta,
                                     .tokenizer_from = run->model_path,
                                     .tokenizer_file = run->tokenizer_path,
                                     .replace = run->force};
    if (!strcmp(run->out_format, "gguf")) // cli/gguf_out.h
        return cli_save_gguf(m, run->model_path, run->out_dir,
                             run->gguf_dtype, meta, n_meta, err);
    if (!strcmp(run->out_format, "sparse")) // compressed (cli/sparse_out.h)
        return cli_save_sparse(m, run->out_dir, meta, n_meta,
                               run->model_path, err);
    return cpr_model_save_hf(m, run->out_dir, &so, err);
}

int prune_execute(struct prune_run *run, struct cpr_model *m,
                  const struct cpr_tokenizer *tok) {
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    char *patterns = NULL;
    struct cpr_shards sw;
    memset(&sw, 0, sizeof sw);
    struct stream_ui su = {0};
    struct out_meta om;
    struct cpr_scratch_file gscratch = {.fd = -1};
    struct cpr_scratch_file cscratch = {.fd = -1}; // --calib-store disk
    int rc = 1;
    const double t_start = cli_now();
    // Calibration text first: too few tokens fails before the weights
    // are read.
    cli_interrupt_phase("tokenizing the calibration text");
    if (run->needs && prune_calib_windows(run, tok, cli_data_dir(), &err))
        goto fail;
    cli_interrupt_phase("hashing the weights");
    if (cpr_model_sha256(run->model_path, run->model_sha, &err)) goto fail;
    prune_print_start(run, m);

    if (cpr_pool_init(&pool, (size_t)run->threads, &err)) goto fail;
    struct pipe_ui ui = {.quiet = run->quiet, .first = run->block_begin,
                         .end = run->block_end};
    struct cpr_pipe_opts po = {
        .method = run->method, .method_state = run->method_state,
        .target = run->target, .calib_bf16 = run->calib_bf16,
        .calib_compute = run->calib_compute,
        .hessian_f64 = run->hessian_f64,
        .diagnostics = run->needs && !run->no_diagnostics,
        .progress = on_pipe, .progress_user = &ui,
        .block_begin = run->block_begin, .block_end = run->block_end,
        .grad_dtype = run->grad_bf16 ? CPR_GRAD_BF16 : CPR_GRAD_F32};
    if (run->grad_scratch && (run->needs & CPR_NEED_GRAD)) {
        if (cpr_scratch_file_open(&gscratch, run->grad_scratch, &err))
            goto fail;
        po.grad_scratch = &gscratch.io;
    }
    if (run->calib_disk && run->needs) {
        if (cpr_scratch_file_open(&cscratch, run->tmp_dir, &err)) goto fail;
        po.calib_scratch = &cscratch.io;
    }
    su.w = &sw;
    su.quiet = run->quiet;
    if (run->shards) {
        char key[65];
        int64_t done = 0;
        out_meta_build(&om, run, run->needs != 0, NULL);
        run_key(run, &om, m, key);
        if (cpr_shards_begin(&sw, m, run->out_dir, om.kv, om.n, key,
                             run->force, run->resume, &done, &err))
            goto fail;
        if (run->resume)
            printf("resume:    %lld of %lld blocks already written in %s\n",
                   (long long)done, (long long)m->cfg.n_layers, sw.dir);
        po.resume_from = done;
        po.block_done = on_block_done;
        po.load_block = on_block_load;
        po.block_user = &su;
        if (done > ui.first) ui.first = done;
    }
    cli_interrupt_phase("pruning");
    if (cpr_prune_model(m, run->needs ? run->win.tokens : NULL, run->nsamples,
                        run->seqlen, &po, pool, NULL, &run->rep, &err))
        goto fail;
    prune_print_pruned(run, m);
    const size_t pcap = (size_t)m->cfg.n_layers * 12 + 16;
    patterns = malloc(pcap);
    if (!patterns) {
        cpr_err_set(&err, CPR_ERR_NOMEM, "block patterns");
        goto fail;
    }
    const int mixed = prune_block_patterns(run, m, patterns, pcap);
    if (mixed) {
        char tg[32];
        prune_target_str(&run->target, tg, sizeof tg);
        fprintf(stderr, "cprune " CMD ": warning: %s allocated N:M patterns "
                        "per block, so the model is not %s everywhere; "
                        "per-block patterns (recorded in --json and the "
                        "output's metadata): %s\n", run->method->name, tg,
                patterns);
        run->block_patterns = patterns;
    }
    if (run->out_dir && run->shards) {
        char sp[32];
        snprintf(sp, sizeof sp, "%.6f", run->rep.sparsity);
        const char *extra[] = {"cprune.sparsity", sp, "cprune.block_patterns",
                               mixed ? patterns : ""};
        struct cpr_model_save_opts so = {.tokenizer_from = run->model_path,
                                         .tokenizer_file = run->tokenizer_path};
        if (cpr_shards_finish(&sw, m, extra, mixed ? 2 : 1, &so, &err))
            goto fail;
        printf("written:   %s (hf, %lld shards)\n", run->out_dir,
               (long long)m->cfg.n_layers + 1);
    } else if (run->out_dir) {
        if (write_model(run, m, mixed ? patterns : NULL, &err)) goto fail;
        printf("written:   %s (%s)\n", run->out_dir, run->out_format);
    }
    cli_interrupt_phase("evaluating");
    if (run->eval_list && prune_run_evals(run, m, tok, pool, &err)) goto fail;
    if (prune_extra_run(run->extra, run, m, pool, run->quiet, &err)) goto fail;
    run->sec_total = cli_now() - t_start;
    if (run->json_path) {
        if (prune_write_json(run->json_path, run, m, &err)) goto fail;
        printf("json:      %s\n", run->json_path);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "cprune " CMD ": %s\n", err.msg);
out:
    run->block_patterns = NULL;
    free(patterns);
    cpr_pool_free(pool);
    cpr_scratch_file_close(&gscratch);
    cpr_scratch_file_close(&cscratch);
    // The model's finished blocks are views of the shards: m must not be
    // used for weights after this (cmd_prune only frees it).
    cpr_shards_close(&sw);
    return rc;
}
