// cli/prune_extra.h: what `cprune prune` measures beyond perplexity:
// zero-shot tasks on the pruned model (--tasks LIST --task-data DIR
// [--task-limit N], cli/tasks_run.h) and its KL divergence from the dense
// model on every --eval corpus (--kld, eval/kld.h). Kept out of
// cli/cmd_prune.c, which calls it in three places (options, run, JSON).
#ifndef CPR_CLI_PRUNE_EXTRA_H
#define CPR_CLI_PRUNE_EXTRA_H

#include <stddef.h>

#include "cli/args.h"
#include "cli/prune.h"
#include "cli/tasks_run.h"
#include "data/json_write.h"
#include "eval/kld.h"

#define PRUNE_EXTRA_MAX_TASKS 16

// The option lines cmd_prune.c puts into its table.
#define PRUNE_EXTRA_OPTS                                                       \
    {"tasks", 1, "after pruning, zero-shot tasks (see `cprune tasks`), e.g. boolq,piqa", NULL}, \
    {"task-data", 1, "folder of the task files (with --tasks)", NULL},        \
    {"task-limit", 1, "score at most N documents per task", NULL},            \
    {"kld", 0, "KL divergence from the dense model on every --eval corpus", NULL},

struct prune_kld {
    char dataset[32];
    struct cpr_kld_result r;
    double seconds;
};

struct prune_extra {
    const char *tasks, *task_data, *tokenizer;
    long long task_limit;
    int kld;
    struct cli_task_out task[PRUNE_EXTRA_MAX_TASKS];
    int n_tasks;
    struct prune_kld kl[PRUNE_MAX_EVAL];
    int n_kl;
};

// Read the options into x (zeroed first). Returns 0, or 2 after printing a
// usage error (--tasks without --task-data, --kld without --eval, ...).
int prune_extra_parse(struct prune_extra *x, const struct cli_opt *opts,
                      size_t n_opts);

// Run what was asked on the pruned model m (run: model path, the --eval
// corpora already evaluated, token cache); prints one line per result.
enum cpr_status prune_extra_run(struct prune_extra *x,
                                const struct prune_run *run,
                                const struct cpr_model *m,
                                struct cpr_pool *pool, int quiet,
                                struct cpr_err *err);

// Keys "tasks" (task -> acc, acc_stderr, acc_norm, ..., plus "mean_acc")
// and "kld" (dataset -> the object of eval --reference's "kld") of the run
// JSON;
// nothing when neither was asked.
void prune_extra_json(struct cpr_jw *w, const struct prune_extra *x);

#endif
