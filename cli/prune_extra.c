// cli/prune_extra.c: zero-shot tasks and KL divergence after pruning. See
// cli/prune_extra.h.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eval_kld.h"
#include "cli/progress.h"
#include "cli/prune_extra.h"
#include "cli/tokcache.h"
#include "data/corpus.h"
#include "data/model_load.h"

int prune_extra_parse(struct prune_extra *x, const struct cli_opt *opts,
                      size_t n_opts) {
    memset(x, 0, sizeof *x);
    x->tasks = cli_get(opts, n_opts, "tasks");
    x->task_data = cli_get(opts, n_opts, "task-data");
    x->tokenizer = cli_get(opts, n_opts, "tokenizer");
    x->kld = cli_get(opts, n_opts, "kld") != NULL;
    const char *v = cli_get(opts, n_opts, "task-limit");
    if (v && cli_int("prune", "task-limit", v, 1, 1LL << 40, &x->task_limit)) return 2;
    if ((x->tasks != NULL) != (x->task_data != NULL) || (v && !x->tasks)) {
        fprintf(stderr, "cprune prune: --tasks and --task-data go together "
                        "(--task-limit needs them)\n");
        return 2;
    }
    if (x->kld && !cli_get(opts, n_opts, "eval")) {
        fprintf(stderr, "cprune prune: --kld measures on the --eval corpora: "
                        "give --eval too\n");
        return 2;
    }
    return 0;
}

static enum cpr_status run_tasks(struct prune_extra *x, const char *model_path,
                                 const struct cpr_model *m, struct cpr_pool *pool,
                                 int quiet, struct cpr_err *err) {
    struct cpr_tokenizer tok = {0};
    CPR_TRY(cpr_tokenizer_load_for_model(&tok, model_path, x->tokenizer, m->cfg.vocab, err));
    enum cpr_status s = CPR_OK;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", x->tasks);
    for (char *save = NULL, *name = strtok_r(buf, ",", &save); name && !s;
         name = strtok_r(NULL, ",", &save)) {
        if (x->n_tasks == PRUNE_EXTRA_MAX_TASKS) {
            s = cpr_err_set(err, CPR_ERR_ARG, "--tasks: at most %d tasks",
                            PRUNE_EXTRA_MAX_TASKS);
            break;
        }
        struct cli_task_out *to = &x->task[x->n_tasks];
        s = cli_task_run(m, &tok, pool, x->task_data, name, x->task_limit, 0, quiet, NULL,
                         to, err);
        if (s) break;
        x->n_tasks++;
        printf("task:      %s n=%lld acc %.4f", to->name, (long long)to->n_docs, to->acc);
        if (to->has_norm) printf(" acc_norm %.4f", to->norm);
        printf(" (%.2f s)\n", to->seconds);
        fflush(stdout);
    }
    cpr_tokenizer_free(&tok);
    return s;
}

static enum cpr_status run_kld(struct prune_extra *x, const struct prune_run *run,
                               const struct cpr_model *m, struct cpr_pool *pool,
                               int quiet, struct cpr_err *err) {
    struct cpr_model dense = {0};
    struct cpr_tokenizer tok = {0};
    enum cpr_status s = cpr_model_load(run->model_path, &dense, err);
    if (!s) s = cpr_tokenizer_load_for_model(&tok, run->model_path, x->tokenizer,
                                             m->cfg.vocab, err);
    for (int i = 0; !s && i < run->n_eval; i++) {
        const struct prune_eval *e = &run->eval[i];
        char *text = NULL;
        size_t len = 0;
        int32_t *ids = NULL;
        int64_t n = 0;
        s = cpr_corpus_load(cli_data_dir(), e->dataset, e->split, &text, &len, err);
        if (!s) s = cli_tokenize_cached(run->token_cache, &tok, text, len, tok.add_bos,
                                        &ids, &n, NULL, err);
        free(text);
        struct prune_kld *k = &x->kl[x->n_kl];
        struct cpr_ppl_opts po = {.protocol = e->r.protocol, .seqlen = e->r.seqlen,
                                  .max_chunks = run->max_chunks};
        double t0 = cli_now();
        if (!s) s = cpr_kld_eval(m, &dense, NULL, pool, ids, n, &po, &k->r, err);
        free(ids);
        if (s) break;
        k->seconds = cli_now() - t0;
        snprintf(k->dataset, sizeof k->dataset, "%s", e->dataset);
        x->n_kl++;
        printf("kld:       %s / %s: mean %.6f +/- %.6f, p99 %.6f, same top %.3f %%, "
               "RMS dp %.3f %% (dense ppl %.4f, %.2f s)\n", e->dataset, e->split,
               k->r.mean, k->r.mean_stderr, k->r.p99, 100 * k->r.same_top,
               100 * k->r.rms_dp, k->r.reference_ppl, k->seconds);
        fflush(stdout);
    }
    (void)quiet;
    cpr_tokenizer_free(&tok);
    cpr_model_free(&dense);
    return s;
}

enum cpr_status prune_extra_run(struct prune_extra *x,
                                const struct prune_run *run,
                                const struct cpr_model *m,
                                struct cpr_pool *pool, int quiet,
                                struct cpr_err *err) {
    if (x->tasks) CPR_TRY(run_tasks(x, run->model_path, m, pool, quiet, err));
    if (x->kld) CPR_TRY(run_kld(x, run, m, pool, quiet, err));
    return CPR_OK;
}

static void num_or_null(struct cpr_jw *w, double v) {
    if (isnan(v)) cpr_jw_null(w);
    else cpr_jw_double(w, v);
}

void prune_extra_json(struct cpr_jw *w, const struct prune_extra *x) {
    if (x->n_tasks) {
        cpr_jw_key(w, "tasks");
        cpr_jw_begin_object(w);
        double sum = 0;
        for (int i = 0; i < x->n_tasks; i++) {
            const struct cli_task_out *t = &x->task[i];
            sum += t->acc;
            cpr_jw_key(w, t->name);
            cpr_jw_begin_object(w);
            cpr_jw_key(w, "n"), cpr_jw_int(w, t->n_docs);
            cpr_jw_key(w, "acc"), cpr_jw_double(w, t->acc);
            cpr_jw_key(w, "acc_stderr"), num_or_null(w, t->acc_se);
            if (t->has_norm) {
                cpr_jw_key(w, "acc_norm"), cpr_jw_double(w, t->norm);
                cpr_jw_key(w, "acc_norm_stderr"), num_or_null(w, t->norm_se);
            }
            cpr_jw_key(w, "seconds"), cpr_jw_double(w, t->seconds);
            cpr_jw_end_object(w);
        }
        cpr_jw_key(w, "mean_acc"), cpr_jw_double(w, sum / x->n_tasks);
        cpr_jw_end_object(w);
    }
    if (x->n_kl) {
        cpr_jw_key(w, "kld");
        cpr_jw_begin_object(w);
        for (int i = 0; i < x->n_kl; i++) {
            cpr_jw_key(w, x->kl[i].dataset);
            cli_eval_kld_object(w, "dense", &x->kl[i].r);
        }
        cpr_jw_end_object(w);
    }
}
