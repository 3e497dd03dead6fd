// cli/prune_check.c: everything `cprune prune` can check before it reads a
// weight or runs the calibration (contract in cli/prune.h). The model is
// opened (its header, config and tensor table; the weights are mmaps that
// are not touched), so on a 7B model every failure here comes in well
// under a second instead of after hours of pruning.
//
// Exit codes: 2 when an option does not fit (a target the method or the
// model's widths refuse, --seqlen beyond the context, an output format the
// model cannot take, an unknown corpus name), 1 when a file or folder is
// the problem (missing, unreadable, exists, not writable).
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/prune.h"
#include "data/gguf_model.h"
#include "data/corpus.h"
#include "data/fileio.h"
#include "data/hf_config.h"
#include "data/llama2c_write.h"
#include "data/model_load.h"
#include "data/model_save.h"

#define CMD "prune"

// Print "cprune prune: MESSAGE" and return rc.
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cprune " CMD ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return rc;
}

const char *prune_eval_split(const char *name) {
    return cpr_corpus_default_split(name);
}

// The folder a path would be created in ("." for a bare name).
static void parent_of(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out) out[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(out, cap, ".");
}

// A file that will be created or replaced: not a directory, its folder
// exists and is writable.
static int check_writable_file(const char *opt, const char *path) {
    char dir[1100];
    if (cpr_path_is_dir(path))
        return fail(1, "%s %s: is a directory", opt, path);
    parent_of(path, dir, sizeof dir);
    if (!cpr_path_is_dir(dir))
        return fail(1, "%s %s: the folder %s does not exist", opt, path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return fail(1, "%s %s: cannot write in %s: %s", opt, path, dir,
                    strerror(errno));
    if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
        return fail(1, "%s %s: not writable: %s", opt, path, strerror(errno));
    return 0;
}

// A dataset given as a corpus name or a text file: 0 when it loads; 2 for
// a bare name that is neither a corpus nor a file (a typo of a name), 1
// for a path that is missing or unreadable or not UTF-8 text.
static int check_dataset(const char *opt, const char *name, const char *split,
                         size_t *bytes) {
    struct cpr_err err = {0};
    char *text = NULL;
    size_t len = 0;
    enum cpr_status s;
    if (split) {
        s = cpr_corpus_load(cli_data_dir(), name, split, &text, &len, &err);
    } else if (!strchr(name, '/') && !cpr_path_is_file(name)) {
        return fail(2, "%s: unknown corpus '%s' (expected wikitext2, ptb, "
                    "tinystories, c4, or a text file)", opt, name);
    } else {
        s = cpr_corpus_load_file(name, &text, &len, &err);
    }
    free(text);
    if (s) return fail(1, "%s %s: %s", opt, name, err.msg);
    if (bytes) *bytes = len;
    return 0;
}

static int check_evals(const char *list) {
    char buf[2048];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
        return fail(2, "--eval: list too long");
    int n = 0, rc;
    for (char *save = NULL, *name = strtok_r(buf, ",", &save); name;
         name = strtok_r(NULL, ",", &save)) {
        if (++n > PRUNE_MAX_EVAL)
            return fail(2, "--eval: at most %d corpora, found more",
                        PRUNE_MAX_EVAL);
        if (strlen(name) >= sizeof ((struct prune_eval *)0)->dataset)
            return fail(2, "--eval: name too long: %s", name);
        if ((rc = check_dataset("--eval", name, prune_eval_split(name), NULL)))
            return rc;
    }
    if (!n) return fail(2, "--eval: expected a comma list of corpora, found "
                        "'%s'", list);
    return 0;
}

// 1 when path is one of the files or the directory the model is read from.
static int is_input(const struct cpr_model *m, const char *model_path,
                    const char *path) {
    uint64_t dev, ino, d2, i2;
    if (cpr_file_identity(path, &dev, &ino) != 0) return 0;
    struct cpr_file_id ids[64];
    size_t n = cpr_model_input_files(m, ids, 64);
    if (n > 64) n = 64;
    for (size_t i = 0; i < n; i++)
        if (ids[i].dev == dev && ids[i].ino == ino) return 1;
    enum cpr_model_kind kind;
    char res[1024];
    struct cpr_err e = {0};
    return cpr_model_resolve(model_path, &kind, res, sizeof res, &e) == CPR_OK &&
           kind == CPR_MODEL_KIND_HF && cpr_file_identity(res, &d2, &i2) == 0 &&
           d2 == dev && i2 == ino;
}

static int check_out(const struct prune_run *run, const struct cpr_model *m) {
    struct cpr_err err = {0};
    const char *out = run->out_dir;
    if (is_input(m, run->model_path, out))
        return fail(1, "--out %s: refusing to write over the input model",
                    out);
    if (!strcmp(run->out_format, "gguf")) {
        if (cpr_gguf_model_check(m, &err))
            return fail(2, "--out-format gguf: %s", err.msg);
        if (access(out, F_OK) == 0 && !run->force)
            return fail(1, "--out %s: exists (--force replaces it)", out);
        return check_writable_file("--out", out);
    }
    if (!strcmp(run->out_format, "llama2c")) {
        if (cpr_llama2c_write_check(m, out, &err))
            return fail(err.code == CPR_ERR_UNSUPPORTED ? 2 : 1,
                        "--out-format llama2c: %s", err.msg);
        if (access(out, F_OK) == 0 && !cpr_path_is_dir(out) && !run->force)
            return fail(1, "--out %s: exists (--force replaces it)", out);
        return check_writable_file("--out", out);
    }
    if (cpr_model_save_check_dest(out, run->force, &err))
        return fail(1, "--out %s", err.msg);
    // The output directory gets the tokenizer too.
    if (run->tokenizer_path) {
        if (!cpr_path_is_file(run->tokenizer_path))
            return fail(1, "--tokenizer %s: not a readable file",
                        run->tokenizer_path);
    } else {
        char tp[1024];
        enum cpr_tokenizer_kind kind;
        if (cpr_model_find_tokenizer(run->model_path, tp, sizeof tp, &kind,
                                     &err))
            return fail(1, "--out %s: no tokenizer to write beside the model "
                        "(%s); give --tokenizer FILE", out, err.msg);
    }
    return 0;
}

// Every decoder linear's input width against the target.
static int check_widths(const struct prune_run *run, struct cpr_model *m) {
    struct cpr_err err = {0};
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = cpr_layer_linears(m, l, r, CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) {
            const struct cpr_tensor *t = r[j].w;
            if (cpr_prune_target_check(&run->target, (size_t)t->shape[1], &err))
                return fail(2, "--%s: layers.%lld.%s: %s",
                            run->target.nm_m ? "pattern" : "sparsity",
                            (long long)l, r[j].name, err.msg);
        }
    }
    return 0;
}

int prune_validate(struct prune_run *run, struct cpr_model *m,
                   struct cpr_tokenizer *tok) {
    struct cpr_err err = {0};
    size_t calib_bytes = 0;
    int rc;
    // Files named on the command line, cheapest first.
    if (run->json_path && (rc = check_writable_file("--json", run->json_path)))
        return rc;
    if (run->needs) {
        run->calib_split = prune_calib_split(run->calib_source);
        if ((rc = check_dataset("--calib", run->calib_source,
                                run->calib_split, &calib_bytes)))
            return rc;
    }
    if (run->eval_list && (rc = check_evals(run->eval_list))) return rc;
    // The model: header, config and tensor table only.
    if (cpr_model_load(run->model_path, m, &err))
        return fail(1, "%s", err.msg);
    if ((rc = check_widths(run, m))) return rc;
    if (run->seqlen > m->cfg.context)
        return fail(2, "--seqlen %lld exceeds the model context %lld",
                    (long long)run->seqlen, (long long)m->cfg.context);
    if (!run->seqlen) run->seqlen = m->cfg.context;
    // Every token covers at least one byte (plus BOS and a dummy-prefix
    // space per text): a request beyond that fails without tokenizing. The
    // exact count is checked once the text is tokenized (prune_execute).
    const double need = (double)run->nsamples * (double)run->seqlen;
    if (run->needs && need > (double)calib_bytes + 2)
        return fail(1, "--calib %s: nsamples %lld x seqlen %lld = %.0f "
                    "tokens needed, the text has at most %zu (one per "
                    "byte); lower --nsamples or --seqlen", run->calib_source,
                    (long long)run->nsamples, (long long)run->seqlen, need,
                    calib_bytes + 2);
    if (run->block_end > m->cfg.n_layers)
        return fail(2, "--blocks %lld:%lld: the model has %lld blocks",
                    (long long)run->block_begin, (long long)run->block_end,
                    (long long)m->cfg.n_layers);
    if (run->shards && m->cfg.arch != CPR_ARCH_LLAMA &&
        m->cfg.arch != CPR_ARCH_MISTRAL && m->cfg.arch != CPR_ARCH_QWEN2)
        return fail(2, "--shards/--resume: the sharded writer names tensors "
                    "as LLaMA, Mistral and Qwen2 do; this %s model needs "
                    "the single-file output (drop --shards)",
                    cpr_hf_arch_name(m->cfg.arch));
    if (run->out_dir && (rc = check_out(run, m))) return rc;
    if ((run->needs || run->eval_list) &&
        cpr_tokenizer_load_for_model(tok, run->model_path, run->tokenizer_path,
                                     m->cfg.vocab, &err))
        return fail(1, "%s", err.msg);
    run->tokenizer_source = tok->source;
    struct prune_plan plan;
    prune_plan_compute(run, m, &plan);
    prune_plan_print(stdout, run, &plan);
    fflush(stdout);
    const size_t budget = run->max_memory ? run->max_memory : plan.available;
    if (budget && plan.anon > budget)
        return fail(1, "the plan needs %.2f GiB of anonymous memory, over "
                    "the budget of %.2f GiB (%s); try --calib-dtype bf16, "
                    "--no-diagnostics, --shards, fewer --nsamples, or "
                    "--max-memory to set the budget",
                    (double)plan.anon / 1073741824.0,
                    (double)budget / 1073741824.0,
                    run->max_memory ? "--max-memory" : "available now");
    if (run->plan_only) return -1; // cmd_prune: stop with status 0
    return 0;
}
