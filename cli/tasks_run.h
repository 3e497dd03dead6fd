// cli/tasks_run.h: one zero-shot task end to end (read the task file,
// _encode_pair every request, score, acc/acc_norm and their stderr), shared
// by `cprune tasks` and `cprune prune --tasks`.
#ifndef CPR_CLI_TASKS_RUN_H
#define CPR_CLI_TASKS_RUN_H

#include <stdint.h>

#include "cli/strbuf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "data/taskfile.h"
#include "data/tokenizer.h"

struct cli_task_out {
    char name[64];
    enum cpr_task_kind kind;
    int has_norm;
    int64_t n_file, n_docs;
    double acc, acc_se, norm, norm_se;
    double seconds;
    int64_t tokens;
};

// Score task `name` from dir (the first `limit` documents when limit > 0;
// bos: BOS before every request) into *to; with samples, append one JSON
// line per document. Errors name the task.
enum cpr_status cli_task_run(const struct cpr_model *m,
                             const struct cpr_tokenizer *tok,
                             struct cpr_pool *pool, const char *dir,
                             const char *name, int64_t limit, int bos,
                             int quiet, struct strbuf *samples,
                             struct cli_task_out *to, struct cpr_err *err);

#endif
